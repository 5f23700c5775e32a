//! Restarting the PostgreSQL server during a load of appends (its own test
//! binary: the restart ends every connection of the server). Every append
//! either returns Ok with its events stored, or a retryable error, and
//! retrying it with the same ids lands it exactly once; the store recovers
//! without restarting the process. Needs the local cluster (pg_ctlcluster).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use disco_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use tokio::task::JoinSet;

async fn restart_server() {
    let versions = std::fs::read_dir("/etc/postgresql").unwrap_or_else(|e| {
        panic!("this test restarts the local PostgreSQL cluster, but /etc/postgresql is unreadable: {e}")
    });
    let version = versions
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .max()
        .expect("a PostgreSQL cluster under /etc/postgresql");
    let out = tokio::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run pg_ctlcluster: {e}"));
    assert!(
        out.status.success(),
        "restart failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn server_start_time(store: &disco_store_postgres::PostgresStore) -> f64 {
    sqlx::query_scalar(include_str!("sql/server_start_time.sql"))
        .fetch_one(store.pool())
        .await
        .expect("server start time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_land_exactly_once_across_a_server_restart() {
    let store = common::fresh_store().await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for w in 0..3 {
        let (store, stop) = (store.clone(), stop.clone());
        writers.spawn(async move {
            let stream = StreamId::new(format!("restart-{w}")).expect("id");
            let (mut version, mut failures, mut ids) = (0, 0, Vec::new());
            while !stop.load(Ordering::SeqCst) || ids.len() < 100 {
                let batch: Vec<NewEvent> =
                    (0..2).map(|_| NewEvent::new("E", vec![w as u8])).collect();
                ids.extend(batch.iter().map(|e| e.id));
                let (v, f) = common::append_with_retries(&store, &stream, version, batch).await;
                version = v;
                failures += f;
            }
            (stream, ids, failures)
        });
    }
    let started = server_start_time(&store).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    restart_server().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let mut expected = Vec::new();
    let mut failures = 0;
    while let Some(joined) = writers.join_next().await {
        let (stream, ids, f) = joined.expect("writer");
        expected.push((stream, ids));
        failures += f;
    }
    println!("{failures} failed attempts retried across the restart");
    assert!(
        server_start_time(&store).await > started,
        "the server did not restart"
    );
    common::assert_streams_hold(&store, &expected).await;
    store
        .append(
            &StreamId::new("after").expect("id"),
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append after the restart");
    common::cleanup(store).await;
}
