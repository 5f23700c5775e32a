//! A file of schema version 1 (before consumer leases) is upgraded in place
//! on open, keeping its events.

use std::time::Duration;

use disco_conformance::helpers::TempDir;
use disco_core::{EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_store_sqlite::{SqliteOptions, SqliteStore, SCHEMA_VERSION};

#[tokio::test]
async fn a_version_1_file_is_upgraded_and_keeps_its_events() {
    let dir = TempDir::new("sqlite-upgrade");
    let path = dir.file("events.db");
    let stream = StreamId::new("kept").expect("stream id");
    {
        let store = SqliteStore::open(&path, SqliteOptions::default())
            .await
            .expect("open");
        store
            .append(
                &stream,
                ExpectedVersion::NoStream,
                vec![NewEvent::new("A", vec![1])],
            )
            .await
            .expect("append");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    {
        // Make it the version-1 file an earlier disco wrote.
        let raw = rusqlite::Connection::open(&path).expect("raw open");
        raw.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        raw.execute_batch("DROP TABLE disco_leases; PRAGMA user_version = 1;")
            .expect("downgrade");
    }
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("open a version-1 file");
    assert_eq!(store.stream_version(&stream).await.expect("version"), 1);
    let lease = store
        .try_lease("projector", Duration::from_secs(5))
        .await
        .expect("leases work after the upgrade");
    assert!(lease.is_some());
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("user_version");
    assert_eq!(version, SCHEMA_VERSION);
}
