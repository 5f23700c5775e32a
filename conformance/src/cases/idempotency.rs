//! Rule 6: a retried append returns the original result and writes nothing;
//! any other reuse of an id is `DuplicateEventId`.

use std::sync::Arc;

use disco_core::{Error, EventStore, ExpectedVersion::*};

use crate::helpers::*;

async fn head(store: &dyn EventStore) -> u64 {
    ok(store.head_position().await, "head_position")
}

/// Re-sending an append with `Any` returns the first answer and writes nothing.
pub async fn retry_with_any_returns_original_result(store: Arc<dyn EventStore>) {
    let s = sid("retry-any");
    let batch = evs(3);
    let first = append_ok(&*store, &s, Any, batch.clone()).await;
    let h = head(&*store).await;
    assert_eq!(append_ok(&*store, &s, Any, batch).await, first);
    assert_eq!(head(&*store).await, h);
    assert_eq!(read_stream_all(&*store, &s).await.len(), 3);
}

/// Re-sending with `StreamExists` returns the first answer.
pub async fn retry_with_stream_exists_returns_original_result(store: Arc<dyn EventStore>) {
    let s = sid("retry-exists");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    let batch = evs(2);
    let first = append_ok(&*store, &s, StreamExists, batch.clone()).await;
    assert_eq!(append_ok(&*store, &s, StreamExists, batch).await, first);
    assert_eq!(read_stream_all(&*store, &s).await.len(), 3);
}

/// Re-sending with the version just before the run (`Exact(v)`, or
/// `NoStream`/`Exact(0)` for a stream's first append) returns the first answer,
/// even after later appends moved the stream on.
pub async fn retry_with_version_before_the_run_returns_original_result(store: Arc<dyn EventStore>) {
    let s = sid("retry-exact");
    let opening = evs(2);
    let first = append_ok(&*store, &s, NoStream, opening.clone()).await;
    assert_eq!(
        append_ok(&*store, &s, NoStream, opening.clone()).await,
        first
    );
    assert_eq!(append_ok(&*store, &s, Exact(0), opening).await, first);
    let next = evs(3);
    let second = append_ok(&*store, &s, Exact(2), next.clone()).await;
    append_ok(&*store, &s, Exact(5), evs(1)).await;
    assert_eq!(append_ok(&*store, &s, Exact(2), next).await, second);
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), 6);
}

/// A run in the middle of a stream is recognised as a retry, and so is a
/// sub-run of it: the ids sit at consecutive versions in the same order.
pub async fn retry_of_an_earlier_append_in_the_middle_of_a_stream(store: Arc<dyn EventStore>) {
    let s = sid("retry-middle");
    append_ok(&*store, &s, Any, evs(2)).await;
    let middle = evs(3);
    let first = append_ok(&*store, &s, Any, middle.clone()).await;
    append_ok(&*store, &s, Any, evs(2)).await;
    let h = head(&*store).await;
    assert_eq!(append_ok(&*store, &s, Any, middle.clone()).await, first);
    let tail = append_ok(&*store, &s, Exact(3), middle[1..].to_vec()).await;
    assert_eq!((tail.first_version, tail.last_version), (4, 5));
    assert_eq!(tail.last_position, first.last_position);
    assert_eq!(head(&*store).await, h);
}

/// A retry carrying an expected version other than those rule 6 allows is
/// `DuplicateEventId`, even if the check itself would pass.
pub async fn retry_with_another_expected_version_is_duplicate(store: Arc<dyn EventStore>) {
    let s = sid("retry-wrong");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    let batch = evs(2);
    append_ok(&*store, &s, Exact(1), batch.clone()).await;
    assert_duplicate(store.append(&s, Exact(3), batch.clone()).await);
    assert_duplicate(store.append(&s, Exact(2), batch.clone()).await);
    assert_duplicate(store.append(&s, NoStream, batch).await);
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), 3);
}

/// An id stored in one stream cannot be appended to another.
pub async fn reused_id_in_another_stream_is_duplicate(store: Arc<dyn EventStore>) {
    let batch = evs(1);
    append_ok(&*store, &sid("owner"), Any, batch.clone()).await;
    match store.append(&sid("thief"), Any, batch.clone()).await {
        Err(Error::DuplicateEventId { id }) => assert_eq!(id, batch[0].id),
        other => panic!("expected DuplicateEventId, got {other:?}"),
    }
    assert!(read_stream_all(&*store, &sid("thief")).await.is_empty());
}

/// An append mixing stored and new ids is `DuplicateEventId` and writes nothing.
pub async fn partly_known_ids_are_duplicate(store: Arc<dyn EventStore>) {
    let s = sid("partly");
    let batch = evs(2);
    append_ok(&*store, &s, Any, batch.clone()).await;
    let h = head(&*store).await;
    let mut mixed = batch.clone();
    mixed.push(ev("New"));
    assert_duplicate(store.append(&s, Any, mixed).await);
    let mut prefixed = vec![ev("New")];
    prefixed.extend(batch);
    assert_duplicate(store.append(&s, Any, prefixed).await);
    assert_eq!(head(&*store).await, h);
}

/// The same ids in another order are not a retry.
pub async fn reordered_retry_is_duplicate(store: Arc<dyn EventStore>) {
    let s = sid("reordered");
    let batch = evs(3);
    append_ok(&*store, &s, Any, batch.clone()).await;
    let mut reversed = batch;
    reversed.reverse();
    assert_duplicate(store.append(&s, Any, reversed).await);
    assert_eq!(read_stream_all(&*store, &s).await.len(), 3);
}
