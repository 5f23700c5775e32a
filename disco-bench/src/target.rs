//! [`Target`]: what a workload runs against, a store or its raw baseline, so
//! both do exactly the same work and the ratio compares like with like.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use disco_core::{
    Error, EventStore, ExpectedVersion, NewEvent, ReadDirection, RecordedEvent, Result, StreamId,
    Uuid,
};
use disco_runtime::consumer::{Consumer, Handler, HandlerError};
use tokio::sync::{mpsc, Notify};

use crate::workloads::bench_event;

/// A thing that appends and reads events.
#[async_trait]
pub trait Target: Send + Sync {
    /// Appends `events` to `stream`, whose version is `version` before.
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()>;
    /// Appends each `(stream, version, events)` at once: the store as
    /// concurrent appends, a raw baseline in one transaction.
    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()>;
    /// Reads up to `limit` events after `after`; returns how many and the last
    /// position (0 when none).
    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)>;
    /// Reads up to `limit` events of `stream` forward; returns how many.
    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize>;

    /// Takes in every event of the (filled, quiet) target once, as a
    /// consumer with a no-op handler would; returns how many. The raw side
    /// pages through read_all in pages of 512, the consumer's page size.
    async fn consume(&self) -> Result<u64> {
        let (mut events, mut after) = (0u64, 0u64);
        loop {
            let (n, last) = self.read_page(after, 512).await?;
            if n == 0 {
                return Ok(events);
            }
            events += n as u64;
            after = last;
        }
    }

    /// Runs `per_task` commands from each of 8 tasks, each command on a
    /// new aggregate (`hot`: all on one aggregate); returns how many ran.
    /// The raw side appends one event per command: to a new stream each, or
    /// (hot) one writer to one stream, the most a single stream takes.
    async fn commands(&self, per_task: usize, hot: bool) -> Result<u64> {
        if hot {
            let s = StreamId::new("hot-raw")?;
            for i in 0..per_task * 8 {
                self.append(&s, i as u64, vec![bench_event(i as u64)])
                    .await?;
            }
        } else {
            for t in 0..8 {
                for i in 0..per_task {
                    let s = StreamId::new(format!("new-{t}-{i}"))?;
                    self.append(&s, 0, vec![bench_event(i as u64)]).await?;
                }
            }
        }
        Ok((per_task * 8) as u64)
    }

    /// The time per command on one aggregate as its stream grows: for each
    /// stream length in `lengths`, the mean of `samples` commands. The raw
    /// side times one-event appends.
    async fn command_cost(&self, lengths: &[u64], samples: usize) -> Result<Vec<Duration>> {
        let s = StreamId::new("growing-raw")?;
        let mut version = 0u64;
        let mut out = Vec::new();
        for &length in lengths {
            while version < length {
                self.append(&s, version, vec![bench_event(version)]).await?;
                version += 1;
            }
            let start = Instant::now();
            for _ in 0..samples {
                self.append(&s, version, vec![bench_event(version)]).await?;
                version += 1;
            }
            out.push(start.elapsed() / samples.max(1) as u32);
        }
        Ok(out)
    }

    /// Copies every event of `source` in, `batch` per page, in order, and
    /// returns how many and the time the copy took. The raw side writes each
    /// page's runs of one stream in one transaction, unchecked.
    async fn copy_in(&self, source: &dyn EventStore, batch: usize) -> Result<(u64, Duration)> {
        let start = Instant::now();
        let (mut after, mut events) = (0u64, 0u64);
        loop {
            let page = source.read_all(after, batch).await?;
            let Some(last) = page.last().map(|e| e.position) else {
                return Ok((events, start.elapsed()));
            };
            let runs = disco_runtime::copy::appends(&page)
                .into_iter()
                .map(|(stream, expected, events)| {
                    let version = match expected {
                        ExpectedVersion::Exact(v) => v,
                        _ => 0,
                    };
                    (stream, version, events)
                })
                .collect();
            self.append_group(runs).await?;
            events += page.len() as u64;
            after = last;
        }
    }

    /// Appends `samples` one-event appends to `stream`, one every `gap`,
    /// and returns for each the time from the start of its append until it
    /// is delivered: to a consumer's handler on a store, and until the
    /// append returns on a raw baseline (the floor for the store).
    async fn latencies(
        &self,
        stream: &StreamId,
        samples: usize,
        gap: Duration,
    ) -> Result<Vec<Duration>> {
        let mut out = Vec::with_capacity(samples);
        for i in 0..samples {
            let started = Instant::now();
            self.append(stream, i as u64, vec![bench_event(i as u64)])
                .await?;
            out.push(started.elapsed());
            tokio::time::sleep(gap).await;
        }
        Ok(out)
    }
}

/// A disco store as a [`Target`].
pub struct StoreTarget(pub Arc<dyn EventStore>);

#[async_trait]
impl Target for StoreTarget {
    async fn append(&self, stream: &StreamId, version: u64, events: Vec<NewEvent>) -> Result<()> {
        self.0
            .append(stream, ExpectedVersion::Exact(version), events)
            .await
            .map(|_| ())
    }

