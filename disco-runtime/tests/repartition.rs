//! Changing a partitioned consumer's number of partitions: the new
//! partitions start where the slowest old one was (nothing lost), and a
//! consumer that was not partitioned hands its checkpoint on the same way.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use disco::consumer::{handler_fn, Consumer, ConsumerOptions, PartitionedConsumer};
use disco::memory::MemoryStore;
use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};

fn options() -> ConsumerOptions {
    ConsumerOptions {
        takeover_poll: Duration::from_millis(20),
        checkpoint_every: Duration::from_millis(20),
        ..ConsumerOptions::default()
    }
}

async fn put(store: &dyn EventStore, n: usize, tag: &str) {
    for i in 0..n {
        let stream = StreamId::new(format!("{tag}-{}", i % 7)).unwrap_or_else(|e| panic!("{e}"));
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                vec![NewEvent::new("E", Vec::new())],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

type Seen = Arc<Mutex<Vec<u64>>>;

fn recording(seen: &Seen) -> impl disco::consumer::Handler {
    let seen = seen.clone();
    handler_fn(move |event| {
        let (seen, position) = (seen.clone(), event.position);
        async move {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(position);
            Ok(())
        }
    })
}

async fn run_partitioned(store: &Arc<dyn EventStore>, n: u32, seen: &Seen) {
    let handle = PartitionedConsumer::new("resized", n, recording(seen))
        .options(options())
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(handle.wait_for(head, Duration::from_secs(10)).await);
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_count_starts_where_the_slowest_old_partition_was() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let seen: Seen = Arc::default();
    put(&*store, 20, "a").await;
    run_partitioned(&store, 2, &seen).await;
    assert_eq!(seen.lock().unwrap_or_else(|p| p.into_inner()).len(), 20);
    seen.lock().unwrap_or_else(|p| p.into_inner()).clear();

    put(&*store, 10, "b").await;
    run_partitioned(&store, 3, &seen).await;
    let mut handled = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    handled.sort_unstable();
    assert_eq!(
        handled,
        (21..=30).collect::<Vec<u64>>(),
        "only what came after the old partitions"
    );
    let names: Vec<String> = store
        .list_checkpoints()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|c| c.name)
        .collect();
    for p in 0..3 {
        assert!(
            names.contains(&format!("resized/partition-{p}-of-3")),
            "{names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_becomes_partitioned_where_it_was() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let seen: Seen = Arc::default();
    put(&*store, 15, "c").await;
    let lone = Consumer::new("resized", recording(&seen))
        .options(options())
        .start(store.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    lone.wait_for(15, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    lone.stop().await;
    seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
    put(&*store, 5, "d").await;
    run_partitioned(&store, 2, &seen).await;
    let mut handled = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    handled.sort_unstable();
    assert_eq!(handled, (16..=20).collect::<Vec<u64>>());
}
