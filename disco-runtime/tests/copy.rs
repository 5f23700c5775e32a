//! `copy_store` memory to memory: a full copy verifies; a target holding
//! anything is refused before a write; a target that alters what it stores
//! is caught by the verification; an interrupted copy resumes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use disco_core::lease::Lease;
use disco_core::{
    AppendMany, AppendResult, Checkpoint, DeleteMode, Error, EventFilter, EventStore,
    ExpectedVersion, Limits, NewEvent, Notifications, ReadDirection, RecordedEvent, Result,
    Snapshot, StreamId, StreamInfo,
};
use disco_runtime::copy::{copy_store, CopyError};
use disco_store_memory::MemoryStore;

fn sid(s: &str) -> StreamId {
    StreamId::new(s).unwrap_or_else(|e| panic!("{e}"))
}

/// A source of 30 events over three streams, one soft-deleted, a snapshot
/// and a checkpoint.
async fn source() -> MemoryStore {
    let store = MemoryStore::new();
    for i in 0..30u64 {
        let stream = sid(&format!("s-{}", i % 3));
        let event = NewEvent::new("E", i.to_le_bytes().to_vec());
        store
            .append(&stream, ExpectedVersion::Any, vec![event])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    store
        .delete_stream(&sid("s-2"), ExpectedVersion::Any, DeleteMode::Soft)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_snapshot(&sid("s-0"), 3, b"snap".to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_checkpoint("projector", 12)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
}

#[tokio::test]
async fn a_copy_holds_the_same_events_and_verifies() {
    let (from, to) = (source().await, MemoryStore::new());
    let report = copy_store(&from, &to, 7, &|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.copied, report.verified_events), (30, 30));
    assert!(!report.resumed);
    assert_eq!((report.deleted_streams, report.snapshots), (1, 1));
    let (a, b) = (
        from.read_all(0, 100)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        to.read_all(0, 100).await.unwrap_or_else(|e| panic!("{e}")),
    );
    let key = |e: &RecordedEvent| {
        (
            e.id,
            e.stream_id.clone(),
            e.version,
            e.data.clone(),
            e.recorded_at,
        )
    };
    assert_eq!(
        a.iter().map(key).collect::<Vec<_>>(),
        b.iter().map(key).collect::<Vec<_>>()
    );
    assert!(matches!(
        to.read_stream(&sid("s-2"), 1, ReadDirection::Forward, 1)
            .await,
        Err(Error::StreamDeleted { .. })
    ));
}

#[tokio::test]
async fn a_target_holding_anything_is_refused_before_a_write() {
    let from = source().await;
    let with_events = MemoryStore::new();
    with_events
        .append(
            &sid("mine"),
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let with_checkpoint = MemoryStore::new();
    with_checkpoint
        .save_checkpoint("other", 5)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for target in [&with_events, &with_checkpoint] {
        let head = target
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = copy_store(&from, target, 7, &|_, _| {}).await;
        assert!(
            matches!(refused, Err(CopyError::TargetNotEmpty)),
            "{refused:?}"
        );
        assert_eq!(
            target
                .head_position()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            head
        );
    }
}

/// A memory store that, when told, alters the data of every fifth event it
/// stores, or fails with `Unavailable` after a number of bulk appends.
struct Faulty {
    inner: MemoryStore,
    alters: bool,
    fail_after: Option<usize>,
    bulk: AtomicUsize,
}

impl Faulty {
    fn new(inner: MemoryStore) -> Self {
        Faulty {
            inner,
            alters: false,
            fail_after: None,
            bulk: AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl EventStore for Faulty {
    async fn append(
        &self,
        s: &StreamId,
        e: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.inner.append(s, e, events).await
    }
    async fn append_many(&self, mut appends: Vec<AppendMany>) -> Vec<Result<AppendResult>> {
        let done = self.bulk.fetch_add(1, Ordering::SeqCst);
        if self.fail_after.is_some_and(|n| done >= n) {
            return appends
                .iter()
                .map(|_| Err(Error::Unavailable("cut off".into())))
                .collect();
        }
        if self.alters {
            for (_, _, events) in appends.iter_mut() {
                for event in events.iter_mut().step_by(5) {
                    event.data.push(0xff);
                }
            }
        }
        self.inner.append_many(appends).await
    }
    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        self.inner.append_atomic(parts).await
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &disco_core::AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.inner.append_if(parts, condition).await
    }
    async fn read_query(
        &self,
        query: &disco_core::Query,
        after: u64,
        limit: usize,
    ) -> Result<disco_core::QueryRead> {
        self.inner.read_query(query, after, limit).await
    }
    async fn read_stream(
        &self,
        s: &StreamId,
        from: u64,
        d: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.inner.read_stream(s, from, d, limit).await
    }
    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        f: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all_filtered(after, limit, f).await
    }
    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.inner.read_all_backward(from, limit).await
    }
    async fn stream_version(&self, s: &StreamId) -> Result<u64> {
        self.inner.stream_version(s).await
    }
    async fn head_position(&self) -> Result<u64> {
        self.inner.head_position().await
    }
    async fn list_streams(
        &self,
        p: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        self.inner.list_streams(p, after, limit).await
    }
    async fn delete_stream(&self, s: &StreamId, e: ExpectedVersion, m: DeleteMode) -> Result<()> {
        self.inner.delete_stream(s, e, m).await
    }
    async fn save_snapshot(&self, s: &StreamId, v: u64, d: Vec<u8>) -> Result<()> {
        self.inner.save_snapshot(s, v, d).await
    }
    async fn delete_snapshot(&self, s: &StreamId) -> Result<()> {
        self.inner.delete_snapshot(s).await
    }
    async fn load_snapshot(&self, s: &StreamId) -> Result<Option<Snapshot>> {
        self.inner.load_snapshot(s).await
    }
    async fn save_checkpoint(&self, n: &str, p: u64) -> Result<()> {
        self.inner.save_checkpoint(n, p).await
    }
    async fn save_checkpoint_fenced(&self, n: &str, p: u64, t: u64) -> Result<()> {
        self.inner.save_checkpoint_fenced(n, p, t).await
    }
    async fn load_checkpoint(&self, n: &str) -> Result<Option<u64>> {
        self.inner.load_checkpoint(n).await
    }
    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.inner.list_checkpoints().await
    }
    async fn try_lease(&self, n: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        self.inner.try_lease(n, ttl).await
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

#[tokio::test]
async fn a_target_that_alters_events_fails_the_verification() {
    let from = source().await;
    let target = Faulty {
        alters: true,
        ..Faulty::new(MemoryStore::new())
    };
    let verdict = copy_store(&from, &target, 7, &|_, _| {}).await;
    assert!(
        matches!(verdict, Err(CopyError::Mismatch(_))),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn an_interrupted_copy_resumes_and_verifies() {
    let from = source().await;
    let inner = MemoryStore::new();
    let cut = Faulty {
        fail_after: Some(2),
        ..Faulty::new(inner.clone())
    };
    let interrupted = copy_store(&from, &cut, 7, &|_, _| {}).await;
    assert!(
        matches!(interrupted, Err(CopyError::Append { .. })),
        "{interrupted:?}"
    );
    let partial = inner
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(partial > 0 && partial < 30, "{partial}");
    let report = copy_store(&from, &inner, 7, &|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.resumed);
    assert_eq!(report.copied, 30 - 14);
    assert_eq!(report.verified_events, 30);
}
