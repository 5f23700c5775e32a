//! The `disco` binary never touches data disco does not own: read-only
//! commands write nothing, `drop` removes exactly disco's objects, and a
//! file or schema without a store is refused with its own exit code and left
//! as it was. Also the CLI's rough edges: resets, copies into used targets,
//! messages and escaping.

use std::path::Path;

use disco::postgres::{PgOptions, PostgresStore};
use disco::sqlite::{SqliteOptions, SqliteStore};
use disco::{ExpectedVersion, NewEvent, StreamId};
use disco_conformance::helpers::TempDir;
use serde_json::Value;
use sqlx::PgPool;

/// The CLI's exit codes these tests expect (see `disco_cli::failure::code`).
const USAGE: i32 = 2;
const NO_STORE: i32 = 8;
const FOREIGN: i32 = 9;

mod common;

use common::{append_one, disco, pg_base, text};

fn expect_code(args: &[&str], code: i32) -> String {
    let out = disco(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "disco {args:?}:\n{}",
        text(&out)
    );
    text(&out)
}

fn ok(args: &[&str]) -> String {
    expect_code(args, 0)
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every read-only command, each of which must refuse `url` with `code`.
fn read_only_commands_refuse(url: &str, code: i32) {
    for command in [
        vec!["status"],
        vec!["streams"],
        vec!["read", "customers-1"],
        vec!["events"],
        vec!["checkpoints"],
        vec!["tail", "--after", "0"],
    ] {
        let mut args = vec!["--store", url];
        args.extend(command);
        expect_code(&args, code);
    }
}

fn customers_file(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.file("app.db");
    let raw = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    raw.execute_batch(
        "CREATE TABLE customers (name TEXT); INSERT INTO customers VALUES ('ada'), ('bob');",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    path
}

fn customer_names(path: &Path) -> Vec<String> {
    let raw = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    raw.prepare("SELECT name FROM customers ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_application_sqlite_file_is_never_written_or_dropped() {
    let dir = TempDir::new("cli-foreign-sqlite");
    let path = customers_file(&dir);
    let url = format!("sqlite:{}", path.display());
    let before = bytes(&path);
    read_only_commands_refuse(&url, FOREIGN);
    let refused = expect_code(&["--store", &url, "drop", "--yes"], FOREIGN);
    assert!(refused.contains("table customers"), "{refused}");
    expect_code(&["--store", &url, "init"], FOREIGN);
    expect_code(
        &["--store", &url, "checkpoints", "reset", "x", "--create"],
        FOREIGN,
    );
    assert!(bytes(&path) == before, "the application's file changed");
    assert!(!dir.file("app.db-wal").exists());
    assert_eq!(customer_names(&path), ["ada", "bob"]);

    // Not a database at all (SQLite would read a 1-byte file as an empty one).
    let note = dir.file("note.txt");
    std::fs::write(&note, b"x").unwrap_or_else(|e| panic!("{e}"));
    let note_url = format!("sqlite:{}", note.display());
    read_only_commands_refuse(&note_url, FOREIGN);
    expect_code(&["--store", &note_url, "drop", "--yes"], FOREIGN);
    assert_eq!(bytes(&note), b"x".to_vec());

    // Nothing there: refused, nothing created; a directory says so.
    let missing = format!("sqlite:{}", dir.file("missing.db").display());
    let said = expect_code(&["--store", &missing, "status"], NO_STORE);
    assert!(!said.contains("Sqlite("), "Rust debug text in {said}");
    assert!(!dir.file("missing.db").exists());
    let said = expect_code(
        &[
            "--store",
            &format!("sqlite:{}", dir.path().display()),
            "status",
        ],
        USAGE,
    );
    assert!(said.contains("directory"), "{said}");
}

#[test]
fn a_file_that_is_not_redb_is_foreign_and_a_directory_is_usage() {
    let dir = TempDir::new("cli-redb-foreign");
    let note = dir.file("note.txt");
    let text = b"someone else's notes, not a redb file\n".repeat(50);
    std::fs::write(&note, &text).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("redb:{}", note.display());
    read_only_commands_refuse(&url, FOREIGN);
    expect_code(&["--store", &url, "init"], FOREIGN);
    expect_code(&["--store", &url, "drop", "--yes"], FOREIGN);
    assert_eq!(bytes(&note), text, "the file changed");
    // A directory is a mistake in the URL (not an outage to retry: exit 3).
    let said = expect_code(
        &[
            "--store",
            &format!("redb:{}", dir.path().display()),
            "status",
        ],
        USAGE,
    );
    assert!(said.contains("directory"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_sharing_its_sqlite_file_drops_only_its_own_tables() {
    let dir = TempDir::new("cli-shared-sqlite");
    let path = customers_file(&dir);
    let url = format!("sqlite:{}", path.display());
    {
        let store = SqliteStore::open(&path, SqliteOptions::default().share_database(true))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        append_one(&store, "wallet-1", "Opened").await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let status: Value = serde_json::from_str(ok(&["--store", &url, "--json", "status"]).trim())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status["events"], 1);
    let dropped = ok(&["--store", &url, "drop", "--yes"]);
    assert!(
        dropped.contains("kept") && dropped.contains("table customers"),
        "{dropped}"
    );
    assert!(path.exists(), "the shared file was deleted");
    assert_eq!(customer_names(&path), ["ada", "bob"]);
    let raw = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let disco_tables: i64 = raw
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'disco_%'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(disco_tables, 0, "disco tables left behind");
    drop(raw);
    // Now the file holds no store: refused, not adopted.
    expect_code(&["--store", &url, "status"], FOREIGN);
}

async fn pg_pool() -> PgPool {
    match PgPool::connect(&pg_base()).await {
        Ok(pool) => pool,
        Err(e) => panic!(
            "cannot reach PostgreSQL at {}: {e}\nStart the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (bash .ci/run installs and starts it), or point DISCO_TEST_DATABASE_URL at another database.",
            pg_base()
        ),
    }
}

async fn sql(pool: &PgPool, statement: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn invoices(pool: &PgPool, schema: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{schema}\".invoices"
    )))
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("the invoices of {schema}: {e}"))
}

async fn objects_in(pool: &PgPool, schema: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
    )
    .bind(schema)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// An application's schema `PREFIX_<uuid>` with a table `invoices` of 3 rows.
async fn invoices_schema(pool: &PgPool, prefix: &str) -> String {
    let schema = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    sql(
        pool,
        format!(
            "CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".invoices (id int); INSERT INTO \"{schema}\".invoices VALUES (1), (2), (3);"
        ),
    )
    .await;
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_postgres_schema_is_never_written_or_dropped() {
    let pool = pg_pool().await;
    let schema = invoices_schema(&pool, "billing").await;
    let objects = objects_in(&pool, &schema).await;
    let url = format!("{}?schema={schema}", pg_base());
    read_only_commands_refuse(&url, FOREIGN);
    let refused = expect_code(&["--store", &url, "drop", "--yes"], FOREIGN);
    assert!(refused.contains("table invoices"), "{refused}");
    expect_code(&["--store", &url, "init"], FOREIGN);
    expect_code(&["--store", &url, "migrate"], FOREIGN);
    assert_eq!(invoices(&pool, &schema).await, 3);
    assert_eq!(
        objects_in(&pool, &schema).await,
        objects,
        "objects were added"
    );

    // A store that shares the schema (explicitly) drops only its own objects.
    let options = PgOptions::default()
        .schema(schema.clone())
        .share_schema(true);
    let store = PostgresStore::connect(&pg_base(), options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    append_one(&store, "invoice-1", "Issued").await;
    store.close().await;
    ok(&["--store", &url, "status"]);
    let dropped = ok(&["--store", &url, "drop", "--yes"]);
    assert!(dropped.contains("table invoices"), "{dropped}");
    assert_eq!(invoices(&pool, &schema).await, 3);
    assert_eq!(
        objects_in(&pool, &schema).await,
        objects,
        "disco objects left behind"
    );
    expect_code(&["--store", &url, "status"], FOREIGN);
    sql(&pool, format!("DROP SCHEMA \"{schema}\" CASCADE")).await;

    // A missing schema: nothing created.
    let missing = format!("nothing_{}", uuid::Uuid::new_v4().simple());
    let missing_url = format!("{}?schema={missing}", pg_base());
    expect_code(&["--store", &missing_url, "status"], NO_STORE);
    expect_code(&["--store", &missing_url, "drop", "--yes"], NO_STORE);
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&missing)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(!exists, "status created the schema");
}

/// A store in its own schema beside the application's tables in another
/// schema of the same database: drop removes the store's schema and nothing
/// else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_sharing_the_database_drops_only_its_schema() {
    let pool = pg_pool().await;
    let app = invoices_schema(&pool, "app").await;
    let store_schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{}?schema={store_schema}", pg_base());
    ok(&["--store", &url, "init"]);
    let dropped = ok(&["--store", &url, "drop", "--yes"]);
    assert!(dropped.contains("schema"), "{dropped}");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&store_schema)
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(!exists, "the store's schema is still there");
    assert_eq!(invoices(&pool, &app).await, 3);
    sql(&pool, format!("DROP SCHEMA \"{app}\" CASCADE")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resets_copies_and_text_have_no_rough_edges() {
    let dir = TempDir::new("cli-edges");
    let url = format!("sqlite:{}", dir.file("events.db").display());
    ok(&["--store", &url, "init"]);
    {
        let store = disco::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let tricky = StreamId::new("evil\u{202e}gnp.exe").unwrap_or_else(|e| panic!("{e}"));
        store
            .append(
                &tricky,
                ExpectedVersion::NoStream,
                vec![NewEvent::new("E", b"{}".to_vec())],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let streams = ok(&["--store", &url, "streams"]);
    assert!(streams.contains("evil\\u{202e}gnp.exe"), "{streams}");
    assert!(
        !streams.contains('\u{202e}'),
        "a bidi control reached the terminal"
    );

    // Resets: no new checkpoint by a typo, no position past the head.
    expect_code(
        &["--store", &url, "checkpoints", "reset", "projektor"],
        USAGE,
    );
    ok(&[
        "--store",
        &url,
        "checkpoints",
        "reset",
        "projector",
        "--create",
    ]);
    expect_code(
        &[
            "--store",
            &url,
            "checkpoints",
            "reset",
            "projector",
            "--to",
            "99",
        ],
        USAGE,
    );
    ok(&[
        "--store",
        &url,
        "checkpoints",
        "reset",
        "projector",
        "--to",
        "99",
        "--force",
    ]);

    // A copy into a target that holds anything (here a checkpoint) is
    // refused before anything is copied.
    let target = format!("sqlite:{}", dir.file("target.db").display());
    ok(&["--store", &target, "init"]);
    ok(&[
        "--store",
        &target,
        "checkpoints",
        "reset",
        "other",
        "--create",
    ]);
    expect_code(&["copy", "--from", &url, "--to", &target, "--quiet"], USAGE);
    let head: Value = serde_json::from_str(ok(&["--store", &target, "--json", "status"]).trim())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head["head"], 0, "the refused copy wrote events");

    // A finished copy's progress is shown apart from the consumers.
    let fresh = format!("sqlite:{}", dir.file("fresh.db").display());
    let report = ok(&["copy", "--from", &url, "--to", &fresh, "--quiet"]);
    assert!(report.contains("/s"), "{report}");
    let listed = ok(&["--store", &fresh, "--json", "checkpoints"]);
    let kinds: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(
        kinds.iter().any(|k| k["kind"] == "copy-progress")
            && kinds
                .iter()
                .any(|k| k["kind"] == "consumer" && k["name"] == "projector"),
        "{listed}"
    );
    let help = ok(&["copy", "--help"]);
    assert!(!help.contains("--store"), "{help}");
}
