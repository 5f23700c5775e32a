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

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disco_core::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId, Uuid};
use disco_runtime::{Subscription, SubscriptionOptions};
use disco_store_nats::{NatsOptions, NatsStore};

const WRITERS: usize = 8;
const PATIENCE: Duration = Duration::from_secs(45);

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

/// The node (1-3) leading `stream`, and whether both followers are current.
async fn leader(client: &async_nats::Client, stream: &str) -> Option<(usize, bool)> {
    let answer = client
        .request(format!("$JS.API.STREAM.INFO.{stream}"), "".into())
        .await
        .ok()?;
    let info: serde_json::Value = serde_json::from_slice(&answer.payload).ok()?;
    let name = info.pointer("/cluster/leader")?.as_str()?;
    let node = name.strip_prefix("disco-n")?.parse().ok()?;
    let current = info
        .pointer("/cluster/replicas")
        .and_then(|r| r.as_array())
        .map(|r| r.len() == 2 && r.iter().all(|p| p["current"].as_bool() == Some(true)))
        .unwrap_or(false);
    Some((node, current))
}

async fn healthy_leader(client: &async_nats::Client, stream: &str) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some((node, true)) = leader(client, stream).await {
            return node;
        }
        assert!(
            Instant::now() < deadline,
            "the stream did not get three current replicas within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Eight writers, each appending one event at a time to its own stream.
struct Writers {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Uuid>>>,
    /// (sent, answered) of every acknowledged attempt.
    oks: Arc<Mutex<Vec<(Instant, Instant)>>>,
    tasks: Vec<tokio::task::JoinHandle<u64>>,
}

impl Writers {
    fn start(store: Arc<NatsStore>) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<Uuid>>> = Arc::default();
        let oks: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
        let tasks = (0..WRITERS)
            .map(|w| {
                let (store, stop, acked, oks) =
                    (store.clone(), stop.clone(), acked.clone(), oks.clone());
                tokio::spawn(async move {
                    let stream = StreamId::new(format!("writer-{w}")).expect("id");
                    let mut refused = 0u64;
                    while !stop.load(Ordering::Acquire) {
                        let event = NewEvent::new("Written", b"{}".to_vec());
                        let id = event.id;
                        loop {
                            let sent = Instant::now();
                            match store
                                .append(&stream, ExpectedVersion::Any, vec![event.clone()])
                                .await
                            {
                                Ok(_) => {
                                    acked.lock().expect("lock").push(id);
                                    oks.lock().expect("lock").push((sent, Instant::now()));
                                    break;
                                }
                                Err(e) if e.is_retryable() => {
                                    refused += 1;
                                    tokio::time::sleep(Duration::from_millis(20)).await;
                                }
                                Err(e) => panic!("writer {w}: a non-retryable error: {e}"),
                            }
                        }
                    }
                    refused
                })
            })
            .collect();
        Writers {
            stop,
            acked,
            oks,
            tasks,
        }
    }

    /// How long after `at` an append sent after it was acknowledged.
    async fn recovered_after(&self, at: Instant) -> Duration {
        let deadline = at + PATIENCE;
        loop {
            let first = self
                .oks
                .lock()
                .expect("lock")
                .iter()
                .filter(|(sent, _)| *sent > at)
                .map(|(_, answered)| *answered)
                .min();
            if let Some(answered) = first {
                return answered.duration_since(at);
            }
            assert!(
                Instant::now() < deadline,
                "no append succeeded within {PATIENCE:?} of the fault"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) -> (Vec<Uuid>, u64) {
        self.stop.store(true, Ordering::Release);
        let mut refused = 0;
        for task in self.tasks {
            refused += task.await.expect("writer");
        }
        let acked = self.acked.lock().expect("lock").clone();
        (acked, refused)
    }
}

async fn everything(store: &NatsStore) -> Vec<RecordedEvent> {
    let mut stored = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 1000).await.expect("read_all");
        let Some(last) = page.last() else {
            return stored;
        };
        after = last.position;
        stored.extend(page);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_faults_lose_and_repeat_nothing() {
    if std::env::var("DISCO_TEST_NATS_URL").is_ok_and(|u| !u.contains("127.0.0.1:4301")) {
        panic!("the fault test kills nodes of the cluster scripts/nats-cluster.sh starts; unset DISCO_TEST_NATS_URL");
    }
    cluster(&["start"]);
    // A short request timeout: a write sent to a dead leader is given up
    // (as retryable) after it, so the recovery times below are accurate to
    // about a second.
    let name = format!("f{}", &Uuid::new_v4().simple().to_string()[..20]);
    let options = NatsOptions::new(&name)
        .expect("name")
        .replicas(3)
        .timeout(Duration::from_secs(1));
    let store = Arc::new(
        NatsStore::connect(&common::servers(), options)
            .await
            .expect("a store on the test cluster"),
    );
    let name = format!("DISCO_E_{}", store.store_name());
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
    let writers = Writers::start(store.clone());
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

    let stored = everything(&store).await;
    let ids: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an event is stored twice");
    let lost: Vec<&Uuid> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events are lost: {lost:?}",
        lost.len()
    );
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

    let mut seen = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while seen.len() < stored.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, feed.next()).await {
            Ok(Some(Ok(event))) => seen.push(event.id),
            Ok(Some(Err(e))) => panic!("the subscription failed: {e}"),
            Ok(None) => panic!("the subscription ended"),
            Err(_) => panic!(
                "the subscriber saw {} of {} events within {PATIENCE:?}",
                seen.len(),
                stored.len()
            ),
        }
    }
    assert_eq!(
        seen, ids,
        "the subscriber missed, repeated or reordered events"
    );

    println!(
        "faults under {WRITERS} writers: {} events acknowledged, {} stored, 0 lost, 0 twice, {refused} retryable refusals; from each fault until an append sent after it was acknowledged: {}",
        acked.len(),
        stored.len(),
        report.join("; ")
    );
    let _ = NatsStore::drop_at(
        &common::servers(),
        NatsOptions::new(store.store_name()).expect("name"),
    )
    .await;
}
