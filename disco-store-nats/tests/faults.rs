//! The stream leader killed (SIGKILL) again and again under eight writers
//! and a live subscriber, on an R3 store of the test cluster: no
//! acknowledged event is lost or stored twice, versions stay dense, the
//! subscriber misses and repeats nothing, writers get a retryable error
//! while there is no leader and succeed after. Prints the time without a
//! leader (from the kill until an append sent after it is acknowledged).
//! Bounded: three
//! kills, about half a minute.
//!
//! It controls the cluster `scripts/nats-cluster.sh` starts (it kills and
//! restarts its nodes), so it is the only test of its binary.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disco_core::{EventStore, ExpectedVersion, NewEvent, StreamId, Uuid};
use disco_runtime::{Subscription, SubscriptionOptions};
use disco_store_nats::NatsStore;

const KILLS: usize = 3;
const WRITERS: usize = 8;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/nats-cluster.sh")
}

fn cluster(args: &[&str]) {
    let status = std::process::Command::new("bash")
        .arg(script())
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the cluster script");
    assert!(status.success(), "scripts/nats-cluster.sh {args:?} failed");
}

/// The node (1-3) leading `stream`, and whether all three replicas are
/// current.
async fn leader(client: &async_nats::Client, stream: &str) -> Option<(usize, bool)> {
    let answer = client
        .request(format!("$JS.API.STREAM.INFO.{stream}"), "".into())
        .await
        .ok()?;
    let info: serde_json::Value = serde_json::from_slice(&answer.payload).ok()?;
    let name = info.pointer("/cluster/leader")?.as_str()?;
    let node = name.strip_prefix("disco-n")?.parse().ok()?;
    let replicas = info
        .pointer("/cluster/replicas")
        .and_then(|r| r.as_array())
        .map(|r| r.len() == 2 && r.iter().all(|p| p["current"].as_bool() == Some(true)))
        .unwrap_or(false);
    Some((node, replicas))
}

async fn healthy_leader(client: &async_nats::Client, stream: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((node, true)) = leader(client, stream).await {
            return node;
        }
        assert!(
            Instant::now() < deadline,
            "the stream did not get three current replicas within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_stream_leader_loses_and_repeats_nothing() {
    if std::env::var("DISCO_TEST_NATS_URL").is_ok_and(|u| !u.contains("127.0.0.1:4301")) {
        panic!("the fault test kills nodes of the cluster scripts/nats-cluster.sh starts; unset DISCO_TEST_NATS_URL");
    }
    cluster(&["start"]);
    let store = Arc::new(common::fresh(3).await);
    let name = format!("DISCO_{}", store.store_name());
    let client = async_nats::connect(
        common::servers()
            .iter()
            .map(|s| s.parse::<async_nats::ServerAddr>().expect("address"))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("connect");
    healthy_leader(&client, &name).await;

    let mut feed = Subscription::start(
        store.clone() as Arc<dyn EventStore>,
        SubscriptionOptions::default().poll_interval(Duration::from_millis(200)),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, Uuid, u64)>>> = Arc::default();
    // (sent, answered) of every acknowledged attempt.
    let oks: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (store, stop, acked, oks) = (store.clone(), stop.clone(), acked.clone(), oks.clone());
        writers.push(tokio::spawn(async move {
            let stream = StreamId::new(format!("writer-{w}")).expect("id");
            let mut unavailable = 0u64;
            while !stop.load(Ordering::Acquire) {
                let event = NewEvent::new("Written", b"{}".to_vec());
                let id = event.id;
                // The same append is sent again until it is answered: a
                // retry of an append that did commit returns its result.
                loop {
                    let sent = Instant::now();
                    match store
                        .append(&stream, ExpectedVersion::Any, vec![event.clone()])
                        .await
                    {
                        Ok(result) => {
                            acked.lock().expect("lock").push((
                                stream.to_string(),
                                id,
                                result.first_version,
                            ));
                            oks.lock().expect("lock").push((sent, Instant::now()));
                            break;
                        }
                        Err(e) if e.is_retryable() => {
                            unavailable += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => {
                            panic!("writer {w}: a non-retryable error during the faults: {e}")
                        }
                    }
                }
            }
            unavailable
        }));
    }

    let mut leaderless = Vec::new();
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let node = healthy_leader(&client, &name).await;
        let killed_at = Instant::now();
        cluster(&["kill", &node.to_string()]);
        // The time until an append sent after the kill is acknowledged.
        let deadline = killed_at + Duration::from_secs(30);
        loop {
            let first = oks
                .lock()
                .expect("lock")
                .iter()
                .filter(|(sent, _)| *sent > killed_at)
                .map(|(_, answered)| *answered)
                .min();
            if let Some(answered) = first {
                leaderless.push(answered.duration_since(killed_at));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no append succeeded within 30 s of killing the leader"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cluster(&["start"]);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Release);
    let mut retried = 0;
    for writer in writers {
        retried += writer.await.expect("writer");
    }
    healthy_leader(&client, &name).await;

    // Every acknowledged event is stored once, versions dense per stream.
    let acked = acked.lock().expect("lock").clone();
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 1000).await.expect("read_all");
        let Some(last) = page.last() else { break };
        after = last.position;
        stored.extend(page);
    }
    let ids: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event is stored twice");
    for (stream, id, _) in &acked {
        assert!(
            unique.contains(id),
            "the acknowledged event {id} of {stream} is lost"
        );
    }
    let mut versions: HashMap<String, Vec<u64>> = HashMap::new();
    for event in &stored {
        versions
            .entry(event.stream_id.to_string())
            .or_default()
            .push(event.version);
    }
    for (stream, list) in &versions {
        let dense: Vec<u64> = (1..=list.len() as u64).collect();
        assert_eq!(list, &dense, "versions of {stream} are not dense");
    }
    assert!(stored.windows(2).all(|w| w[0].position < w[1].position));

    // The subscriber saw exactly the stored events, in order.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.len() < stored.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, feed.next()).await {
            Ok(Some(Ok(event))) => seen.push(event.id),
            Ok(Some(Err(e))) => panic!("the subscription failed: {e}"),
            Ok(None) => panic!("the subscription ended"),
            Err(_) => panic!(
                "the subscriber saw {} of {} events within 30 s",
                seen.len(),
                stored.len()
            ),
        }
    }
    assert_eq!(
        seen, ids,
        "the subscriber missed, repeated or reordered events"
    );

    let worst = leaderless.iter().max().copied().unwrap_or_default();
    println!(
        "leader killed {KILLS} times under {WRITERS} writers: {} events acknowledged, {} stored, 0 lost, 0 twice; {retried} retryable refusals; time from the kill until an append sent after it is acknowledged: {:?}, worst {worst:?}",
        acked.len(),
        stored.len(),
        leaderless
    );
    let _ = NatsStore::drop_at(
        &common::servers(),
        disco_store_nats::NatsOptions::new(store.store_name()).expect("name"),
    )
    .await;
}
