//! `--nats-memory`: what a NATS store costs the servers in memory, per
//! million events and per million streams. JetStream keeps an index entry
//! in memory for each distinct subject of a stream; a disco store has one
//! subject per stream (its events) and one per event id (its claim), so
//! both counts matter. Writes `count` events to one stream, then `count`
//! streams of one event each, into fresh stores, and reads the servers'
//! resident memory (`mem` of `/varz`, summed over the monitoring endpoints
//! the URL's `monitor=` names) before and after each.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, Result, StreamId};
use disco_store_nats::{options_of_url, NatsOptions, NatsStore};

/// Data bytes of each event (the bench's usual size).
const EVENT_BYTES: usize = 200;
/// Events per append (the store's most).
const PER_APPEND: usize = 500;

/// The servers' resident memory, summed.
fn servers_memory(monitors: &[String]) -> Result<u64> {
    let mut total = 0u64;
    for monitor in monitors {
        let mut socket = std::net::TcpStream::connect(monitor)
            .map_err(|e| Error::Unavailable(format!("monitor {monitor}: {e}")))?;
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| Error::Unavailable(format!("monitor {monitor}: {e}")))?;
        write!(socket, "GET /varz HTTP/1.0\r\nHost: {monitor}\r\n\r\n")
            .map_err(|e| Error::Unavailable(format!("monitor {monitor}: {e}")))?;
        let mut answer = String::new();
        socket
            .read_to_string(&mut answer)
            .map_err(|e| Error::Unavailable(format!("monitor {monitor}: {e}")))?;
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let varz: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| Error::Backend(format!("monitor {monitor}: /varz: {e}")))?;
        total += varz["mem"].as_u64().unwrap_or(0);
    }
    Ok(total)
}

fn event() -> NewEvent {
    NewEvent::new("Measured", vec![b'x'; EVENT_BYTES])
}

/// What a measurement writes.
#[derive(Clone, Copy)]
enum Shape {
    /// `count` events on one stream.
    OneStream,
    /// `count` streams of one event each.
    ManyStreams,
}

/// Writes `count` events shaped as `shape` into a fresh store of
/// `options`, and prints what the servers' memory grew by.
async fn measure(
    servers: &[String],
    options: &NatsOptions,
    monitors: &[String],
    shape: Shape,
    count: usize,
) -> Result<()> {
    let _ = NatsStore::drop_at(servers, options.clone()).await;
    let store = NatsStore::connect(servers, options.clone()).await?;
    let before = servers_memory(monitors)?;
    let started = Instant::now();
    for n in 0..count / PER_APPEND {
        match shape {
            Shape::OneStream => {
                let batch = (0..PER_APPEND).map(|_| event()).collect();
                let stream = StreamId::new("measured-1")?;
                let expected = ExpectedVersion::Exact((n * PER_APPEND) as u64);
                store.append(&stream, expected, batch).await?;
            }
            Shape::ManyStreams => {
                let parts = (0..PER_APPEND)
                    .map(|i| {
                        StreamId::new(format!("measured-{}", n * PER_APPEND + i))
                            .map(|s| (s, ExpectedVersion::NoStream, vec![event()]))
                    })
                    .collect::<Result<Vec<_>>>()?;
                store.append_atomic(parts).await?;
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = servers_memory(monitors)?;
    let per_one = after.saturating_sub(before) as f64 / count as f64;
    let (what, each) = match shape {
        Shape::OneStream => ("events on one stream", "event"),
        Shape::ManyStreams => ("streams of one event", "stream (its event included)"),
    };
    println!(
        "  {count} {what}: {:.0} -> {:.0} MiB in {:.0?}: {per_one:.0} bytes per {each}, {:.0} MiB per million",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        started.elapsed(),
        per_one * 1e6 / 1048576.0
    );
    store.close().await
}

/// Runs the measurement and prints its table.
pub async fn run(url: &str, count: usize) -> Result<()> {
    let (servers, options) = options_of_url(url)?;
    if options.monitor.is_empty() {
        return Err(Error::InvalidInput(
            "--nats-memory reads the servers' memory from their monitoring ports: add monitor=HOST:PORT,... to the URL".into(),
        ));
    }
    let count = count.max(PER_APPEND);
    let fresh = |suffix: &str| {
        let mut options = options.clone();
        options.store = format!("{}{suffix}", options.store);
        options.accept_ack_before_fsync = true;
        options
    };
    println!(
        "servers' resident memory (sum over {} monitoring endpoints), {count} events of {EVENT_BYTES} bytes:",
        options.monitor.len()
    );

    let events_options = fresh("memev");
    measure(
        &servers,
        &events_options,
        &options.monitor,
        Shape::OneStream,
        count,
    )
    .await?;
    let streams_options = fresh("memst");
    measure(
        &servers,
        &streams_options,
        &options.monitor,
        Shape::ManyStreams,
        count,
    )
    .await?;
    // DISCO_BENCH_KEEP=1 keeps both stores, to measure the servers again
    // after a restart (when the index is rebuilt from disk, without the
    // write buffers).
    if std::env::var("DISCO_BENCH_KEEP").is_ok_and(|v| v == "1") {
        println!(
            "  kept the stores {} and {}",
            events_options.store, streams_options.store
        );
        return Ok(());
    }
    NatsStore::drop_at(&servers, events_options).await?;
    NatsStore::drop_at(&servers, streams_options).await?;
    Ok(())
}
