//! Jepsen's minority-file faults (NATS 2.12.1, 2025-12-08), reproduced on
//! the test cluster: with writers running on an R3 store, one node is
//! SIGKILLed, the last data block of the store's events stream on its disk
//! is cut to half and bytes in its first half are flipped, and the node is
//! restarted while the writers go on. Twice: a follower's files, then the
//! leader's. After each, the damaged node is made the stream's leader and
//! everything is read through it.
//!
//! Checked: every stored event is byte for byte what was acknowledged (the
//! store never hands a reader an event that differs), no acknowledged event
//! is lost, versions stay dense; printed: each node's view of the stream
//! (messages, last sequence) and whether the replicas agree. Bounded: about
//! a minute.
//!
//! It kills nodes of the cluster `scripts/nats-cluster.sh` starts, so it is
//! the only test of its binary.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::faults::{
    check_stored, client, cluster, drop_store, everything, healthy_leader, own_cluster_only,
    Writers, PATIENCE,
};
use disco_core::Uuid;
use disco_store_nats::{NatsOptions, NatsStore};

const WRITERS: usize = 4;

fn data_dir() -> PathBuf {
    std::env::var("DISCO_NATS_DIR")
        .unwrap_or_else(|_| "/tmp/disco-nats".into())
        .into()
}

/// Asks the stream's leader to hand over to `node` until it has.
async fn lead_from(client: &async_nats::Client, stream: &str, node: usize) {
    let deadline = Instant::now() + PATIENCE;
    while healthy_leader(client, stream).await != node {
        let body = serde_json::json!({ "placement": { "preferred": format!("disco-n{node}") } });
        let _ = client
            .request(
                format!("$JS.API.STREAM.LEADER.STEPDOWN.{stream}"),
                body.to_string().into(),
            )
            .await;
        assert!(
            Instant::now() < deadline,
            "n{node} did not become the leader of {stream}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each node's view of `stream`: (messages, last sequence), from its
/// monitoring endpoint.
fn views(stream: &str) -> Vec<Option<(u64, u64)>> {
    (1..=3)
        .map(|n| {
            let output = std::process::Command::new("curl")
                .args(["-sf", &format!("http://127.0.0.1:830{n}/jsz?streams=true")])
                .output()
                .ok()?;
            let jsz: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
            jsz.get("account_details")?
                .as_array()?
                .iter()
                .flat_map(|a| a["stream_detail"].as_array().cloned().unwrap_or_default())
                .find(|s| s["name"] == stream)
                .map(|s| {
                    (
                        s["state"]["messages"].as_u64().unwrap_or(0),
                        s["state"]["last_seq"].as_u64().unwrap_or(0),
                    )
                })
        })
        .collect()
}

/// Cuts `node`'s newest block of `stream` to half and flips 16 bytes at a
/// quarter of it; returns what was done.
fn damage(node: usize, stream: &str) -> String {
    let dir = data_dir().join(format!("n{node}/jetstream/$G/streams/{stream}/msgs"));
    let mut blocks: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "blk"))
        .collect();
    blocks.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let block = blocks.last().expect("a data block");
    let mut bytes = std::fs::read(block).expect("read the block");
    let before = bytes.len();
    bytes.truncate(before / 2);
    let at = bytes.len() / 2;
    for b in bytes.iter_mut().skip(at).take(16) {
        *b ^= 0xFF;
    }
    std::fs::write(block, &bytes).expect("write the block");
    format!(
        "{} cut from {before} to {} bytes, 16 bytes flipped at {at}",
        block
            .file_name()
            .map_or("?".into(), |n| n.to_string_lossy().into_owned()),
        bytes.len()
    )
}

/// Checks what `store` reads against what was acknowledged; the number of
/// acknowledged events it lacks.
async fn check(store: &NatsStore, acked: &[Uuid], when: &str) -> usize {
    check_stored(&everything(store).await, acked, when).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_minoritys_damaged_files_lose_and_change_nothing() {
    own_cluster_only("this test damages files of");
    cluster(&["start"]);
    let name = format!("d{}", &Uuid::new_v4().simple().to_string()[..20]);
    let options = NatsOptions::new(&name)
        .expect("name")
        .replicas(3)
        .timeout(Duration::from_secs(1));
    let store = Arc::new(
        NatsStore::connect(&common::servers(), options)
            .await
            .expect("a store on the test cluster"),
    );
    let stream = format!("DISCO_E_{name}");
    let client = client(&common::servers()).await;
    healthy_leader(&client, &stream).await;
    let writers = Writers::start(store.clone(), WRITERS);
    let mut report = Vec::new();
    let mut lost_total = 0;
    for round in ["a follower", "the leader"] {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let leader = healthy_leader(&client, &stream).await;
        let node = if round == "the leader" {
            leader
        } else {
            (1..=3).find(|n| *n != leader).expect("a follower")
        };
        cluster(&["kill", &node.to_string()]);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let done = damage(node, &stream);
        tokio::time::sleep(Duration::from_secs(1)).await;
        cluster(&["start"]);
        tokio::time::sleep(Duration::from_secs(3)).await;
        healthy_leader(&client, &stream).await;
        lead_from(&client, &stream, node).await;
        let acked = writers.acked.lock().expect("lock").clone();
        let lost = check(&store, &acked, round).await;
        lost_total += lost;
        let views = views(&stream);
        report.push(format!(
            "{round} (n{node}): {done}; read through it as leader: {} acknowledged, {lost} lost; nodes' (messages, last seq): {views:?}",
            acked.len()
        ));
        eprintln!("{}", report.last().map_or("", String::as_str));
    }
    let (acked, _) = writers.stop().await;
    healthy_leader(&client, &stream).await;
    lost_total += check(&store, &acked, "at the end").await;
    // The replicas agree once all are current (allow a moment to settle).
    let deadline = Instant::now() + PATIENCE;
    let agreed = loop {
        let views = views(&stream);
        if views.iter().all(|v| v.is_some() && *v == views[0]) {
            break views;
        }
        assert!(
            Instant::now() < deadline,
            "the replicas disagree on the stream: {views:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "minority file faults under {WRITERS} writers: {}; at the end {} acknowledged, {lost_total} lost, replicas agree at {:?}",
        report.join("; "),
        acked.len(),
        agreed[0]
    );
    assert_eq!(lost_total, 0, "acknowledged events were lost");
    drop_store(&common::servers(), &name).await;
}
