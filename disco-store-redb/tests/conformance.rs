//! The whole conformance suite against a redb file store.

use disco_conformance::helpers::TempDir;
use disco_conformance::Fixture;
use disco_store_redb::{RedbOptions, RedbStore};

async fn fresh_store() -> Fixture {
    let dir = TempDir::new("redb-conformance");
    let store = match RedbStore::open(dir.file("events.redb"), RedbOptions::default()).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open a redb store in {}: {e}", dir.path().display()),
    };
    Fixture::new(store).with_cleanup(move || async move { drop(dir) })
}

disco_conformance::suite!(fresh_store);
