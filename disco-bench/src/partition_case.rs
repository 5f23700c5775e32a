//! The partition cases: one consumer against one partitioned four ways, on
//! 10,000 events over 1,000 streams.
//!
//! - `partitioned-io`: a handler that waits 2 ms per event (simulated I/O);
//!   the partitioned consumer runs as two members, one in a child process
//!   (this binary, `--partition-member`) on PostgreSQL and SQLite, both in
//!   this process on memory and redb. Timed from the first append until
//!   every event was handled; the events are appended once both members
//!   share the partitions (and, for the lone consumer, once it runs).
//! - `partitioned-noop`: a handler that does nothing, four partitions in
//!   one process against the lone consumer, on a store filled beforehand:
//!   what partitioning costs.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use disco_core::{
    Error, EventFilter, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Result, StreamId,
};
use disco_runtime::consumer::{
    Consumer, ConsumerOptions, Handler, HandlerError, PartitionedConsumer, PartitionedHandle,
};

use crate::workloads::{Measurement, Sizes};

/// Partitions of the partitioned side.
pub const PARTITIONS: u32 = 4;
/// Streams the events are spread over.
const STREAMS: usize = 1000;

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend(format!("{what}: {e}"))
}

/// Waits `pause` per event and counts.
pub struct Work {
    pause: Duration,
    handled: AtomicU64,
}

impl Work {
    pub fn new(pause: Duration) -> Arc<Work> {
        Arc::new(Work {
            pause,
            handled: AtomicU64::new(0),
        })
    }
}

