//! Helpers of this crate's tests: the test database, and a store in a fresh
//! schema that is dropped afterwards.

#![allow(dead_code)]

use disco_store_postgres::{PgOptions, PostgresStore};

/// The test database: `DISCO_TEST_DATABASE_URL`, or the local server's
/// `test` database.
pub fn database_url() -> String {
    std::env::var("DISCO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema name no other test uses.
pub fn fresh_schema() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// Options of a test store in `schema`: hard deletes allowed, a small pool.
pub fn options(schema: &str) -> PgOptions {
    PgOptions::default()
        .schema(schema)
        .allow_hard_delete(true)
        .pool_size(6)
}

/// Connects with `options`, or fails saying how to get a database.
pub async fn connect(options: PgOptions) -> PostgresStore {
    let url = database_url();
    match PostgresStore::connect(&url, options).await {
        Ok(store) => store,
        Err(e) => panic!(
            "cannot use PostgreSQL at {url}: {e}\n\
             Start the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
             (bash .ci/run installs and starts it), or point DISCO_TEST_DATABASE_URL at another database."
        ),
    }
}

/// A store in a fresh schema.
pub async fn fresh_store() -> PostgresStore {
    connect(options(&fresh_schema())).await
}

/// Closes the store and drops its schema through a connection of its own
/// (a case may have closed the store already).
pub async fn cleanup(store: PostgresStore) {
    store.close().await;
    let options = options(store.schema());
    if let Err(e) = PostgresStore::drop_at(&database_url(), &options).await {
        eprintln!("could not drop test schema {}: {e}", store.schema());
    }
}

/// Appends `events` to `stream` at `Exact(version)`, retrying while the
/// error is retryable (for up to 60 s), always with the same event ids.
/// Returns the new version and how many attempts failed.
pub async fn append_with_retries(
    store: &PostgresStore,
    stream: &disco_core::StreamId,
    version: u64,
    events: Vec<disco_core::NewEvent>,
) -> (u64, usize) {
    use disco_core::EventStore;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut failures = 0;
    loop {
        match store
            .append(
                stream,
                disco_core::ExpectedVersion::Exact(version),
                events.clone(),
            )
            .await
        {
            Ok(r) => return (r.last_version, failures),
            Err(e) if e.is_retryable() && std::time::Instant::now() < deadline => {
                failures += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("append to {stream} at {version} failed for good: {e}"),
        }
    }
}

/// Checks that each stream holds exactly the given ids, in order, once.
pub async fn assert_streams_hold(
    store: &PostgresStore,
    expected: &[(disco_core::StreamId, Vec<uuid::Uuid>)],
) {
    use disco_core::EventStore;
    for (stream, ids) in expected {
        let events = store
            .read_stream(stream, 1, disco_core::ReadDirection::Forward, usize::MAX)
            .await
            .unwrap_or_else(|e| panic!("reading {stream}: {e}"));
        let got: Vec<uuid::Uuid> = events.iter().map(|e| e.id).collect();
        assert!(
            got == *ids,
            "{stream} holds {} events, expected {} exactly once",
            got.len(),
            ids.len()
        );
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.version == i as u64 + 1),
            "version hole in {stream}"
        );
    }
}
