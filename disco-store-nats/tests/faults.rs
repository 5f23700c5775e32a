//! Faults of the cluster under eight writers and a live subscriber, on an
//! R3 store of the test cluster, in three phases:
//!
//! 1. the stream leader SIGKILLed, three times (restarted after each);
//! 2. the stream leader paused (SIGSTOP) past its heartbeats, then resumed;
//! 3. every node SIGKILLed at once, then all restarted.
//!
//! After them: no acknowledged event lost or stored twice, versions dense,
//! the subscriber saw exactly the stored events in order, and writers only
//! ever got retryable errors meanwhile (each resent its append until
//! answered: a resent append that did commit answers its first result).
//! Prints, for each fault, the time from it (the signal delivered) until an
//! append sent after it is acknowledged. Bounded: about a minute.
//!
//! It kills, pauses and restarts the nodes `scripts/nats-cluster.sh`
//! starts, so it is the only test of its binary.

mod common;

use std::time::{Duration, Instant};

use common::faults::{
    as_store, assert_nothing_lost, client, cluster, drop_store, fault_store, healthy_leader,
    own_cluster_only, Writers,
};
use disco_runtime::{Subscription, SubscriptionOptions};

const WRITERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_faults_lose_and_repeat_nothing() {
    own_cluster_only("the fault test kills nodes of");
    cluster(&["start"]);
    let (store, name) = fault_store(
        "f",
        &common::servers(),
        "Start it with `scripts/nats-cluster.sh start` (`bash .ci/run` does).",
    )
    .await;
    let client = client(&common::servers()).await;
    healthy_leader(&client, &name).await;
    let mut feed = Subscription::start(
        as_store(&store),
        SubscriptionOptions::default().poll_interval(Duration::from_millis(200)),
    );
    let writers = Writers::start(store.clone(), WRITERS);
    let mut report = Vec::new();

    // 1. The leader killed, three times.
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let node = healthy_leader(&client, &name).await;
        cluster(&["kill", &node.to_string()]);
        // From when the node is gone: an append sent before may still
        // have been answered by it.
        let at = Instant::now();
        report.push(format!(
            "leader killed ({round}): {:?}",
            writers.recovered_after(at).await
        ));
        eprintln!("{}", report.last().map_or("", String::as_str));
        cluster(&["start"]);
    }

    // 2. The leader paused past its heartbeats, then resumed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let node = healthy_leader(&client, &name).await;
    cluster(&["pause", &node.to_string()]);
    let at = Instant::now();
    let recovered = writers.recovered_after(at).await;
    report.push(format!("leader paused: {recovered:?}"));
    eprintln!("{}", report.last().map_or("", String::as_str));
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster(&["resume", &node.to_string()]);

    // 3. Every node killed at once, then restarted.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    healthy_leader(&client, &name).await;
    for node in ["1", "2", "3"] {
        cluster(&["kill", node]);
    }
    let at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster(&["start"]);
    report.push(format!(
        "all nodes killed and restarted: {:?}",
        writers.recovered_after(at).await
    ));

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (acked, refused) = writers.stop().await;
    healthy_leader(&client, &name).await;

    let stored = assert_nothing_lost(&store, &mut feed, &acked, "after the faults").await;

    println!(
        "faults under {WRITERS} writers: {} events acknowledged, {} stored, 0 lost, 0 twice, {refused} retryable refusals; from each fault until an append sent after it was acknowledged: {}",
        acked.len(),
        stored,
        report.join("; ")
    );
    drop_store(&common::servers(), store.store_name()).await;
}
