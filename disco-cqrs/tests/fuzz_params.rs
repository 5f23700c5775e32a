//! Fuzz target for the command-parameter decoders: any JSON a caller
//! sends, to any command name, through serde-decoded routes (with and
//! without the asynchronous validation step) and hand-written ones, is
//! dispatched or refused with a typed error, never a panic, and a refusal
//! writes nothing. Runs for `DISCO_FUZZ_SECONDS` (`disco_conformance::fuzz`).

use std::sync::Arc;

use disco::cqrs::doc_fixture::Counter;
use disco::cqrs::{DispatchError, Orchestrator, Target};
use disco::memory::MemoryStore;
use disco::EventStore;
use disco_conformance::fuzz;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Add {
    counter_id: String,
    n: u64,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    at: Option<uuid::Uuid>,
}

fn app(store: Arc<dyn EventStore>) -> Orchestrator {
    Orchestrator::builder(store)
        .aggregate::<Counter, _>(|routes| {
            routes
                .decoded("add", |add: Add, p| {
                    p.check("n", add.n > 0, "must be more than zero");
                    Some((Target::Existing(add.counter_id), add.n))
                })
                .validated(
                    "add_checked",
                    |add: Add, _| Some((Target::Existing(add.counter_id), add.n)),
                    |add: Add, checks| async move {
                        checks
                            .exists::<Counter>("counter_id", &add.counter_id)
                            .await?;
                        checks.check("n", add.n <= 50, "must be 50 or less");
                        Ok(())
                    },
                )
                .command("open", |p| {
                    let id = p.aggregate_id::<Counter>("id");
                    let n = p.integer("n").and_then(|n| u64::try_from(n).ok());
                    let _ = p.uuid("request");
                    let _ = p.string("label");
                    Some((Target::Existing(id?), n?))
                })
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[a-z0-9-]{0,8}".prop_map(Value::String),
        Just(json!("known")),
        Just(json!(uuid::Uuid::nil().to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("counter_id".to_owned()),
        Just("n".to_owned()),
        Just("note".to_owned()),
        Just("tags".to_owned()),
        Just("at".to_owned()),
        Just("id".to_owned()),
        Just("request".to_owned()),
        Just("label".to_owned()),
        any::<String>(),
    ]
}

#[test]
fn fuzz_command_parameters() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let app = app(store.clone());
    rt.block_on(async {
        app.dispatch(
            "open",
            json!({"id": "known", "n": 1, "request": uuid::Uuid::nil().to_string(), "label": "x"}),
        )
        .await
        .expect("seed the known counter");
    });
    let names = prop_oneof![
        Just("add".to_owned()),
        Just("add_checked".to_owned()),
        Just("open".to_owned()),
        any::<String>(),
    ];
    fuzz::run(
        "command parameters",
        (names, json_value()),
        |(name, params)| {
            rt.block_on(async {
                let head = store
                    .head_position()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                match app.dispatch(&name, params.clone()).await {
                    Ok(_) => {}
                    Err(
                        DispatchError::UnknownCommand(_)
                        | DispatchError::Validation(_)
                        | DispatchError::Rejected(_),
                    ) => {
                        let after = store
                            .head_position()
                            .await
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                        prop_assert_eq!(after, head, "a refused command wrote events");
                    }
                    Err(other) => {
                        return Err(TestCaseError::fail(format!(
                            "{name} {params} gave {other:?}"
                        )))
                    }
                }
                Ok(())
            })
        },
    );
}
