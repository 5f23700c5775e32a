//! Partitioned reads: SQLite keeps a partition's rows in the query
//! (`disco_partition`), and that gives what the contract's filter gives,
//! on every connection; a damaged stream id fails the read rather than
//! being passed over.

use disco_conformance::helpers::TempDir;
use disco_core::{
    Error, EventFilter, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StreamId,
    StreamPartition,
};
use disco_store_sqlite::{SqliteOptions, SqliteStore};

/// 120 events over 40 streams, three per stream.
async fn filled(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path, SqliteOptions::default())
        .await
        .expect("open");
    for round in 0..3 {
        for s in 0..40 {
            let stream = StreamId::new(format!("account-{s}")).expect("stream id");
            store
                .append(
                    &stream,
                    ExpectedVersion::Exact(round),
                    vec![NewEvent::new("Moved", vec![b'x'; 10])],
                )
                .await
                .expect("append");
        }
    }
    store
}

fn positions(events: &[RecordedEvent]) -> Vec<u64> {
    events.iter().map(|e| e.position).collect()
}

#[tokio::test]
async fn each_partition_reads_what_the_filter_keeps_and_together_they_read_all() {
    let dir = TempDir::new("sqlite-partitions");
    let store = filled(&dir.file("p.db")).await;
    let all = store.read_all(0, 1000).await.expect("read all");
    assert_eq!(all.len(), 120);
    for count in [1u32, 2, 3, 7] {
        let mut union = Vec::new();
        for index in 0..count {
            let partition = StreamPartition::new(index, count);
            let filter = EventFilter::default().with_partition(partition);
            // Small pages: each page is the partition's next rows, wherever they are.
            let mut read = Vec::new();
            let mut after = 0;
            loop {
                let page = store
                    .read_all_filtered(after, 7, &filter)
                    .await
                    .expect("partitioned read");
                let Some(last) = page.last() else { break };
                after = last.position;
                read.extend(page);
            }
            let expected: Vec<&RecordedEvent> = all
                .iter()
                .filter(|e| partition.contains(e.stream_id.as_str()))
                .collect();
            assert_eq!(
                positions(&read),
                expected.iter().map(|e| e.position).collect::<Vec<_>>(),
                "partition {index} of {count}"
            );
            union.extend(read);
        }
        union.sort_by_key(|e| e.position);
        assert_eq!(positions(&union), positions(&all), "{count} partitions");
    }
    // With the other filters at once: a prefix and a type.
    let filter = EventFilter::default()
        .with_stream_prefix("account-1")
        .with_event_types(["Moved"])
        .with_partition(StreamPartition::new(1, 2));
    let read = store
        .read_all_filtered(0, 1000, &filter)
        .await
        .expect("read");
    let expected: Vec<u64> = all
        .iter()
        .filter(|e| filter.matches(e.stream_id.as_str(), &e.event_type))
        .map(|e| e.position)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(positions(&read), expected);
}

#[tokio::test]
async fn a_damaged_stream_id_fails_a_partitioned_read() {
    let dir = TempDir::new("sqlite-partition-damaged");
    let path = dir.file("p.db");
    let store = filled(&path).await;
    store.close().await.expect("close");
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("open the file");
    conn.execute(
        "UPDATE disco_events SET stream_id = x'ff00' WHERE position = 5",
        [],
    )
    .expect("damage a row");
    drop(conn);
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("reopen");
    for index in 0..2 {
        let filter = EventFilter::default().with_partition(StreamPartition::new(index, 2));
        let read = store.read_all_filtered(0, 1000, &filter).await;
        assert!(
            matches!(read, Err(Error::Backend(_))),
            "partition {index}: {read:?}"
        );
    }
}
