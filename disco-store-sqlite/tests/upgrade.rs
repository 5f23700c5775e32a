//! A file of schema version 1 (before consumer leases and tags) is upgraded
//! in place on open, keeping its events.

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
        raw.execute_batch(
            "DROP TABLE disco_leases; DROP TABLE disco_event_tags; \
             DROP INDEX disco_events_by_type; ALTER TABLE disco_events DROP COLUMN tags; \
             PRAGMA user_version = 1;",
        )
        .expect("downgrade");
    }
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("open a version-1 file");
    assert_eq!(store.stream_version(&stream).await.expect("version"), 1);
    // Tags and query reads work after the upgrade, old events included.
    let old = disco_core::Query::new().or(disco_core::QueryItem::new().types(["A"]));
    assert_eq!(
        store
            .read_query(&old, 0, 10)
            .await
            .expect("query")
            .events
            .len(),
        1
    );
    store
        .append(
            &stream,
            ExpectedVersion::Exact(1),
            vec![NewEvent::new("B", vec![2]).with_tags(["t"])],
        )
        .await
        .expect("a tagged append");
    let tagged = disco_core::Query::new().or(disco_core::QueryItem::new().tags(["t"]));
    let found = store
        .read_query(&tagged, 0, 10)
        .await
        .expect("query")
        .events;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tags, ["t"]);
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
