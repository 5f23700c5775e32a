//! Process managers through the public API, on the memory store: an event
//! delivered again changes nothing, a refusal is recorded and made up for
//! once, instances start, continue and stop, commands and their events
//! carry the triggering event as their cause, a failure stops the
//! consumer with the error on its handle, and a strong dispatch waits for a
//! process manager (single or partitioned) started over the orchestrator.

use std::sync::Arc;
use std::time::Duration;

use disco::consumer::{ConsumerExit, ErrorPolicy};
use disco::cqrs::doc_fixture::{Added, Counter};
use disco::cqrs::process::{events_of, Command, ProcessManager, ProcessManagerConsumer, Route};
use disco::cqrs::testing::given_process;
use disco::cqrs::{
    CodecError, CommandContext, DispatchError, DispatchOptions, Metadata, Orchestrator, Target,
};
use disco::memory::MemoryStore;
use disco::{EventStore, ReadDirection, RecordedEvent, StreamId};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Copies every addition to `counter-src-{k}` onto `counter-dst-{k}`; an
/// addition of 0 stops the copy of `k`. A copy the destination refuses
/// (over 100) is made up for by adding 1 to `counter-overflow`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Copier {
    copied: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct Copy {
    key: String,
    n: u64,
}

impl ProcessManager for Copier {
    const NAME: &'static str = "copier";
    type Event = Copy;

    fn decode(event: &RecordedEvent) -> Option<Result<Copy, CodecError>> {
        let added = match events_of::<Counter>(event)? {
            Ok(added) => added,
            Err(e) => return Some(Err(e)),
        };
        let key = added.aggregate_id.strip_prefix("src-")?.to_owned();
        let Added(n) = added.event;
        Some(Ok(Copy { key, n }))
    }

    fn route(event: &Copy) -> Route {
        match event.n {
            0 => Route::Stop(event.key.clone()),
            7 => Route::Continue(event.key.clone()),
            _ => Route::Start(event.key.clone()),
        }
    }

    fn handle(&self, event: &Copy) -> Vec<Command> {
        if event.n == 0 {
            return Vec::new();
        }
        vec![Command::to::<Counter>(
            format!("dst-{}", event.key),
            event.n,
        )]
    }

    fn apply(&mut self, event: &Copy) {
        self.copied += event.n;
    }

    fn refused(&self, _: &Command, reason: &str) -> Vec<Command> {
        assert_eq!(reason, "too big");
        vec![Command::to::<Counter>("overflow", 1)]
    }
}

fn stream(name: &str) -> StreamId {
    StreamId::new(name).unwrap_or_else(|e| panic!("{e}"))
}

