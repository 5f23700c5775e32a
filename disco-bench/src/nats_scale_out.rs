//! `--nats-scale-out N`: the aggregate append rate of N stores on one NATS
//! cluster written at once, against one store alone. Each store is its own
//! pair of JetStream streams, led by whichever node the cluster places it
//! on (one Raft group per stream), so stores spread over the nodes; one
//! store's appends all go through its stream's leader. Each store gets
//! eight writers appending one event at a time, for a fixed time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, Result, StreamId};
use disco_store_nats::{options_of_url, NatsOptions, NatsStore};

const WRITERS: usize = 8;

/// Eight writers on each of `stores` for `time`: events appended.
async fn write(stores: &[Arc<NatsStore>], time: Duration) -> Result<u64> {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..WRITERS {
            let (store, stop, count) = (store.clone(), stop.clone(), count.clone());
            tasks.spawn(async move {
                let stream = StreamId::new(format!("writer-{s}-{w}"))?;
                let mut version = store.stream_version(&stream).await?;
                while !stop.load(Ordering::Acquire) {
                    let event = NewEvent::new("Written", vec![b'x'; 200]);
                    store
                        .append(&stream, ExpectedVersion::Exact(version), vec![event])
                        .await?;
                    version += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), Error>(())
            });
        }
    }
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Release);
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| Error::Backend(format!("a writer failed: {e}")))??;
    }
    Ok(count.load(Ordering::Relaxed))
}

/// The node leading each store's events stream.
async fn leaders(client: &async_nats::Client, names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        let leader = client
            .request(format!("$JS.API.STREAM.INFO.DISCO_E_{name}"), "".into())
            .await
            .ok()
            .and_then(|a| serde_json::from_slice::<serde_json::Value>(&a.payload).ok())
            .and_then(|i| {
                i.pointer("/cluster/leader")
                    .and_then(|l| l.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| "?".into());
        out.push(leader);
    }
    out
}

/// Runs the case and prints its lines.
pub async fn run(url: &str, n: usize, time: Duration) -> Result<()> {
    let (servers, options) = options_of_url(url)?;
    let n = n.max(1);
    let names: Vec<String> = (0..n).map(|i| format!("{}so{i}", options.store)).collect();
    let mut stores = Vec::new();
    for name in &names {
        let mut own: NatsOptions = options.clone();
        own.store = name.clone();
        let _ = NatsStore::drop_at(&servers, own.clone()).await;
        stores.push(Arc::new(NatsStore::connect(&servers, own).await?));
    }
    let client = crate::baseline::nats::connect(&servers).await?;
    let placed = leaders(&client, &names).await;

    let started = Instant::now();
    let one = write(&stores[..1], time).await?;
    let one_rate = one as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let all = write(&stores, time).await?;
    let all_rate = all as f64 / started.elapsed().as_secs_f64();
    println!(
        "scale-out (R{}, {WRITERS} writers per store, {time:?} each): one store {one_rate:.0} ev/s; {n} stores at once {all_rate:.0} ev/s in all ({:.2}x one store); leaders: {}",
        options.replicas,
        all_rate / one_rate.max(1.0),
        placed.join(", ")
    );
    println!(
        "{{\"case\":\"nats-scale-out\",\"replicas\":{},\"stores\":{n},\"one_store_events_per_s\":{one_rate:.0},\"all_stores_events_per_s\":{all_rate:.0},\"ratio\":{:.3}}}",
        options.replicas,
        all_rate / one_rate.max(1.0)
    );
    for (store, name) in stores.iter().zip(&names) {
        store.close().await?;
        let mut own = options.clone();
        own.store = name.clone();
        NatsStore::drop_at(&servers, own).await?;
    }
    Ok(())
}
