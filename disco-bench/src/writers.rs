//! Writers appending one event of 200 bytes at a time, each to a stream of
//! its own (`writer-N`), while something else runs: the write side of the
//! console and UmaDB measurements.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Bytes of each event's data (UmaDB's side of `bench/umadb` writes the
/// same).
const PAYLOAD: usize = 200;

/// The writers' event: `Deposited`, 200 bytes of data, no metadata (the
/// event `bench/umadb`'s UmaDB side writes).
pub fn event() -> NewEvent {
    NewEvent::new("Deposited", vec![b'x'; PAYLOAD])
}

/// `writers` writers append to `store` until `during` ends: the events
/// appended and the seconds they took.
pub async fn append_while<F>(
    store: &Arc<dyn EventStore>,
    writers: usize,
    during: F,
) -> Result<(u64, f64), Failure>
where
    F: Future<Output = Result<(), Failure>>,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let (store, stop, count) = (store.clone(), stop.clone(), count.clone());
        tasks.spawn(async move {
            let stream = StreamId::new(format!("writer-{w}"))?;
            while !stop.load(Ordering::Acquire) {
                store
                    .append(&stream, ExpectedVersion::Any, vec![event()])
                    .await?;
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), Failure>(())
        });
    }
    let started = Instant::now();
    let ran = during.await;
    stop.store(true, Ordering::Release);
    let seconds = started.elapsed().as_secs_f64();
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    ran?;
    Ok((count.load(Ordering::Relaxed), seconds))
}
