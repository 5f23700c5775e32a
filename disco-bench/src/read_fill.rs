//! The store the read measurements fill, and the reads they time (the
//! conditions measurement and the UmaDB workloads): events of 200 bytes,
//! every `every`th in the stream `target` with the tag `target`, the rest
//! over 97 streams, each tagged with its stream's name (`bench/umadb`'s
//! UmaDB side tags them the same); read back by stream and by tag.

use std::collections::BTreeMap;
use std::time::Instant;

use disco::{EventStore, ExpectedVersion, NewEvent, Query, QueryItem, ReadDirection, StreamId};

use crate::writers::{event, Failure};

/// The stream (and tag) of the target events.
const TARGET: &str = "target";

/// The stream of event `n` of the fill.
pub fn stream_of(n: u64, every: u64) -> String {
    if n % every == 0 {
        TARGET.to_owned()
    } else {
        format!("s-{}", n % 97)
    }
}

/// Appends `total` events as the module says, `per_append` events to an
/// atomic append (grouped by stream).
pub async fn fill(
    store: &dyn EventStore,
    total: u64,
    every: u64,
    per_append: u64,
) -> Result<(), Failure> {
    for start in (0..total).step_by(per_append.max(1) as usize) {
        let mut parts: BTreeMap<String, Vec<NewEvent>> = BTreeMap::new();
        for n in start..(start + per_append).min(total) {
            let stream = stream_of(n, every.max(1));
            parts
                .entry(stream.clone())
                .or_default()
                .push(event().with_tags([stream]));
        }
        let parts = parts
            .into_iter()
            .map(|(s, events)| Ok((StreamId::new(s)?, ExpectedVersion::Any, events)))
            .collect::<Result<Vec<_>, disco::Error>>()?;
        store.append_atomic(parts).await?;
    }
    Ok(())
}

/// The events of `events` that carry their data (reading each one's bytes).
pub fn with_data<'a>(events: impl IntoIterator<Item = &'a disco::RecordedEvent>) -> u64 {
    events
        .into_iter()
        .map(|e| u64::from(!e.data.is_empty()))
        .sum()
}

/// Seconds `times` reads of the `want` events of the stream `target` took,
/// one `read_stream` call each, every read checked whole.
pub async fn time_stream_reads(
    store: &dyn EventStore,
    times: usize,
    want: u64,
) -> Result<f64, Failure> {
    let target = StreamId::new(TARGET)?;
    let started = Instant::now();
    for _ in 0..times {
        let events = store
            .read_stream(&target, 1, ReadDirection::Forward, want as usize)
            .await?;
        let n = with_data(&events);
        if n != want {
            return Err(format!("read {n} events of the stream, not {want}").into());
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Seconds `times` reads of the `want` events tagged `target` took, one
/// `read_query` call each, every read checked whole.
pub async fn time_tag_reads(
    store: &dyn EventStore,
    times: usize,
    want: u64,
) -> Result<f64, Failure> {
    let query = Query::new().or(QueryItem::new().tags([TARGET]));
    let started = Instant::now();
    for _ in 0..times {
        let read = store.read_query(&query, 0, want as usize).await?;
        let n = with_data(&read.events);
        if n != want {
            return Err(format!("read {n} events of the tag, not {want}").into());
        }
    }
    Ok(started.elapsed().as_secs_f64())
}
