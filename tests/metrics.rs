//! What the library reports through the `metrics` facade, seen by a
//! recorder the test installs (as an application installs an exporter):
//! appends through `disco::connect`, named commands with their outcome,
//! and a consumer's events, handling time and lag.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use disco::consumer::{handler_fn, Consumer};
use disco::cqrs::doc_fixture::Counter as CounterAggregate;
use disco::cqrs::{Orchestrator, Target};
use disco::measured::{
    APPEND_DURATION, APPEND_EVENTS, COMMAND_DURATION, CONSUMED, CONSUMER_LAG, PROCESS_DURATION,
};
use disco::{ExpectedVersion, NewEvent, StreamId};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use serde_json::json;

/// Every value recorded, by metric name and labels (`name{k=v,...}`).
#[derive(Default)]
struct Seen(Mutex<BTreeMap<String, Vec<f64>>>);

struct Cell {
    key: String,
    seen: Arc<Seen>,
}

impl Cell {
    fn push(&self, value: f64) {
        let mut seen = self.seen.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.entry(self.key.clone()).or_default().push(value);
    }
}

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.push(value as f64)
    }
    fn absolute(&self, value: u64) {
        self.push(value as f64)
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.push(value)
    }
    fn decrement(&self, value: f64) {
        self.push(-value)
    }
    fn set(&self, value: f64) {
        self.push(value)
    }
}

impl HistogramFn for Cell {
    fn record(&self, value: f64) {
        self.push(value)
    }
}

struct Capture(Arc<Seen>);

impl Capture {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        Arc::new(Cell {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            seen: self.0.clone(),
        })
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

/// The recorder of this test binary (one per process).
fn seen() -> Arc<Seen> {
    static SEEN: OnceLock<Arc<Seen>> = OnceLock::new();
    SEEN.get_or_init(|| {
        let seen = Arc::new(Seen::default());
        if metrics::set_global_recorder(Capture(seen.clone())).is_err() {
            panic!("another recorder is installed");
        }
        seen
    })
    .clone()
}

fn values(seen: &Seen, key: &str) -> Vec<f64> {
    let seen = seen.0.lock().unwrap_or_else(|e| e.into_inner());
    seen.get(key).cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_commands_and_consumers_are_reported() {
    let seen = seen();
    let store = disco::connect("memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Appends: their time and size, and a refused one with its error.
    let stream = StreamId::new("s-1").unwrap_or_else(|e| panic!("{e}"));
    let three = (0..3).map(|_| NewEvent::new("E", b"{}".to_vec())).collect();
    store
        .append(&stream, ExpectedVersion::NoStream, three)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stale = store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", b"{}".to_vec())],
        )
        .await;
    assert!(stale.is_err());
    let append = "db.operation.name=append,db.system.name=memory";
    assert_eq!(
        values(&seen, &format!("{APPEND_EVENTS}{{{append}}}")),
        vec![3.0, 1.0]
    );
    assert_eq!(
        values(&seen, &format!("{APPEND_DURATION}{{{append}}}")).len(),
        1
    );
    let refused = format!(
        "{APPEND_DURATION}{{db.operation.name=append,db.system.name=memory,error.type=WrongExpectedVersion}}"
    );
    assert_eq!(
        values(&seen, &refused).len(),
        1,
        "{:?}",
        seen.0.lock().map(|s| s.keys().cloned().collect::<Vec<_>>())
    );

    // Commands by name: time and outcome; an unknown name mints no label.
    let app = Orchestrator::builder(store.clone())
        .aggregate::<CounterAggregate, _>(|routes| {
            routes.command("add", |p| {
                let id = p.string("id");
                let n = p.unsigned("n");
                Some((Target::Existing(id?), n?))
            })
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for params in [
        json!({"id": "c", "n": 60}),
        json!({"id": "c", "n": 60}),
        json!({"n": -1}),
    ] {
        let _ = app.dispatch("add", params).await;
    }
    let _ = app.dispatch("not-a-command-xyz", json!({})).await;
    let outcome = |o: &str| {
        values(
            &seen,
            &format!("{COMMAND_DURATION}{{disco.command=add,disco.outcome={o}}}"),
        )
        .len()
    };
    assert_eq!(
        (outcome("ok"), outcome("rejected"), outcome("invalid")),
        (1, 1, 1)
    );
    assert_eq!(
        values(
            &seen,
            &format!("{COMMAND_DURATION}{{disco.command=unknown,disco.outcome=unknown}}")
        )
        .len(),
        1
    );
    {
        let keys = seen.0.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            !keys.keys().any(|k| k.contains("not-a-command")),
            "{keys:?}"
        );
    }

    // A consumer: each event counted, one in 16 timed, its lag.
    let consumer = Consumer::new("metered", handler_fn(|_| async { Ok(()) }))
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let other = StreamId::new("t-1").unwrap_or_else(|e| panic!("{e}"));
    let forty = (0..40)
        .map(|_| NewEvent::new("E", b"{}".to_vec()))
        .collect();
    let head = store
        .append(&other, ExpectedVersion::Any, forty)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .last_position;
    consumer
        .wait_for(head, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let label = "messaging.consumer.group.name=metered";
    let consumed: f64 = values(&seen, &format!("{CONSUMED}{{{label}}}"))
        .iter()
        .sum();
    assert_eq!(consumed, head as f64, "every event counted once");
    assert!(values(&seen, &format!("{PROCESS_DURATION}{{{label}}}")).len() >= 2);
    // Idle at the head: the last lag reported is 0.
    let lag = values(&seen, &format!("{CONSUMER_LAG}{{{label}}}"));
    assert_eq!(lag.last(), Some(&0.0), "{lag:?}");
    consumer.stop().await;
}
