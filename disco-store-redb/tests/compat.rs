//! A file written by the first release (format 1) opens and reads back in
//! full after the upgrade an open applies (to format 2, which adds tags: each
//! event moves byte for byte into the new events table and reads with no
//! tags; each later format keeps this fixture and adds its own). `DISCO_WRITE_FIXTURES=1` writes it anew.

use std::path::PathBuf;

use disco_conformance::compat;
use disco_conformance::helpers::TempDir;
use disco_store_redb::{RedbOptions, RedbStore};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-1.redb")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_by_format_1_opens_and_reads_in_full() {
    if compat::writing_fixtures() {
        let _ = std::fs::remove_file(fixture());
        let store = RedbStore::open(fixture(), RedbOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        compat::write(&store).await;
        store.close().await.unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let dir = TempDir::new("redb-compat");
    let copy = dir.file("old.redb");
    std::fs::copy(fixture(), &copy).unwrap_or_else(|e| panic!("the fixture: {e}"));
    let store = RedbStore::open(&copy, RedbOptions::default())
        .await
        .unwrap_or_else(|e| panic!("a format-1 file does not open: {e}"));
    compat::check(&store).await;
}
