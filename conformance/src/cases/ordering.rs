//! Rules 1 and 4: versions without holes; positions unique, positive, in
//! batch order within an append and in commit order across appends.

use std::collections::HashSet;
use std::sync::Arc;

use disco_core::{EventStore, ExpectedVersion::*};

use crate::helpers::*;

/// A stream's versions run 1, 2, 3, ... across appends of any size.
pub async fn versions_start_at_one_without_holes(store: Arc<dyn EventStore>) {
    let s = sid("versions");
    for size in [1, 3, 1, 5, 2] {
        append_ok(&*store, &s, Any, evs(size)).await;
    }
    let versions: Vec<u64> = read_stream_all(&*store, &s)
        .await
        .iter()
        .map(|e| e.version)
        .collect();
    assert_eq!(versions, (1..=12).collect::<Vec<_>>());
    assert_eq!(ok(store.stream_version(&s).await, "stream_version"), 12);
}

/// Positions are > 0, unique, and increase within an append in batch order;
/// the append's result names the first and last of them.
pub async fn positions_are_unique_and_increase_within_an_append(store: Arc<dyn EventStore>) {
    let (a, b) = (sid("pos-a"), sid("pos-b"));
    let batch = evs(5);
    let ids: Vec<_> = batch.iter().map(|e| e.id).collect();
    let r1 = append_ok(&*store, &a, NoStream, batch).await;
    let r2 = append_ok(&*store, &b, NoStream, evs(4)).await;
    let stored = read_stream_all(&*store, &a).await;
    assert_eq!(stored.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    assert!(stored[0].position > 0);
    assert!(stored.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(stored[0].position, r1.first_position);
    assert_eq!(stored[4].position, r1.last_position);
    assert!(r1.first_position < r1.last_position);
    let all = read_everything(&*store, 100).await;
    let unique: HashSet<u64> = all.iter().map(|e| e.position).collect();
    assert_eq!(unique.len(), 9);
    assert_eq!(all.last().map(|e| e.position), Some(r2.last_position));
}

/// An append committed after another gets higher positions, whatever stream.
pub async fn positions_follow_commit_order_across_streams(store: Arc<dyn EventStore>) {
    let mut last = 0;
    for i in 0..10 {
        let s = sid(&format!("order-{}", i % 3));
        let r = append_ok(&*store, &s, Any, evs(1 + i % 2)).await;
        assert!(
            r.first_position > last,
            "append {i} got position {} after {last}",
            r.first_position
        );
        last = r.last_position;
    }
    let positions: Vec<u64> = read_everything(&*store, 4)
        .await
        .iter()
        .map(|e| e.position)
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(positions.len(), 15);
}

/// The head is 0 on an empty store and the last committed position after.
pub async fn head_position_tracks_commits(store: Arc<dyn EventStore>) {
    assert_eq!(ok(store.head_position().await, "head_position"), 0);
    let r = append_ok(&*store, &sid("h1"), NoStream, evs(3)).await;
    assert_eq!(
        ok(store.head_position().await, "head_position"),
        r.last_position
    );
    let r = append_ok(&*store, &sid("h2"), NoStream, evs(1)).await;
    assert_eq!(
        ok(store.head_position().await, "head_position"),
        r.last_position
    );
}

/// A stream without events is at version 0.
pub async fn stream_version_of_absent_stream_is_zero(store: Arc<dyn EventStore>) {
    assert_eq!(
        ok(store.stream_version(&sid("never")).await, "stream_version"),
        0
    );
    append_ok(&*store, &sid("other"), NoStream, evs(2)).await;
    assert_eq!(
        ok(store.stream_version(&sid("never")).await, "stream_version"),
        0
    );
}

/// `append_many` writes in the order given, each append failing alone.
pub async fn append_many_keeps_order_and_each_fails_alone(store: Arc<dyn EventStore>) {
    let (a, b, c) = (sid("many-a"), sid("many-b"), sid("many-c"));
    let results = store
        .append_many(vec![
            (a.clone(), NoStream, evs(2)),
            (b.clone(), NoStream, evs(1)),
            (a.clone(), Exact(5), evs(1)),
            (a.clone(), Exact(2), evs(1)),
            (c.clone(), Any, Vec::new()),
            (c.clone(), Any, evs(1)),
        ])
        .await;
    assert_eq!(results.len(), 6);
    let ok_at = |i: usize| match &results[i] {
        Ok(r) => *r,
        Err(e) => panic!("append {i} of the batch failed: {e}"),
    };
    let (r0, r1, r3, r5) = (ok_at(0), ok_at(1), ok_at(3), ok_at(5));
    assert_wrong_version(results[2].clone(), &a, Exact(5), 2);
    assert_invalid(results[4].clone());
    assert!(r0.last_position < r1.first_position);
    assert!(r1.last_position < r3.first_position);
    assert!(r3.last_position < r5.first_position);
    assert_eq!(r3.last_version, 3);
    let order: Vec<(String, u64)> = read_everything(&*store, 100)
        .await
        .iter()
        .map(|e| (e.stream_id.as_str().to_owned(), e.version))
        .collect();
    let expected: Vec<(String, u64)> = [
        ("many-a", 1),
        ("many-a", 2),
        ("many-b", 1),
        ("many-a", 3),
        ("many-c", 1),
    ]
    .iter()
    .map(|(s, v)| (s.to_string(), *v))
    .collect();
    assert_eq!(order, expected);
}

/// A recorded time given with the event (an import) is kept; without one
/// the store stamps the commit's time.
pub async fn imported_recorded_at_is_kept(store: Arc<dyn EventStore>) {
    let then = disco_core::Timestamp::from_micros(1_234_567_890);
    let before = disco_core::Timestamp::now();
    append_ok(
        &*store,
        &sid("imported"),
        NoStream,
        vec![ev("Old").with_recorded_at(then), ev("New")],
    )
    .await;
    let events = read_stream_all(&*store, &sid("imported")).await;
    assert_eq!(events[0].recorded_at, then);
    assert!(events[1].recorded_at >= before);
}
