//! What the library reports through the [`metrics`](https://docs.rs/metrics)
//! facade, and [`Measured`], the store wrapper that times appends.
//!
//! Nothing is recorded until the application installs a recorder (an
//! exporter: `metrics-exporter-prometheus`, or a bridge to OpenTelemetry);
//! without one, each report costs a branch. Install it before starting
//! consumers: a consumer registers its metrics once, when it starts
//! (appends and commands look theirs up each time). Names follow OpenTelemetry's
//! semantic conventions where one fits (`db.client.operation.duration`,
//! `messaging.process.duration`); a Prometheus exporter writes them with
//! `_` for `.`.
//!
//! | name | kind | unit | labels |
//! |---|---|---|---|
//! | [`APPEND_DURATION`] | histogram | s | `db.system.name`, `db.operation.name`, `error.type` (failed calls) |
//! | [`APPEND_EVENTS`] | histogram | events | `db.system.name`, `db.operation.name` |
//! | [`COMMAND_DURATION`] | histogram | s | `disco.command`, `disco.outcome` |
//! | [`PROCESS_DURATION`] | histogram | s | `messaging.consumer.group.name` (one event in 16 is timed) |
//! | [`CONSUMED`] | counter | events | `messaging.consumer.group.name` |
//! | [`CONSUMER_LAG`] | gauge | events | `messaging.consumer.group.name` |

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Checkpoint, DeleteMode, EventFilter, EventStore,
    ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo, StreamLoad,
};

/// The time of a store's append calls (`append`, `append_atomic`,
/// `append_many`).
pub const APPEND_DURATION: &str = "db.client.operation.duration";
/// The events of each append call.
pub const APPEND_EVENTS: &str = "disco.append.events";
/// The time of an orchestrator's command, decoding to outcome.
pub const COMMAND_DURATION: &str = "disco.command.duration";
/// The time a consumer's handler takes for an event.
pub const PROCESS_DURATION: &str = "messaging.process.duration";
/// The events a consumer has handled (or passed over by its filter's
/// position).
pub const CONSUMED: &str = "messaging.client.consumed.messages";
/// How far behind the store's head a consumer is.
pub const CONSUMER_LAG: &str = "disco.consumer.lag";

/// The label of the store's kind.
pub const STORE_LABEL: &str = "db.system.name";
/// The label of the operation.
pub const OPERATION_LABEL: &str = "db.operation.name";
/// The label of a consumer's name.
pub const CONSUMER_LABEL: &str = "messaging.consumer.group.name";

/// A store whose append calls report their time and size
/// ([`APPEND_DURATION`], [`APPEND_EVENTS`]) under `db.system.name` =
/// `system`; every other call goes straight to the store. `disco::connect`
/// wraps the stores it opens in one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
/// use std::sync::Arc;
/// use disco::measured::Measured;
/// use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
/// let store = Measured::new(Arc::new(disco::memory::MemoryStore::new()), "memory");
/// let stream = StreamId::new("s-1")?;
/// store.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("E", b"{}".to_vec())]).await?;
/// assert_eq!(store.inner().head_position().await?, 1);
/// # Ok(()) }
/// ```
pub struct Measured {
    inner: Arc<dyn EventStore>,
    system: &'static str,
}

impl std::fmt::Debug for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Measured")
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

impl Measured {
    /// `inner`, its appends reported under `system` (`sqlite`,
    /// `postgresql`, ...).
    pub fn new(inner: Arc<dyn EventStore>, system: &'static str) -> Self {
        Measured { inner, system }
    }

    /// The store it wraps.
    pub fn inner(&self) -> &Arc<dyn EventStore> {
        &self.inner
    }

    fn report<T>(
        &self,
        operation: &'static str,
        events: usize,
        started: Instant,
        outcome: &Result<T>,
    ) {
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(_) => ::metrics::histogram!(
                APPEND_DURATION,
                STORE_LABEL => self.system,
                OPERATION_LABEL => operation
            )
            .record(seconds),
            Err(error) => ::metrics::histogram!(
                APPEND_DURATION,
                STORE_LABEL => self.system,
                OPERATION_LABEL => operation,
                "error.type" => error.kind()
            )
            .record(seconds),
        }
        ::metrics::histogram!(APPEND_EVENTS, STORE_LABEL => self.system, OPERATION_LABEL => operation)
            .record(events as f64);
    }
}

#[async_trait]
impl EventStore for Measured {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        let (count, started) = (events.len(), Instant::now());
        let outcome = self.inner.append(stream, expected, events).await;
        self.report("append", count, started, &outcome);
        outcome
    }

    async fn append_many(&self, appends: Vec<AppendMany>) -> Vec<Result<AppendResult>> {
        let count = appends.iter().map(|a| a.2.len()).sum();
        let started = Instant::now();
        let outcomes = self.inner.append_many(appends).await;
        let first_error = outcomes.iter().find_map(|o| o.as_ref().err().cloned());
        let summary: Result<()> = first_error.map_or(Ok(()), Err);
        self.report("append_many", count, started, &summary);
        outcomes
    }

    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        let count = parts.iter().map(|p| p.2.len()).sum();
        let started = Instant::now();
        let outcome = self.inner.append_atomic(parts).await;
        self.report("append_atomic", count, started, &outcome);
        outcome
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        let count = parts.iter().map(|p| p.2.len()).sum();
        let started = Instant::now();
        let outcome = self.inner.append_if(parts, condition).await;
        self.report("append_if", count, started, &outcome);
        outcome
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        self.inner.read_query(query, after, limit).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.inner.read_stream(stream, from, direction, limit).await
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all_filtered(after, limit, filter).await
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all_backward(from, limit).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all(after, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        self.inner.stream_version(stream).await
    }

    async fn head_position(&self) -> Result<u64> {
        self.inner.head_position().await
    }

    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        self.inner.list_streams(prefix, after, limit).await
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        self.inner.delete_stream(stream, expected, mode).await
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        self.inner.save_snapshot(stream, version, data).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.inner.load_snapshot(stream).await
    }

    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()> {
        self.inner.delete_snapshot(stream).await
    }

    async fn load_stream(&self, stream: &StreamId, limit: usize) -> Result<StreamLoad> {
        self.inner.load_stream(stream, limit).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.inner.save_checkpoint(name, position).await
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        self.inner
            .save_checkpoint_fenced(name, position, token)
            .await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        self.inner.load_checkpoint(name).await
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.inner.list_checkpoints().await
    }

    async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        self.inner.try_lease(name, ttl).await
    }

    fn notifications(&self) -> Notifications {
        self.inner.notifications()
    }

    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }

    fn limits(&self) -> Limits {
        self.inner.limits()
    }
}
