//! A consumer's status reports the error that holds its runner back, and
//! forgets it once the runner is active again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use disco::consumer::{handler_fn, Consumer, ConsumerState};
use disco::lease::Lease;
use disco::memory::MemoryStore;
use disco::{
    AppendMany, AppendResult, Checkpoint, DeleteMode, Error, EventFilter, EventStore,
    ExpectedVersion, Limits, NewEvent, Notifications, ReadDirection, RecordedEvent, Result,
    Snapshot, StreamId, StreamInfo,
};

/// A memory store whose lease requests fail, as in a store outage, while
/// `failing` is set.
struct FlakyLeases {
    inner: MemoryStore,
    failing: AtomicBool,
}

#[async_trait]
impl EventStore for FlakyLeases {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.inner.append(stream, expected, events).await
    }
    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        self.inner.append_atomic(parts).await
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &disco::AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.inner.append_if(parts, condition).await
    }
    async fn read_query(
        &self,
        query: &disco::Query,
        after: u64,
        limit: usize,
    ) -> Result<disco::QueryRead> {
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
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Unavailable("the lease table is busy".into()));
        }
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

async fn status_until(
    handle: &disco::consumer::ConsumerHandle,
    what: &str,
    done: impl Fn(&disco::consumer::ConsumerStatus) -> bool,
) -> disco::consumer::ConsumerStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = handle.status().await;
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within 10 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_a_runner_recovered_from_is_not_reported_once_it_is_active() {
    let store = Arc::new(FlakyLeases {
        inner: MemoryStore::new(),
        failing: AtomicBool::new(true),
    });
    let handler = handler_fn(|_: &RecordedEvent| async { Ok(()) });
    let handle = Consumer::new("flaky", handler)
        .lease(Duration::from_secs(5), Duration::from_millis(20))
        .start(store.clone())
        .expect("start");
    let standby = status_until(&handle, "the lease error reported", |s| {
        s.last_error.is_some()
    })
    .await;
    assert_eq!(standby.state, ConsumerState::Standby, "{standby:?}");
    assert!(
        standby
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("the lease table is busy")),
        "{standby:?}"
    );
    store.failing.store(false, Ordering::SeqCst);
    let active = status_until(&handle, "active", |s| s.state == ConsumerState::Active).await;
    assert_eq!(
        active.last_error, None,
        "an active runner reports {active:?}"
    );
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_needs_no_store_read_and_agrees_with_the_status() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let handle = Consumer::new("snap", handler_fn(|_| async { Ok(()) }))
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    for n in 0..3 {
        store
            .append(
                &StreamId::new(format!("s-{n}")).unwrap_or_else(|e| panic!("{e}")),
                ExpectedVersion::NoStream,
                vec![NewEvent::new("E", b"{}".to_vec())],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    handle
        .wait_for(3, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let snapshot = handle.snapshot();
    assert_eq!(
        (snapshot.position, snapshot.head, snapshot.lag),
        (3, 3, 0),
        "{snapshot:?}"
    );
    assert_eq!(snapshot, handle.status().await);
    handle.stop().await;
}
