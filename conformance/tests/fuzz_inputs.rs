//! Fuzz targets for every text and number a caller hands the stores: store
//! URLs, stream ids, event types, checkpoint, lease and consumer names,
//! durations and sizes in options. The property of each: no panic, a typed
//! error or a correct result, and nothing written on a refusal. Each runs
//! for `DISCO_FUZZ_SECONDS` (see `disco_conformance::fuzz`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use disco::backend::registry::{OpenMode, OpenOptions};
use disco::{Error, EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_conformance::fuzz;
use disco_conformance::helpers::TempDir;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Texts of the shapes that break name checks: empty, long around the
/// 255-byte limit, control and multi-byte characters, `$` prefixes, NUL.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f$a-z/:?&=%\\u{202e}\\u{fffd}é]{0,12}",
        (250usize..260, "[a-zé]").prop_map(|(n, c)| c.repeat(n)),
        Just(String::new()),
        Just("$all".to_owned()),
    ]
}

fn typed(error: &Error) -> Result<(), TestCaseError> {
    match error {
        Error::InvalidInput(_)
        | Error::NoStore { .. }
        | Error::Foreign { .. }
        | Error::TooLarge { .. } => Ok(()),
        other => Err(TestCaseError::fail(format!(
            "an input mistake answered {other:?}"
        ))),
    }
}

/// Store URLs of every scheme, with paths inside a temp dir, PostgreSQL
/// only on the test server and NATS only on the test cluster: opened existing-only, each is a store or a
/// typed refusal, and no file or schema appears.
#[test]
fn fuzz_store_urls() {
    let rt = runtime();
    let tmp = TempDir::new("fuzz-urls");
    let dir = tmp.path();
    let base = std::env::var("DISCO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let query_pair = (
        prop_oneof![
            Just("schema".to_owned()),
            Just("sslmode".to_owned()),
            Just("application_name".to_owned()),
            Just("options[search_path]".to_owned()),
            "[a-z_\\[\\]-]{0,10}",
        ],
        "[a-zA-Z0-9_%&=?é\\x00]{0,10}",
    )
        .prop_map(|(k, v)| format!("{k}={v}"));
    let query = proptest::collection::vec(query_pair, 0..4).prop_map(|pairs| pairs.join("&"));
    let root = dir.display().to_string();
    let urls = prop_oneof![
        // Anything at all, but never a PostgreSQL URL to a host of its choosing.
        any::<String>().prop_filter("no foreign hosts", |s| {
            !s.starts_with("postgres") && !s.starts_with("nats")
        }),
        hostile_text().prop_map(|s| format!("memory:{s}")),
        (
            prop_oneof![Just("sqlite"), Just("redb")],
            "[a-z.?&=/\\x00]{0,12}",
            proptest::option::of(query.clone())
        )
            .prop_map(move |(scheme, name, q)| match q {
                Some(q) => format!("{scheme}:{root}/{name}?{q}"),
                None => format!("{scheme}:{root}/{name}"),
            }),
        query.clone().prop_map(move |q| format!("{base}?{q}")),
        // The test NATS cluster only, with any query (store names included).
        (
            prop_oneof![
                Just("store".to_owned()),
                Just("replicas".to_owned()),
                Just("timeout_ms".to_owned()),
                Just("tls".to_owned()),
                "[a-z_]{0,8}",
            ],
            "[a-zA-Z0-9_%&=?é.\\x00-]{0,12}",
            query,
        )
            .prop_map(|(k, v, q)| format!("nats://127.0.0.1:4301,127.0.0.1:4302?{k}={v}&{q}")),
    ];
    fuzz::run("store urls", urls, |url| {
        let before = entries(dir);
        let opened = rt.block_on(disco::open_url(&url, OpenOptions::mode(OpenMode::Existing)));
        match opened {
            Ok(opened) => {
                rt.block_on(opened.store.close()).ok();
            }
            // A timeout the URL set that short may pass before the cluster answers.
            Err(Error::Unavailable(_)) if url.starts_with("nats") && url.contains("timeout_ms") => {
            }
            Err(Error::Unavailable(message)) if url.starts_with("postgres") => {
                return Err(TestCaseError::fail(format!(
                    "the test server is unusable: {message}"
                )))
            }
            Err(Error::Unavailable(message)) if url.starts_with("nats") => {
                return Err(TestCaseError::fail(format!(
                    "the test NATS cluster is unusable ({message}); start it with `scripts/nats-cluster.sh start`"
                )))
            }
            Err(error) => typed(&error)?,
        }
        prop_assert_eq!(entries(dir), before, "the open of {:?} made files", url);
        Ok(())
    });
}

async fn stores(dir: &Path) -> Vec<Arc<dyn EventStore>> {
    let sqlite = disco::sqlite::SqliteStore::open(dir.join("s.db"), Default::default())
        .await
        .expect("sqlite");
    let redb = disco::redb::RedbStore::open(dir.join("r.redb"), Default::default())
        .await
        .expect("redb");
    vec![
        Arc::new(disco::memory::MemoryStore::new()),
        Arc::new(sqlite),
        Arc::new(redb),
    ]
}

