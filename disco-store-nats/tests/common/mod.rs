//! The test cluster and fresh stores on it, each removed after its test.

#![allow(dead_code)]

use std::sync::Arc;

use disco_conformance::Fixture;
use disco_core::EventStore;
use disco_store_nats::{NatsOptions, NatsStore};

/// The test cluster's servers: `DISCO_TEST_NATS_URL` (comma-separated
/// `nats://` addresses), else the three nodes `scripts/nats-cluster.sh`
/// starts on 127.0.0.1:4301-4303.
pub fn servers() -> Vec<String> {
    let url = std::env::var("DISCO_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303".into());
    url.trim_start_matches("nats://")
        .split(',')
        .map(|h| format!("nats://{}", h.trim_start_matches("nats://")))
        .collect()
}

/// A fresh, empty store of `replicas`.
pub async fn fresh(replicas: usize) -> NatsStore {
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
    let options = NatsOptions::new(&name).expect("name").replicas(replicas);
    NatsStore::connect(&servers(), options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot open a store on the test NATS cluster {:?}: {e}\nStart it with `scripts/nats-cluster.sh start` \
                 (`bash .ci/run` does), or point DISCO_TEST_NATS_URL at another cluster.",
                servers()
            )
        })
}

/// A fixture of a fresh store, dropped after the case.
pub async fn fixture(replicas: usize) -> Fixture {
    let store = fresh(replicas).await;
    let name = store.store_name().to_owned();
    let reopen_name = name.clone();
    Fixture::new(store)
        .with_cleanup(move || async move {
            let options = NatsOptions::new(&name).expect("name");
            let _ = NatsStore::drop_at(&servers(), options).await;
        })
        .with_reopen(move || {
            let options = NatsOptions::new(&reopen_name)
                .expect("name")
                .create_if_missing(false);
            async move {
                Arc::new(
                    NatsStore::connect(&servers(), options)
                        .await
                        .expect("reopen"),
                ) as Arc<dyn EventStore>
            }
        })
}
