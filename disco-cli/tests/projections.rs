//! `disco projections`: listing, a blue-green rebuild picked up by a running
//! projection, dropping retired generations, and refusing what is not there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::projections::postgres::{sqlx, PgProjection, PgReadModels, PgTransaction};
use disco::projections::sqlite::{rusqlite, SqliteProjection, SqliteReadModels};
use disco::projections::{
    Envelope, HandlerError, Interest, Projection, ProjectionHandle, ProjectionOptions, Projector,
    Tables,
};
use disco::EventStore;
use disco_conformance::helpers::TempDir;
use serde_json::Value;

mod common;

use common::{append_one, disco, pg_base, text};

/// The tests' events: `{}`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Unit {}

impl disco::cqrs::DomainEvent for Unit {
    fn event_type(&self) -> &'static str {
        "Unit"
    }
}

/// Counts events per stream of `c-*`.
struct Counts;

impl Projection for Counts {
    type Event = Unit;
    const NAME: &'static str = "counts";
    const TABLES: &'static [&'static str] = &["counts"];

    fn interest() -> Interest {
        Interest::stream_prefix("c-")
    }
}

impl SqliteProjection for Counts {
    fn setup(&self, tx: &rusqlite::Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
        let sql = format!(
            "CREATE TABLE {} (id TEXT PRIMARY KEY, n INTEGER NOT NULL)",
            tables.name("counts")
        );
        tx.execute(&sql, [])?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &rusqlite::Transaction<'_>,
        tables: &Tables,
        e: Envelope<Unit>,
    ) -> Result<(), HandlerError> {
        let sql = format!(
            "INSERT INTO {} (id, n) VALUES (?1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1",
            tables.name("counts")
        );
        tx.execute(&sql, [e.aggregate_id])?;
        Ok(())
    }
}

