//! Unreachable servers, bad URLs and schema names, schemas from a newer
//! disco or not migrated, hard deletes not enabled, and hostile ids: typed
//! errors, or stored verbatim and never executed.

mod common;

use std::time::{Duration, Instant};

use disco_core::{
    DeleteMode, Error, EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId,
};
use disco_store_postgres::{PgOptions, PostgresStore, LATEST_SCHEMA_VERSION};

#[tokio::test]
async fn an_unreachable_server_is_unavailable_within_the_connect_timeout() {
    let start = Instant::now();
    let result = PostgresStore::connect(
        "postgres://postgres@127.0.0.1:1/test",
        PgOptions::default().connect_timeout(Duration::from_secs(2)),
    )
    .await;
    assert!(matches!(result, Err(Error::Unavailable(_))), "{result:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn bad_urls_and_schema_names_are_invalid_input() {
    let result = PostgresStore::connect("not a url", PgOptions::default()).await;
    assert!(matches!(result, Err(Error::InvalidInput(_))), "{result:?}");
    for schema in ["Upper", "a;drop schema public", "x\"y", "pg_catalog", ""] {
        let result =
            PostgresStore::connect(&common::database_url(), PgOptions::default().schema(schema))
                .await;
        assert!(
            matches!(result, Err(Error::InvalidInput(_))),
            "{schema:?}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_schema_from_a_newer_disco_is_refused() {
    let store = common::fresh_store().await;
    let bump = include_str!("sql/bump_schema_version.sql")
        .replace("__SCHEMA__", &format!("\"{}\"", store.schema()));
    sqlx::raw_sql(sqlx::AssertSqlSafe(bump))
        .execute(store.pool())
        .await
        .expect("bump");
    for migrate in [true, false] {
        let options = common::options(store.schema()).migrate_on_connect(migrate);
        let result = PostgresStore::connect(&common::database_url(), options).await;
        match result {
            Err(Error::IncompatibleSchema {
                found, supported, ..
            }) => assert!(found > supported, "found {found}, supported {supported}"),
            other => panic!("expected a clear refusal, got {other:?}"),
        }
    }
    common::cleanup(store).await;
}

#[tokio::test]
async fn a_schema_not_migrated_is_refused_when_connect_must_not_migrate() {
    let schema = common::fresh_schema();
    let result = PostgresStore::connect(
        &common::database_url(),
        common::options(&schema).migrate_on_connect(false),
    )
    .await;
    match result {
        Err(Error::NoStore { location }) => assert!(location.contains(&schema), "{location}"),
        other => panic!("expected NoStore (nothing created), got {other:?}"),
    }
    let store = common::connect(common::options(&schema)).await;
    assert_eq!(
        store.schema_version().await.expect("version"),
        LATEST_SCHEMA_VERSION
    );
    common::cleanup(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations_of_one_schema_are_safe() {
    let schema = common::fresh_schema();
    let mut connecting = Vec::new();
    for _ in 0..4 {
        let options = common::options(&schema);
        connecting.push(tokio::spawn(async move { common::connect(options).await }));
    }
    let mut stores = Vec::new();
    for c in connecting {
        stores.push(c.await.expect("connect task"));
    }
    for store in &stores {
        assert_eq!(
            store.migrate().await.expect("migrate again"),
            LATEST_SCHEMA_VERSION
        );
    }
    let s = StreamId::new("after-migration").expect("id");
    stores[0]
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append");
    assert_eq!(stores[3].stream_version(&s).await.expect("version"), 1);
    for store in stores.drain(1..) {
        store.close().await;
    }
    common::cleanup(stores.remove(0)).await;
}

#[tokio::test]
async fn hard_deletes_need_an_explicit_opt_in() {
    let schema = common::fresh_schema();
    let store = common::connect(PgOptions::default().schema(&schema)).await;
    let s = StreamId::new("keep").expect("id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append");
    let result = store
        .delete_stream(&s, ExpectedVersion::Any, DeleteMode::Hard)
        .await;
    assert!(
        matches!(result, Err(Error::InvalidInput(ref m)) if m.contains("allow_hard_delete")),
        "{result:?}"
    );
    assert_eq!(store.read_all(0, 10).await.expect("read").len(), 1);
    store
        .delete_stream(&s, ExpectedVersion::Any, DeleteMode::Soft)
        .await
        .expect("soft delete is allowed");
    common::cleanup(store).await;
}

#[tokio::test]
async fn hostile_ids_and_payloads_are_stored_verbatim_never_executed() {
    let store = common::fresh_store().await;
    let hostile = [
        "it's",
        "say \"hi\"",
        "back\\slash\\\\",
        "'; DROP TABLE events; --",
        "\"); DROP SCHEMA public CASCADE; --",
        "x $$ SELECT pg_sleep(10) $$",
        "wallet-%_*",
        "ünïcødé-流",
    ];
    for (i, id) in hostile.iter().enumerate() {
        let stream = StreamId::new(id).expect("valid, if unusual, stream id");
        let event = NewEvent::new(
            format!("Type '{i}'; DELETE FROM streams;"),
            id.as_bytes().to_vec(),
        )
        .with_metadata(b"\\x00'\"".to_vec());
        store
            .append(&stream, ExpectedVersion::NoStream, vec![event.clone()])
            .await
            .expect("append");
        let back = store
            .read_stream(&stream, 1, ReadDirection::Forward, 10)
            .await
            .expect("read");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].stream_id.as_str(), *id);
        assert_eq!(back[0].event_type, event.event_type);
        assert_eq!(
            (back[0].data.clone(), back[0].metadata.clone()),
            (event.data, event.metadata)
        );
        store
            .save_checkpoint(id, i as u64)
            .await
            .expect("checkpoint");
        assert_eq!(
            store.load_checkpoint(id).await.expect("checkpoint"),
            Some(i as u64)
        );
    }
    // A NUL cannot be part of a stream id: refused before it reaches SQL.
    assert!(matches!(
        StreamId::new("nul\0byte"),
        Err(Error::InvalidInput(_))
    ));
    let listed = store.list_streams("", None, 100).await.expect("list");
    assert_eq!(listed.len(), hostile.len());
    // The percent sign is a literal in a prefix, not a wildcard.
    assert_eq!(
        store
            .list_streams("wallet-%", None, 100)
            .await
            .expect("list")
            .len(),
        1
    );
    let filtered = store
        .read_all_filtered(
            0,
            100,
            &disco_core::EventFilter::default().with_stream_prefix("wallet-%"),
        )
        .await
        .expect("filtered");
    assert_eq!(filtered.len(), 1);
    assert_eq!(
        store.read_all(0, 100).await.expect("read_all").len(),
        hostile.len()
    );
    common::cleanup(store).await;
}