async fn events(store: &dyn EventStore, name: &str) -> Vec<RecordedEvent> {
    store
        .read_stream(&stream(name), 1, ReadDirection::Forward, usize::MAX)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn value(app: &Orchestrator, id: &str) -> u64 {
    let repository = app
        .repository::<Counter>()
        .unwrap_or_else(|| panic!("registered"));
    repository
        .load(id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .value
}

fn app(store: Arc<dyn EventStore>) -> Arc<Orchestrator> {
    Arc::new(
        Orchestrator::builder(store)
            .aggregate::<Counter, _>(|routes| routes)
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

async fn settle(handle: &disco::consumer::ConsumerHandle, store: &dyn EventStore) {
    // The copier's own commands move the head: wait until it stands still.
    loop {
        let head = store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        handle
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            == head
        {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_events_change_nothing_and_refusals_are_made_up_for_once() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let context = CommandContext::new().with_metadata("user_id", "u-1");
    for (id, n) in [
        ("dst-a", 10),
        ("src-a", 30),
        ("src-a", 50),
        ("src-b", 90),
        ("src-a", 20),
    ] {
        app.execute_in::<Counter>(id, n, context.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let handle = ProcessManagerConsumer::<Copier>::new()
        .start(app.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    settle(&handle, &*store).await;
    // 10 + 30 + 50; 20 would pass 100: refused, made up for.
    assert_eq!(value(&app, "dst-a").await, 90);
    assert_eq!(value(&app, "dst-b").await, 90);
    assert_eq!(value(&app, "overflow").await, 1);
    let steps = events(&*store, "copier-a").await;
    let kinds: Vec<&str> = steps.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ProcessStep",
            "ProcessStep",
            "ProcessStep",
            "CommandRefused"
        ]
    );
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Every event delivered again: nothing new is written anywhere.
    handle.reset(0).await.unwrap_or_else(|e| panic!("{e}"));
    settle(&handle, &*store).await;
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        head
    );
    assert_eq!(value(&app, "dst-a").await, 90);
    assert_eq!(value(&app, "overflow").await, 1);

    // Causation: every command's event names the triggering event and
    // carries its conversation and metadata.
    let sources = events(&*store, "counter-src-a").await;
    let copies = events(&*store, "counter-dst-a").await;
    assert_eq!(copies.len(), 3);
    for (copy, source) in copies[1..].iter().zip(&sources) {
        let meta: Metadata =
            serde_json::from_slice(&copy.metadata).unwrap_or_else(|e| panic!("{e}"));
        let cause: Metadata =
            serde_json::from_slice(&source.metadata).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.causation_id, source.id);
        assert_eq!(meta.correlation_id, cause.correlation_id);
        assert_eq!(meta.custom["user_id"], "u-1");
        assert_ne!(meta.command_id, cause.command_id);
    }
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_start_continue_and_stop() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    // 7 continues: without an instance it is ignored.
    for (id, n) in [
        ("src-c", 7),
        ("src-c", 5),
        ("src-c", 7),
        ("src-c", 0),
        ("src-c", 9),
    ] {
        app.execute::<Counter>(id, n)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let handle = ProcessManagerConsumer::<Copier>::new()
        .start(app.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    settle(&handle, &*store).await;
    // 5 started it, 7 continued it, 0 stopped it; 9 came after the stop.
    assert_eq!(value(&app, "dst-c").await, 12);
    let steps = events(&*store, "copier-c").await;
    assert_eq!(steps.len(), 3);
    // Delivered again, the events do as they did: the first 7, ignored
    // then, stays ignored although the instance exists now.
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    handle.reset(0).await.unwrap_or_else(|e| panic!("{e}"));
    settle(&handle, &*store).await;
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        head
    );
    assert_eq!(value(&app, "dst-c").await, 12);
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_process_manager_stops_with_its_error_on_the_handle() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    // Counter is not registered: every command fails (not a refusal).
    let bare = Arc::new(
        Orchestrator::builder(store.clone())
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let repository = disco::cqrs::Repository::<Counter>::new(store.clone());
    repository
        .execute("src-d", 3, &CommandContext::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = ProcessManagerConsumer::<Copier>::new()
        .error_policy(
            ErrorPolicy::default()
                .retries(1)
                .backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .start(bare)
        .unwrap_or_else(|e| panic!("{e}"));
    match tokio::time::timeout(Duration::from_secs(10), handle.wait()).await {
        Ok(ConsumerExit::Failed { error, .. }) => {
            assert!(error.contains("not registered"), "{error}");
        }
        other => panic!("expected the process manager to fail, got {other:?}"),
    }
}

#[test]
fn given_when_then_for_process_managers() {
    let after = given_process::<Copier>([Copy {
        key: "k".into(),
        n: 2,
    }])
    .when(Copy {
        key: "k".into(),
        n: 3,
    })
    .then([Command::to::<Counter>("dst-k", 3)]);
    assert_eq!(after.copied, 5);
    given_process::<Copier>([])
        .when(Copy {
            key: "k".into(),
            n: 200,
        })
        .then_on_refusal(
            &Command::to::<Counter>("dst-k", 200),
            "too big",
            [Command::to::<Counter>("overflow", 1)],
        );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_written_by_someone_else_is_read_again_not_overwritten() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    app.execute::<Counter>("src-e", 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = ProcessManagerConsumer::<Copier>::new()
        .start(app.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    settle(&handle, &*store).await;
    // Another runner (one that took over for a while) stopped the
    // instance; this runner still remembers it running.
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stopped = serde_json::json!({
        "trigger": disco::Uuid::now_v7(), "position": head, "done": true, "state": {"copied": 1}
    });
    store
        .append(
            &stream("copier-e"),
            disco::ExpectedVersion::Any,
            vec![disco::NewEvent::new(
                "ProcessStep",
                stopped.to_string().into_bytes(),
            )],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.execute::<Counter>("src-e", 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    settle(&handle, &*store).await;
    // The store refused the step the stale memory led to, with the command
    // that went with it; read again, the instance is done.
    assert_eq!(value(&app, "dst-e").await, 1);
    assert_eq!(events(&*store, "copier-e").await.len(), 2);
    assert_eq!(handle.status().await.last_error, None);
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_process_manager_runs_instances_in_parallel_with_the_same_outcome() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    for k in 0..12 {
        for n in [3, 4] {
            app.execute::<Counter>(&format!("src-p{k}"), n)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let options = disco::consumer::ConsumerOptions {
        takeover_poll: Duration::from_millis(20),
        ..disco::consumer::ConsumerOptions::default()
    };
    let handle = ProcessManagerConsumer::<Copier>::new()
        .options(options)
        .start_partitioned(app.clone(), 3)
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    for k in 0..12 {
        while value(&app, &format!("dst-p{k}")).await != 7 {
            assert!(
                std::time::Instant::now() < deadline,
                "instance p{k} did not finish"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(events(&*store, &format!("copier-p{k}")).await.len(), 2);
    }
    assert_eq!(handle.local_partitions().await, vec![0, 1, 2]);
    handle.stop().await;
}

/// An orchestrator with an `add` command, for dispatches by name.
fn app_with_add(store: Arc<dyn EventStore>) -> Arc<Orchestrator> {
    Arc::new(
        Orchestrator::builder(store)
            .aggregate::<Counter, _>(|routes| {
                routes.command("add", |p| {
                    let id = p.string("id");
                    let n = p.unsigned("n");
                    Some((Target::Existing(id?), n?))
                })
            })
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strong_dispatch_waits_for_a_process_manager_started_after_the_build() {
    for partitions in [None, Some(3)] {
        let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
        let app = app_with_add(store.clone());
        let strong = DispatchOptions::strong(["copier"]).timeout(Duration::from_secs(10));
        let before = app
            .dispatch_with("add", json!({"id": "src-early", "n": 1}), &strong)
            .await;
        assert!(
            matches!(before, Err(DispatchError::UnknownReadModel(ref name)) if name == "copier"),
            "{before:?}"
        );
        let (single, split) = match partitions {
            None => (
                Some(
                    ProcessManagerConsumer::<Copier>::new()
                        .start(app.clone())
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
                None,
            ),
            Some(n) => (
                None,
                Some(
                    ProcessManagerConsumer::<Copier>::new()
                        .start_partitioned(app.clone(), n)
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
            ),
        };
        for i in 0..12 {
            let done = app
                .dispatch_with("add", json!({"id": format!("src-k{i}"), "n": 3}), &strong)
                .await
                .unwrap_or_else(|e| panic!("{partitions:?}: {e}"));
            // The process manager has handled the event: its copy is made.
            assert_eq!(
                value(&app, &format!("dst-k{i}")).await,
                3,
                "{partitions:?}: after position {}",
                done.position
            );
        }
        if let Some(handle) = single {
            handle.stop().await;
        }
        if let Some(handle) = split {
            handle.stop().await;
        }
    }
}
