//! The benchmark cases. Each runs the same code on a store and on the raw
//! baseline (both as [`Target`]s) and reports events per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use disco_core::{NewEvent, Result, StreamId};
use tokio::task::JoinSet;

use crate::target::Target;

/// Data bytes per benchmark event.
pub const DATA_BYTES: usize = 200;
/// Metadata bytes per benchmark event.
pub const METADATA_BYTES: usize = 60;

/// A benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// One writer, one event per append.
    Append1x1,
    /// Eight concurrent writers, one event per append, each to its own stream.
    Append8x1,
    /// Groups of 8 one-event appends to 8 streams. The store gets them as 8
    /// concurrent appends (group commit's job); the raw side writes each
    /// group in one transaction, the most batching can give: the ratio shows
    /// how close group commit comes to perfect batching.
    Group8,
    /// One writer, 100 events per append.
    Append1x100,
    /// read_all of a filled store in pages of 1000.
    ReadAll1000,
    /// read_stream of a 1000-event stream.
    ReadStream1000,
    /// Holding 1,000,000 events (200 B data, 60 B metadata): rate and peak memory.
    Hold1M,
    /// `append-8x1` on a store already holding 5,000,000 events; its
    /// baseline is the same store on an empty schema (PostgreSQL).
    Append8x1At5M,
    /// A consumer with a no-op handler takes in a filled store; the raw
    /// side pages through it with read_all.
    ConsumeNoop,
    /// At a light load (one append every 5 ms), the time from an append's
    /// start until a consumer's handler has the event; the raw side's is
    /// the append alone. Reported as p50 and p99.
    Latency,
    /// Commands through `dispatch` from 8 tasks, each on a new aggregate
    /// whose id the orchestrator makes (`Target::New`); raw: one-event
    /// appends to new streams.
    DispatchNew8,
    /// Commands through `dispatch` from 8 tasks on one hot aggregate (the
    /// cache and the per-aggregate lock); raw: one writer appending to one
    /// stream.
    DispatchHot8,
    /// The time per command on one aggregate at stream lengths 10 and
    /// 10,000: with the cache it must stay flat.
    DispatchGrowth,
    /// `disco copy` of a SQLite store of 100,000 events over 1,000
    /// interleaved streams into this store; raw: the same pages inserted
    /// unchecked, one transaction per page.
    CopyFromSqlite,
    /// A projection that upserts one row per event rebuilt from 1,000,000
    /// events (500 per transaction); raw: the same upserts in transactions
    /// of 500, the rows read and decoded before the clock starts.
    ProjectionRebuild,
    /// The same rebuild with the projection written once for every
    /// read-model database (`SqlProjection`: statements in the SQL SQLite
    /// and PostgreSQL share); raw: the projection written for this
    /// database. Two rounds each, alternating: the cost of the portable
    /// layer.
    ProjectionPortable,
    /// At one append every 5 ms, the time from an append's start until the
    /// projection's row is committed; raw: the append, then the upsert by
    /// hand. Reported as p50 and p99.
    ProjectionLatency,
    /// One transfer at a time through a process manager (its start, then
    /// three commands the process manager sends: debit, credit, complete),
    /// timed until it is completed; raw: one command at a time on the same
    /// store. Reported as transfers (store) and commands (raw) per second,
    /// with p50 and p99.
    TransferProcess,
    /// A handler that waits 2 ms per event, 10,000 events over 1,000
    /// streams: a consumer split four ways over two members (two processes
    /// where the store is shared) against one consumer; events/s of each.
    PartitionedIo,
    /// A no-op handler, 100,000 events: four partitions in one process
    /// against one consumer (what partitioning costs).
    PartitionedNoop,
    /// redb only: the open of a store of 1 GiB whose writer was killed
    /// (`kill -9`), against the open of the same file closed cleanly. Each
    /// side is one open; its latency is the open's duration.
    ReopenAfterKill,
}

impl Case {
    /// Every case, in the order they run.
    pub const ALL: [Case; 21] = [
        Case::Append1x1,
        Case::Append8x1,
        Case::Group8,
        Case::Append1x100,
        Case::ReadAll1000,
        Case::ReadStream1000,
        Case::Hold1M,
        Case::Append8x1At5M,
        Case::ConsumeNoop,
        Case::Latency,
        Case::DispatchNew8,
        Case::DispatchHot8,
        Case::DispatchGrowth,
        Case::CopyFromSqlite,
        Case::ProjectionRebuild,
        Case::ProjectionPortable,
        Case::ProjectionLatency,
        Case::TransferProcess,
        Case::PartitionedIo,
        Case::PartitionedNoop,
        Case::ReopenAfterKill,
    ];

