//! The projection cases: a rebuild of a projection that upserts one row per
//! event, against a raw loop doing the same upserts in transactions of the
//! same size; and the live latency from an append's start to the committed
//! read-model row, against an append followed by the upsert by hand.
//!
//! The read models go to PostgreSQL (schema `bench_projection_rm`) when the
//! store is PostgreSQL, else to a SQLite file beside the bench's files.

mod projection;

use std::sync::Arc;
use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, Result, StreamId};
use disco_projections::postgres::PgReadModels;
use disco_projections::sqlite::{rusqlite, SqliteReadModels};
use disco_projections::{ProjectionHandle, ProjectionOptions, Projector};

use crate::backend::Backend;
use crate::workloads::{bench_event, Case, Measurement, Sizes};
use disco_projections::sql::Portable;
use projection::{sql, BenchRows, PREFIX};

/// Events per read-model transaction, on both sides.
const BATCH: usize = 500;
/// Streams the rebuild's events are spread over (rows of the table).
const STREAMS: usize = 1000;
/// The raw side's table.
const RAW_TABLE: &str = "bench_raw_rows";
/// The PostgreSQL read models' schema.
const PG_SCHEMA: &str = "bench_projection_rm";

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend(format!("{what}: {e}"))
}

/// The read-model database of a run.
enum Models {
    Sqlite(SqliteReadModels, std::path::PathBuf),
    Postgres(PgReadModels),
}

impl Models {
    async fn open(backend: &Backend) -> Result<Models> {
        match backend {
            Backend::Postgres(url) => {
                let (base, _) = disco_store_postgres::split_schema(url);
                let models = PgReadModels::connect(&base, None)
                    .await
                    .map_err(|e| failed("read models", e))?;
                let reset = format!("DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE");
                sqlx::query(sqlx::AssertSqlSafe(reset))
                    .execute(models.pool())
                    .await
                    .map_err(|e| failed("drop the read-model schema", e))?;
                let models = PgReadModels::connect(&base, Some(PG_SCHEMA))
                    .await
                    .map_err(|e| failed("read models", e))?;
                Ok(Models::Postgres(models))
            }
            _ => {
                let path = std::env::temp_dir().join(format!(
                    "disco-bench-read-models-{}.db",
                    uuid::Uuid::new_v4()
                ));
                let models = SqliteReadModels::open(&path).map_err(|e| failed("read models", e))?;
                Ok(Models::Sqlite(models, path))
            }
        }
    }

    /// Starts the projection: written for this database, or once for
    /// every database (`portable`).
    fn start(&self, store: Arc<dyn EventStore>, portable: bool) -> Result<ProjectionHandle> {
        let options = ProjectionOptions::default().batch_size(BATCH);
        let projector = match (self, portable) {
            (Models::Sqlite(m, _), false) => Projector::new(m.projection(BenchRows)),
            (Models::Sqlite(m, _), true) => Projector::new(m.projection(Portable(BenchRows))),
            (Models::Postgres(m), false) => Projector::new(m.projection(BenchRows)),
            (Models::Postgres(m), true) => Projector::new(m.projection(Portable(BenchRows))),
        };
        projector
            .options(options)
            .start(store)
            .map_err(|e| failed("start the projection", e))
    }

    /// Creates the raw side's table.
    async fn raw_table(&self) -> Result<()> {
        match self {
            Models::Sqlite(m, _) => m
                .with_connection(|c| {
                    c.execute(&sql(include_str!("sqlite_rows.sql"), RAW_TABLE), [])
                })
                .await
                .map(|_| ())
                .map_err(|e| failed("raw table", e)),
            Models::Postgres(m) => {
                let create = sql(include_str!("pg_rows.sql"), RAW_TABLE);
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(m.pool())
                    .await
                    .map(|_| ())
                    .map_err(|e| failed("raw table", e))
            }
        }
    }

    /// Upserts `rows` in one transaction (the raw side).
    async fn upsert(&self, rows: Vec<(String, i64)>) -> Result<()> {
        match self {
            Models::Sqlite(m, _) => m
                .with_connection(move |c| {
                    let tx = c.transaction()?;
                    {
                        let upsert = sql(include_str!("sqlite_upsert.sql"), RAW_TABLE);
                        let mut stmt = tx.prepare_cached(&upsert)?;
                        for (id, n) in &rows {
                            stmt.execute(rusqlite::params![id, n])?;
                        }
                    }
                    tx.commit()
                })
                .await
                .map_err(|e| failed("raw upsert", e)),
            Models::Postgres(m) => {
                let mut tx = m.pool().begin().await.map_err(|e| failed("begin", e))?;
                let upsert = sql(include_str!("pg_upsert.sql"), RAW_TABLE);
                for (id, n) in rows {
                    sqlx::query(sqlx::AssertSqlSafe(upsert.clone()))
                        .bind(id)
                        .bind(n)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| failed("raw upsert", e))?;
                }
                tx.commit().await.map_err(|e| failed("commit", e))
            }
        }
    }

    async fn remove(self) {
        match self {
            Models::Sqlite(m, path) => {
                drop(m);
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Models::Postgres(m) => {
                let drop = format!("DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE");
                let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                    .execute(m.pool())
                    .await;
            }
        }
    }
}

