//! `append_atomic`: every part or none, positions in part order, each part
//! decided as a lone append would be, against a racing writer too.

use std::sync::Arc;

use disco_core::{DeleteMode, Error, EventStore, ExpectedVersion::*};
use tokio::task::JoinSet;

use crate::helpers::*;

/// Three parts commit together: contiguous positions in part order, each
/// part's versions as a lone append would give them.
pub async fn atomic_append_commits_every_part_in_part_order(store: Arc<dyn EventStore>) {
    let (a, b, c) = (sid("atomic-a"), sid("atomic-b"), sid("atomic-c"));
    append_ok(&*store, &b, NoStream, evs(2)).await;
    let head = ok(store.head_position().await, "head_position");
    let results = ok(
        store
            .append_atomic(vec![
                (a.clone(), NoStream, evs(2)),
                (b.clone(), Exact(2), evs(1)),
                (c.clone(), Any, evs(3)),
            ])
            .await,
        "append_atomic",
    );
    assert_eq!(results.len(), 3);
    assert_eq!((results[0].first_version, results[0].last_version), (1, 2));
    assert_eq!((results[1].first_version, results[1].last_version), (3, 3));
    assert_eq!((results[2].first_version, results[2].last_version), (1, 3));
    assert!(results[0].first_position > head);
    for pair in results.windows(2) {
        assert_eq!(
            pair[0].last_position + 1,
            pair[1].first_position,
            "the parts' positions are contiguous, in part order"
        );
    }
    let order: Vec<(String, u64)> = read_everything(&*store, 100)
        .await
        .into_iter()
        .filter(|e| e.position > head)
        .map(|e| (e.stream_id.as_str().to_owned(), e.version))
        .collect();
    let want: Vec<(String, u64)> = [
        ("atomic-a", 1),
        ("atomic-a", 2),
        ("atomic-b", 3),
        ("atomic-c", 1),
        ("atomic-c", 2),
        ("atomic-c", 3),
    ]
    .iter()
    .map(|(s, v)| (s.to_string(), *v))
    .collect();
    assert_eq!(order, want);
    assert_eq!(
        ok(store.head_position().await, "head_position"),
        results[2].last_position
    );
}

/// One refused part (a wrong expected version, a deleted stream, an id
/// stored elsewhere) writes nothing of any part and answers that part's
/// error, naming its stream.
pub async fn atomic_append_with_a_refused_part_writes_nothing(store: Arc<dyn EventStore>) {
    let (a, b, gone) = (sid("all-a"), sid("all-b"), sid("all-gone"));
    append_ok(&*store, &b, NoStream, evs(1)).await;
    append_ok(&*store, &gone, NoStream, evs(1)).await;
    ok(
        store.delete_stream(&gone, Any, DeleteMode::Soft).await,
        "delete_stream",
    );
    let stored = read_stream_all(&*store, &b).await[0].id;
    let head = ok(store.head_position().await, "head_position");

    let refused = store
        .append_atomic(vec![
            (a.clone(), NoStream, evs(2)),
            (b.clone(), Exact(5), evs(1)),
        ])
        .await;
    assert_wrong_version(refused, &b, Exact(5), 1);

    let refused = store
        .append_atomic(vec![
            (a.clone(), NoStream, evs(2)),
            (gone.clone(), Any, evs(1)),
        ])
        .await;
    match refused {
        Err(Error::StreamDeleted { stream }) => assert_eq!(stream, gone),
        other => panic!("expected StreamDeleted naming {gone}, got {other:?}"),
    }

    let reused = vec![ev("Fresh"), ev("Reused").with_id(stored)];
    let refused = store
        .append_atomic(vec![
            (a.clone(), NoStream, evs(1)),
            (sid("all-c"), Any, reused),
        ])
        .await;
    assert_duplicate(refused);

    assert_eq!(ok(store.head_position().await, "head_position"), head);
    assert!(read_stream_all(&*store, &a).await.is_empty());
    assert_eq!(ok(store.stream_version(&b).await, "stream_version"), 1);
    assert!(read_stream_all(&*store, &sid("all-c")).await.is_empty());
    // The refused parts left nothing behind: the same parts, corrected, pass.
    let results = ok(
        store
            .append_atomic(vec![
                (a.clone(), NoStream, evs(2)),
                (b.clone(), Exact(1), evs(1)),
            ])
            .await,
        "append_atomic after the refusals",
    );
    assert_eq!(results[1].first_version, 2);
}

