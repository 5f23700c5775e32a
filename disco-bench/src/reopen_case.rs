//! `reopen-after-kill`: how long opening a redb store takes after the
//! process that wrote it was killed (`kill -9`), against opening the same
//! file after a clean close. A child process (this binary, with the hidden
//! `--fill-redb` flag) fills a store to the case's size and waits; the bench
//! kills it and times the open that has to recover the file, without the
//! integrity check ([`RedbOptions::check_integrity_on_open`]): what quick
//! repair bounds. The opens after the clean close are timed with the check
//! (the default, whose cost grows with the file) and without it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, Result, StreamId};
use disco_store_redb::{RedbOptions, RedbStore};

use crate::workloads::{Measurement, Sizes};

/// Data bytes of each filling event.
const FILL_EVENT_BYTES: usize = 1024;
/// Events per filling append.
const FILL_BATCH: usize = 500;

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend(format!("{what}: {e}"))
}

/// The child's side: fills the store at `path` until the file holds at
/// least `mib` MiB, prints `filled EVENTS`, then waits to be killed.
pub async fn fill_and_wait(path: &Path, mib: u64) -> Result<()> {
    let store = RedbStore::open(path, RedbOptions::default()).await?;
    let target = mib.saturating_mul(1024 * 1024);
    let mut events = 0u64;
    let mut round = 0u64;
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) < target {
        let stream = StreamId::new(format!("fill-{round}"))?;
        let batch: Vec<NewEvent> = (0..FILL_BATCH)
            .map(|_| NewEvent::new("Filled", vec![b'x'; FILL_EVENT_BYTES]))
            .collect();
        store
            .append(&stream, ExpectedVersion::NoStream, batch)
            .await?;
        events += FILL_BATCH as u64;
        round += 1;
    }
    println!("filled {events}");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

/// Runs the case on a redb file named after `base`: (the open after a
/// kill, the opens after a clean close). The first's latency is one open's
/// duration; the second's is (the open with the integrity check, the open
/// without it).
pub async fn run(base: &Path, sizes: Sizes) -> Result<(Measurement, Measurement)> {
    let path = base.with_file_name(format!(
        "{}-reopen-after-kill.redb",
        base.file_name().map_or_else(
            || "disco-bench".into(),
            |n| n.to_string_lossy().into_owned()
        )
    ));
    let _ = std::fs::remove_file(&path);
    let measured = measure(&path, sizes.reopen_mib).await;
    let _ = std::fs::remove_file(&path);
    measured
}

async fn measure(path: &Path, mib: u64) -> Result<(Measurement, Measurement)> {
    let events = fill_in_child(path, mib)?;
    let unchecked = || RedbOptions::default().check_integrity_on_open(false);
    let after_kill = timed_open(path, events, unchecked()).await?;
    let checked = timed_open(path, events, RedbOptions::default()).await?;
    let unchecked = timed_open(path, events, unchecked()).await?;
    let mut after_close = checked;
    after_close.latency = Some((checked.elapsed, unchecked.elapsed));
    Ok((after_kill, after_close))
}

/// Starts the filling child, waits for it to report, and kills it.
fn fill_in_child(path: &Path, mib: u64) -> Result<u64> {
    let exe = std::env::current_exe().map_err(|e| failed("the bench binary", e))?;
    let mut child = Command::new(exe)
        .arg("--fill-redb")
        .arg(path)
        .arg("--fill-mib")
        .arg(mib.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed("spawn the filling child", e))?;
    let line = child.stdout.take().and_then(|out| {
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).ok().map(|_| line)
    });
    // SIGKILL: the child gets no chance to close the file.
    let _ = child.kill();
    let _ = child.wait();
    let line = line.unwrap_or_default();
    line.trim()
        .strip_prefix("filled ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| failed("the filling child", format!("answered {line:?}")))
}

/// Opens the store, reads its head (the open is usable), closes it
/// cleanly: one sample whose latency is the open's duration.
async fn timed_open(path: &Path, events: u64, options: RedbOptions) -> Result<Measurement> {
    let start = Instant::now();
    let store = RedbStore::open(path, options).await?;
    let head = store.head_position().await?;
    let took = start.elapsed();
    store.close().await?;
    if head != events {
        return Err(failed(
            "reopen-after-kill",
            format!("the store holds {head} events, the child wrote {events}"),
        ));
    }
    let mut m = Measurement::with_latencies(vec![took], start);
    m.elapsed = took;
    Ok(m)
}
