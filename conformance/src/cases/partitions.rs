//! Partitioned consumers: each key's events in order and never two at once,
//! partitions concurrent, a fair share for every member as members join and
//! leave, nothing lost when a member is killed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use disco_core::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use disco_runtime::consumer::{
    ConsumerOptions, Handler, HandlerError, PartitionedConsumer, PartitionedHandle,
};

use crate::Stores;

/// Records every delivery, and whether two deliveries of one key ever
/// overlapped.
#[derive(Default)]
pub(crate) struct Recorder {
    log: Mutex<Vec<(String, u64)>>,
    busy: Mutex<HashMap<String, usize>>,
    overlapped: AtomicBool,
    running: AtomicUsize,
    most: AtomicUsize,
    pause: Duration,
}

/// Marks a key busy while a delivery runs (also when it is dropped
/// unfinished, as an aborted runner drops it).
struct Busy<'a>(&'a Recorder, String);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = busy.get_mut(&self.1) {
            *n -= 1;
        }
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Recorder {
    fn new(pause: Duration) -> Arc<Self> {
        Arc::new(Recorder {
            pause,
            ..Recorder::default()
        })
    }

    fn log(&self) -> Vec<(String, u64)> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        let key = event.stream_id.as_str().to_owned();
        {
            let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
            let n = busy.entry(key.clone()).or_default();
            if *n > 0 {
                self.overlapped.store(true, Ordering::SeqCst);
            }
            *n += 1;
        }
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(running, Ordering::SeqCst);
        let _busy = Busy(self, key.clone());
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((key, event.version));
        Ok(())
    }
}

fn options() -> ConsumerOptions {
    ConsumerOptions {
        lease_ttl: Duration::from_secs(2),
        takeover_poll: Duration::from_millis(50),
        checkpoint_every_events: 5,
        checkpoint_every: Duration::from_millis(50),
        poll_interval: Duration::from_millis(100),
        ..ConsumerOptions::default()
    }
}

fn start(
    store: Arc<dyn EventStore>,
    recorder: &Arc<Recorder>,
    partitions: u32,
) -> PartitionedHandle {
    match PartitionedConsumer::new("shared-work", partitions, recorder.clone())
        .options(options())
        .start(store)
    {
        Ok(handle) => handle,
        Err(e) => panic!("start the partitioned consumer: {e}"),
    }
}

/// `streams` streams named `{tag}-{i}`, `per` events each, interleaved.
async fn fill(store: &dyn EventStore, tag: &str, streams: usize, per: usize) {
    for v in 0..per {
        for i in 0..streams {
            let stream = StreamId::new(format!("{tag}-{i}")).unwrap_or_else(|e| panic!("{e}"));
            let expected = ExpectedVersion::Exact(v as u64);
            if let Err(e) = store
                .append(&stream, expected, vec![NewEvent::new("Work", Vec::new())])
                .await
            {
                panic!("append to {stream}: {e}");
            }
        }
    }
}

async fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn shares(handles: &[&PartitionedHandle]) -> Vec<usize> {
    let mut shares = Vec::new();
    for h in handles {
        shares.push(h.local_partitions().await.len());
    }
    shares
}

async fn wait_shares(handles: &[&PartitionedHandle], want: &[usize], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let got = shares(handles).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the partitions were not shared as {want:?}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every (stream, version) delivered, in first-delivery order per stream:
/// each stream's versions first arrive in order, none is missing.
fn check_log(log: &[(String, u64)], expected: &BTreeMap<String, u64>, exactly_once: bool) {
    let mut seen: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (stream, version) in log {
        let versions = seen.entry(stream).or_default();
        if !versions.contains(version) {
            versions.push(*version);
        } else {
            assert!(!exactly_once, "{stream} v{version} was delivered twice");
        }
    }
    for (stream, last) in expected {
        let versions = seen.get(stream.as_str()).cloned().unwrap_or_default();
        let want: Vec<u64> = (1..=*last).collect();
        assert_eq!(versions, want, "{stream}'s events, in first-delivery order");
    }
}

fn expected(tags: &[(&str, usize, u64)]) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for (tag, streams, per) in tags {
        for i in 0..*streams {
            all.insert(format!("{tag}-{i}"), *per);
        }
    }
    all
}

