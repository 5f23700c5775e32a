//! What the fault tests share: the cluster script, the stream leader as the
//! cluster reports it, writers that append until stopped, and the checks
//! of what was stored against what was acknowledged.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disco_core::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId, Uuid};
use disco_store_nats::NatsStore;

/// How long a fault test waits for the cluster to recover.
pub const PATIENCE: Duration = Duration::from_secs(45);

/// Runs `scripts/nats-cluster.sh` with `args`.
pub fn cluster(args: &[&str]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/nats-cluster.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the cluster script");
    assert!(status.success(), "scripts/nats-cluster.sh {args:?} failed");
}

/// Refuses to run a test that kills nodes against a cluster it did not
/// start.
pub fn own_cluster_only(what: &str) {
    if std::env::var("DISCO_TEST_NATS_URL").is_ok_and(|u| !u.contains("127.0.0.1:4301")) {
        panic!("{what} the cluster scripts/nats-cluster.sh starts; unset DISCO_TEST_NATS_URL");
    }
}

/// A client of `servers` for looking at the cluster.
pub async fn client(servers: &[String]) -> async_nats::Client {
    async_nats::connect(
        servers
            .iter()
            .map(|s| s.parse::<async_nats::ServerAddr>().expect("address"))
            .collect::<Vec<_>>(),
    )
    .await
    .expect("connect")
}

