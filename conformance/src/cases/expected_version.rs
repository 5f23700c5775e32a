//! Rule 2: expected versions, passing and failing; a failed check writes nothing.

use std::sync::Arc;

use disco_core::{EventStore, ExpectedVersion::*};

use crate::helpers::*;

/// `Any` appends to a stream that does not exist and to one that does.
pub async fn any_appends_to_absent_and_existing_streams(store: Arc<dyn EventStore>) {
    let s = sid("any-1");
    let first = append_ok(&*store, &s, Any, evs(1)).await;
    assert_eq!((first.first_version, first.last_version), (1, 1));
    let second = append_ok(&*store, &s, Any, evs(2)).await;
    assert_eq!((second.first_version, second.last_version), (2, 3));
}

/// `NoStream` appends to a stream that has no events.
pub async fn no_stream_passes_on_absent_stream(store: Arc<dyn EventStore>) {
    let s = sid("fresh");
    let r = append_ok(&*store, &s, NoStream, evs(2)).await;
    assert_eq!((r.first_version, r.last_version), (1, 2));
}

/// `NoStream` on a stream with events fails with its actual version.
pub async fn no_stream_fails_on_existing_stream(store: Arc<dyn EventStore>) {
    let s = sid("taken");
    append_ok(&*store, &s, NoStream, evs(3)).await;
    assert_wrong_version(store.append(&s, NoStream, evs(1)).await, &s, NoStream, 3);
}

/// `StreamExists` appends to a stream that has events.
pub async fn stream_exists_passes_on_existing_stream(store: Arc<dyn EventStore>) {
    let s = sid("exists");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    let r = append_ok(&*store, &s, StreamExists, evs(1)).await;
    assert_eq!(r.first_version, 2);
}

/// `StreamExists` on a stream without events fails with actual version 0.
pub async fn stream_exists_fails_on_absent_stream(store: Arc<dyn EventStore>) {
    let s = sid("nothing-here");
    assert_wrong_version(
        store.append(&s, StreamExists, evs(1)).await,
        &s,
        StreamExists,
        0,
    );
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), 0);
}

/// `Exact(v)` appends when the stream is at version v.
pub async fn exact_passes_at_current_version(store: Arc<dyn EventStore>) {
    let s = sid("exact");
    append_ok(&*store, &s, NoStream, evs(2)).await;
    let r = append_ok(&*store, &s, Exact(2), evs(1)).await;
    assert_eq!((r.first_version, r.last_version), (3, 3));
    let r = append_ok(&*store, &s, Exact(3), evs(2)).await;
    assert_eq!((r.first_version, r.last_version), (4, 5));
}

/// `Exact(v)` fails when the stream is behind or ahead of v.
pub async fn exact_fails_below_and_above_current_version(store: Arc<dyn EventStore>) {
    let s = sid("exact-miss");
    append_ok(&*store, &s, NoStream, evs(3)).await;
    for stale_or_ahead in [1, 2, 4, 100] {
        assert_wrong_version(
            store.append(&s, Exact(stale_or_ahead), evs(1)).await,
            &s,
            Exact(stale_or_ahead),
            3,
        );
    }
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), 3);
}

/// `Exact(0)` behaves as `NoStream`.
pub async fn exact_zero_behaves_as_no_stream(store: Arc<dyn EventStore>) {
    let s = sid("zero");
    let r = append_ok(&*store, &s, Exact(0), evs(1)).await;
    assert_eq!(r.first_version, 1);
    assert_wrong_version(store.append(&s, Exact(0), evs(1)).await, &s, Exact(0), 1);
}

/// A failed check writes nothing: the stream, the head and the global log are
/// as before, and the rejected ids can be used afterwards.
pub async fn failed_expected_version_writes_nothing(store: Arc<dyn EventStore>) {
    let s = sid("guarded");
    append_ok(&*store, &s, NoStream, evs(2)).await;
    let head = ok(store.head_position().await, "head_position");
    let rejected = evs(3);
    assert!(store.append(&s, Exact(1), rejected.clone()).await.is_err());
    assert!(store.append(&s, NoStream, rejected.clone()).await.is_err());
    assert_eq!(ok(store.head_position().await, "head_position"), head);
    assert_eq!(read_everything(&*store, 100).await.len(), 2);
    assert_eq!(read_stream_all(&*store, &s).await.len(), 2);
    // The rejected ids were not kept: the same events append fine now.
    let r = append_ok(&*store, &s, Exact(2), rejected).await;
    assert_eq!((r.first_version, r.last_version), (3, 5));
}