/// Stream ids, event types, checkpoint, lease and consumer names on every
/// embedded store: accepted and kept exactly, or refused as invalid input
/// with nothing written.
#[test]
fn fuzz_names() {
    let rt = runtime();
    let tmp = TempDir::new("fuzz-names");
    let dir = tmp.path();
    let stores = rt.block_on(stores(dir));
    fuzz::run("names", hostile_text(), |text| {
        rt.block_on(async {
            for store in &stores {
                let head = store.head_position().await.map_err(fail)?;
                let checkpoints = store.list_checkpoints().await.map_err(fail)?;
                // A stream id.
                match StreamId::new(text.clone()) {
                    Ok(stream) => match store
                        .append(
                            &stream,
                            ExpectedVersion::Any,
                            vec![NewEvent::new("T", b"{}".to_vec())],
                        )
                        .await
                    {
                        Ok(_) => {
                            let read = store
                                .read_stream(&stream, 0, disco::ReadDirection::Forward, 10)
                                .await
                                .map_err(fail)?;
                            prop_assert_eq!(
                                read.last().map(|e| e.stream_id.as_str()),
                                Some(text.as_str())
                            );
                        }
                        Err(e) => {
                            typed(&e)?;
                            prop_assert_eq!(store.head_position().await.map_err(fail)?, head);
                        }
                    },
                    Err(e) => typed(&e)?,
                }
                // An event type.
                let head = store.head_position().await.map_err(fail)?;
                let stream = StreamId::new("fuzz-types").map_err(fail)?;
                match store
                    .append(
                        &stream,
                        ExpectedVersion::Any,
                        vec![NewEvent::new(text.clone(), Vec::new())],
                    )
                    .await
                {
                    Ok(r) => {
                        let read = store
                            .read_all(r.first_position.saturating_sub(1), 1)
                            .await
                            .map_err(fail)?;
                        prop_assert_eq!(
                            read.first().map(|e| e.event_type.as_str()),
                            Some(text.as_str())
                        );
                    }
                    Err(e) => {
                        typed(&e)?;
                        prop_assert_eq!(store.head_position().await.map_err(fail)?, head);
                    }
                }
                // A checkpoint name.
                match store.save_checkpoint(&text, 7).await {
                    Ok(()) => {
                        prop_assert_eq!(store.load_checkpoint(&text).await.map_err(fail)?, Some(7))
                    }
                    Err(e) => {
                        typed(&e)?;
                        prop_assert_eq!(store.list_checkpoints().await.map_err(fail)?, checkpoints);
                    }
                }
                // A lease name.
                match store.try_lease(&text, Duration::from_secs(5)).await {
                    Ok(Some(lease)) => lease.release().await.map_err(fail)?,
                    Ok(None) => {}
                    Err(e) => typed(&e)?,
                }
                // A consumer name.
                let handler =
                    disco::consumer::handler_fn(|_: &disco::RecordedEvent| async { Ok(()) });
                match disco::consumer::Consumer::new(text.clone(), handler).start(store.clone()) {
                    Ok(handle) => {
                        handle.stop().await;
                    }
                    Err(e) => typed(&e)?,
                }
            }
            Ok(())
        })
    });
    for store in &stores {
        rt.block_on(store.close()).ok();
    }
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::MAX),
        Just(Duration::ZERO),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..5_000).prop_map(Duration::from_millis),
    ]
}

/// Durations and sizes in store options and lease calls: every one opens
/// a working store (or is refused as invalid input), none panics.
#[test]
fn fuzz_durations_and_sizes() {
    let rt = runtime();
    let tmp = TempDir::new("fuzz-options");
    let dir = tmp.path();
    let n = std::sync::atomic::AtomicU64::new(0);
    let inputs = (
        any_duration(),
        any_duration(),
        any::<usize>(),
        prop_oneof![any::<usize>(), 0usize..64],
        any_duration(),
    );
    fuzz::run(
        "durations and sizes",
        inputs,
        |(busy, delay, size, count, ttl)| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(async {
                let sqlite = disco::sqlite::SqliteOptions::default()
                    .busy_timeout(busy)
                    .group_commit_delay(delay.min(Duration::from_millis(2)))
                    .max_event_size(size)
                    .readers(count)
                    .max_batch(count);
                let redb = disco::redb::RedbOptions::default()
                    .group_commit_delay(delay.min(Duration::from_millis(2)))
                    .max_event_size(size)
                    .max_batch(count)
                    .cache_size(size.min(1 << 30));
                let opened: Vec<disco::Result<Arc<dyn EventStore>>> = vec![
                    disco::sqlite::SqliteStore::open(dir.join(format!("o{i}.db")), sqlite)
                        .await
                        .map(|s| Arc::new(s) as Arc<dyn EventStore>),
                    disco::redb::RedbStore::open(dir.join(format!("o{i}.redb")), redb)
                        .await
                        .map(|s| Arc::new(s) as Arc<dyn EventStore>),
                    Ok(Arc::new(disco::memory::MemoryStore::new()) as Arc<dyn EventStore>),
                ];
                for store in opened {
                    let store = match store {
                        Ok(store) => store,
                        Err(e) => {
                            typed(&e)?;
                            continue;
                        }
                    };
                    let stream = StreamId::new("sized").map_err(fail)?;
                    match store
                        .append(
                            &stream,
                            ExpectedVersion::Any,
                            vec![NewEvent::new("T", vec![1; 16])],
                        )
                        .await
                    {
                        Ok(_) => {}
                        Err(e) => typed(&e)?,
                    }
                    let mut lease = store
                        .try_lease("fuzz-lease", ttl)
                        .await
                        .map_err(fail)?
                        .ok_or_else(|| fail("a free lease was refused"))?;
                    lease.renew().await.map_err(fail)?;
                    let _ = lease.is_held();
                    lease.release().await.map_err(fail)?;
                    store.close().await.map_err(fail)?;
                }
                Ok(())
            })
        },
    );
}