    /// The case's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Case::Append1x1 => "append-1x1",
            Case::Append8x1 => "append-8x1",
            Case::Group8 => "group-8-streams",
            Case::Append1x100 => "append-1x100",
            Case::ReadAll1000 => "read-all-1000",
            Case::ReadStream1000 => "read-stream-1000",
            Case::Hold1M => "hold-1m",
            Case::Append8x1At5M => "append-8x1-at-5m",
            Case::ConsumeNoop => "consume-noop",
            Case::Latency => "latency-to-handler",
            Case::DispatchNew8 => "dispatch-new-8",
            Case::DispatchHot8 => "dispatch-hot-8",
            Case::DispatchGrowth => "dispatch-growth",
            Case::CopyFromSqlite => "copy-from-sqlite",
            Case::ProjectionRebuild => "projection-rebuild",
            Case::ProjectionPortable => "projection-portable",
            Case::ProjectionLatency => "projection-latency",
            Case::TransferProcess => "transfer-process",
            Case::PartitionedIo => "partitioned-io",
            Case::PartitionedNoop => "partitioned-noop",
            Case::ReopenAfterKill => "reopen-after-kill",
        }
    }

    /// The case named `name`.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// How much work each case does; `scale` multiplies the defaults.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Appends of the 1x1 case.
    pub single_appends: usize,
    /// Appends of the 8x1 case, over all writers.
    pub concurrent_appends: usize,
    /// Events of the 1x100 case.
    pub batch_events: usize,
    /// Events in the store the read_all case pages through.
    pub read_all_events: usize,
    /// Reads of the 1000-event stream.
    pub stream_reads: usize,
    /// Events of the hold case.
    pub hold_events: usize,
    /// Appends timed by the latency case.
    pub latency_samples: usize,
    /// Commands per task of the dispatch cases.
    pub commands_per_task: usize,
    /// The longest stream of the growth case.
    pub growth_length: u64,
    /// Events of the copy case's source.
    pub copy_events: usize,
    /// Events the projection rebuild case projects.
    pub projection_events: usize,
    /// Transfers (and single commands) of the transfer case.
    pub transfers: usize,
    /// Events of the partitioned-io case (ten times as many for no-op).
    pub partition_events: usize,
    /// The size of the reopen-after-kill case's file, in MiB.
    pub reopen_mib: u64,
    /// Whether these are the full sizes (scale >= 1): only then are goals
    /// judged, as a tiny run measures start-up more than throughput.
    pub full: bool,
}

impl Sizes {
    /// The default sizes times `scale` (at least one unit of each).
    pub fn scaled(scale: f64) -> Sizes {
        let s = |n: f64| ((n * scale) as usize).max(1);
        Sizes {
            single_appends: s(20_000.0),
            concurrent_appends: s(40_000.0).max(8),
            batch_events: s(200_000.0).max(100),
            read_all_events: s(200_000.0).max(1000),
            stream_reads: s(200.0),
            hold_events: s(1_000_000.0).max(100),
            latency_samples: s(1000.0).max(20),
            commands_per_task: s(2500.0),
            growth_length: s(10_000.0).max(20) as u64,
            copy_events: s(100_000.0).max(1000),
            projection_events: s(1_000_000.0).max(1000),
            transfers: s(300.0).max(10),
            partition_events: s(10_000.0).max(100),
            reopen_mib: s(1024.0).max(4) as u64,
            full: scale >= 1.0,
        }
    }
}

/// What one run measured.
#[derive(Clone, Copy, Debug)]
pub struct Measurement {
    /// Events written or read in the timed part.
    pub events: u64,
    /// Time of the timed part.
    pub elapsed: Duration,
    /// For the latency case: the median and the 99th percentile.
    pub latency: Option<(Duration, Duration)>,
}

impl Measurement {
    /// `events` done since `start`.
    pub fn timed(events: u64, start: Instant) -> Self {
        Measurement {
            events,
            elapsed: start.elapsed(),
            latency: None,
        }
    }

