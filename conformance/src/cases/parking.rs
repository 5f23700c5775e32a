//! Parking per stream: a poison event parks its stream, the other streams
//! go on, the parked stream's later events wait in order, and a release
//! (retry or skip) delivers them; the parking survives a restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use disco_core::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId};
use disco_runtime::consumer::parking::{self, Release};
use disco_runtime::consumer::{Consumer, ConsumerHandle, ErrorPolicy, Handler, HandlerError};

use crate::Stores;

/// Fails on `Poison` events while `poisoned` is set; logs the rest.
#[derive(Default)]
struct Picky {
    poisoned: AtomicBool,
    log: Mutex<Vec<(String, String)>>,
}

impl Picky {
    fn log(&self) -> Vec<(String, String)> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn of(&self, stream: &str) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|(s, _)| s == stream)
            .map(|(_, t)| t)
            .collect()
    }
}

#[async_trait]
impl Handler for Picky {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        if event.event_type == "Poison" && self.poisoned.load(Ordering::SeqCst) {
            return Err("poison".into());
        }
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((
                event.stream_id.as_str().to_owned(),
                event.event_type.clone(),
            ));
        Ok(())
    }
}

const NAME: &str = "parking-consumer";

fn run(store: Arc<dyn EventStore>, picky: &Arc<Picky>) -> ConsumerHandle {
    let policy = ErrorPolicy::default()
        .retries(1)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .then_park();
    match Consumer::new(NAME, picky.clone())
        .error_policy(policy)
        .checkpoint_every(1, Duration::from_millis(30))
        .lease(Duration::from_secs(2), Duration::from_millis(50))
        .start(store)
    {
        Ok(handle) => handle,
        Err(e) => panic!("start the consumer: {e}"),
    }
}

async fn put(store: &dyn EventStore, stream: &str, types: &[&str]) {
    let stream = StreamId::new(stream).unwrap_or_else(|e| panic!("{e}"));
    let events = types
        .iter()
        .map(|t| NewEvent::new(*t, Vec::new()))
        .collect();
    if let Err(e) = store.append(&stream, ExpectedVersion::Any, events).await {
        panic!("append to {stream}: {e}");
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn parked_streams(store: &dyn EventStore) -> Vec<String> {
    match parking::parked(store, NAME).await {
        Ok(parked) => parked
            .into_iter()
            .map(|(p, _)| p.stream.to_string())
            .collect(),
        Err(e) => panic!("list the parked streams: {e}"),
    }
}

/// A poison event parks its stream; the other streams go on; the parked
/// stream's later events wait; a retry delivers them all, in order.
pub async fn poison_event_parks_its_stream_and_the_others_go_on(stores: Stores) {
    let store = stores.store.clone();
    let picky = Arc::new(Picky::default());
    picky.poisoned.store(true, Ordering::SeqCst);
    put(&*store, "bad", &["Ok", "Poison", "After"]).await;
    put(&*store, "good", &["One", "Two"]).await;
    let handle = run(store.clone(), &picky);
    eventually("the good stream", || picky.of("good").len() == 2).await;
    assert_eq!(picky.of("bad"), ["Ok"]);
    let parked = match parking::parked(&*store, NAME).await {
        Ok(parked) => parked,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(parked.len(), 1);
    let (bad, released) = &parked[0];
    assert_eq!(
        (bad.stream.as_str(), bad.version, released),
        ("bad", 2, &None)
    );
    assert!(bad.error.contains("poison"), "{}", bad.error);
    let mut status = handle.status().await;
    for _ in 0..100 {
        if status.parked == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        status = handle.status().await;
    }
    assert_eq!(status.parked, 1);
    put(&*store, "bad", &["Later"]).await;
    put(&*store, "good", &["Three"]).await;
    eventually("the good stream's third", || picky.of("good").len() == 3).await;
    assert_eq!(picky.of("bad"), ["Ok"], "a parked stream's events wait");

    picky.poisoned.store(false, Ordering::SeqCst);
    let stream = StreamId::new("bad").unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = parking::release(&*store, NAME, &stream, Release::Retry).await {
        panic!("release: {e}");
    }
    eventually("the released stream", || picky.of("bad").len() == 4).await;
    assert_eq!(picky.of("bad"), ["Ok", "Poison", "After", "Later"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !parked_streams(&*store).await.is_empty() {
        assert!(Instant::now() < deadline, "the stream stayed parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    put(&*store, "bad", &["Fresh"]).await;
    eventually("a fresh event", || picky.of("bad").len() == 5).await;
    assert!(
        parking::release(&*store, NAME, &stream, Release::Retry)
            .await
            .is_err(),
        "releasing a stream that is not parked is refused"
    );
    handle.stop().await;
}

/// A parked stream stays parked across a restart; a skip passes the
/// poison event and delivers the rest.
pub async fn parked_stream_survives_a_restart_and_skip_passes_its_event(stores: Stores) {
    let store = stores.store.clone();
    let picky = Arc::new(Picky::default());
    picky.poisoned.store(true, Ordering::SeqCst);
    put(&*store, "bad", &["Ok", "Poison", "After"]).await;
    let handle = run(store.clone(), &picky);
    let deadline = Instant::now() + Duration::from_secs(20);
    while parked_streams(&*store).await.is_empty() {
        assert!(Instant::now() < deadline, "the stream was not parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.stop().await;

    let again = stores.another_handle().await;
    let handle = run(again.clone(), &picky);
    put(&*again, "bad", &["Later"]).await;
    put(&*again, "marker", &["Marker"]).await;
    eventually("the marker", || picky.of("marker").len() == 1).await;
    assert_eq!(picky.of("bad"), ["Ok"], "still parked after the restart");
    let stream = StreamId::new("bad").unwrap_or_else(|e| panic!("{e}"));
    match parking::release(&*again, NAME, &stream, Release::Skip).await {
        Ok(parked) => assert_eq!(parked.version, 2),
        Err(e) => panic!("release: {e}"),
    }
    eventually("the rest of the stream", || picky.of("bad").len() == 3).await;
    assert_eq!(picky.of("bad"), ["Ok", "After", "Later"]);
    handle.stop().await;
}