#[disco::async_trait]
impl PgProjection for Counts {
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
        let sql = format!(
            "CREATE TABLE {} (id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
            tables.name("counts")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        e: Envelope<Unit>,
    ) -> Result<(), HandlerError> {
        let sql = format!(
            "INSERT INTO {0} (id, n) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = {0}.n + 1",
            tables.name("counts")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.aggregate_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

fn options() -> ProjectionOptions {
    let mut options =
        ProjectionOptions::default().lease(Duration::from_secs(1), Duration::from_millis(50));
    options.save_seen_every = Duration::from_millis(20);
    options
}

fn json(args: &[&str]) -> Vec<Value> {
    let out = disco(args);
    assert!(
        out.status.success(),
        "disco {args:?} failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn states(rows: &[Value]) -> Vec<(u64, String)> {
    rows.iter()
        .map(|r| {
            (
                r["generation"].as_u64().unwrap_or(0),
                r["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn wait_for_generation(handle: &ProjectionHandle, generation: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.status().await.generation != Some(generation) {
        assert!(
            Instant::now() < deadline,
            "no switch to generation {generation}: {:?}",
            handle.status().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The whole walk on one store URL, with `handle` projecting into it.
async fn walk(url: &str, store: &Arc<dyn EventStore>, handle: &ProjectionHandle) {
    for i in 0..5 {
        append_one(&**store, &format!("c-{i}"), "Unit").await;
    }
    append_one(&**store, "other-1", "Unit").await;
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    handle
        .wait_for(head, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The position seen past the last wanted event is stored within
    // `save_seen_every`.
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let rows = json(&["--store", url, "--json", "projections"]);
        if rows.first().is_some_and(|r| r["lag"] == 0) || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["name"], "counts");
    assert_eq!(rows[0]["version"], 1);
    assert_eq!(rows[0]["state"], "live");
    assert_eq!(rows[0]["lag"], 0, "a filtered projection reaches lag 0");
    assert_eq!(rows[0]["position"], head);

    let rebuilt = json(&["--store", url, "--json", "projections", "rebuild", "counts"]);
    assert_eq!(rebuilt[0]["generation"], 2);
    wait_for_generation(handle, 2).await;
    let rows = json(&["--store", url, "--json", "projections"]);
    assert_eq!(
        states(&rows),
        vec![(1, "retired".to_owned()), (2, "live".to_owned())]
    );
    let dropped = json(&[
        "--store",
        url,
        "--json",
        "projections",
        "drop-retired",
        "counts",
    ]);
    assert_eq!(dropped[0]["dropped"], serde_json::json!([1]));
    let rows = json(&["--store", url, "--json", "projections"]);
    assert_eq!(states(&rows), vec![(2, "live".to_owned())]);

    let human = disco(&["--store", url, "projections"]);
    assert!(text(&human).contains("counts"), "{}", text(&human));
    let unknown = disco(&["--store", url, "projections", "rebuild", "nope"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_list_rebuild_and_drop_retired() {
    let dir = TempDir::new("cli-projections");
    let path = dir.file("app.db");
    let url = format!("sqlite:{}", path.display());
    let store = disco::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let models = SqliteReadModels::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let handle = Projector::new(models.projection(Counts))
        .options(options())
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    walk(&url, &store, &handle).await;
    handle.stop().await;
    store.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_list_rebuild_and_drop_retired() {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}?schema={schema}", pg_base());
    let store = disco::connect(&url).await.unwrap_or_else(|e| {
        panic!("cannot open {url}: {e}\nStart the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (bash .ci/run installs and starts it), or point DISCO_TEST_DATABASE_URL at another database.")
    });
    let models = PgReadModels::connect(&pg_base(), Some(&schema))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = Projector::new(models.projection(Counts))
        .options(options())
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    walk(&url, &store, &handle).await;
    handle.stop().await;
    store.close().await.unwrap_or_else(|e| panic!("{e}"));
    let drop = format!("DROP SCHEMA {schema} CASCADE");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(models.pool())
        .await
        .unwrap_or_else(|e| panic!("drop {schema}: {e}"));
}

/// Where no projection ever ran, listing shows none and creates nothing;
/// a rebuild or a drop of retired generations is refused (exit 2) and
/// creates nothing either; memory and
/// redb stores need --read-models.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_created_where_no_projection_ran() {
    let dir = TempDir::new("cli-projections-none");
    let path = dir.file("events.db");
    let url = format!("sqlite:{}", path.display());
    let store = disco::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    append_one(&*store, "c-1", "Unit").await;
    store.close().await.unwrap_or_else(|e| panic!("{e}"));
    let before = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json(&["--store", &url, "--json", "projections"]).len(), 0);
    let out = disco(&["--store", &url, "projections"]);
    assert!(text(&out).contains("no projections here"), "{}", text(&out));
    let refused = disco(&["--store", &url, "projections", "rebuild", "counts"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let refused = disco(&["--store", &url, "projections", "drop-retired", "counts"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert_eq!(
        std::fs::read(&path).unwrap_or_else(|e| panic!("{e}")),
        before
    );
    let memory = disco(&["--store", "memory:", "projections"]);
    assert_eq!(memory.status.code(), Some(2), "{}", text(&memory));
    assert!(text(&memory).contains("--read-models"), "{}", text(&memory));
    let missing = dir.file("missing.db");
    let out = disco(&[
        "--store",
        &url,
        "projections",
        "--read-models",
        &format!("sqlite:{}", missing.display()),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(!missing.exists(), "a missing read-model file was created");
}

/// A partitioned projection: `disco projections` lists its partitions under
/// the generation (the generation's position is the lowest of theirs), and
/// a rebuild from the CLI switches all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_partitioned_projection_lists_its_partitions() {
    let dir = TempDir::new("cli-projections-partitioned");
    let path = dir.file("app.db");
    let url = format!("sqlite:{}", path.display());
    let store = disco::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let models = SqliteReadModels::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let handle = Projector::new(models.projection(Counts))
        .options(options())
        .partitioned(3)
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..12 {
        append_one(&*store, &format!("c-{i}"), "Unit").await;
    }
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    handle
        .wait_for(head, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let rows = json(&["--store", &url, "--json", "projections"]);
        if rows.first().is_some_and(|r| r["lag"] == 0) || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["position"], head, "{rows:?}");
    let parts = rows[0]["partitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let listed: Vec<(u64, u64)> = parts
        .iter()
        .map(|p| {
            (
                p["partition"].as_u64().unwrap_or(9),
                p["of"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(listed, vec![(0, 3), (1, 3), (2, 3)], "{rows:?}");
    assert!(parts.iter().all(|p| p["position"] == head && p["lag"] == 0));
    let human = text(&disco(&["--store", &url, "projections"]));
    assert!(human.contains("partition 2-of-3"), "{human}");

    let rebuilt = json(&[
        "--store",
        &url,
        "--json",
        "projections",
        "rebuild",
        "counts",
    ]);
    assert_eq!(rebuilt[0]["generation"], 2);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = json(&["--store", &url, "--json", "projections"]);
        if states(&rows) == vec![(1, "retired".to_owned()), (2, "live".to_owned())] {
            assert_eq!(rows[1]["partitions"].as_array().map(Vec::len), Some(3));
            break;
        }
        assert!(Instant::now() < deadline, "no switch: {rows:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total: i64 = models
        .with_connection(|c| c.query_row("SELECT sum(n) FROM counts", [], |r| r.get(0)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(total, 12, "generation 2 counts every event once");
    handle.stop().await;
    store.close().await.unwrap_or_else(|e| panic!("{e}"));
}