/// Input is checked before anything else: no parts, an empty part, a
/// stream in two parts, an id in two parts.
pub async fn atomic_append_checks_its_input_first(store: Arc<dyn EventStore>) {
    let (a, b) = (sid("input-a"), sid("input-b"));
    assert_invalid(store.append_atomic(Vec::new()).await);
    assert_invalid(
        store
            .append_atomic(vec![(a.clone(), Any, evs(1)), (b.clone(), Any, Vec::new())])
            .await,
    );
    assert_invalid(
        store
            .append_atomic(vec![(a.clone(), Any, evs(1)), (a.clone(), Any, evs(1))])
            .await,
    );
    let twice = ev("Twice");
    assert_duplicate(
        store
            .append_atomic(vec![
                (a.clone(), Any, vec![twice.clone()]),
                (b.clone(), Any, vec![twice]),
            ])
            .await,
    );
    assert!(matches!(
        store
            .append_atomic(vec![(a.clone(), Any, vec![ev("")])])
            .await,
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(ok(store.head_position().await, "head_position"), 0);
}

/// Re-sending a committed atomic append answers the original results and
/// writes nothing (rule 6, part by part).
pub async fn atomic_append_retry_returns_the_original_results(store: Arc<dyn EventStore>) {
    let (a, b) = (sid("retry-atomic-a"), sid("retry-atomic-b"));
    let parts = vec![(a.clone(), NoStream, evs(2)), (b.clone(), NoStream, evs(1))];
    let first = ok(store.append_atomic(parts.clone()).await, "append_atomic");
    let head = ok(store.head_position().await, "head_position");
    let again = ok(store.append_atomic(parts).await, "the retry");
    assert_eq!(first, again);
    assert_eq!(ok(store.head_position().await, "head_position"), head);
    assert_eq!(read_everything(&*store, 100).await.len(), 3);
}

/// Atomic appends on (a shared stream at `Exact(v)`, a stream of their own)
/// race plain appends on the shared stream: per round exactly one writer
/// wins, and a losing atomic append wrote nothing to its own stream.
pub async fn atomic_append_racing_a_writer_on_one_stream(store: Arc<dyn EventStore>) {
    let shared = sid("race-shared");
    append_ok(&*store, &shared, NoStream, evs(1)).await;
    for round in 0..4u64 {
        let v = 1 + round;
        let mut tasks = JoinSet::new();
        for t in 0..8 {
            let (store, shared) = (store.clone(), shared.clone());
            tasks.spawn(async move {
                let own = sid(&format!("race-own-{round}-{t}"));
                if t % 2 == 0 {
                    let r = store
                        .append_atomic(vec![
                            (shared, Exact(v), evs(1)),
                            (own.clone(), NoStream, evs(2)),
                        ])
                        .await
                        .map(|_| ());
                    (Some(own), r)
                } else {
                    (
                        None,
                        store.append(&shared, Exact(v), evs(1)).await.map(|_| ()),
                    )
                }
            });
        }
        let mut won = 0;
        while let Some(joined) = tasks.join_next().await {
            let (own, result) = joined.expect("racing task panicked");
            match result {
                Ok(()) => {
                    won += 1;
                    if let Some(own) = own {
                        assert_eq!(read_stream_all(&*store, &own).await.len(), 2);
                    }
                }
                Err(Error::WrongExpectedVersion { actual, .. }) => {
                    assert_eq!(actual, v + 1);
                    if let Some(own) = own {
                        assert!(
                            read_stream_all(&*store, &own).await.is_empty(),
                            "a refused atomic append wrote its other part"
                        );
                    }
                }
                Err(other) => panic!("unexpected error in the race: {other}"),
            }
        }
        assert_eq!(won, 1, "round {round}: one winner per expected version");
    }
    assert_eq!(ok(store.stream_version(&shared).await, "stream_version"), 5);
    let all = read_everything(&*store, 1000).await;
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
}
