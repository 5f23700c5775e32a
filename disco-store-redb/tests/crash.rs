//! Durability (rule 9): a child process (this test binary, run again)
//! appends with four concurrent writers and reports every acknowledged
//! append; the test kills it with SIGKILL at a random moment, reopens the
//! file (redb repairs its allocator state after an unclean shutdown) and
//! checks that every acknowledged event is there, that no batch is partial,
//! and that versions have no holes. Twelve kills, on the same file.

use disco_conformance::helpers::TempDir;
use std::path::Path;
use std::sync::Arc;

use disco_conformance::crash;
use disco_store_redb::{RedbOptions, RedbStore};

const TEST: &str = "acknowledged_appends_survive_sigkill";
const WRITERS: usize = 4;
const KILLS: usize = 12;

async fn open(path: &Path) -> RedbStore {
    match RedbStore::open(path, RedbOptions::default()).await {
        Ok(store) => store,
        Err(e) => panic!("the file does not open after SIGKILL: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() {
    if let Some((path, args)) = crash::child_role() {
        if let Err(e) = crash::child_main(Arc::new(open(&path).await), &args).await {
            panic!("child failed: {e}");
        }
        return;
    }
    let dir = TempDir::new("redb-crash");
    let path = dir.file("crash.redb");
    let writers = WRITERS.to_string();
    let ledger = crash::kill_loop(
        || crash::child_command(TEST, &path, &["append-loop", &writers]),
        WRITERS,
        KILLS,
        || open(&path),
        // redb lets one process hold the file: release it before the next child.
        |store| async move {
            if let Err(e) = store.close().await {
                panic!("closing the store failed: {e}");
            }
        },
    )
    .await;
    println!(
        "{KILLS} kills: {} acknowledged appends, {} attempted",
        ledger.acked.len(),
        ledger.attempted.len()
    );
}
