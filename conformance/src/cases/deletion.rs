//! Rule 8: soft and hard deletion.

use std::sync::Arc;

use disco_core::{DeleteMode::*, EventStore, ExpectedVersion::*, ReadDirection::*};

use crate::helpers::*;

/// A soft-deleted stream refuses reads, appends, version queries and snapshots.
pub async fn soft_deleted_stream_refuses_reads_and_appends(store: Arc<dyn EventStore>) {
    let s = sid("soft");
    append_ok(&*store, &s, NoStream, evs(2)).await;
    ok(
        store.delete_stream(&s, Exact(2), Soft).await,
        "delete_stream",
    );
    assert_deleted(store.read_stream(&s, 1, Forward, 10).await);
    assert_deleted(store.read_stream(&s, u64::MAX, Backward, 10).await);
    assert_deleted(store.append(&s, Any, evs(1)).await);
    assert_deleted(store.append(&s, NoStream, evs(1)).await);
    assert_deleted(store.stream_version(&s).await);
    assert_deleted(store.save_snapshot(&s, 1, vec![1]).await);
    assert_deleted(store.load_snapshot(&s).await);
    assert_deleted(store.delete_stream(&s, Any, Soft).await);
}

/// A soft-deleted stream's events stay in read_all, unchanged.
pub async fn soft_deleted_events_stay_in_read_all(store: Arc<dyn EventStore>) {
    let s = sid("soft-kept");
    append_ok(&*store, &s, NoStream, evs(3)).await;
    append_ok(&*store, &sid("other"), NoStream, evs(1)).await;
    let before = read_everything(&*store, 100).await;
    ok(store.delete_stream(&s, Any, Soft).await, "delete_stream");
    assert_eq!(read_everything(&*store, 100).await, before);
}

/// A hard delete removes the events from read_all and the snapshot, and
/// leaves other streams and the head alone.
pub async fn hard_delete_removes_events_and_snapshot(store: Arc<dyn EventStore>) {
    let (s, other) = (sid("hard"), sid("survivor"));
    append_ok(&*store, &s, NoStream, evs(3)).await;
    append_ok(&*store, &other, NoStream, evs(2)).await;
    ok(
        store.save_snapshot(&s, 3, b"state".to_vec()).await,
        "save_snapshot",
    );
    let head = ok(store.head_position().await, "head_position");
    ok(
        store.delete_stream(&s, Exact(3), Hard).await,
        "delete_stream",
    );
    let left = read_everything(&*store, 100).await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|e| e.stream_id == other));
    assert_eq!(ok(store.head_position().await, "head_position"), head);
    assert_deleted(store.load_snapshot(&s).await);
    assert_eq!(read_stream_all(&*store, &other).await.len(), 2);
}

/// A hard-deleted stream id refuses reads, appends and deletes for good.
pub async fn hard_deleted_stream_id_stays_refused(store: Arc<dyn EventStore>) {
    let s = sid("gone");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    ok(store.delete_stream(&s, Any, Hard).await, "delete_stream");
    assert_deleted(store.append(&s, Any, evs(1)).await);
    assert_deleted(store.append(&s, NoStream, evs(1)).await);
    assert_deleted(store.read_stream(&s, 1, Forward, 10).await);
    assert_deleted(store.stream_version(&s).await);
    assert_deleted(store.delete_stream(&s, Any, Hard).await);
    assert_deleted(store.delete_stream(&s, Any, Soft).await);
}

/// A hard delete frees its events' ids for other streams.
pub async fn hard_delete_frees_event_ids(store: Arc<dyn EventStore>) {
    let batch = evs(2);
    append_ok(&*store, &sid("first-home"), NoStream, batch.clone()).await;
    ok(
        store.delete_stream(&sid("first-home"), Any, Hard).await,
        "delete_stream",
    );
    let r = append_ok(&*store, &sid("second-home"), NoStream, batch).await;
    assert_eq!(r.last_version, 2);
}

/// Delete checks the expected version as append does, and a failed check
/// deletes nothing.
pub async fn delete_checks_expected_version(store: Arc<dyn EventStore>) {
    let s = sid("guarded-delete");
    append_ok(&*store, &s, NoStream, evs(2)).await;
    assert_wrong_version(
        store.delete_stream(&s, Exact(1), Soft).await,
        &s,
        Exact(1),
        2,
    );
    assert_wrong_version(
        store.delete_stream(&s, NoStream, Hard).await,
        &s,
        NoStream,
        2,
    );
    assert_eq!(read_stream_all(&*store, &s).await.len(), 2);
    let absent = sid("absent-delete");
    assert_wrong_version(
        store.delete_stream(&absent, StreamExists, Soft).await,
        &absent,
        StreamExists,
        0,
    );
    append_ok(&*store, &absent, NoStream, evs(1)).await;
    ok(
        store.delete_stream(&s, StreamExists, Soft).await,
        "delete_stream",
    );
}

/// A soft-deleted stream can be deleted hard, which then removes its events.
pub async fn soft_deleted_stream_can_be_deleted_hard(store: Arc<dyn EventStore>) {
    let s = sid("soft-then-hard");
    append_ok(&*store, &s, NoStream, evs(2)).await;
    ok(store.delete_stream(&s, Any, Soft).await, "soft delete");
    assert_eq!(read_everything(&*store, 10).await.len(), 2);
    ok(store.delete_stream(&s, Exact(2), Hard).await, "hard delete");
    assert!(read_everything(&*store, 10).await.is_empty());
    assert_deleted(store.append(&s, Any, evs(1)).await);
}

/// Deleting a stream that has no events refuses its id afterwards.
pub async fn deleting_an_absent_stream_refuses_its_id(store: Arc<dyn EventStore>) {
    let s = sid("never-written");
    ok(
        store.delete_stream(&s, NoStream, Soft).await,
        "delete_stream",
    );
    assert_deleted(store.append(&s, Any, evs(1)).await);
    assert_deleted(store.read_stream(&s, 1, Forward, 1).await);
}

/// Hard-deleting the stream that holds the newest events does not lower the
/// head, and the next append still gets a higher position than any before.
pub async fn hard_delete_of_the_newest_events_keeps_the_head(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("older"), NoStream, evs(2)).await;
    let newest = append_ok(&*store, &sid("newest"), NoStream, evs(3)).await;
    ok(
        store.delete_stream(&sid("newest"), Any, Hard).await,
        "delete_stream",
    );
    assert_eq!(
        ok(store.head_position().await, "head_position"),
        newest.last_position
    );
    let next = append_ok(&*store, &sid("later"), NoStream, evs(1)).await;
    assert!(
        next.first_position > newest.last_position,
        "a position was handed out twice"
    );
    let all = read_everything(&*store, 10).await;
    assert_eq!(all.len(), 3);
}