    async fn append_group(&self, appends: Vec<(StreamId, u64, Vec<NewEvent>)>) -> Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for (stream, version, events) in appends {
            let store = self.0.clone();
            tasks.spawn(async move {
                store
                    .append(&stream, ExpectedVersion::Exact(version), events)
                    .await
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined
                .map_err(|e| disco_core::Error::Backend(format!("append task failed: {e}")))??;
        }
        Ok(())
    }

    /// Counts the events that came with their data (reading each one's
    /// bytes), so a read that lost data reads short.
    async fn read_page(&self, after: u64, limit: usize) -> Result<(usize, u64)> {
        let page = self.0.read_all(after, limit).await?;
        let with_data = usize::try_from(crate::read_fill::with_data(&page)).unwrap_or(usize::MAX);
        Ok((with_data, page.last().map_or(0, |e| e.position)))
    }

    async fn read_stream(&self, stream: &StreamId, limit: usize) -> Result<usize> {
        Ok(self
            .0
            .read_stream(stream, 1, ReadDirection::Forward, limit)
            .await?
            .len())
    }

    async fn consume(&self) -> Result<u64> {
        self.consume_with_consumer().await
    }

    async fn copy_in(&self, source: &dyn EventStore, batch: usize) -> Result<(u64, Duration)> {
        let report = disco_runtime::copy::copy_store(source, &*self.0, batch, &|_, _| {})
            .await
            .map_err(|e| Error::Backend(format!("the copy failed: {e}")))?;
        Ok((report.copied, report.elapsed))
    }

    async fn commands(&self, per_task: usize, hot: bool) -> Result<u64> {
        let app = Arc::new(crate::commands::orchestrator(self.0.clone()).map_err(build_failed)?);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let app = app.clone();
            tasks.spawn(async move {
                for _ in 0..per_task {
                    let dispatched = if hot {
                        app.dispatch("bump", serde_json::json!({"counter_id": "hot", "by": 1}))
                            .await
                    } else {
                        // A new aggregate, its id made by the orchestrator.
                        app.dispatch("start", serde_json::json!({"by": 1})).await
                    };
                    dispatched.map_err(dispatch_failed)?;
                }
                Ok::<_, Error>(())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.map_err(|e| Error::Backend(format!("a command task failed: {e}")))??;
        }
        Ok((per_task * 8) as u64)
    }

    async fn command_cost(&self, lengths: &[u64], samples: usize) -> Result<Vec<Duration>> {
        let app = crate::commands::orchestrator(self.0.clone()).map_err(build_failed)?;
        let params = serde_json::json!({"counter_id": "growing", "by": 1});
        let mut version = 0u64;
        let mut out = Vec::new();
        for &length in lengths {
            while version < length {
                app.dispatch("bump", params.clone())
                    .await
                    .map_err(dispatch_failed)?;
                version += 1;
            }
            let start = Instant::now();
            for _ in 0..samples {
                app.dispatch("bump", params.clone())
                    .await
                    .map_err(dispatch_failed)?;
                version += 1;
            }
            out.push(start.elapsed() / samples.max(1) as u32);
        }
        Ok(out)
    }

    async fn latencies(
        &self,
        stream: &StreamId,
        samples: usize,
        gap: Duration,
    ) -> Result<Vec<Duration>> {
        let started = Arc::new(Mutex::new(HashMap::new()));
        let (took, mut arrivals) = mpsc::unbounded_channel();
        let watch = Stopwatch {
            started: started.clone(),
            took,
        };
        let handle = Consumer::new("bench-latency", watch).start(self.0.clone())?;
        let mut out = Vec::with_capacity(samples);
        for i in 0..samples {
            let event = bench_event(i as u64);
            started
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(event.id, Instant::now());
            self.append(stream, i as u64, vec![event]).await?;
            let arrived = tokio::time::timeout(Duration::from_secs(10), arrivals.recv()).await;
            match arrived {
                Ok(Some(took)) => out.push(took),
                Ok(None) => return Err(consumer_failed("stopped")),
                Err(_) => return Err(consumer_failed("did not see an event within 10 s")),
            }
            tokio::time::sleep(gap).await;
        }
        handle.stop().await;
        Ok(out)
    }
}

/// The no-op handler of `consume-noop`: counts, and says when it has seen
/// the last position.
struct Count {
    events: AtomicU64,
    last: u64,
    done: Notify,
}

/// [`Count`] shared with the bench (one boxed future per event, as a
/// user's handler has).
struct CountHandle(Arc<Count>);

#[async_trait]
impl Handler for CountHandle {
    async fn handle(&self, event: &RecordedEvent) -> std::result::Result<(), HandlerError> {
        self.0.events.fetch_add(1, Ordering::Relaxed);
        if event.position >= self.0.last {
            self.0.done.notify_one();
        }
        Ok(())
    }
}

/// Reports when each awaited event reached the handler.
struct Stopwatch {
    started: Arc<Mutex<HashMap<Uuid, Instant>>>,
    took: mpsc::UnboundedSender<Duration>,
}

#[async_trait]
impl Handler for Stopwatch {
    async fn handle(&self, event: &RecordedEvent) -> std::result::Result<(), HandlerError> {
        let started = self
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&event.id);
        if let Some(started) = started {
            let _ = self.took.send(started.elapsed());
        }
        Ok(())
    }
}

fn build_failed(error: disco_cqrs::BuildError) -> Error {
    Error::InvalidInput(format!("the benchmark's routes do not build: {error}"))
}

fn dispatch_failed(error: disco_cqrs::DispatchError) -> Error {
    Error::Backend(format!("a benchmark command failed: {error}"))
}

fn consumer_failed(what: &str) -> Error {
    Error::Backend(format!("the benchmark consumer {what}"))
}

impl StoreTarget {
    async fn consume_with_consumer(&self) -> Result<u64> {
        let count = Arc::new(Count {
            events: AtomicU64::new(0),
            last: self.0.head_position().await?,
            done: Notify::new(),
        });
        let handle =
            Consumer::new("bench-consume", CountHandle(count.clone())).start(self.0.clone())?;
        count.done.notified().await;
        handle.stop().await;
        Ok(count.events.load(Ordering::Relaxed))
    }
}
