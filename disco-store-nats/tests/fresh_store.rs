//! A store answers from its first call: right after its streams are made,
//! before every server of the cluster has heard where their leaders are, a
//! write or a read that reaches nobody is tried again for a moment (two
//! seconds at most), not reported at once.

mod common;

use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_store_nats::{NatsOptions, NatsStore};

/// Fresh stores per replica count: enough that a store whose first calls
/// land on a server that does not yet route to a new leader is likely.
const STORES: usize = 12;

#[tokio::test]
async fn a_fresh_store_answers_its_first_calls() {
    for replicas in [1, 3] {
        for _ in 0..STORES {
            let store = common::fresh(replicas).await;
            let name = store.store_name().to_owned();
            // The meta stream first (a checkpoint), then the events stream:
            // both were made a moment ago.
            let saved = store.save_checkpoint("first", 7).await;
            let appended = store
                .append(
                    &StreamId::new("s").expect("stream id"),
                    ExpectedVersion::NoStream,
                    vec![NewEvent::new("E", b"x".to_vec())],
                )
                .await;
            let read = store.read_all(0, 10).await;
            let loaded = store.load_checkpoint("first").await;
            let _ = store.close().await;
            let options = NatsOptions::new(&name).expect("name");
            let _ = disco_store_nats::NatsStore::drop_at(&common::servers(), options).await;
            assert!(saved.is_ok(), "R{replicas}: checkpoint: {saved:?}");
            assert!(appended.is_ok(), "R{replicas}: append: {appended:?}");
            assert_eq!(
                read.map(|events| events.len()).ok(),
                Some(1),
                "R{replicas}: read"
            );
            assert_eq!(
                loaded.ok(),
                Some(Some(7)),
                "R{replicas}: checkpoint read back"
            );
        }
    }
}

/// The case the loop above may or may not meet, made certain: the store's
/// streams are gone when a write starts, and made again while it waits.
#[tokio::test]
async fn a_write_that_reaches_nobody_waits_for_the_stream() {
    let store = common::fresh(1).await;
    let name = store.store_name().to_owned();
    let options = || NatsOptions::new(&name).expect("name");
    NatsStore::drop_at(&common::servers(), options())
        .await
        .expect("drop the streams");
    let writer = store.clone();
    let save = tokio::spawn(async move { writer.save_checkpoint("late", 9).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = NatsStore::connect(&common::servers(), options())
        .await
        .expect("make the streams again");
    let saved = save.await.expect("the write's task");
    let loaded = again.load_checkpoint("late").await;

    // Gone for good: reported as unavailable, within the patience.
    NatsStore::drop_at(&common::servers(), options())
        .await
        .expect("drop the streams");
    let started = Instant::now();
    let lost = store.save_checkpoint("lost", 1).await;
    let waited = started.elapsed();
    let _ = store.close().await;
    let _ = again.close().await;
    assert!(saved.is_ok(), "the write waited for its stream: {saved:?}");
    assert_eq!(loaded.ok(), Some(Some(9)), "and it is stored");
    assert!(
        matches!(lost, Err(Error::Unavailable(_))),
        "no stream at all is unavailable: {lost:?}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "and said within the patience: {waited:?}"
    );
}
