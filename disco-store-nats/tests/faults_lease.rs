//! A lease holder whose node dies: the active consumer runner's handle is
//! connected to one node only (the leader of the store's meta stream, where
//! leases and checkpoints live), and that node is SIGKILLed. The standby,
//! on the other two nodes, takes over once the lease's time to live has
//! passed; the old runner starts no event after that (the same scenario and
//! check as the PostgreSQL and SQLite stores pass), and the final
//! checkpoint is the new runner's. Bounded: about half a minute.
//!
//! It kills a node of the cluster `scripts/nats-cluster.sh` starts, so it
//! is the only test of its binary.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::faults::{client, cluster, drop_store, healthy_leader, own_cluster_only};
use disco_conformance::fencing::{lease_loss, Loss};
use disco_core::{EventStore, Uuid};
use disco_store_nats::{NatsOptions, NatsStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_standby_takes_over_from_a_holder_whose_node_died() {
    own_cluster_only("this test kills a node of");
    cluster(&["start"]);
    let name = format!("l{}", &Uuid::new_v4().simple().to_string()[..20]);
    let options = || {
        NatsOptions::new(&name)
            .expect("name")
            .replicas(3)
            .timeout(Duration::from_secs(1))
    };
    let setup = NatsStore::connect(&common::servers(), options())
        .await
        .expect("a store on the test cluster");
    let client = client(&common::servers()).await;
    let node = healthy_leader(&client, &format!("DISCO_M_{name}")).await;
    healthy_leader(&client, &format!("DISCO_E_{name}")).await;
    let own = format!("nats://127.0.0.1:430{node}");
    let others: Vec<String> = (1..=3)
        .filter(|n| *n != node)
        .map(|n| format!("nats://127.0.0.1:430{n}"))
        .collect();
    // The holder's process lives on the node's machine: it reaches no
    // other node when its own dies.
    let old = NatsStore::connect(&[own], options().discover_servers(false))
        .await
        .expect("the holder's handle");
    let new = NatsStore::connect(&others, options().discover_servers(false))
        .await
        .expect("the standby's handle");
    let kill = async move { cluster(&["kill", &node.to_string()]) };
    let overlap = lease_loss(
        Arc::new(old) as Arc<dyn EventStore>,
        Arc::new(new.clone()) as Arc<dyn EventStore>,
        Duration::from_secs(3),
        Loss::External(kill),
    )
    .await;
    println!("lease holder's node (n{node}, meta stream leader) killed: {overlap:?}");
    cluster(&["start"]);
    assert_eq!(
        overlap.started_after_takeover, 0,
        "the old runner started events after the new one took over: {overlap:?}"
    );
    assert!(overlap.old_handled >= 100, "{overlap:?}");
    assert_eq!(overlap.final_checkpoint, Some(overlap.last), "{overlap:?}");
    new.close().await.expect("close");
    setup.close().await.expect("close");
    drop_store(&common::servers(), &name).await;
}