/// Fills `store` with `events` bench events over [`STREAMS`] streams, in
/// appends of 100 (not timed).
async fn fill(store: &dyn EventStore, events: usize) -> Result<u64> {
    let mut head = 0;
    for a in 0..events.div_ceil(100) {
        let stream = StreamId::new(format!("{PREFIX}{}", a % STREAMS))?;
        let batch = (0..100)
            .map(|i| bench_event((a * 100 + i) as u64))
            .collect();
        head = store
            .append(&stream, ExpectedVersion::Any, batch)
            .await?
            .last_position;
    }
    Ok(head)
}

/// What the raw side upserts: (row id, the event's number) per event, read
/// and decoded before the clock starts.
async fn rows_of(store: &dyn EventStore) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 5000).await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.position;
        for event in &page {
            let payload: projection::BenchPayload =
                serde_json::from_slice(&event.data).map_err(|e| failed("decode", e))?;
            let id = event
                .stream_id
                .as_str()
                .trim_start_matches(PREFIX)
                .to_owned();
            out.push((id, payload.n as i64));
        }
    }
}

/// `projection-rebuild`: (store side, raw side).
pub async fn rebuild(
    backend: &Backend,
    store: Arc<dyn EventStore>,
    sizes: Sizes,
) -> Result<(Measurement, Measurement)> {
    let head = fill(&*store, sizes.projection_events).await?;
    let rows = rows_of(&*store).await?;
    let models = Models::open(backend).await?;

    let start = Instant::now();
    let handle = models.start(store.clone(), false)?;
    handle
        .wait_for(head, Duration::from_secs(3600))
        .await
        .map_err(|e| failed("the projection", e))?;
    let on_store = Measurement::timed(rows.len() as u64, start);
    handle.stop().await;

    models.raw_table().await?;
    let start = Instant::now();
    let events = rows.len() as u64;
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<_> = rows.by_ref().take(BATCH).collect();
        if chunk.is_empty() {
            break;
        }
        models.upsert(chunk).await?;
    }
    let on_raw = Measurement::timed(events, start);
    models.remove().await;
    Ok((on_store, on_raw))
}

/// `projection-portable`: (written once, written for this database), the
/// rebuild of the same events into a fresh read-model database each time,
/// two rounds in the order portable, native, native, portable.
pub async fn portable(
    backend: &Backend,
    store: Arc<dyn EventStore>,
    sizes: Sizes,
) -> Result<(Measurement, Measurement)> {
    let head = fill(&*store, sizes.projection_events).await?;
    let events = u64::try_from(sizes.projection_events).unwrap_or(u64::MAX);
    let mut took = [Duration::ZERO, Duration::ZERO];
    for portable in [true, false, false, true] {
        let models = Models::open(backend).await?;
        let start = Instant::now();
        let handle = models.start(store.clone(), portable)?;
        handle
            .wait_for(head, Duration::from_secs(3600))
            .await
            .map_err(|e| failed("the projection", e))?;
        took[usize::from(!portable)] += start.elapsed();
        handle.stop().await;
        models.remove().await;
    }
    let side = |elapsed: Duration| Measurement {
        events: events.saturating_mul(2),
        elapsed,
        latency: None,
    };
    Ok((side(took[0]), side(took[1])))
}

/// `projection-latency`: (store side, raw side), one append every 5 ms.
pub async fn latency(
    backend: &Backend,
    store: Arc<dyn EventStore>,
    sizes: Sizes,
) -> Result<(Measurement, Measurement)> {
    let models = Models::open(backend).await?;
    let handle = models.start(store.clone(), false)?;
    let stream = StreamId::new(format!("{PREFIX}latency"))?;
    let gap = Duration::from_millis(5);
    let samples = sizes.latency_samples;

    let start = Instant::now();
    let mut took = Vec::with_capacity(samples);
    for i in 0..samples {
        let began = Instant::now();
        let at = store
            .append(&stream, ExpectedVersion::Any, vec![bench_event(i as u64)])
            .await?
            .last_position;
        handle
            .wait_for(at, Duration::from_secs(10))
            .await
            .map_err(|e| failed("the projection", e))?;
        took.push(began.elapsed());
        tokio::time::sleep(gap).await;
    }
    let on_store = Measurement::with_latencies(took, start);
    handle.stop().await;

    models.raw_table().await?;
    let raw_stream = StreamId::new("raw-latency")?;
    let start = Instant::now();
    let mut took = Vec::with_capacity(samples);
    for i in 0..samples {
        let began = Instant::now();
        store
            .append(
                &raw_stream,
                ExpectedVersion::Any,
                vec![bench_event(i as u64)],
            )
            .await?;
        models
            .upsert(vec![("latency".to_owned(), i as i64)])
            .await?;
        took.push(began.elapsed());
        tokio::time::sleep(gap).await;
    }
    let on_raw = Measurement::with_latencies(took, start);
    models.remove().await;
    Ok((on_store, on_raw))
}

/// Whether `case` is one of these.
pub fn is_projection_case(case: Case) -> bool {
    matches!(
        case,
        Case::ProjectionRebuild | Case::ProjectionPortable | Case::ProjectionLatency
    )
}
