//! Durability (rule 9): a child process appends with four concurrent writers
//! and reports every acknowledged append; the test kills it with SIGKILL at a
//! random moment, reopens the file and checks that every acknowledged event
//! is there, that no batch is partial, and that versions have no holes.
//! Twelve kills per run, on the same file.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use disco_core::{EventStore, ReadDirection, StreamId, Uuid};
use disco_store_sqlite::{SqliteOptions, SqliteStore};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const CHILD: &str = env!("CARGO_BIN_EXE_disco-sqlite-test-child");
const KILLS: usize = 12;
const WRITERS: usize = 4;

#[derive(Default)]
struct Ledger {
    /// Every batch the child tried to append: its ids, by stream.
    attempted: Vec<(String, Vec<Uuid>)>,
    /// Every batch the store acknowledged: stream, first and last version, ids.
    acked: Vec<(String, u64, u64, Vec<Uuid>)>,
    /// Lines that did not parse (at most one per kill: a line cut by the kill).
    garbled: usize,
}

fn parse_ids(text: &str) -> Option<Vec<Uuid>> {
    text.split(',').map(|id| Uuid::parse_str(id).ok()).collect()
}

impl Ledger {
    fn record(&mut self, line: &str) {
        let parts: Vec<&str> = line.split(' ').collect();
        let parsed = match parts.as_slice() {
            ["try", stream, ids] => parse_ids(ids).map(|ids| {
                self.attempted.push((stream.to_string(), ids));
            }),
            ["ack", stream, first, last, ids] => (|| {
                let (first, last, ids) = (first.parse().ok()?, last.parse().ok()?, parse_ids(ids)?);
                (ids.len() as u64 == last - first + 1).then(|| {
                    self.acked.push((stream.to_string(), first, last, ids));
                })
            })(),
            _ => None,
        };
        if parsed.is_none() {
            self.garbled += 1;
        }
    }
}

fn random_below(n: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(n)) as u64
}

async fn verify(path: &Path, ledger: &Ledger) -> usize {
    let store = match SqliteStore::open(path, SqliteOptions::default()).await {
        Ok(store) => store,
        Err(e) => panic!("the file does not reopen after SIGKILL: {e}"),
    };
    let mut located: HashMap<Uuid, (String, u64)> = HashMap::new();
    let mut total = 0;
    for w in 0..WRITERS {
        let stream = StreamId::new(format!("crash-{w}")).expect("valid stream id");
        let events = store
            .read_stream(&stream, 1, ReadDirection::Forward, usize::MAX)
            .await
            .unwrap_or_else(|e| panic!("reading {stream} after the kill failed: {e}"));
        for (i, e) in events.iter().enumerate() {
            assert_eq!(
                e.version,
                i as u64 + 1,
                "{stream} has a hole before version {}",
                e.version
            );
            located.insert(e.id, (stream.to_string(), e.version));
        }
        total += events.len();
    }
    for (stream, first, last, ids) in &ledger.acked {
        for (offset, id) in ids.iter().enumerate() {
            let at = located.get(id);
            assert_eq!(
                at,
                Some(&(stream.clone(), first + offset as u64)),
                "acknowledged event {id} (versions {first}..={last} of {stream}) is missing or moved"
            );
        }
    }
    for (stream, ids) in &ledger.attempted {
        let present: Vec<_> = ids.iter().filter_map(|id| located.get(id)).collect();
        assert!(
            present.is_empty() || present.len() == ids.len(),
            "a batch of {} events to {stream} is partial: {} present",
            ids.len(),
            present.len()
        );
    }
    let all = store
        .read_all(0, usize::MAX)
        .await
        .expect("read_all after the kill");
    assert_eq!(all.len(), total, "read_all and the streams disagree");
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position),
        "positions not ascending"
    );
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_sigkill() {
    let dir = common::TempDir::new("crash");
    let path = dir.file("crash.db");
    let mut ledger = Ledger::default();
    let mut stored = 0;
    for round in 0..KILLS {
        let mut child = Command::new(CHILD)
            .args([
                "append-loop",
                &path.display().to_string(),
                &WRITERS.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHILD}: {e}"));
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(100 + random_below(400));
        let acked_before = ledger.acked.len();
        loop {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => ledger.record(&line),
                    Ok(None) => {
                        let out = child.wait_with_output().await.expect("child output");
                        panic!("round {round}: the child stopped by itself: {}", String::from_utf8_lossy(&out.stderr));
                    }
                    Err(e) => panic!("round {round}: reading the child failed: {e}"),
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        child.start_kill().expect("SIGKILL the child");
        let _ = child.wait().await;
        while let Ok(Some(line)) = lines.next_line().await {
            ledger.record(&line);
        }
        assert!(
            ledger.acked.len() > acked_before,
            "round {round}: the child acknowledged nothing"
        );
        assert!(ledger.garbled <= round + 1, "more garbled lines than kills");
        let now = verify(&path, &ledger).await;
        assert!(now >= stored, "events disappeared: {now} after {stored}");
        stored = now;
    }
    println!(
        "{KILLS} kills: {} acknowledged appends, {} attempted, {stored} events stored",
        ledger.acked.len(),
        ledger.attempted.len()
    );
}
