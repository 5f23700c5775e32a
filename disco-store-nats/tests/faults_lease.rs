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
use std::time::{Duration, Instant};

use disco_conformance::fencing::{lease_loss, Loss};
use disco_core::{EventStore, Uuid};
use disco_store_nats::{NatsOptions, NatsStore};

fn cluster(args: &[&str]) {
    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/nats-cluster.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the cluster script");
    assert!(status.success(), "scripts/nats-cluster.sh {args:?} failed");
}

/// The node (1-3) leading `stream` once all three replicas are current.
async fn leader(client: &async_nats::Client, stream: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let info = client
            .request(format!("$JS.API.STREAM.INFO.{stream}"), "".into())
            .await
            .ok()
            .and_then(|a| serde_json::from_slice::<serde_json::Value>(&a.payload).ok());
        let node = info.as_ref().and_then(|i| {
            let name = i.pointer("/cluster/leader")?.as_str()?;
            let current = i
                .pointer("/cluster/replicas")?
                .as_array()?
                .iter()
                .filter(|p| p["current"].as_bool() == Some(true))
                .count();
            (current == 2).then(|| name.strip_prefix("disco-n")?.parse().ok())?
        });
        if let Some(node) = node {
            return node;
        }
        assert!(Instant::now() < deadline, "{stream} has no healthy leader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_standby_takes_over_from_a_holder_whose_node_died() {
    if std::env::var("DISCO_TEST_NATS_URL").is_ok_and(|u| !u.contains("127.0.0.1:4301")) {
        panic!("this test kills a node of the cluster scripts/nats-cluster.sh starts; unset DISCO_TEST_NATS_URL");
    }
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
    let client = async_nats::connect(
        common::servers()
            .iter()
            .map(|s| s.parse::<async_nats::ServerAddr>().expect("address"))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("connect");
    let node = leader(&client, &format!("DISCO_M_{name}")).await;
    leader(&client, &format!("DISCO_E_{name}")).await;
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
    let _ = NatsStore::drop_at(&common::servers(), NatsOptions::new(&name).expect("name")).await;
}