    /// Samples taken since `start`, with their median and 99th percentile.
    pub fn with_latencies(mut took: Vec<Duration>, start: Instant) -> Self {
        let mut m = Measurement::timed(took.len() as u64, start);
        took.sort_unstable();
        if let (Some(p50), Some(p99)) = (quantile(&took, 0.5), quantile(&took, 0.99)) {
            m.latency = Some((p50, p99));
        }
        m
    }

    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The `q` quantile (0 to 1) of `sorted` (ascending), nearest rank;
/// `None` when empty.
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * q).round() as usize).copied()
}

/// One benchmark event: 200 bytes of JSON-like data, 60 of metadata.
pub fn bench_event(n: u64) -> NewEvent {
    let mut data = format!("{{\"n\":{n},\"payload\":\"").into_bytes();
    data.resize(DATA_BYTES - 2, b'x');
    data.extend_from_slice(b"\"}");
    let mut metadata = b"{\"correlation_id\":\"".to_vec();
    metadata.resize(METADATA_BYTES - 2, b'c');
    metadata.extend_from_slice(b"\"}");
    NewEvent::new("BenchEvent", data).with_metadata(metadata)
}

fn batches(count: usize, size: usize) -> Vec<Vec<NewEvent>> {
    (0..count)
        .map(|b| {
            (0..size)
                .map(|i| bench_event((b * size + i) as u64))
                .collect()
        })
        .collect()
}

fn stream(name: &str) -> Result<StreamId> {
    StreamId::new(name)
}

/// Appends `batches` to `stream` one after the other.
async fn append_all(
    target: &dyn Target,
    stream: &StreamId,
    batches: Vec<Vec<NewEvent>>,
) -> Result<u64> {
    let mut version = 0;
    for batch in batches {
        let n = batch.len() as u64;
        target.append(stream, version, batch).await?;
        version += n;
    }
    Ok(version)
}

/// Fills `target` with `events` events in appends of 100 over 10 streams
/// (not timed).
async fn fill(target: &dyn Target, events: usize) -> Result<()> {
    let appends = events.div_ceil(100);
    let mut versions = [0u64; 10];
    for a in 0..appends {
        let s = stream(&format!("fill-{}", a % 10))?;
        let batch: Vec<NewEvent> = (0..100)
            .map(|i| bench_event((a * 100 + i) as u64))
            .collect();
        target.append(&s, versions[a % 10], batch).await?;
        versions[a % 10] += 100;
    }
    Ok(())
}

