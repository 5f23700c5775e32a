//! Several store handles with their own pools on one schema, as several
//! processes would have: one global order, one winner per expected version,
//! and no event skipped by a reader, even when a commit is slow.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, StreamId};
use tokio::task::JoinSet;

fn sid(s: &str) -> StreamId {
    StreamId::new(s).expect("valid stream id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writing_handles_and_a_paging_reader_see_every_event_once_in_order() {
    let schema = common::fresh_schema();
    let a = common::connect(common::options(&schema)).await;
    let b = common::connect(common::options(&schema)).await;
    let reader = common::connect(common::options(&schema)).await;
    let done = Arc::new(AtomicBool::new(false));
    let paging = {
        let (reader, done) = (reader.clone(), done.clone());
        tokio::spawn(async move {
            let (mut after, mut seen) = (0u64, Vec::new());
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = reader.read_all(after, 100).await.expect("read_all");
                for e in &page {
                    assert!(e.position > after, "position {} after {after}", e.position);
                    after = e.position;
                    seen.push(e.id);
                }
                if page.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };
    let mut writers = JoinSet::new();
    for (h, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        for t in 0..4 {
            let store = store.clone();
            writers.spawn(async move {
                let mut ids = Vec::new();
                for i in 0..50 {
                    // Both handles write to the same four streams.
                    let stream = sid(&format!("shared-{}", (h + t + i) % 4));
                    let batch: Vec<NewEvent> = (0..1 + i % 3)
                        .map(|_| NewEvent::new("E", vec![h as u8]))
                        .collect();
                    ids.extend(batch.iter().map(|e| e.id));
                    store
                        .append(&stream, ExpectedVersion::Any, batch)
                        .await
                        .expect("append");
                }
                ids
            });
        }
    }
    let mut written = HashSet::new();
    while let Some(joined) = writers.join_next().await {
        written.extend(joined.expect("writer"));
    }
    done.store(true, Ordering::SeqCst);
    let seen = paging.await.expect("reader");
    let all: Vec<_> = reader
        .read_all(0, usize::MAX)
        .await
        .expect("read_all")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(all.len(), written.len(), "events lost or duplicated");
    assert_eq!(all.iter().copied().collect::<HashSet<_>>(), written);
    assert_eq!(seen, all, "the paging reader skipped or reordered events");
    for s in 0..4 {
        let events = reader
            .read_stream(
                &sid(&format!("shared-{s}")),
                1,
                disco_core::ReadDirection::Forward,
                usize::MAX,
            )
            .await
            .expect("read_stream");
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.version == i as u64 + 1),
            "version hole"
        );
    }
    common::cleanup(reader).await;
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exact_version_races_across_handles_have_one_winner() {
    let schema = common::fresh_schema();
    let a = common::connect(common::options(&schema)).await;
    let b = common::connect(common::options(&schema)).await;
    let stream = sid("contended");
    for v in 0..5u64 {
        let mut racers = JoinSet::new();
        for i in 0..16 {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let stream = stream.clone();
            racers.spawn(async move {
                store
                    .append(
                        &stream,
                        ExpectedVersion::Exact(v),
                        vec![NewEvent::new("E", vec![])],
                    )
                    .await
            });
        }
        let (mut won, mut lost) = (0, 0);
        while let Some(joined) = racers.join_next().await {
            match joined.expect("racer") {
                Ok(_) => won += 1,
                Err(Error::WrongExpectedVersion { actual, .. }) if actual == v + 1 => lost += 1,
                Err(other) => panic!("unexpected error: {other}"),
            }
        }
        assert_eq!((won, lost), (1, 15), "round {v}");
    }
    assert_eq!(a.stream_version(&stream).await.expect("version"), 5);
    common::cleanup(a).await;
    b.close().await;
}

/// An append whose transaction is slow to commit holds the schema's write
/// lock, so the next append (from another handle) takes the next position
/// only after it committed: a reader paging by position never sees the later
/// position first, and so never skips the slow event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_commit_is_never_skipped_by_a_paging_reader() {
    let schema = common::fresh_schema();
    let slow_handle = common::connect(common::options(&schema)).await;
    let fast_handle = common::connect(common::options(&schema)).await;
    let trigger =
        include_str!("sql/slow_trigger.sql").replace("__SCHEMA__", &format!("\"{schema}\""));
    sqlx::raw_sql(sqlx::AssertSqlSafe(trigger))
        .execute(slow_handle.pool())
        .await
        .expect("install the test trigger");
    let head = slow_handle.head_position().await.expect("head");

    let slow = {
        let store = slow_handle.clone();
        tokio::spawn(async move {
            store
                .append(
                    &sid("slow"),
                    ExpectedVersion::NoStream,
                    vec![NewEvent::new("Slow", vec![])],
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fast = {
        let store = fast_handle.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let r = store
                .append(
                    &sid("fast"),
                    ExpectedVersion::NoStream,
                    vec![NewEvent::new("Fast", vec![])],
                )
                .await;
            (r, start.elapsed())
        })
    };
    // Page while both are in flight: every page must start with the slow event.
    let mut observed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while observed.len() < 2 && Instant::now() < deadline {
        let page = fast_handle.read_all(head, 10).await.expect("read_all");
        if let Some(first) = page.first() {
            assert_eq!(
                first.stream_id.as_str(),
                "slow",
                "the reader saw the fast event before the slow one"
            );
        }
        observed = page
            .iter()
            .map(|e| (e.position, e.stream_id.to_string()))
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slow = slow.await.expect("slow task").expect("slow append");
    let (fast, waited) = fast.await.expect("fast task");
    let fast = fast.expect("fast append");
    assert_eq!(slow.first_position, head + 1);
    assert_eq!(fast.first_position, head + 2);
    assert!(
        waited >= Duration::from_millis(500),
        "the fast append did not wait for the slow commit ({waited:?})"
    );
    assert_eq!(
        observed,
        vec![
            (head + 1, "slow".to_string()),
            (head + 2, "fast".to_string())
        ]
    );
    // The test's own function is not the store's: drop leaves it (and so
    // the schema) alone, so the test removes it first.
    let untrigger = format!("DROP FUNCTION \"{schema}\".slow_insert() CASCADE");
    sqlx::raw_sql(sqlx::AssertSqlSafe(untrigger))
        .execute(slow_handle.pool())
        .await
        .expect("remove the test trigger");
    common::cleanup(slow_handle).await;
    fast_handle.close().await;
}

/// Each handle's writer remembers stream versions for its one-round-trip
/// path; when another handle moved the stream, or holds an id, the batch
/// must still be decided on the facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_remembers_a_stale_version_decides_on_the_facts() {
    let schema = common::fresh_schema();
    let a = common::connect(common::options(&schema)).await;
    let b = common::connect(common::options(&schema)).await;
    let s = sid("shared");
    let one = |t: &str| vec![NewEvent::new(t, vec![])];
    a.append(&s, ExpectedVersion::NoStream, one("A1"))
        .await
        .expect("a writes version 1");
    b.append(&s, ExpectedVersion::Exact(1), one("B2"))
        .await
        .expect("b writes version 2");
    // a remembers version 1; the stream is at 2.
    match a
        .append(&s, ExpectedVersion::Exact(1), one("A-stale"))
        .await
    {
        Err(Error::WrongExpectedVersion { actual: 2, .. }) => {}
        other => panic!("a stale expected version was not refused: {other:?}"),
    }
    let r = a
        .append(&s, ExpectedVersion::Exact(2), one("A3"))
        .await
        .expect("a writes version 3 on the facts");
    assert_eq!(r.last_version, 3);
    // An id b stored, sent by a as new: a duplicate, not a second copy.
    let taken = NewEvent::new("B-id", vec![]);
    b.append(&sid("other"), ExpectedVersion::Any, vec![taken.clone()])
        .await
        .expect("b stores the id");
    match a.append(&s, ExpectedVersion::Exact(3), vec![taken]).await {
        Err(Error::DuplicateEventId { .. }) => {}
        other => panic!("a duplicate id was written again: {other:?}"),
    }
    let types: Vec<String> = a
        .read_stream(&s, 1, disco_core::ReadDirection::Forward, 10)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, vec!["A1", "B2", "A3"]);
    common::cleanup(b).await;
    a.close().await;
}
