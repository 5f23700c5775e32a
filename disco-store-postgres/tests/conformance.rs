//! The whole conformance suite against PostgreSQL, each case in a fresh
//! schema dropped afterwards.

mod common;

use disco_conformance::Fixture;

async fn fresh_store() -> Fixture {
    let store = common::fresh_store().await;
    let handle = store.clone();
    Fixture::new(store).with_cleanup(move || common::cleanup(handle))
}

disco_conformance::suite!(fresh_store);
