//! Snapshots (one per stream, newest version wins) and named checkpoints.

use std::sync::Arc;

use disco_core::{Checkpoint, EventStore, ExpectedVersion::*};

use crate::helpers::*;

/// The snapshot with the highest version is kept; an older one saved later is
/// ignored; the same version saved again replaces the data.
pub async fn snapshot_newest_version_wins(store: Arc<dyn EventStore>) {
    let s = sid("snap");
    assert_eq!(ok(store.load_snapshot(&s).await, "load_snapshot"), None);
    append_ok(&*store, &s, NoStream, evs(5)).await;
    ok(store.save_snapshot(&s, 3, b"at-3".to_vec()).await, "save");
    ok(store.save_snapshot(&s, 5, vec![0, 255, 0]).await, "save");
    ok(store.save_snapshot(&s, 4, b"older".to_vec()).await, "save");
    let snap = ok(store.load_snapshot(&s).await, "load").expect("a snapshot");
    assert_eq!(
        (snap.stream_id, snap.version, snap.data),
        (s.clone(), 5, vec![0, 255, 0])
    );
    ok(store.save_snapshot(&s, 5, b"again".to_vec()).await, "save");
    let snap = ok(store.load_snapshot(&s).await, "load").expect("a snapshot");
    assert_eq!((snap.version, snap.data), (5, b"again".to_vec()));
    assert_eq!(
        ok(store.load_snapshot(&sid("snap-other")).await, "load"),
        None
    );
}

/// A snapshot must name a version the stream has: 0 or beyond the stream's
/// version is `InvalidInput`.
pub async fn snapshot_version_must_exist(store: Arc<dyn EventStore>) {
    let s = sid("snap-bounds");
    assert_invalid(store.save_snapshot(&s, 1, vec![]).await);
    append_ok(&*store, &s, NoStream, evs(2)).await;
    assert_invalid(store.save_snapshot(&s, 0, vec![]).await);
    assert_invalid(store.save_snapshot(&s, 3, vec![]).await);
    ok(store.save_snapshot(&s, 2, vec![]).await, "save");
    let snap = ok(store.load_snapshot(&s).await, "load").expect("a snapshot");
    assert_eq!((snap.version, snap.data), (2, vec![]));
}

/// Checkpoints save, load, move back (a reset), and list by name.
pub async fn checkpoints_save_load_overwrite_and_list(store: Arc<dyn EventStore>) {
    assert_eq!(ok(store.load_checkpoint("projector").await, "load"), None);
    assert!(ok(store.list_checkpoints().await, "list").is_empty());
    ok(store.save_checkpoint("projector", 10).await, "save");
    ok(store.save_checkpoint("mailer", 3).await, "save");
    ok(store.save_checkpoint("projector", 42).await, "save");
    assert_eq!(
        ok(store.load_checkpoint("projector").await, "load"),
        Some(42)
    );
    ok(store.save_checkpoint("projector", 0).await, "reset");
    assert_eq!(
        ok(store.load_checkpoint("projector").await, "load"),
        Some(0)
    );
    ok(store.save_checkpoint("big", u64::MAX >> 1).await, "save");
    let listed = ok(store.list_checkpoints().await, "list");
    let expect = |name: &str, position| Checkpoint {
        name: name.into(),
        position,
    };
    assert_eq!(
        listed,
        vec![
            expect("big", u64::MAX >> 1),
            expect("mailer", 3),
            expect("projector", 0)
        ]
    );
}

/// Checkpoint names follow the rules of stream ids but for `$`: 1 to 255
/// bytes, no control characters.
pub async fn checkpoint_names_are_validated(store: Arc<dyn EventStore>) {
    assert_invalid(store.save_checkpoint("", 1).await);
    assert_invalid(store.save_checkpoint(&"n".repeat(256), 1).await);
    assert_invalid(store.save_checkpoint("a\0b", 1).await);
    assert_invalid(store.load_checkpoint("").await);
    ok(store.save_checkpoint(&"n".repeat(255), 1).await, "save");
    ok(
        store.save_checkpoint("it's \"quoted\"; --", 2).await,
        "save",
    );
    assert_eq!(
        ok(store.load_checkpoint("it's \"quoted\"; --").await, "load"),
        Some(2)
    );
}

