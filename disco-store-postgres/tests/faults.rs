//! Terminating the store's connections (pg_terminate_backend) during a load
//! of appends: every append either returns Ok with its events stored, or a
//! retryable error, and retrying it with the same event ids lands it exactly
//! once. The store recovers without restarting the process.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use disco_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_land_exactly_once_while_connections_are_terminated() {
    let store = common::fresh_store().await;
    let admin = sqlx::PgPool::connect(&common::database_url())
        .await
        .expect("admin pool");
    let application = format!("disco:{}", store.schema());
    let stop = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (stop, kills) = (stop.clone(), kills.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(40)).await;
                let ended: i64 =
                    sqlx::query_scalar(include_str!("sql/terminate_store_backends.sql"))
                        .bind(&application)
                        .fetch_one(&admin)
                        .await
                        .expect("terminate");
                kills.fetch_add(ended as usize, Ordering::SeqCst);
            }
        })
    };
    let mut writers = JoinSet::new();
    for w in 0..4 {
        let store = store.clone();
        writers.spawn(async move {
            let stream = StreamId::new(format!("load-{w}")).expect("id");
            let (mut version, mut failures, mut ids) = (0, 0, Vec::new());
            for i in 0..150 {
                let batch: Vec<NewEvent> = (0..1 + i % 2)
                    .map(|_| NewEvent::new("E", vec![w as u8]))
                    .collect();
                ids.extend(batch.iter().map(|e| e.id));
                let (v, f) = common::append_with_retries(&store, &stream, version, batch).await;
                version = v;
                failures += f;
            }
            (stream, ids, failures)
        });
    }
    let mut expected = Vec::new();
    let mut failures = 0;
    while let Some(joined) = writers.join_next().await {
        let (stream, ids, f) = joined.expect("writer");
        expected.push((stream, ids));
        failures += f;
    }
    stop.store(true, Ordering::SeqCst);
    killer.await.expect("killer");
    println!(
        "{} connections terminated, {failures} failed attempts retried",
        kills.load(Ordering::SeqCst)
    );
    assert!(
        kills.load(Ordering::SeqCst) > 0,
        "no connection was terminated"
    );
    common::assert_streams_hold(&store, &expected).await;
    // Recovered: a plain append works.
    store
        .append(
            &StreamId::new("after").expect("id"),
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append after the faults");
    common::cleanup(store).await;
}
