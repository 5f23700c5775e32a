//! Fuzz target for what a SQLite store reads back: rows of disco's tables
//! overwritten with values of any type (NULL, text, blobs of any length,
//! integers of any sign), as a damaged file or another program's writes
//! would leave them. The property: reads, appends and checkpoint calls on
//! the damaged store answer, correctly or with a typed error, and never
//! panic. Runs for `DISCO_FUZZ_SECONDS` (`disco_conformance::fuzz`).

use disco_conformance::fuzz;
use disco_conformance::helpers::TempDir;
use disco_core::{
    Error, EventFilter, EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId,
    StreamPartition,
};
use disco_store_sqlite::{SqliteOptions, SqliteStore};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rusqlite::types::Value;

/// Columns a damaged row may hold anything in: (table, its key, column).
const COLUMNS: &[(&str, &str, &str)] = &[
    ("disco_events", "position", "position"),
    ("disco_events", "position", "stream_id"),
    ("disco_events", "position", "version"),
    ("disco_events", "position", "event_id"),
    ("disco_events", "position", "event_type"),
    ("disco_events", "position", "data"),
    ("disco_events", "position", "metadata"),
    ("disco_events", "position", "recorded_at"),
    ("disco_streams", "stream_id", "version"),
    ("disco_streams", "stream_id", "state"),
    ("disco_streams", "stream_id", "stream_id"),
    ("disco_snapshots", "stream_id", "version"),
    ("disco_snapshots", "stream_id", "data"),
    ("disco_checkpoints", "name", "position"),
    ("disco_checkpoints", "name", "name"),
    ("disco_meta", "key", "value"),
    ("disco_leases", "name", "generation"),
    ("disco_leases", "name", "expires_at"),
];

fn sql_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![Just(-1i64), Just(0), Just(i64::MIN), Just(i64::MAX)].prop_map(Value::Integer),
        any::<f64>().prop_map(Value::Real),
        any::<String>().prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Blob),
    ]
}

fn typed(error: &Error) -> bool {
    matches!(
        error,
        Error::Backend(_)
            | Error::InvalidInput(_)
            | Error::StreamDeleted { .. }
            | Error::WrongExpectedVersion { .. }
            | Error::DuplicateEventId { .. }
            | Error::Fenced { .. }
            | Error::Unavailable(_)
    )
}

fn check<T>(what: &str, result: Result<T, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if typed(&e) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("{what} answered {e:?}"))),
    }
}

async fn seeded(path: &std::path::Path) -> Result<(), Error> {
    let store = SqliteStore::open(path, SqliteOptions::default()).await?;
    for i in 0..6u64 {
        let s = StreamId::new(format!("s-{}", i % 3))?;
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![NewEvent::new("E", vec![b'x'; 20])],
            )
            .await?;
    }
    let s = StreamId::new("s-0")?;
    store.save_snapshot(&s, 1, b"snap".to_vec()).await?;
    store.save_checkpoint("reader", 3).await?;
    let lease = store
        .try_lease("worker", std::time::Duration::from_secs(60))
        .await?;
    drop(lease);
    store.close().await
}

#[test]
fn fuzz_damaged_rows() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = TempDir::new("sqlite-fuzz-rows");
    let clean = dir.file("clean.db");
    rt.block_on(seeded(&clean)).expect("seed");
    let n = std::sync::atomic::AtomicU64::new(0);
    let applied = std::sync::atomic::AtomicU64::new(0);
    let damage = proptest::collection::vec((0..COLUMNS.len(), 1i64..8, sql_value()), 1..4);
    fuzz::run("sqlite damaged rows", damage, |changes| {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.file(&format!("damaged-{i}.db"));
        std::fs::copy(&clean, &path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        {
            let conn = rusqlite::Connection::open(&path)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for (column, row, value) in &changes {
                let (table, key, name) = COLUMNS[*column];
                // A constraint may refuse the damage; then that change is not made.
                let changed = conn.execute(
                    &format!("UPDATE {table} SET {name} = ?1 WHERE {key} = (SELECT {key} FROM {table} ORDER BY {key} LIMIT 1 OFFSET ?2)"),
                    rusqlite::params![value, row - 1],
                );
                if let Ok(rows) = changed {
                    applied.fetch_add(rows as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
        rt.block_on(async {
            let store = match SqliteStore::open(&path, SqliteOptions::default()).await {
                Ok(store) => store,
                Err(e) => return check("open", Err::<(), _>(e)),
            };
            check("read_all", store.read_all(0, 100).await)?;
            for index in 0..2 {
                let partition =
                    EventFilter::default().with_partition(StreamPartition::new(index, 2));
                check(
                    "a partitioned read_all",
                    store.read_all_filtered(0, 100, &partition).await,
                )?;
            }
            check(
                "read_all_backward",
                store.read_all_backward(u64::MAX, 100).await,
            )?;
            for s in ["s-0", "s-1", "s-2"] {
                let s = StreamId::new(s).map_err(|e| TestCaseError::fail(e.to_string()))?;
                check(
                    "read_stream",
                    store.read_stream(&s, 0, ReadDirection::Forward, 100).await,
                )?;
                check("load_stream", store.load_stream(&s, 100).await)?;
                check("stream_version", store.stream_version(&s).await)?;
                check(
                    "append",
                    store
                        .append(&s, ExpectedVersion::Any, vec![NewEvent::new("E", vec![1])])
                        .await,
                )?;
            }
            check("list_streams", store.list_streams("", None, 100).await)?;
            check("head", store.head_position().await)?;
            check("list_checkpoints", store.list_checkpoints().await)?;
            check("load_checkpoint", store.load_checkpoint("reader").await)?;
            check(
                "save_checkpoint_fenced",
                store.save_checkpoint_fenced("reader", 9, 1).await,
            )?;
            match store
                .try_lease("worker", std::time::Duration::from_secs(1))
                .await
            {
                Ok(Some(lease)) => check("release", lease.release().await)?,
                other => check("try_lease", other)?,
            }
            store.close().await.ok();
            Ok(())
        })?;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Ok(())
    });
    let applied = applied.load(std::sync::atomic::Ordering::Relaxed);
    println!("fuzz sqlite damaged rows: {applied} rows damaged");
    assert!(
        applied > 0,
        "no damage was ever applied: the target tested nothing"
    );
}