/// `load_stream` gives what `load_snapshot` then `read_stream` from the
/// snapshot's version + 1 give: nothing for an absent stream, every event
/// without a snapshot, the events after the snapshot with one, at most the
/// limit; a deleted stream is refused.
pub async fn load_stream_is_the_snapshot_and_the_events_after_it(store: Arc<dyn EventStore>) {
    let s = sid("loaded");
    let absent = ok(store.load_stream(&s, 100).await, "load_stream");
    assert_eq!(absent, disco_core::StreamLoad::default());
    append_ok(&*store, &s, NoStream, evs(5)).await;
    let all = read_stream_all(&*store, &s).await;
    let loaded = ok(store.load_stream(&s, 100).await, "load_stream");
    assert_eq!(loaded.snapshot, None);
    assert_eq!(loaded.events, all);
    ok(
        store.save_snapshot(&s, 3, b"at-3".to_vec()).await,
        "save_snapshot",
    );
    let loaded = ok(store.load_stream(&s, 100).await, "load_stream");
    let snapshot = loaded.snapshot.expect("the snapshot");
    assert_eq!((snapshot.version, snapshot.data), (3, b"at-3".to_vec()));
    assert_eq!(loaded.events, all[3..].to_vec());
    let limited = ok(store.load_stream(&s, 1).await, "load_stream");
    assert_eq!(limited.events, all[3..4].to_vec());
    let none = ok(store.load_stream(&s, 0).await, "load_stream");
    assert!(none.snapshot.is_some() && none.events.is_empty());
    ok(
        store.save_snapshot(&s, 5, b"at-5".to_vec()).await,
        "save_snapshot",
    );
    let loaded = ok(store.load_stream(&s, 100).await, "load_stream");
    assert_eq!(loaded.snapshot.map(|s| s.version), Some(5));
    assert!(loaded.events.is_empty());
    ok(
        store
            .delete_stream(&s, Any, disco_core::DeleteMode::Soft)
            .await,
        "delete_stream",
    );
    assert_deleted(store.load_stream(&s, 100).await);
}

/// `delete_snapshot` removes the stream's snapshot (a load then replays the
/// stream from its first event) and leaves the events and other streams'
/// snapshots alone; deleting again, or where there is none, is fine; a
/// deleted stream is refused.
pub async fn delete_snapshot_removes_only_that_snapshot(store: Arc<dyn EventStore>) {
    let s = sid("unsnap");
    let other = sid("unsnap-other");
    append_ok(&*store, &s, NoStream, evs(3)).await;
    append_ok(&*store, &other, NoStream, evs(2)).await;
    ok(
        store.save_snapshot(&s, 2, b"at-2".to_vec()).await,
        "save_snapshot",
    );
    ok(
        store.save_snapshot(&other, 1, b"o".to_vec()).await,
        "save_snapshot",
    );
    ok(store.delete_snapshot(&s).await, "delete_snapshot");
    assert_eq!(ok(store.load_snapshot(&s).await, "load_snapshot"), None);
    let loaded = ok(store.load_stream(&s, 100).await, "load_stream");
    assert_eq!((loaded.snapshot, loaded.events.len()), (None, 3));
    assert!(ok(store.load_snapshot(&other).await, "load_snapshot").is_some());
    ok(store.delete_snapshot(&s).await, "delete_snapshot again");
    ok(
        store.delete_snapshot(&sid("unsnap-absent")).await,
        "delete_snapshot of an absent stream",
    );
    // A snapshot saved after the delete is kept, whatever its version.
    ok(
        store.save_snapshot(&s, 1, b"at-1".to_vec()).await,
        "save_snapshot",
    );
    let kept = ok(store.load_snapshot(&s).await, "load_snapshot").expect("a snapshot");
    assert_eq!(kept.version, 1);
    ok(
        store
            .delete_stream(&other, Any, disco_core::DeleteMode::Soft)
            .await,
        "delete_stream",
    );
    assert_deleted(store.delete_snapshot(&other).await);
}