/// Runs `case` on `target`.
pub async fn run(case: Case, target: Arc<dyn Target>, sizes: Sizes) -> Result<Measurement> {
    match case {
        Case::Append1x1 => {
            let work = batches(sizes.single_appends, 1);
            let s = stream("single-0")?;
            let start = Instant::now();
            let events = append_all(&*target, &s, work).await?;
            Ok(Measurement::timed(events, start))
        }
        Case::Append8x1 | Case::Append8x1At5M => {
            let per_writer = sizes.concurrent_appends / 8;
            let work: Vec<_> = (0..8).map(|_| batches(per_writer, 1)).collect();
            let start = Instant::now();
            let mut writers = JoinSet::new();
            for (w, batches) in work.into_iter().enumerate() {
                let target = target.clone();
                writers.spawn(async move {
                    let s = stream(&format!("writer-{w}"))?;
                    append_all(&*target, &s, batches).await
                });
            }
            let mut events = 0;
            while let Some(joined) = writers.join_next().await {
                events += joined.map_err(|e| {
                    disco_core::Error::Backend(format!("writer task failed: {e}"))
                })??;
            }
            Ok(Measurement::timed(events, start))
        }
        Case::Group8 => {
            let groups = sizes.concurrent_appends.div_ceil(8);
            let streams: Vec<StreamId> = (0..8)
                .map(|w| stream(&format!("group-{w}")))
                .collect::<Result<_>>()?;
            let work: Vec<Vec<Vec<NewEvent>>> = (0..groups).map(|_| batches(8, 1)).collect();
            let start = Instant::now();
            for (version, group) in work.into_iter().enumerate() {
                let appends = streams
                    .iter()
                    .cloned()
                    .zip(group)
                    .map(|(s, events)| (s, version as u64, events))
                    .collect();
                target.append_group(appends).await?;
            }
            Ok(Measurement::timed(groups as u64 * 8, start))
        }
        Case::Append1x100 => {
            let work = batches(sizes.batch_events.div_ceil(100), 100);
            let s = stream("batch-0")?;
            let start = Instant::now();
            let events = append_all(&*target, &s, work).await?;
            Ok(Measurement::timed(events, start))
        }
        Case::ReadAll1000 => {
            fill(&*target, sizes.read_all_events).await?;
            let start = Instant::now();
            let (mut events, mut after) = (0u64, 0u64);
            loop {
                let (n, last) = target.read_page(after, 1000).await?;
                if n == 0 {
                    break;
                }
                events += n as u64;
                after = last;
            }
            Ok(Measurement::timed(events, start))
        }
        Case::ReadStream1000 => {
            let s = stream("long-0")?;
            append_all(&*target, &s, batches(10, 100)).await?;
            let start = Instant::now();
            let mut events = 0;
            for _ in 0..sizes.stream_reads {
                events += target.read_stream(&s, 1000).await? as u64;
            }
            Ok(Measurement::timed(events, start))
        }
        Case::Hold1M => {
            let start = Instant::now();
            let appends = sizes.hold_events.div_ceil(100);
            let mut versions = vec![0u64; 1000];
            for a in 0..appends {
                let slot = a % versions.len();
                let s = stream(&format!("holder-{slot}"))?;
                let batch: Vec<NewEvent> = (0..100)
                    .map(|i| bench_event((a * 100 + i) as u64))
                    .collect();
                target.append(&s, versions[slot], batch).await?;
                versions[slot] += 100;
            }
            Ok(Measurement::timed(appends as u64 * 100, start))
        }
        Case::ConsumeNoop => {
            fill(&*target, sizes.read_all_events).await?;
            let start = Instant::now();
            let events = target.consume().await?;
            Ok(Measurement::timed(events, start))
        }
        Case::Latency => {
            let s = stream("latency-0")?;
            let start = Instant::now();
            let took = target
                .latencies(&s, sizes.latency_samples, Duration::from_millis(5))
                .await?;
            Ok(Measurement::with_latencies(took, start))
        }
        Case::ProjectionRebuild
        | Case::ProjectionPortable
        | Case::ProjectionLatency
        | Case::TransferProcess
        | Case::PartitionedIo
        | Case::PartitionedNoop
        | Case::ReopenAfterKill => Err(disco_core::Error::InvalidInput(format!(
            "{} runs on one store for both sides (report::measure)",
            case.name()
        ))),
        Case::DispatchNew8 | Case::DispatchHot8 => {
            let start = Instant::now();
            let commands = target
                .commands(sizes.commands_per_task, case == Case::DispatchHot8)
                .await?;
            Ok(Measurement::timed(commands, start))
        }
        Case::CopyFromSqlite => {
            let path =
                std::env::temp_dir().join(format!("disco-bench-copy-{}.db", uuid::Uuid::new_v4()));
            let copied = copy_from_sqlite(&*target, &path, sizes.copy_events).await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let (events, elapsed) = copied?;
            Ok(Measurement {
                events,
                elapsed,
                latency: None,
            })
        }
        Case::DispatchGrowth => {
            let samples = 200;
            let start = Instant::now();
            let costs = target
                .command_cost(&[10, sizes.growth_length], samples)
                .await?;
            let mut m = Measurement::timed(sizes.growth_length + 2 * samples as u64, start);
            // (cost at 10 events, cost at the longest stream).
            m.latency = Some((costs[0], costs[1]));
            Ok(m)
        }
    }
}

/// Fills a SQLite store at `path` with `events` events over 1,000 streams,
/// each event in another stream than the one before (not timed), then
/// copies it into `target`.
async fn copy_from_sqlite(
    target: &dyn Target,
    path: &std::path::Path,
    events: usize,
) -> Result<(u64, Duration)> {
    use disco_core::{EventStore, ExpectedVersion};
    let source = disco_store_sqlite::SqliteStore::open(path, Default::default()).await?;
    let mut versions = vec![0u64; 1000];
    let mut appends = Vec::new();
    for i in 0..events {
        let s = i % versions.len();
        appends.push((
            stream(&format!("copied-{s:04}"))?,
            ExpectedVersion::Exact(versions[s]),
            vec![bench_event(i as u64)],
        ));
        versions[s] += 1;
        if appends.len() == 2000 || i + 1 == events {
            for result in source.append_many(std::mem::take(&mut appends)).await {
                result?;
            }
        }
    }
    target.copy_in(&source, 2000).await
}
