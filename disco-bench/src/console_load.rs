//! `--console-load`: the web console under load, on the store of `--store`
//! (SQLite or PostgreSQL) filled with 1,000,000 events (times `--scale`)
//! written as the CQRS layer writes them (transfers of six events over
//! three streams, with correlation and causation). Reports:
//!
//! - how long the console's story index takes to read the store at start;
//! - each page's latency (p50, p95, p99) served to 8 concurrent clients for
//!   20 s (times `--scale`, at least 2 s): the overview, a stream's page,
//!   an event's page, a story (goal: p95 under 50 ms each);
//! - the CPU time one page costs (server and client together, from
//!   `/proc/self/stat`), which is what the pages take from writers on a
//!   machine with few cores;
//! - 8 writers' append rate with the console under load against the same
//!   writers alone, in 10 alternated windows (goal: at most 10% lower), under two
//!   loads: 8 clients each asking a page every 100 ms (80 pages/s, more
//!   than 8 people click), and 8 clients asking as fast as they are served
//!   (the ceiling: pages then take whatever CPU the writers leave).
//!
//! The filled store is kept, so a second run starts at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::{EventStore, ExpectedVersion, NewEvent, StreamId, Uuid};
use disco_console::{Console, ConsoleConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::writers::Failure;

/// Concurrent page clients and writers.
const CLIENTS: usize = 8;
/// Events per transfer (the bank example's shape).
const PER_TRANSFER: usize = 6;
/// Alternated windows of writers alone and writers with page clients.
const WINDOWS: usize = 10;
/// The page kinds, in the order each client cycles through them.
const PAGES: [&str; 4] = ["overview", "stream", "event", "story"];

/// The console load measurement; prints a table and JSON lines.
pub async fn run(url: &str, scale: f64) -> Result<(), Failure> {
    let events = ((1_000_000.0 * scale) as u64).max(6_000);
    let time = Duration::from_secs_f64((20.0 * scale).max(2.0));
    let store = disco::connect(url).await?;
    let transfers = fill(&*store, events).await?;
    for name in ["projector", "mailer", "transfer_flow"] {
        store
            .save_checkpoint(name, store.head_position().await?.saturating_sub(10))
            .await?;
    }
    let head = store.head_position().await?;

    let mut config = ConsoleConfig::new(url);
    config.listen = "127.0.0.1:0".parse()?;
    let console = Console::bind(config).await?;
    let addr = console.local_addr().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let server = tokio::spawn(console.serve(async {
        let _ = stopped.await;
    }));
    // The index is caught up when the story of the last transfer is whole.
    let last = transfers.saturating_sub(1);
    loop {
        let page = get(
            &mut None,
            &addr,
            &format!("/story?correlation={}", correlation(last)),
        )
        .await?;
        if page
            .1
            .contains(&format!("<b id=\"story-count\">{PER_TRANSFER}</b>"))
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("the story index did not catch up in 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let catch_up = started.elapsed();
    println!(
        "console on {} ({head} events): story index caught up in {:.1} s",
        disco_console::redact(url),
        catch_up.as_secs_f64()
    );

    // Pages alone, then alternating writers alone and writers under load.
    let cpu_before = cpu_seconds();
    let latencies = load(&addr, transfers, head, time, None).await?;
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let served: usize = latencies.values().map(Vec::len).sum();
    let mut table = Vec::new();
    for (kind, mut samples) in latencies {
        samples.sort_unstable();
        let at = |q: f64| crate::workloads::quantile(&samples, q).unwrap_or(Duration::ZERO);
        let (p50, p95, p99) = (at(0.5), at(0.95), at(0.99));
        table.push((kind, samples.len(), p50, p95, p99));
    }
    table.sort_by_key(|row| PAGES.iter().position(|p| *p == row.0));
    println!(
        "{:<10} {:>8} {:>9} {:>9} {:>9}  goal",
        "page", "requests", "p50 ms", "p95 ms", "p99 ms"
    );
    for (kind, n, p50, p95, p99) in &table {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{kind:<10} {n:>8} {:>9.2} {:>9.2} {:>9.2}  p95 < 50 ms {}",
            ms(p50),
            ms(p95),
            ms(p99),
            if ms(p95) < 50.0 { "ok" } else { "MISSED" }
        );
        println!(
            "{}",
            json!({"case": "console-page", "page": kind, "requests": n, "p50_ms": ms(p50), "p95_ms": ms(p95), "p99_ms": ms(p99), "events": head})
        );
    }
    if let Some(cpu) = cpu {
        let per_page = cpu / served.max(1) as f64 * 1000.0;
        println!(
            "CPU per page (console and client): {per_page:.2} ms ({served} pages in {:.0} s)",
            time.as_secs_f64()
        );
        println!(
            "{}",
            json!({"case": "console-cpu-per-page", "cpu_ms": per_page, "pages": served})
        );
    }
    // Short windows alternated many times, so the machine's drift falls on
    // both sides alike.
    let window = Duration::from_secs_f64((2.0 * scale).max(1.0));
    for (name, pace) in [
        ("paced", Some(Duration::from_millis(100))),
        ("flat-out", None),
    ] {
        let (mut alone, mut loaded, mut ratios) = (0.0, 0.0, Vec::new());
        for _ in 0..WINDOWS {
            let a = write(&store, window, None).await?;
            let l = write(&store, window, Some((&addr, transfers, head, pace))).await?;
            alone += a;
            loaded += l;
            ratios.push(l / a.max(1e-9));
        }
        ratios.sort_by(f64::total_cmp);
        let (lo, hi) = (ratios[0], ratios[ratios.len() - 1]);
        let ratio = loaded / alone;
        println!(
            "appends, 8 writers, {WINDOWS} windows of {:.0} s each way: alone {:.0}/s, with 8 {name} page clients {:.0}/s: {ratio:.2}x (windows {lo:.2}-{hi:.2})",
            window.as_secs_f64(),
            alone / WINDOWS as f64,
            loaded / WINDOWS as f64,
        );
        println!(
            "{}",
            json!({"case": "console-append-overhead", "load": name, "ratio": ratio, "window_min": lo, "window_max": hi, "goal_min": 0.9, "catch_up_s": catch_up.as_secs_f64()})
        );
    }
    let _ = stop.send(());
    let _ = server.await;
    store.close().await?;
    Ok(())
}

/// The correlation id of transfer `n` (fixed, so a kept store is reused).
fn correlation(n: u64) -> Uuid {
    Uuid::from_u128(0x7a1e_0000_0000_0000_0000_0000_0000_0000 | u128::from(n))
}

/// Fills the store with transfers up to `events` (nothing if it holds them
/// already); the number of transfers.
async fn fill(store: &dyn EventStore, events: u64) -> Result<u64, Failure> {
    let transfers = events / PER_TRANSFER as u64;
    let have = store.head_position().await?;
    if have >= transfers * PER_TRANSFER as u64 {
        return Ok(transfers);
    }
    if have > 0 {
        return Err(format!(
            "the store holds {have} events but not the console's fill: use an empty store"
        )
        .into());
    }
    let started = Instant::now();
    let mut batch = Vec::new();
    for n in 0..transfers {
        let c = correlation(n);
        let account = |k: u64| format!("account-{}", (n * 7 + k) % 10_000);
        let meta = |cause: Uuid, command: Uuid| {
            serde_json::to_vec(&json!({"schema_version": 1, "correlation_id": c, "causation_id": cause, "command_id": command}))
                .unwrap_or_default()
        };
        let started_id = Uuid::from_u128(u128::from(n) << 8 | 1);
        let debit_cmd = Uuid::from_u128(u128::from(n) << 8 | 2);
        let debited_id = Uuid::from_u128(u128::from(n) << 8 | 3);
        let credit_cmd = Uuid::from_u128(u128::from(n) << 8 | 4);
        let credited_id = Uuid::from_u128(u128::from(n) << 8 | 5);
        let data = |kind: &str| {
            serde_json::to_vec(&json!({kind: {"amount": 10, "transfer": n}})).unwrap_or_default()
        };
        let transfer = StreamId::new(format!("transfer-{n}"))?;
        let flow = StreamId::new(format!("transfer_flow-{n}"))?;
        batch.push((
            transfer.clone(),
            vec![NewEvent::new("TransferStarted", data("Started"))
                .with_id(started_id)
                .with_metadata(meta(c, c))],
        ));
        batch.push((
            StreamId::new(account(0))?,
            vec![NewEvent::new("AccountDebited", data("Debited"))
                .with_id(debited_id)
                .with_metadata(meta(started_id, debit_cmd))],
        ));
        batch.push((
            flow.clone(),
            vec![NewEvent::new("ProcessStep", data("Step"))
                .with_metadata(meta(started_id, started_id))],
        ));
        batch.push((
            StreamId::new(account(1))?,
            vec![NewEvent::new("AccountCredited", data("Credited"))
                .with_id(credited_id)
                .with_metadata(meta(debited_id, credit_cmd))],
        ));
        batch.push((
            flow,
            vec![NewEvent::new("ProcessStep", data("Step"))
                .with_metadata(meta(debited_id, debited_id))],
        ));
        batch.push((
            transfer,
            vec![NewEvent::new("TransferCompleted", data("Completed"))
                .with_metadata(meta(credited_id, Uuid::from_u128(u128::from(n) << 8 | 6)))],
        ));
        if batch.len() >= 3000 || n + 1 == transfers {
            let parts = std::mem::take(&mut batch)
                .into_iter()
                .map(|(stream, events)| (stream, ExpectedVersion::Any, events))
                .collect();
            for result in store.append_many(parts).await {
                result?;
            }
        }
    }
    println!(
        "filled {} events in {:.1} s",
        transfers * PER_TRANSFER as u64,
        started.elapsed().as_secs_f64()
    );
    Ok(transfers)
}

/// GET `path` on a kept-alive connection (opened again when needed):
/// (status, body).
async fn get(
    conn: &mut Option<TcpStream>,
    addr: &str,
    path: &str,
) -> Result<(u16, String), Failure> {
    for _ in 0..2 {
        if conn.is_none() {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            *conn = Some(stream);
        }
        let Some(stream) = conn.as_mut() else {
            continue;
        };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        if stream.write_all(request.as_bytes()).await.is_err() {
            *conn = None;
            continue;
        }
        match read_answer(stream).await {
            Ok(answer) => return Ok(answer),
            Err(_) => *conn = None,
        }
    }
    Err(format!("GET {path} failed twice").into())
}

/// One answer with a Content-Length.
async fn read_answer(stream: &mut TcpStream) -> Result<(u16, String), Failure> {
    let mut raw = Vec::with_capacity(16 * 1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or("an answer without content-length")?;
            if raw.len() >= split + 4 + length {
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let body =
                    String::from_utf8_lossy(&raw[split + 4..split + 4 + length]).into_owned();
                return Ok((status, body));
            }
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err("the connection closed".into());
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

/// A page of kind `kind`, picked by `n`.
fn path_of(kind: &str, n: u64, transfers: u64, head: u64) -> String {
    let t = n.wrapping_mul(2_654_435_761) % transfers.max(1);
    match kind {
        "overview" => "/".to_owned(),
        "stream" => format!("/stream?id=transfer-{t}"),
        "event" => format!(
            "/event?position={}",
            1 + n.wrapping_mul(40_503) % head.max(1)
        ),
        _ => format!("/story?correlation={}", correlation(t)),
    }
}

/// This process's CPU time (user and system) in seconds, where Linux's
/// `/proc/self/stat` says it.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, in ticks of
    // 1/100 s (USER_HZ on every Linux this runs on).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// 8 clients cycling through the pages for `time`, each asking one page
/// every `pace` if given, else as fast as it is served: each kind's
/// latencies.
async fn load(
    addr: &str,
    transfers: u64,
    head: u64,
    time: Duration,
    pace: Option<Duration>,
) -> Result<HashMap<&'static str, Vec<Duration>>, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (stop, addr) = (stop.clone(), addr.to_owned());
        tasks.spawn(async move {
            let mut conn = None;
            let mut seen: HashMap<&'static str, Vec<Duration>> = HashMap::new();
            let mut n = client as u64 * 1_000_003;
            let mut tick = pace.map(tokio::time::interval);
            while !stop.load(Ordering::Acquire) {
                for kind in PAGES {
                    if let Some(tick) = tick.as_mut() {
                        tick.tick().await;
                    }
                    n += 1;
                    let path = path_of(kind, n, transfers, head);
                    let t = Instant::now();
                    let (status, _) = get(&mut conn, &addr, &path).await?;
                    if status != 200 {
                        return Err::<_, Failure>(format!("{path} answered {status}").into());
                    }
                    seen.entry(kind).or_default().push(t.elapsed());
                }
            }
            Ok(seen)
        });
    }
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Release);
    let mut all: HashMap<&'static str, Vec<Duration>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        for (kind, samples) in done?? {
            all.entry(kind).or_default().extend(samples);
        }
    }
    Ok(all)
}

/// 8 writers appending one event at a time for `time` (with the pages'
/// load on the console at `console` if given): events per second.
async fn write(
    store: &Arc<dyn EventStore>,
    time: Duration,
    console: Option<(&str, u64, u64, Option<Duration>)>,
) -> Result<f64, Failure> {
    let (events, seconds) = crate::writers::append_while(store, CLIENTS, async {
        match console {
            Some((addr, transfers, head, pace)) => {
                load(addr, transfers, head, time, pace).await?;
            }
            None => tokio::time::sleep(time).await,
        }
        Ok(())
    })
    .await?;
    Ok(events as f64 / seconds)
}
