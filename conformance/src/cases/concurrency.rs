//! Rules 4 and 7 under concurrency: one winner per expected version, every
//! append to distinct streams lands once, readers never see a late position.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use disco_core::{Error, EventStore, ExpectedVersion::*};
use tokio::task::JoinSet;

use crate::helpers::*;

/// 16 tasks append to one stream with the same `Exact(v)`: exactly one wins,
/// the others get `WrongExpectedVersion`.
pub async fn racing_exact_appends_have_one_winner(store: Arc<dyn EventStore>) {
    let s = sid("contended");
    append_ok(&*store, &s, NoStream, evs(3)).await;
    for round in 0..3u64 {
        let v = 3 + round;
        let mut tasks = JoinSet::new();
        for _ in 0..16 {
            let (store, s) = (store.clone(), s.clone());
            tasks.spawn(async move { store.append(&s, Exact(v), evs(1)).await });
        }
        let (mut won, mut lost) = (0, 0);
        while let Some(joined) = tasks.join_next().await {
            match joined.expect("append task panicked") {
                Ok(r) => {
                    assert_eq!(r.first_version, v + 1);
                    won += 1;
                }
                Err(Error::WrongExpectedVersion { actual, .. }) => {
                    assert_eq!(actual, v + 1);
                    lost += 1;
                }
                Err(other) => panic!("unexpected error in the race: {other}"),
            }
        }
        assert_eq!((won, lost), (1, 15), "round {round}");
    }
    assert_eq!(read_stream_all(&*store, &s).await.len(), 6);
}

/// 16 tasks x 200 appends to distinct streams: every event is present exactly
/// once, positions are unique, read_all is ascending, each stream is whole.
pub async fn concurrent_appends_to_distinct_streams_all_land(store: Arc<dyn EventStore>) {
    const TASKS: usize = 16;
    const APPENDS: usize = 200;
    let mut tasks = JoinSet::new();
    for t in 0..TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            let s = sid(&format!("worker-{t}"));
            let mut ids = Vec::with_capacity(APPENDS);
            for i in 0..APPENDS {
                let batch = evs(1);
                ids.push(batch[0].id);
                let r = append_ok(&*store, &s, Exact(i as u64), batch).await;
                assert_eq!(r.first_version, i as u64 + 1);
            }
            ids
        });
    }
    let mut expected = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        expected.extend(joined.expect("writer task panicked"));
    }
    let all = read_everything(&*store, 1000).await;
    assert_eq!(all.len(), TASKS * APPENDS);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let seen: HashSet<_> = all.iter().map(|e| e.id).collect();
    assert_eq!(seen, expected);
    for t in 0..TASKS {
        let stream = read_stream_all(&*store, &sid(&format!("worker-{t}"))).await;
        let versions: Vec<u64> = stream.iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=APPENDS as u64).collect::<Vec<_>>());
    }
}

/// A reader paging read_all from the last position it saw, while 8 writers
/// append, ends with exactly the events a final full read returns: no event
/// arrived below a position it had already seen.
pub async fn reader_never_sees_a_late_position(store: Arc<dyn EventStore>) {
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = ok(store.read_all(after, 50).await, "read_all");
                for e in &page {
                    assert!(e.position > after, "position {} after {after}", e.position);
                    after = e.position;
                    seen.push(e.id);
                }
                if page.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut writers = JoinSet::new();
    for w in 0..8 {
        let store = store.clone();
        writers.spawn(async move {
            for i in 0..60 {
                let s = sid(&format!("w{w}-{}", i % 4));
                append_ok(&*store, &s, Any, evs(1 + i % 3)).await;
                // Pace the writers so the reader reads many times between
                // commits, even on a store so fast that the writers would
                // otherwise finish before the reader got a turn.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.expect("writer task panicked");
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.await.expect("reader task panicked");
    let all: Vec<_> = read_everything(&*store, 1000)
        .await
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len(), 8 * 120);
    assert_eq!(
        seen.len(),
        all.len(),
        "the reader skipped events that committed late"
    );
    assert_eq!(seen, all);
}