/// One member, four partitions: every key's events in order, one at a time;
/// different partitions at once.
pub async fn partitioned_consumer_keeps_each_key_in_order(stores: Stores) {
    let store = stores.store.clone();
    fill(&*store, "k", 20, 5).await;
    let recorder = Recorder::new(Duration::from_millis(2));
    let handle = start(store.clone(), &recorder, 4);
    eventually("every event", Duration::from_secs(30), || {
        recorder.log().len() >= 100
    })
    .await;
    check_log(&recorder.log(), &expected(&[("k", 20, 5)]), true);
    assert!(
        !recorder.overlapped.load(Ordering::SeqCst),
        "one key handled twice at once"
    );
    assert!(
        recorder.most.load(Ordering::SeqCst) >= 2,
        "the partitions never ran at once"
    );
    let status = handle.status().await;
    assert_eq!(status.len(), 4);
    let member = handle.member();
    assert!(member.is_some());
    for p in &status {
        assert!(p.local && p.owner == member, "{p:?}");
    }
    handle.stop().await;
}

/// Members joining share the partitions fairly, a member leaving hands its
/// partitions over, and through it all no key is handled twice at once and
/// nothing is lost or repeated.
pub async fn partitioned_consumers_rebalance_as_members_join_and_leave(stores: Stores) {
    let recorder = Recorder::new(Duration::from_millis(1));
    let a = start(stores.store.clone(), &recorder, 6);
    wait_shares(&[&a], &[6], Duration::from_secs(10)).await;
    fill(&*stores.store, "j1", 12, 3).await;
    let b = start(stores.another_handle().await, &recorder, 6);
    let c = start(stores.another_handle().await, &recorder, 6);
    wait_shares(&[&a, &b, &c], &[2, 2, 2], Duration::from_secs(20)).await;
    fill(&*stores.store, "j2", 12, 3).await;
    a.stop().await;
    wait_shares(&[&b, &c], &[3, 3], Duration::from_secs(20)).await;
    fill(&*stores.store, "j3", 12, 3).await;
    let all = expected(&[("j1", 12, 3), ("j2", 12, 3), ("j3", 12, 3)]);
    eventually("every event", Duration::from_secs(30), || {
        recorder.log().len() >= 108
    })
    .await;
    check_log(&recorder.log(), &all, true);
    assert!(
        !recorder.overlapped.load(Ordering::SeqCst),
        "one key handled twice at once"
    );
    b.stop().await;
    c.stop().await;
}

/// A member killed mid-work: the other takes its partitions over once its
/// leases and heartbeat end; every event is handled, each key in order.
pub async fn killed_partition_member_loses_nothing(stores: Stores) {
    let recorder = Recorder::new(Duration::from_millis(3));
    let a = start(stores.store.clone(), &recorder, 4);
    let b = start(stores.another_handle().await, &recorder, 4);
    wait_shares(&[&a, &b], &[2, 2], Duration::from_secs(20)).await;
    fill(&*stores.store, "x", 16, 6).await;
    eventually("some work", Duration::from_secs(30), || {
        recorder.log().len() >= 20
    })
    .await;
    a.abort();
    wait_shares(&[&b], &[4], Duration::from_secs(30)).await;
    eventually("every event", Duration::from_secs(60), || {
        let log = recorder.log();
        let mut distinct: Vec<&(String, u64)> = log.iter().collect();
        distinct.sort();
        distinct.dedup();
        distinct.len() >= 96
    })
    .await;
    check_log(&recorder.log(), &expected(&[("x", 16, 6)]), false);
    assert!(
        !recorder.overlapped.load(Ordering::SeqCst),
        "one key handled twice at once"
    );
    b.stop().await;
}
