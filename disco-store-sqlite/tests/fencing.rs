//! One active runner per consumer name, fenced: a runner paused past its
//! lease's time to live (its handler stalls) finds, when it resumes, that
//! the lease is gone (by its own clock, before any further event) and
//! stands by; the runner that took over finishes, and its checkpoint is the
//! one that stays.

use std::sync::Arc;
use std::time::Duration;

use disco_conformance::fencing::{lease_loss, Loss};
use disco_conformance::helpers::TempDir;
use disco_core::EventStore;
use disco_store_sqlite::{SqliteOptions, SqliteStore};

async fn open(path: &std::path::Path) -> Arc<dyn EventStore> {
    match SqliteStore::open(path, SqliteOptions::default()).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_paused_past_its_ttl_stands_by_when_it_resumes() {
    let dir = TempDir::new("sqlite-fencing");
    let path = dir.file("events.db");
    let (old, new) = (open(&path).await, open(&path).await);
    let overlap = lease_loss(
        old,
        new,
        Duration::from_secs(1),
        Loss::<std::future::Ready<()>>::Pause(Duration::from_millis(2500)),
    )
    .await;
    println!("holder paused past its TTL: {overlap:?}");
    assert_eq!(
        overlap.started_after_takeover, 0,
        "the paused runner started events after the new one took over: {overlap:?}"
    );
    assert_eq!(overlap.final_checkpoint, Some(overlap.last), "{overlap:?}");
}
