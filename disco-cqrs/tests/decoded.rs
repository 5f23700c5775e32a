//! Commands that decode themselves: a serde route reports every field's
//! problem (types, missing, unknown) together with its own checks, a bad
//! aggregate id on its field, and an asynchronous validation step's
//! problems, writing nothing.

use std::sync::Arc;

use disco::cqrs::doc_fixture::Counter;
use disco::cqrs::{DispatchError, FieldErrors, Orchestrator, Target, UNKNOWN_FIELD};
use disco::memory::MemoryStore;
use disco::Error;
use disco::EventStore;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Add {
    counter_id: String,
    n: u64,
    #[serde(default)]
    note: Option<String>,
}

fn app(store: Arc<dyn EventStore>) -> Orchestrator {
    Orchestrator::builder(store)
        .aggregate::<Counter, _>(|routes| {
            routes
                .decoded("add", |add: Add, p| {
                    p.check("n", add.n > 0, "must be more than zero");
                    let _ = add.note;
                    Some((Target::Existing(add.counter_id), add.n))
                })
                .validated(
                    "add_to_existing",
                    |add: Add, p| {
                        p.check("n", add.n > 0, "must be more than zero");
                        Some((Target::Existing(add.counter_id), add.n))
                    },
                    |add: Add, checks| async move {
                        checks.exists::<Counter>("known", "known").await?;
                        checks.check("n", add.n <= 50, "must be 50 or less");
                        let note_known = match &add.note {
                            Some(note) => checks.exists::<Counter>("note", note).await?,
                            None => true,
                        };
                        if checks.decoded("counter_id") && note_known {
                            checks.check(
                                "counter_id",
                                checks.aggregate_id() == Some(add.counter_id.as_str()),
                                "is not the target",
                            );
                        }
                        Ok(())
                    },
                )
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn validation(result: Result<disco::cqrs::Dispatched, DispatchError>) -> FieldErrors {
    match result {
        Err(DispatchError::Validation(errors)) => errors,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_field_problem_comes_back_together() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let errors = validation(
        app.dispatch("add", json!({"n": "three", "colour": "red", "note": 5}))
            .await,
    );
    assert_eq!(errors["counter_id"], vec!["is required"]);
    assert_eq!(errors["n"], vec!["must be a whole number, 0 or more"]);
    assert_eq!(errors["colour"], vec![UNKNOWN_FIELD]);
    assert_eq!(errors["note"], vec!["must be a string"]);
    // The route's own checks run once the fields decode.
    let errors = validation(
        app.dispatch("add", json!({"counter_id": "c", "n": 0}))
            .await,
    );
    assert_eq!(errors["n"], vec!["must be more than zero"]);
    // A bad id is reported on its field, never as the internal stream.
    let errors = validation(
        app.dispatch("add", json!({"counter_id": "bad\nid", "n": 1}))
            .await,
    );
    assert_eq!(
        errors["counter_id"],
        vec!["must not hold control characters"]
    );
    assert!(!format!("{errors:?}").contains("counter-"));
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    let done = app
        .dispatch("add", json!({"counter_id": "c", "n": 4}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.state["value"], 4);
}

#[tokio::test]
async fn the_asynchronous_validation_reads_the_store_and_writes_nothing() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    let errors = validation(
        app.dispatch("add_to_existing", json!({"counter_id": "x", "n": 60}))
            .await,
    );
    assert_eq!(errors["known"], vec!["there is no counter with this id"]);
    assert_eq!(errors["n"], vec!["must be 50 or less"]);
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    app.dispatch("add", json!({"counter_id": "known", "n": 1}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = app
        .dispatch("add_to_existing", json!({"counter_id": "x", "n": 5}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.id, "x");
    // In the background, the problems arrive through the outcome.
    let pending = app
        .dispatch_async("add_to_existing", json!({"counter_id": "x", "n": 70}))
        .unwrap_or_else(|e| panic!("{e}"));
    let errors = validation(pending.outcome().await);
    assert_eq!(errors["n"], vec!["must be 50 or less"]);
}

#[tokio::test]
async fn decoding_the_routes_checks_and_the_asynchronous_step_answer_once() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    // A field that does not decode, an unknown one, a problem of the
    // route's own check and two of the asynchronous step: one answer.
    let errors = validation(
        app.dispatch(
            "add_to_existing",
            json!({"counter_id": 5, "n": 70, "note": "ghost", "colour": 1}),
        )
        .await,
    );
    assert_eq!(errors["counter_id"], vec!["must be a string"], "{errors:?}");
    assert_eq!(errors["colour"], vec![UNKNOWN_FIELD]);
    assert_eq!(errors["n"], vec!["must be 50 or less"]);
    assert_eq!(errors["known"], vec!["there is no counter with this id"]);
    assert_eq!(errors["note"], vec!["there is no counter with this id"]);
    assert_eq!(errors.len(), 5, "{errors:?}");
    // The route's check and the step's on one field, with a field that
    // did not decode: its stand-in is never checked.
    let errors = validation(
        app.dispatch(
            "add_to_existing",
            json!({"counter_id": "x", "n": 0, "note": 3}),
        )
        .await,
    );
    assert_eq!(errors["n"], vec!["must be more than zero"]);
    assert_eq!(errors["note"], vec!["must be a string"]);
    assert_eq!(errors["known"], vec!["there is no counter with this id"]);
    assert_eq!(errors.len(), 3, "{errors:?}");
    // A negative number for a u64 field and the step's problems together.
    let errors = validation(
        app.dispatch("add_to_existing", json!({"counter_id": "x", "n": -3}))
            .await,
    );
    assert_eq!(errors["n"], vec!["must be a whole number, 0 or more"]);
    assert_eq!(errors["known"], vec!["there is no counter with this id"]);
    // The step is told the aggregate the command goes to.
    app.dispatch("add", json!({"counter_id": "known", "n": 1}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = app
        .dispatch("add_to_existing", json!({"counter_id": "x", "n": 5}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.id, "x");
    // Asynchronously, decoding's problems come at once (the step has not
    // run: it runs in the background only for parameters that decoded).
    let refused = app.dispatch_async("add_to_existing", json!({"counter_id": 5, "n": 70}));
    let Err(DispatchError::Validation(errors)) = refused else {
        panic!("expected a validation error, got {refused:?}");
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        2
    );
}

#[tokio::test]
async fn a_store_that_fails_the_step_fails_the_dispatch_and_keeps_known_problems() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = Orchestrator::builder(store)
        .aggregate::<Counter, _>(|routes| {
            routes.validated(
                "add",
                |add: Add, _| Some((Target::Existing(add.counter_id), add.n)),
                |_: Add, _checks| async move {
                    Err(DispatchError::Store(Error::Unavailable(
                        "the store is away".into(),
                    )))
                },
            )
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = app
        .dispatch("add", json!({"counter_id": "c", "n": 1}))
        .await;
    assert!(
        matches!(failed, Err(DispatchError::Store(Error::Unavailable(_)))),
        "{failed:?}"
    );
    // With problems already known, they are the answer.
    let errors = validation(app.dispatch("add", json!({"counter_id": "c"})).await);
    assert_eq!(errors["n"], vec!["is required"]);
}

#[test]
fn field_errors_read_as_a_map() {
    let mut errors = FieldErrors::new();
    errors.add("a", "one");
    errors.add("a", "one");
    errors.add("a", "two");
    assert_eq!(errors["a"], vec!["one", "two"]);
    assert!(errors.contains_key("a") && !errors.contains_key("b"));
}

#[tokio::test]
async fn parameters_larger_than_any_event_are_refused_before_decoding() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    // Larger than the store's biggest event (16 MiB by default): refused
    // as parameters, not by the store after the command ran.
    let huge = "x".repeat(disco::Limits::default().max_event_size + 1);
    for name in ["add", "add_to_existing"] {
        let errors = validation(
            app.dispatch(name, json!({"counter_id": "c", "n": 1, "note": huge}))
                .await,
        );
        assert!(errors[""][0].contains("bytes of JSON"), "{errors:?}");
        assert_eq!(errors.len(), 1);
    }
    let refused = app.dispatch_async("add", json!({"counter_id": "c", "n": 1, "note": huge}));
    assert!(
        matches!(refused, Err(DispatchError::Validation(_))),
        "{refused:?}"
    );
    // A limit of the application's own.
    let small = Orchestrator::builder(store.clone())
        .max_parameter_size(64)
        .aggregate::<Counter, _>(|routes| {
            routes.decoded("add", |add: Add, _| {
                Some((Target::Existing(add.counter_id), add.n))
            })
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let long = "y".repeat(64);
    let errors = validation(
        small
            .dispatch("add", json!({"counter_id": long, "n": 1}))
            .await,
    );
    assert!(errors.contains_key(""), "{errors:?}");
    small
        .dispatch("add", json!({"counter_id": "c", "n": 1}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        1
    );
}
