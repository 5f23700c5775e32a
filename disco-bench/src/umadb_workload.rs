//! `--umadb-workload CASE`: disco's side of `bench/umadb/run.sh`, the
//! workloads `disco-umadb-peer` runs on UmaDB, on the store of `--store`
//! (which should be empty). Prints JSON lines
//! `{"case", "side", "events", "seconds"}`, the side named after the store
//! (`disco-sqlite`, `disco-redb`, `disco-postgres`).
//!
//! - `append-8x1`: 8 writers, each on a stream of its own, one event of
//!   200 bytes per append (`ExpectedVersion::Any`), for 5 s (times
//!   `--scale`) ([`crate::writers`]);
//! - `append-1x100`: one writer, 100 such events per append, for 5 s;
//! - `reads`: fills 100,000 events in appends of 100 (every 100th in the
//!   stream `target`, the rest over 97 streams), then reads the whole log
//!   three times in pages of 1,000 (`read-all`) and the 1,000 events of
//!   `target` twenty times in one call each (`read-stream`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::{EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId};

use crate::writers::event;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Concurrent writers of `append-8x1`.
const WRITERS: usize = 8;
/// Events the read cases fill the store with.
const FILL: u64 = 100_000;
/// Every this many events of the fill, one goes to the stream read back.
const TARGET_EVERY: u64 = 100;
/// Reads of the whole log, and of the 1,000 events of one stream.
const READ_ALL_TIMES: usize = 3;
const READ_STREAM_TIMES: usize = 20;
/// Events per page of a read of the whole log.
const PAGE: usize = 1000;

fn line(case: &str, side: &str, events: u64, seconds: f64) {
    println!(
        "{}",
        serde_json::json!({"case": case, "side": side, "events": events, "seconds": seconds})
    );
}

/// Runs `case` on the store at `url`.
pub async fn run(url: &str, case: &str, scale: f64) -> Result<(), Failure> {
    let side = format!(
        "disco-{}",
        match url.split(':').next().unwrap_or("") {
            "postgresql" => "postgres",
            scheme => scheme,
        }
    );
    let store = disco::connect(url).await?;
    if store.head_position().await? != 0 {
        return Err(format!(
            "{} is not empty: give each case a fresh store",
            disco_console::redact(url)
        )
        .into());
    }
    let time = Duration::from_secs_f64((5.0 * scale).max(1.0));
    match case {
        "append-8x1" => append_8x1(&store, &side, time).await?,
        "append-1x100" => append_1x100(&*store, &side, time).await?,
        "reads" => reads(&*store, &side).await?,
        other => {
            return Err(format!("no case {other:?}: append-8x1, append-1x100 or reads").into())
        }
    }
    store.close().await?;
    Ok(())
}

async fn append_8x1(
    store: &Arc<dyn EventStore>,
    side: &str,
    time: Duration,
) -> Result<(), Failure> {
    let (events, seconds) = crate::writers::append_while(store, WRITERS, async {
        tokio::time::sleep(time).await;
        Ok(())
    })
    .await?;
    line("append-8x1", side, events, seconds);
    Ok(())
}

async fn append_1x100(store: &dyn EventStore, side: &str, time: Duration) -> Result<(), Failure> {
    let stream = StreamId::new("batch")?;
    let started = Instant::now();
    let mut events = 0;
    while started.elapsed() < time {
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                (0..100).map(|_| event()).collect(),
            )
            .await?;
        events += 100;
    }
    line(
        "append-1x100",
        side,
        events,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

/// The fill's stream of event `n` (UmaDB's side: its tag).
fn fill_stream(n: u64) -> String {
    if n % TARGET_EVERY == 0 {
        "target".to_owned()
    } else {
        format!("s-{}", n % 97)
    }
}

async fn reads(store: &dyn EventStore, side: &str) -> Result<(), Failure> {
    for start in (0..FILL).step_by(100) {
        let mut parts: BTreeMap<String, Vec<NewEvent>> = BTreeMap::new();
        for n in start..start + 100 {
            parts.entry(fill_stream(n)).or_default().push(event());
        }
        let parts = parts
            .into_iter()
            .map(|(s, events)| Ok((StreamId::new(s)?, ExpectedVersion::Any, events)))
            .collect::<Result<Vec<_>, disco::Error>>()?;
        store.append_atomic(parts).await?;
    }
    let started = Instant::now();
    for _ in 0..READ_ALL_TIMES {
        let (mut after, mut n) = (0, 0u64);
        loop {
            let page = store.read_all(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            n += page
                .iter()
                .map(|e| u64::from(!e.data.is_empty()))
                .sum::<u64>();
        }
        if n != FILL {
            return Err(format!("read {n} events of {FILL}").into());
        }
    }
    line(
        "read-all",
        side,
        FILL * READ_ALL_TIMES as u64,
        started.elapsed().as_secs_f64(),
    );
    let target = StreamId::new("target")?;
    let want = FILL / TARGET_EVERY;
    let started = Instant::now();
    for _ in 0..READ_STREAM_TIMES {
        let events = store
            .read_stream(&target, 1, ReadDirection::Forward, want as usize)
            .await?;
        let n = events
            .iter()
            .map(|e| u64::from(!e.data.is_empty()))
            .sum::<u64>();
        if n != want {
            return Err(format!("read {n} events of the stream, not {want}").into());
        }
    }
    line(
        "read-stream",
        side,
        want * READ_STREAM_TIMES as u64,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}
