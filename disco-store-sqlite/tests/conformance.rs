//! The whole conformance suite against a SQLite file store at the default
//! settings (WAL, synchronous=FULL).

use disco_conformance::helpers::TempDir;
use disco_conformance::Fixture;
use disco_store_sqlite::{SqliteOptions, SqliteStore};

async fn fresh_store() -> Fixture {
    let dir = TempDir::new("sqlite-conformance");
    let store = match SqliteStore::open(dir.file("events.db"), SqliteOptions::default()).await {
        Ok(store) => store,
        Err(e) => panic!(
            "cannot open a SQLite store in {}: {e}",
            dir.path().display()
        ),
    };
    Fixture::new(store).with_cleanup(move || async move { drop(dir) })
}

disco_conformance::suite!(fresh_store);
