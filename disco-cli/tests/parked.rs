//! `disco parked`: a running consumer parks a poison event's stream; the
//! CLI lists it with the event and the error, `retry` and `skip` release
//! it (the consumer delivers the held events), a stream not parked is
//! refused; `disco checkpoints` groups a partitioned consumer's partitions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disco::consumer::{handler_fn, Consumer, ConsumerOptions, ErrorPolicy, PartitionedConsumer};
use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_conformance::helpers::TempDir;
use serde_json::Value;

mod common;

use common::{disco, text};

async fn put(store: &dyn EventStore, stream: &str, event_type: &str) {
    let s = StreamId::new(stream).unwrap_or_else(|e| panic!("{e}"));
    store
        .append(
            &s,
            ExpectedVersion::Any,
            vec![NewEvent::new(event_type, b"{}".to_vec())],
        )
        .await
        .unwrap_or_else(|e| panic!("append to {stream}: {e}"));
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn parked_json(url: &str) -> Vec<Value> {
    let out = disco(&["--store", url, "--json", "parked", "mailer"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_streams_are_listed_retried_and_skipped() {
    let dir = TempDir::new("cli-parked");
    let url = format!("sqlite:{}", dir.file("store.db").display());
    let store = disco::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let failing = Arc::new(AtomicBool::new(true));
    let handled: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let (f, h) = (failing.clone(), handled.clone());
    let handler = handler_fn(move |event| {
        let (f, h) = (f.clone(), h.clone());
        let what = (event.stream_id.to_string(), event.event_type.clone());
        async move {
            if what.1 == "Bounce" && f.load(Ordering::SeqCst) {
                return Err("the mail server said no".into());
            }
            h.lock().unwrap_or_else(|p| p.into_inner()).push(what);
            Ok(())
        }
    });
    let policy = ErrorPolicy::default()
        .retries(1)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .then_park();
    let handle = Consumer::new("mailer", handler)
        .error_policy(policy)
        .checkpoint_every(1, Duration::from_millis(30))
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    for (stream, kind) in [
        ("a", "Bounce"),
        ("a", "Next"),
        ("b", "Bounce"),
        ("b", "Next"),
        ("c", "Fine"),
    ] {
        put(&*store, stream, kind).await;
    }
    let count = |stream: &str| {
        handled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(s, _)| s == stream)
            .count()
    };
    wait_until("the healthy stream", || count("c") == 1).await;
    let mut listed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while listed.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "two streams were not parked: {listed:?}"
        );
        listed = parked_json(&url);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(listed[0]["stream"], "a");
    assert_eq!(listed[0]["state"], "parked");
    assert!(listed[0]["error"]
        .as_str()
        .unwrap_or("")
        .contains("said no"));
    let human = disco(&["--store", &url, "parked", "mailer"]);
    assert!(
        text(&human).contains("the mail server said no"),
        "{}",
        text(&human)
    );

    failing.store(false, Ordering::SeqCst);
    let retried = disco(&["--store", &url, "parked", "mailer", "retry", "a"]);
    assert!(retried.status.success(), "{}", text(&retried));
    let skipped = disco(&["--store", &url, "--json", "parked", "mailer", "skip", "b"]);
    assert!(skipped.status.success(), "{}", text(&skipped));
    let skip: Value = serde_json::from_slice(&skipped.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(skip["action"], "skip");
    assert_eq!(skip["event_id"], listed[1]["event_id"]);
    wait_until("the released streams", || {
        count("a") == 2 && count("b") == 1
    })
    .await;
    let b: Vec<String> = handled
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(s, _)| s == "b")
        .map(|(_, t)| t.clone())
        .collect();
    assert_eq!(b, ["Next"], "the skipped event is passed over");
    wait_until("nothing parked", || parked_json(&url).is_empty()).await;
    let again = disco(&["--store", &url, "parked", "mailer", "retry", "a"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("not parked"), "{}", text(&again));
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_group_a_partitioned_consumer() {
    let dir = TempDir::new("cli-partitions");
    let url = format!("sqlite:{}", dir.file("store.db").display());
    let store = disco::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    put(&*store, "s-1", "E").await;
    let options = ConsumerOptions {
        takeover_poll: Duration::from_millis(30),
        checkpoint_every: Duration::from_millis(30),
        ..ConsumerOptions::default()
    };
    let handle = PartitionedConsumer::new("fanout", 2, handler_fn(|_| async { Ok(()) }))
        .options(options)
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(handle.wait_for(head, Duration::from_secs(20)).await);
    // The runners save their checkpoints a moment after they saw the head.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut shown = String::new();
    while !shown.contains("partition-1-of-2") {
        assert!(
            Instant::now() < deadline,
            "no partition checkpoints: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
        shown = text(&disco(&["--store", &url, "checkpoints"]));
    }
    assert!(shown.contains("fanout (partitioned)"), "{shown}");
    assert!(shown.contains("  partition-0-of-2"), "{shown}");
    assert!(shown.contains("  partition-1-of-2"), "{shown}");
    assert!(shown.contains("  member-0"), "{shown}");
    let out = disco(&["--store", &url, "--json", "checkpoints"]);
    let kinds: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["consumer"] == "fanout")
        .map(|v| {
            (
                v["kind"].as_str().unwrap_or("").to_owned(),
                v["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("partition".into(), "fanout/partition-1-of-2".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("member".into(), "fanout/member-0".into())),
        "{kinds:?}"
    );
    handle.stop().await;
}
