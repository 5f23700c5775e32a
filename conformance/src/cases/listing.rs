//! Paged stream listing.

use std::sync::Arc;

use disco_core::{DeleteMode, EventStore, ExpectedVersion::*, StreamInfo, StreamState};

use crate::helpers::*;

/// list_streams returns streams in byte order, with their versions, filtered
/// by prefix and paged by `after`.
pub async fn list_streams_pages_by_prefix(store: Arc<dyn EventStore>) {
    for (name, n) in [
        ("user-b", 2),
        ("order-1", 1),
        ("user-a", 1),
        ("user-c", 3),
        ("user", 1),
        ("usex", 1),
    ] {
        append_ok(&*store, &sid(name), NoStream, evs(n)).await;
    }
    let names = |rows: Vec<StreamInfo>| -> Vec<(String, u64)> {
        rows.into_iter()
            .map(|r| (r.stream_id.to_string(), r.version))
            .collect()
    };
    let all = ok(store.list_streams("", None, 100).await, "list");
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].stream_id < w[1].stream_id));
    assert!(all.iter().all(|r| r.state == StreamState::Active));
    let users = ok(store.list_streams("user-", None, 100).await, "list");
    assert_eq!(
        names(users),
        vec![
            ("user-a".into(), 1),
            ("user-b".into(), 2),
            ("user-c".into(), 3)
        ]
    );
    let page1 = ok(store.list_streams("user-", None, 2).await, "list");
    assert_eq!(page1.len(), 2);
    let page2 = ok(
        store
            .list_streams("user-", Some(&page1[1].stream_id), 2)
            .await,
        "list",
    );
    assert_eq!(names(page2), vec![("user-c".into(), 3)]);
    let before_prefix = ok(
        store.list_streams("user-", Some(&sid("a")), 10).await,
        "list",
    );
    assert_eq!(before_prefix.len(), 3);
    assert!(ok(store.list_streams("zzz", None, 10).await, "list").is_empty());
    assert!(ok(store.list_streams("", None, 0).await, "list").is_empty());
}

/// Deleted streams stay listed, with their state and last version.
pub async fn list_streams_shows_deleted_streams(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("s-live"), NoStream, evs(1)).await;
    append_ok(&*store, &sid("s-soft"), NoStream, evs(2)).await;
    append_ok(&*store, &sid("s-hard"), NoStream, evs(3)).await;
    ok(
        store
            .delete_stream(&sid("s-soft"), Any, DeleteMode::Soft)
            .await,
        "delete",
    );
    ok(
        store
            .delete_stream(&sid("s-hard"), Any, DeleteMode::Hard)
            .await,
        "delete",
    );
    let rows: Vec<(String, u64, StreamState)> =
        ok(store.list_streams("s-", None, 10).await, "list")
            .into_iter()
            .map(|r| (r.stream_id.to_string(), r.version, r.state))
            .collect();
    assert_eq!(
        rows,
        vec![
            ("s-hard".into(), 3, StreamState::HardDeleted),
            ("s-live".into(), 1, StreamState::Active),
            ("s-soft".into(), 2, StreamState::SoftDeleted),
        ]
    );
}
