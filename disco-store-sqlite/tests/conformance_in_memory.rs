//! The whole conformance suite against an in-memory SQLite store.

use disco_conformance::Fixture;
use disco_store_sqlite::{SqliteOptions, SqliteStore};

async fn fresh_store() -> Fixture {
    match SqliteStore::open_in_memory(SqliteOptions::default()).await {
        Ok(store) => Fixture::new(store),
        Err(e) => panic!("cannot open an in-memory SQLite store: {e}"),
    }
}

disco_conformance::suite!(fresh_store);
