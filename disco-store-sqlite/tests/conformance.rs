//! The whole conformance suite against a SQLite file store at the default
//! settings (WAL, synchronous=FULL).

use std::sync::Arc;

use disco_conformance::helpers::TempDir;
use disco_conformance::Fixture;
use disco_core::EventStore;
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
    let path = dir.file("events.db");
    Fixture::new(store)
        .with_cleanup(move || async move { drop(dir) })
        .with_reopen(move || {
            let path = path.clone();
            async move {
                match SqliteStore::open(&path, SqliteOptions::default()).await {
                    Ok(store) => Arc::new(store) as Arc<dyn EventStore>,
                    Err(e) => panic!("cannot open a second handle on {}: {e}", path.display()),
                }
            }
        })
}

disco_conformance::suite!(fresh_store);
