//! Migrations: shipped ones never change, a store that ran another text is
//! refused, and a schema written by this release (a `pg_dump` committed as
//! a fixture) opens and reads back in full after the upgrade an open
//! applies. `DISCO_WRITE_FIXTURES=1` writes the fixture anew (needs
//! `pg_dump` on the PATH).

mod common;

use disco_conformance::compat;
use disco_core::Error;
use disco_store_postgres::{migration_checksums, PostgresStore};
use sqlx::{Connection, PgConnection};

/// The schema name the fixture was dumped from, replaced by a fresh one.
const DUMPED_FROM: &str = "disco_fixture_schema_3";
const FIXTURE: &str = include_str!("fixtures/schema-3.sql");

/// The checksums of the migrations as they shipped.
const EXPECTED: &[(i32, &str)] = &[
    (1, "6dae632e6ffb36e4"),
    (2, "a46c01940323873d"),
    (3, "0277bf87900e1f35"),
    (4, "dedc055cf078091d"),
];

#[test]
fn shipped_migrations_never_change() {
    let expected: Vec<(i32, String)> = EXPECTED.iter().map(|(v, c)| (*v, c.to_string())).collect();
    assert_eq!(migration_checksums(), expected);
}

async fn sql(statement: String) {
    let url = common::database_url();
    let mut conn = PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = conn.close().await;
}

#[tokio::test]
async fn a_store_whose_applied_migration_changed_is_refused() {
    let store = common::fresh_store().await;
    let schema = store.schema().to_owned();
    sql(format!(
        "UPDATE \"{schema}\".disco_migrations SET checksum = 'not-shipped' WHERE version = 1"
    ))
    .await;
    for migrate in [true, false] {
        let options = common::options(&schema).migrate_on_connect(migrate);
        match PostgresStore::connect(&common::database_url(), options).await {
            Err(Error::Backend(m)) => assert!(m.contains("changed after it shipped"), "{m}"),
            other => panic!("a changed migration was not refused: {other:?}"),
        }
    }
    common::cleanup(store).await;
}

#[tokio::test]
async fn a_schema_written_by_schema_3_opens_and_reads_in_full() {
    if compat::writing_fixtures() {
        write_fixture().await;
        return;
    }
    let schema = common::fresh_schema();
    sql(FIXTURE.replace(DUMPED_FROM, &schema)).await;
    let store = common::connect(common::options(&schema)).await;
    compat::check(&store).await;
    common::cleanup(store).await;
}

async fn write_fixture() {
    sql(format!("DROP SCHEMA IF EXISTS {DUMPED_FROM} CASCADE")).await;
    let store = common::connect(common::options(DUMPED_FROM)).await;
    compat::write(&store).await;
    store.close().await;
    let out = std::process::Command::new("pg_dump")
        .args([
            "--dbname",
            &common::database_url(),
            "--schema",
            DUMPED_FROM,
            "--no-owner",
            "--no-privileges",
            "--inserts",
        ])
        .output()
        .unwrap_or_else(|e| panic!("pg_dump: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // psql meta-commands (`\restrict` in recent pg_dump) are not SQL.
    let dump: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| !line.starts_with('\\'))
        .map(|line| format!("{line}\n"))
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-3.sql");
    std::fs::write(path, dump).unwrap_or_else(|e| panic!("{e}"));
    sql(format!("DROP SCHEMA {DUMPED_FROM} CASCADE")).await;
}
