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

/// Drops the store's schema and closes its pool.
pub async fn cleanup(store: PostgresStore) {
    if let Err(e) = store.drop_schema().await {
        eprintln!("could not drop test schema {}: {e}", store.schema());
    }
    store.close().await;
}
