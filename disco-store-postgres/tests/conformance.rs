//! The whole conformance suite against PostgreSQL, each case in a fresh
//! schema dropped afterwards.

mod common;

use std::sync::Arc;

use disco_conformance::Fixture;
use disco_core::EventStore;

async fn fresh_store() -> Fixture {
    let store = common::fresh_store().await;
    let handle = store.clone();
    let schema = store.schema().to_owned();
    Fixture::new(store)
        .with_cleanup(move || common::cleanup(handle))
        .with_reopen(move || {
            let options = common::options(&schema);
            async move { Arc::new(common::connect(options).await) as Arc<dyn EventStore> }
        })
}

disco_conformance::suite!(fresh_store);
