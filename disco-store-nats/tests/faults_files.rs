//! Jepsen's minority-file faults (NATS 2.12.1, 2025-12-08), reproduced on
//! the test cluster: with writers running on an R3 store, one node is
//! SIGKILLed, the last data block of the store's events stream on its disk
//! is cut to half and bytes in its first half are flipped, and the node is
//! restarted while the writers go on. Twice: a follower's files, then the
//! leader's. After each, the damaged node is asked to lead (Raft elects it
//! only if its log is up to date) and everything is read through the store.
//!
//! Checked, the store's part: every stored event reads back byte for byte
//! as it was acknowledged, no acknowledged event is missing from what
//! readers get, none twice, versions dense. Printed, NATS's part: each
//! node's view of the stream (messages, last sequence), whether the damaged
//! node led, and whether the replicas agree at the end. Bounded: about a
//! minute and a half.
//!
//! It kills nodes of the cluster `scripts/nats-cluster.sh` starts, so it is
//! the only test of its binary.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::faults::{
    any_leader, check_stored, client, cluster, drop_store, everything, fault_store, healthy_leader,
    leader, own_cluster_only, Writers,
};
use disco_core::Uuid;
use disco_store_nats::NatsStore;

const WRITERS: usize = 4;

fn data_dir() -> PathBuf {
    std::env::var("DISCO_NATS_DIR")
        .unwrap_or_else(|_| "/tmp/disco-nats".into())
        .into()
}

/// Asks the stream's leader to hand over to `node` for up to `time`:
/// whether `node` leads. (Raft elects only a node whose log is up to date,
/// so a node that lost its tail may never lead.)
async fn lead_from(client: &async_nats::Client, stream: &str, node: usize, time: Duration) -> bool {
    let deadline = Instant::now() + time;
    loop {
        if leader(client, stream).await.map(|(n, _)| n) == Some(node) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        let body = serde_json::json!({ "placement": { "preferred": format!("disco-n{node}") } });
        let _ = client
            .request(
                format!("$JS.API.STREAM.LEADER.STEPDOWN.{stream}"),
                body.to_string().into(),
            )
            .await;
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
async fn readers_lose_nothing_when_a_minoritys_files_are_damaged() {
    own_cluster_only("this test damages files of");
    cluster(&["start"]);
    let (store, stream) = fault_store(
        "d",
        &common::servers(),
        "Start it with `scripts/nats-cluster.sh start` (`bash .ci/run` does).",
    )
    .await;
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
        any_leader(&client, &stream).await;
        let led = lead_from(&client, &stream, node, Duration::from_secs(10)).await;
        let acked = writers.acked.lock().expect("lock").clone();
        let lost = check(&store, &acked, round).await;
        lost_total += lost;
        let views = views(&stream);
        report.push(format!(
            "{round} (n{node}): {done}; {}; read through the store: {} acknowledged, {lost} lost; nodes' (messages, last seq): {views:?}",
            if led { "it became the leader" } else { "it was not elected leader within 10 s" },
            acked.len()
        ));
        eprintln!("{}", report.last().map_or("", String::as_str));
    }
    let (acked, _) = writers.stop().await;
    any_leader(&client, &stream).await;
    lost_total += check(&store, &acked, "at the end").await;
    // Whether the replicas come to agree (NATS's part: reported, not
    // asserted; the store's part, what readers get, is checked above).
    let deadline = Instant::now() + Duration::from_secs(20);
    let (views, agree) = loop {
        let views = views(&stream);
        let agree = views.iter().all(|v| v.is_some() && *v == views[0]);
        if agree || Instant::now() >= deadline {
            break (views, agree);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "minority file faults under {WRITERS} writers (nats-server 2.15.1): {}; at the end {} acknowledged, {lost_total} lost; the replicas {} {views:?}",
        report.join("; "),
        acked.len(),
        if agree { "agree at" } else { "still DISAGREE 20 s after the writes stopped:" },
    );
    assert_eq!(lost_total, 0, "acknowledged events were lost");
    drop_store(&common::servers(), store.store_name()).await;
}
