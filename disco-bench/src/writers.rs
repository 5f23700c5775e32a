//! Writers appending while something else runs: the write side of the
//! console, UmaDB and conditions measurements. [`count_while`] is the loop;
//! [`append_while`] its usual use, one event of 200 bytes at a time, each
//! writer to a stream of its own (`writer-N`).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use disco::{EventStore, ExpectedVersion, NewEvent, Query, QueryItem, StreamId};

/// A measurement's failure, whatever failed.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Bytes of each event's data (UmaDB's side of `bench/umadb` writes the
/// same).
const PAYLOAD: usize = 200;

/// The writers' event: `Deposited`, 200 bytes of data, no metadata (the
/// event `bench/umadb`'s UmaDB side writes).
pub fn event() -> NewEvent {
    NewEvent::new("Deposited", vec![b'x'; PAYLOAD])
}

/// The 2-item condition query of the conditional writers: a course's
/// definition and seats, and a student's registration (`bench/umadb`'s
/// UmaDB side builds the same).
pub fn course_query(course: &str, student: &str) -> Query {
    Query::new()
        .or(QueryItem::new()
            .types(["CourseDefined", "StudentSubscribed"])
            .tags([course]))
        .or(QueryItem::new()
            .types(["StudentRegistered"])
            .tags([student]))
}

/// `writers` writers call `append(writer, i)` for their `i`th append, one
/// after another, until `during` ends: the appends made and the seconds
/// they took.
pub async fn count_while<A, Fut, F>(
    writers: usize,
    append: A,
    during: F,
) -> Result<(u64, f64), Failure>
where
    A: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
    F: Future<Output = Result<(), Failure>>,
{
    let append = Arc::new(append);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let (append, stop, count) = (append.clone(), stop.clone(), count.clone());
        tasks.spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Acquire) {
                append(w, i).await?;
                i += 1;
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

/// `writers` writers append [`event`] to `store`, each to `writer-N`,
/// until `during` ends: the events appended and the seconds they took.
pub async fn append_while<F>(
    store: &Arc<dyn EventStore>,
    writers: usize,
    during: F,
) -> Result<(u64, f64), Failure>
where
    F: Future<Output = Result<(), Failure>>,
{
    let streams: Arc<Vec<StreamId>> = Arc::new(
        (0..writers)
            .map(|w| StreamId::new(format!("writer-{w}")))
            .collect::<Result<_, _>>()?,
    );
    let store = store.clone();
    count_while(
        writers,
        move |w, _| {
            let (store, streams) = (store.clone(), streams.clone());
            async move {
                let stream = streams.get(w).ok_or("no stream for the writer")?;
                store
                    .append(stream, ExpectedVersion::Any, vec![event()])
                    .await?;
                Ok(())
            }
        },
        during,
    )
    .await
}
