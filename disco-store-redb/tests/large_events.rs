//! Large events: an append of eight events at the size limit commits, and
//! reads back byte for byte. `DISCO_LARGE_EVENT_MIB` sets the size of each
//! event (1 MiB by default, so a debug test run stays quick; the limit is
//! 16 MiB); the time it took is printed, for measuring in release.

use std::time::Instant;

use disco_conformance::helpers::TempDir;
use disco_core::{EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId};
use disco_store_redb::{RedbOptions, RedbStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_large_events_commit_in_one_append() {
    let mib: usize = std::env::var("DISCO_LARGE_EVENT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let size = mib * 1024 * 1024 - 64;
    let dir = TempDir::new("redb-large");
    let store = RedbStore::open(dir.file("large.redb"), RedbOptions::default())
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    let stream = StreamId::new("large-1").unwrap_or_else(|e| panic!("{e}"));
    let events: Vec<NewEvent> = (0..8u8)
        .map(|i| NewEvent::new("Blob", vec![i; size]))
        .collect();
    let started = Instant::now();
    let written = store
        .append(&stream, ExpectedVersion::NoStream, events)
        .await
        .unwrap_or_else(|e| panic!("append: {e}"));
    let took = started.elapsed();
    println!("8 events of {mib} MiB: appended in {took:?}");
    assert_eq!(written.last_version, 8);
    let back = store
        .read_stream(&stream, 1, ReadDirection::Forward, 8)
        .await
        .unwrap_or_else(|e| panic!("read: {e}"));
    assert_eq!(back.len(), 8);
    assert!(back
        .iter()
        .enumerate()
        .all(|(i, e)| e.data.len() == size && e.data[0] == i as u8));
}