#[async_trait]
impl Handler for Work {
    async fn handle(&self, _: &RecordedEvent) -> std::result::Result<(), HandlerError> {
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        self.handled.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Options that let both sides notice work and membership quickly.
pub fn options() -> ConsumerOptions {
    ConsumerOptions {
        takeover_poll: Duration::from_millis(50),
        lease_ttl: Duration::from_secs(3),
        checkpoint_every_events: 200,
        checkpoint_every: Duration::from_millis(50),
        poll_interval: Duration::from_millis(100),
        ..ConsumerOptions::default()
    }
}

/// `events` events over [`STREAMS`] streams, in pages of one
/// `append_many` each.
async fn fill(store: &dyn EventStore, tag: &str, events: usize) -> Result<()> {
    let mut version = vec![0u64; STREAMS];
    let mut appends = Vec::new();
    for i in 0..events {
        let s = i % STREAMS;
        let stream = StreamId::new(format!("{tag}-{s}"))?;
        appends.push((
            stream,
            ExpectedVersion::Exact(version[s]),
            vec![NewEvent::new("Work", vec![0; 100])],
        ));
        version[s] += 1;
        if appends.len() == 500 || i + 1 == events {
            for result in store.append_many(std::mem::take(&mut appends)).await {
                result?;
            }
        }
    }
    Ok(())
}

/// Until the partitioned consumer `handle` (all of its members) has seen `head`.
async fn partitioned_done(handle: &PartitionedHandle, head: u64) -> Result<()> {
    if handle.wait_for(head, Duration::from_secs(600)).await {
        Ok(())
    } else {
        Err(failed("partitioned", "did not finish in 10 minutes"))
    }
}

async fn single(
    store: Arc<dyn EventStore>,
    tag: &str,
    pause: Duration,
    fill_first: Option<usize>,
) -> Result<Measurement> {
    let work = Work::new(pause);
    let handle = Consumer::new(format!("bench-lone-{tag}"), work.clone())
        .options(options())
        .filter(EventFilter::default().with_stream_prefix(format!("{tag}-")))
        .start(store.clone())?;
    let start = Instant::now();
    if let Some(events) = fill_first {
        fill(&*store, tag, events).await?;
    }
    let head = store.head_position().await?;
    handle
        .wait_for(head, Duration::from_secs(600))
        .await
        .map_err(|e| failed("the lone consumer", e))?;
    let m = Measurement::timed(work.handled.load(Ordering::Relaxed), start);
    handle.stop().await;
    Ok(m)
}

/// `partitioned-io`: (partitioned over two members, lone consumer).
pub async fn io(
    store: Arc<dyn EventStore>,
    url: Option<String>,
    sizes: Sizes,
) -> Result<(Measurement, Measurement)> {
    let pause = Duration::from_millis(2);
    let events = sizes.partition_events;
    let lone = single(store.clone(), "single", pause, Some(events)).await?;

    let work = Work::new(pause);
    let mut child = match &url {
        Some(url) => Some(spawn_member(url, pause)?),
        None => None,
    };
    let second = match &url {
        Some(_) => None,
        None => Some(member(store.clone(), work.clone(), "part")?),
    };
    let first = member(store.clone(), work.clone(), "part")?;
    // Both members share the partitions before the work arrives.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mine = first.local_partitions().await.len();
        let owners: std::collections::BTreeSet<Option<u32>> =
            first.status().await.iter().map(|p| p.owner).collect();
        if mine == PARTITIONS as usize / 2 && owners.len() == 2 {
            break;
        }
        if Instant::now() > deadline {
            kill(&mut child);
            return Err(failed(
                "partitioned",
                "the two members did not share the partitions",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    fill(&*store, "part", events).await?;
    let head = store.head_position().await?;
    let done = partitioned_done(&first, head).await;
    let m = Measurement::timed(events as u64, start);

    kill(&mut child);
    first.stop().await;
    if let Some(second) = second {
        second.stop().await;
    }
    done?;
    Ok((m, lone))
}

/// `partitioned-noop`: (four partitions in this process, lone consumer),
/// both on a store filled beforehand.
pub async fn noop(store: Arc<dyn EventStore>, sizes: Sizes) -> Result<(Measurement, Measurement)> {
    fill(&*store, "noop", sizes.partition_events * 10).await?;
    let lone = single(store.clone(), "noop", Duration::ZERO, None).await?;
    let work = Work::new(Duration::ZERO);
    let start = Instant::now();
    let handle = member(store.clone(), work.clone(), "noop")?;
    let head = store.head_position().await?;
    partitioned_done(&handle, head).await?;
    let m = Measurement::timed(work.handled.load(Ordering::Relaxed), start);
    handle.stop().await;
    Ok((m, lone))
}

fn member(store: Arc<dyn EventStore>, work: Arc<Work>, tag: &str) -> Result<PartitionedHandle> {
    PartitionedConsumer::new(format!("bench-partitioned-{tag}"), PARTITIONS, work)
        .options(options())
        .filter(EventFilter::default().with_stream_prefix(format!("{tag}-")))
        .start(store)
}

fn spawn_member(url: &str, pause: Duration) -> Result<Child> {
    let exe = std::env::current_exe().map_err(|e| failed("the bench binary", e))?;
    Command::new(exe)
        .args(["--partition-member", url, "--handler-ms"])
        .arg(pause.as_millis().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed("spawn the second member", e))
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The child process: one member of `bench-partitioned` until killed.
pub async fn run_member(url: &str, pause: Duration) -> Result<()> {
    let store: Arc<dyn EventStore> = match url.strip_prefix("sqlite:") {
        Some(path) => Arc::new(
            disco_store_sqlite::SqliteStore::open(
                path,
                disco_store_sqlite::SqliteOptions::default(),
            )
            .await?,
        ),
        None => {
            let (base, schema) = disco_store_postgres::split_schema(url);
            let options = disco_store_postgres::PgOptions::default()
                .schema(schema.unwrap_or_else(|| "disco".to_owned()));
            Arc::new(disco_store_postgres::PostgresStore::connect(&base, options).await?)
        }
    };
    let handle = member(store, Work::new(pause), "part")?;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    handle.stop().await;
    Ok(())
}
