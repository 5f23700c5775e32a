//! A network partition of the stream leader from the other two nodes and
//! from its clients, on the cluster whose nodes run in network namespaces
//! of their own (`scripts/nats-cluster.sh netns-start`, which `.ci/run`
//! starts): with eight writers and a live subscriber on an R3 store, the
//! leader's link is cut for eight seconds, then healed.
//!
//! Checked: no acknowledged event lost or stored twice, versions dense, the
//! subscriber saw exactly the stored events in order, writers only got
//! retryable errors. Printed: the time from the cut until an append sent
//! after it was acknowledged, and until the healed node was current again.
//! Bounded: about half a minute.

mod common;

use std::time::{Duration, Instant};

use common::faults::{
    as_store, assert_nothing_lost, client, cluster, drop_store, fault_store, healthy_leader,
    Writers,
};
use disco_runtime::{Subscription, SubscriptionOptions};

const WRITERS: usize = 8;

/// The nodes in network namespaces: `DISCO_TEST_NATS_NETNS_URL`, else the
/// addresses the script gives them.
fn servers() -> Vec<String> {
    common::servers_of(
        "DISCO_TEST_NATS_NETNS_URL",
        "10.77.0.11:4222,10.77.0.12:4222,10.77.0.13:4222",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_leader_loses_and_repeats_nothing() {
    let (store, stream) = fault_store(
        "p",
        &servers(),
        "Start it (as root) with `scripts/nats-cluster.sh netns-start` (`bash .ci/run` does).",
    )
    .await;
    let client = client(&servers()).await;
    healthy_leader(&client, &stream).await;
    let mut feed = Subscription::start(
        as_store(&store),
        SubscriptionOptions::default().poll_interval(Duration::from_millis(200)),
    );
    let writers = Writers::start(store.clone(), WRITERS);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let node = healthy_leader(&client, &stream).await;
    cluster(&["cut", &node.to_string()]);
    let at = Instant::now();
    let recovered = writers.recovered_after(at).await;
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(at.elapsed())).await;
    cluster(&["heal", &node.to_string()]);
    let healed = Instant::now();
    healthy_leader(&client, &stream).await;
    let current = healed.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (acked, refused) = writers.stop().await;
    healthy_leader(&client, &stream).await;

    let stored = assert_nothing_lost(&store, &mut feed, &acked, "after the partition").await;
    println!(
        "leader n{node} partitioned for 8 s under {WRITERS} writers: {} acknowledged, {} stored, 0 lost, 0 twice, {refused} retryable refusals; an append sent after the cut acknowledged after {recovered:?}; the healed node current again after {current:?}",
        acked.len(),
        stored
    );
    drop_store(&servers(), store.store_name()).await;
}