/// The node (1-3) leading `stream`, and whether both followers are current.
pub async fn leader(client: &async_nats::Client, stream: &str) -> Option<(usize, bool)> {
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

/// The node leading `stream` once both followers are current.
pub async fn healthy_leader(client: &async_nats::Client, stream: &str) -> usize {
    wait_for_leader(client, stream, true).await
}

/// The node leading `stream`, its followers current or not.
pub async fn any_leader(client: &async_nats::Client, stream: &str) -> usize {
    wait_for_leader(client, stream, false).await
}

async fn wait_for_leader(client: &async_nats::Client, stream: &str, current: bool) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match leader(client, stream).await {
            Some((node, all_current)) if all_current || !current => return node,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{stream} did not get a leader{} within {PATIENCE:?}",
            if current {
                " and three current replicas"
            } else {
                ""
            }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writers, each appending one event at a time to its own stream (the
/// event's data is its id), resending on a retryable error until answered.
pub struct Writers {
    stop: Arc<AtomicBool>,
    /// The ids of acknowledged events.
    pub acked: Arc<Mutex<Vec<Uuid>>>,
    /// (sent, answered) of every acknowledged attempt.
    oks: Arc<Mutex<Vec<(Instant, Instant)>>>,
    tasks: Vec<tokio::task::JoinHandle<u64>>,
}

impl Writers {
    /// Starts `count` writers on `store`.
    pub fn start(store: Arc<NatsStore>, count: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Vec<Uuid>>> = Arc::default();
        let oks: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
        let tasks = (0..count)
            .map(|w| {
                let (store, stop, acked, oks) =
                    (store.clone(), stop.clone(), acked.clone(), oks.clone());
                tokio::spawn(async move {
                    let stream = StreamId::new(format!("writer-{w}")).expect("id");
                    let mut refused = 0u64;
                    while !stop.load(Ordering::Acquire) {
                        let mut event = NewEvent::new("Written", Vec::new());
                        event.data = event.id.as_bytes().to_vec();
                        loop {
                            let sent = Instant::now();
                            match store
                                .append(&stream, ExpectedVersion::Any, vec![event.clone()])
                                .await
                            {
                                Ok(_) => {
                                    acked.lock().expect("lock").push(event.id);
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
    pub async fn recovered_after(&self, at: Instant) -> Duration {
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

    /// Stops them: the acknowledged ids and the retryable refusals seen.
    pub async fn stop(self) -> (Vec<Uuid>, u64) {
        self.stop.store(true, Ordering::Release);
        let mut refused = 0;
        for task in self.tasks {
            refused += task.await.expect("writer");
        }
        let acked = self.acked.lock().expect("lock").clone();
        (acked, refused)
    }
}

/// Every event of the store, in order (a page refused with a retryable
/// error, as while a node catches up, is asked again, as an application
/// would).
pub async fn everything(store: &NatsStore) -> Vec<RecordedEvent> {
    let mut stored = Vec::new();
    let mut after = 0;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let page = match store.read_all(after, 1000).await {
            Ok(page) => page,
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                eprintln!("read_all after {after}: {e} (asking again)");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => panic!("read_all after {after}: {e}"),
        };
        let Some(last) = page.last() else {
            return stored;
        };
        after = last.position;
        stored.extend(page);
    }
}

/// Checks `stored` against `acked` (`when` names the moment in messages):
/// every event reads back as written (its data is its id), none twice,
/// versions dense, positions increasing. Returns the acknowledged ids
/// missing.
pub fn check_stored(stored: &[RecordedEvent], acked: &[Uuid], when: &str) -> Vec<Uuid> {
    for event in stored {
        assert_eq!(
            event.data,
            event.id.as_bytes().to_vec(),
            "{when}: the event {} at {} reads back different from what was written",
            event.id,
            event.position
        );
    }
    let ids: HashSet<Uuid> = stored.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), stored.len(), "{when}: an event is stored twice");
    let mut versions: HashMap<String, Vec<u64>> = HashMap::new();
    for event in stored {
        versions
            .entry(event.stream_id.to_string())
            .or_default()
            .push(event.version);
    }
    for (stream, list) in &versions {
        let dense: Vec<u64> = (1..=list.len() as u64).collect();
        assert_eq!(list, &dense, "{when}: versions of {stream} are not dense");
    }
    assert!(
        stored.windows(2).all(|w| w[0].position < w[1].position),
        "{when}: positions do not increase"
    );
    acked
        .iter()
        .filter(|id| !ids.contains(id))
        .copied()
        .collect()
}

/// Reads `feed` until it has delivered `count` events; their ids.
pub async fn delivered(feed: &mut disco_runtime::Subscription, count: usize) -> Vec<Uuid> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, feed.next()).await {
            Ok(Some(Ok(event))) => seen.push(event.id),
            Ok(Some(Err(e))) => panic!("the subscription failed: {e}"),
            Ok(None) => panic!("the subscription ended"),
            Err(_) => panic!(
                "the subscriber saw {} of {count} events within {PATIENCE:?}",
                seen.len()
            ),
        }
    }
    seen
}

/// A fresh R3 store on `servers` named `prefix` and a random tail, whose
/// requests time out after a second (so a write sent to a dead leader is
/// given up, as retryable, quickly), and the name of its events stream.
pub async fn fault_store(prefix: &str, servers: &[String], how: &str) -> (Arc<NatsStore>, String) {
    let name = format!("{prefix}{}", &Uuid::new_v4().simple().to_string()[..20]);
    let options = disco_store_nats::NatsOptions::new(&name)
        .expect("name")
        .replicas(3)
        .timeout(Duration::from_secs(1));
    match NatsStore::connect(servers, options).await {
        Ok(store) => (Arc::new(store), format!("DISCO_E_{name}")),
        Err(e) => panic!("cannot open a store on the NATS cluster {servers:?}: {e}\n{how}"),
    }
}

/// Checks that the store holds every acknowledged event once, as written
/// (see [`check_stored`]) and that `feed` delivered exactly the stored
/// events in order; returns how many are stored.
pub async fn assert_nothing_lost(
    store: &NatsStore,
    feed: &mut disco_runtime::Subscription,
    acked: &[Uuid],
    when: &str,
) -> usize {
    let stored = everything(store).await;
    let lost = check_stored(&stored, acked, when);
    assert!(
        lost.is_empty(),
        "{when}: {} acknowledged events are lost: {lost:?}",
        lost.len()
    );
    let ids: Vec<Uuid> = stored.iter().map(|e| e.id).collect();
    let seen = delivered(feed, stored.len()).await;
    assert_eq!(
        seen, ids,
        "{when}: the subscriber missed, repeated or reordered events"
    );
    stored.len()
}

/// Drops the store `name` from `servers`, quietly.
pub async fn drop_store(servers: &[String], name: &str) {
    let options = disco_store_nats::NatsOptions::new(name).expect("name");
    let _ = NatsStore::drop_at(servers, options).await;
}

/// `store` as the trait object a subscription takes.
pub fn as_store(store: &Arc<NatsStore>) -> Arc<dyn EventStore> {
    store.clone()
}
