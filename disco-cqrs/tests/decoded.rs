//! Commands that decode themselves: a serde route reports every field's
//! problem (types, missing, unknown) together with its own checks, a bad
//! aggregate id on its field, and an asynchronous validation step's
//! problems, writing nothing.

use std::sync::Arc;

use disco::cqrs::doc_fixture::Counter;
use disco::cqrs::{DispatchError, FieldErrors, Orchestrator, Target, UNKNOWN_FIELD};
use disco::memory::MemoryStore;
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
                    |add: Add, _| Some((Target::Existing(add.counter_id), add.n)),
                    |n, lookup| async move {
                        let mut errors = FieldErrors::new();
                        if !lookup.exists::<Counter>("known").await.unwrap_or(false) {
                            errors.insert(
                                "counter_id".into(),
                                vec!["there is no such counter".into()],
                            );
                        }
                        if n > 50 {
                            errors.insert("n".into(), vec!["must be 50 or less".into()]);
                        }
                        if errors.is_empty() {
                            Ok(())
                        } else {
                            Err(errors)
                        }
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
    assert_eq!(errors["counter_id"], vec!["there is no such counter"]);
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
