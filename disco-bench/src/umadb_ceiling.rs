//! `--umadb-workload CASE --raw`: the ceiling of disco's side of
//! `bench/umadb/run.sh`, the same work on the store's raw baseline (the
//! engine with disco's table shape and keys, none of its checks: see
//! [`crate::baseline`]), so the table can show where a goal against UmaDB is
//! above what the engine itself does. Prints the same JSON lines as
//! [`crate::umadb_workload`], the side `raw-sqlite`, `raw-redb` or
//! `raw-postgres`.
//!
//! - `append-8x1`: perfect batching, the most group commit can give: the
//!   one-event appends of the 8 writers, 8 streams, in one transaction;
//! - `append-1x100`: one transaction of 100 events to one stream;
//! - `reads`: the same fill, then the whole log three times in pages of
//!   1,000 (`read-all`) and the 1,000 events of `target` twenty times by
//!   its index (`read-stream`; the raw table has no tags, so its
//!   `read-query` is the same read by the same kind of index).
//!
//! The conditional cases have no raw side: an engine without disco's checks
//! has no condition to check.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::{NewEvent, StreamId};

use crate::backend::{Backend, Side};
use crate::read_fill::stream_of;
use crate::target::Target;
use crate::umadb_workload::{
    line, repeat_for, time_read_all, FILL, PER_APPEND, READ_ALL_TIMES, READ_STREAM_TIMES,
    TARGET_EVERY, WRITERS,
};
use crate::workloads::Case;
use crate::writers::{event, Failure};

/// Runs `case` on the raw baseline of the store at `url`.
pub async fn run(url: &str, case: &str, scale: f64) -> Result<(), Failure> {
    let backend = Backend::parse(url)?;
    let side_name = match backend {
        Backend::Sqlite(_) => "raw-sqlite",
        Backend::Redb(_) => "raw-redb",
        Backend::Postgres(_) => "raw-postgres",
        _ => return Err("the raw side runs on sqlite:, redb: or postgres: stores".into()),
    };
    let time = Duration::from_secs_f64((5.0 * scale).max(1.0));
    let (bench_case, work) = match case {
        "append-8x1" => (Case::Group8, Work::Group8x1),
        "append-1x100" => (Case::Append1x100, Work::Append1x100),
        "reads" => (Case::ReadAll1000, Work::Reads),
        // No raw side: nothing to print.
        "cond-8x1" | "seat-race" => return Ok(()),
        other => {
            return Err(format!(
                "no case {other:?}: append-8x1, append-1x100, reads, cond-8x1 or seat-race"
            )
            .into())
        }
    };
    let side: Side = backend.fresh_raw(bench_case).await?;
    let target = side.target.clone();
    let outcome = match work {
        Work::Group8x1 => group_8x1(target, side_name, time).await,
        Work::Append1x100 => append_1x100(target, side_name, time).await,
        Work::Reads => reads(target, side_name).await,
    };
    side.finish().await;
    outcome
}

/// The cases with a raw side.
enum Work {
    Group8x1,
    Append1x100,
    Reads,
}

/// The streams' versions, for the raw side's keys.
#[derive(Default)]
struct Versions(HashMap<String, u64>);

impl Versions {
    /// `events` as the next append to `stream`: its version before.
    fn next(&mut self, stream: &str, events: usize) -> u64 {
        let version = self.0.entry(stream.to_owned()).or_default();
        let before = *version;
        *version += events as u64;
        before
    }
}

async fn group_8x1(target: Arc<dyn Target>, side: &str, time: Duration) -> Result<(), Failure> {
    let streams = (0..WRITERS)
        .map(|w| StreamId::new(format!("writer-{w}")))
        .collect::<Result<Vec<_>, _>>()?;
    let (groups, seconds) = repeat_for(time, |version| {
        let group = streams
            .iter()
            .map(|s| (s.clone(), version, vec![event()]))
            .collect();
        let target = target.clone();
        async move { Ok(target.append_group(group).await?) }
    })
    .await?;
    line("append-8x1", side, groups * WRITERS as u64, seconds);
    Ok(())
}

async fn append_1x100(target: Arc<dyn Target>, side: &str, time: Duration) -> Result<(), Failure> {
    let stream = StreamId::new("batch")?;
    let (appends, seconds) = repeat_for(time, |i| {
        let (target, stream) = (target.clone(), stream.clone());
        async move {
            let events = (0..100).map(|_| event()).collect();
            Ok(target.append(&stream, i * 100, events).await?)
        }
    })
    .await?;
    line("append-1x100", side, appends * 100, seconds);
    Ok(())
}

async fn reads(target: Arc<dyn Target>, side: &str) -> Result<(), Failure> {
    let mut versions = Versions::default();
    for start in (0..FILL).step_by(PER_APPEND as usize) {
        let mut parts: Vec<(String, Vec<NewEvent>)> = Vec::new();
        for n in start..(start + PER_APPEND).min(FILL) {
            let stream = stream_of(n, TARGET_EVERY);
            match parts.iter_mut().find(|(s, _)| *s == stream) {
                Some((_, events)) => events.push(event()),
                None => parts.push((stream, vec![event()])),
            }
        }
        let group = parts
            .into_iter()
            .map(|(s, events)| {
                let before = versions.next(&s, events.len());
                Ok((StreamId::new(s)?, before, events))
            })
            .collect::<Result<Vec<_>, disco::Error>>()?;
        target.append_group(group).await?;
    }
    let seconds = time_read_all(&*target).await?;
    line("read-all", side, FILL * READ_ALL_TIMES as u64, seconds);
    let want = FILL / TARGET_EVERY;
    let stream = StreamId::new("target")?;
    for case in ["read-stream", "read-query"] {
        let started = Instant::now();
        for _ in 0..READ_STREAM_TIMES {
            let n = target.read_stream(&stream, want as usize).await?;
            if n as u64 != want {
                return Err(format!("read {n} events of the stream, not {want}").into());
            }
        }
        line(
            case,
            side,
            want * READ_STREAM_TIMES as u64,
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(())
}
