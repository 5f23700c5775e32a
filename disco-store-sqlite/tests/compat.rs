//! A store file written by this release opens and reads back in full after
//! the upgrade an open applies (to schema 4, which adds tags: the old events
//! keep every byte and read with none; each later release keeps this fixture
//! and adds its own). `DISCO_WRITE_FIXTURES=1` writes it anew.

use std::path::PathBuf;

use disco_conformance::compat;
use disco_conformance::helpers::TempDir;
use disco_store_sqlite::{SqliteOptions, SqliteStore};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-3.db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_by_schema_3_opens_and_reads_in_full() {
    if compat::writing_fixtures() {
        let _ = std::fs::remove_file(fixture());
        let store = SqliteStore::open(fixture(), SqliteOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        compat::write(&store).await;
        drop(store);
        // Fold the WAL into the file, so the fixture is one file.
        let raw = rusqlite::Connection::open(fixture()).unwrap_or_else(|e| panic!("{e}"));
        raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap_or_else(|e| panic!("{e}"));
        raw.execute_batch("PRAGMA journal_mode = DELETE; VACUUM;")
            .unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let dir = TempDir::new("sqlite-compat");
    let copy = dir.file("old.db");
    std::fs::copy(fixture(), &copy).unwrap_or_else(|e| panic!("the fixture: {e}"));
    let store = SqliteStore::open(&copy, SqliteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("a schema-3 file does not open: {e}"));
    compat::check(&store).await;
}

/// Each shipped migration's text is fixed: a file that changes after it
/// shipped would make stores diverge by when they were created.
#[test]
fn shipped_migrations_never_change() {
    let checksums: Vec<(i64, String)> = disco_store_sqlite::migration_checksums();
    assert_eq!(
        checksums,
        EXPECTED
            .iter()
            .map(|(v, c)| (*v, c.to_string()))
            .collect::<Vec<_>>()
    );
}

/// The checksums of the migrations as they shipped.
const EXPECTED: &[(i64, &str)] = &[
    (1, "1d418747c0568aaf"),
    (2, "51455fc34710b0d7"),
    (3, "2a522e8cb1ebbfbb"),
    (4, "5a3a9f6b417e74d5"),
];
