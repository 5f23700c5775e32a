//! `SqliteOptions::mmap_size`: what a store reads does not depend on it. A
//! file written with one size (none, one page, the default, more than SQLite
//! allows) reads back the same with every other, whole log, one stream and
//! one tag, including events past the mapped part of the file.

use disco_conformance::helpers::TempDir;

use disco_core::{
    EventStore, ExpectedVersion, NewEvent, Query, QueryItem, ReadDirection, StreamId,
};
use disco_store_sqlite::{SqliteOptions, SqliteStore};

const SIZES: [u64; 4] = [0, 4096, 256 * 1024 * 1024, u64::MAX];

/// What the store at `path` reads: the whole log, stream `s-1`, tag `t-2`.
async fn everything(path: &std::path::Path, mmap_size: u64) -> Vec<Vec<(u64, Vec<u8>)>> {
    let store = SqliteStore::open(path, SqliteOptions::default().mmap_size(mmap_size))
        .await
        .expect("open");
    let keep = |events: Vec<disco_core::RecordedEvent>| {
        events
            .into_iter()
            .map(|e| (e.position, e.data))
            .collect::<Vec<_>>()
    };
    let all = keep(store.read_all(0, 10_000).await.expect("read all"));
    let stream = keep(
        store
            .read_stream(
                &StreamId::new("s-1").expect("id"),
                1,
                ReadDirection::Forward,
                10_000,
            )
            .await
            .expect("read stream"),
    );
    let tagged = keep(
        store
            .read_query(&Query::new().or(QueryItem::new().tags(["t-2"])), 0, 10_000)
            .await
            .expect("read query")
            .events,
    );
    store.close().await.expect("close");
    vec![all, stream, tagged]
}

#[tokio::test]
async fn reads_do_not_depend_on_the_memory_map() {
    for written_with in SIZES {
        let dir = TempDir::new("sqlite-mmap");
        let path = dir.file("events.db");
        let store = SqliteStore::open(&path, SqliteOptions::default().mmap_size(written_with))
            .await
            .expect("open");
        // Events of 2 KiB: the file outgrows a one-page map at once.
        for i in 0..600u32 {
            let stream = StreamId::new(format!("s-{}", i % 3)).expect("id");
            let event =
                NewEvent::new("E", i.to_le_bytes().repeat(512)).with_tags([format!("t-{}", i % 5)]);
            store
                .append(&stream, ExpectedVersion::Any, vec![event])
                .await
                .expect("append");
        }
        let written = everything(&path, written_with).await;
        assert_eq!(written[0].len(), 600, "written with {written_with}");
        assert_eq!(written[1].len(), 200, "written with {written_with}");
        assert_eq!(written[2].len(), 120, "written with {written_with}");
        drop(store);
        for read_with in SIZES {
            assert!(
                everything(&path, read_with).await == written,
                "written with mmap_size {written_with}, read with {read_with}: the reads differ"
            );
        }
    }
}
