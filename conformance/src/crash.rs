//! The durability harness (rule 9), shared by the durable stores.
//!
//! The child is the store's own test binary, run again: a test first asks
//! [`child_role`] whether it was started as a child, and if so opens the store
//! at the given path and hands it to [`child_main`]; otherwise it is the
//! parent and starts children with [`child_command`]. The child appends batches of
//! 1 to 5 events with several concurrent writers and reports each attempt
//! and each acknowledged append on stdout; the parent kills it with SIGKILL
//! at a random moment, reopens the file and checks that every acknowledged
//! event is there, that no batch is partial, that versions have no holes and
//! that read_all agrees with the streams. Then it starts the next child on
//! the same file.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use disco_core::{EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId, Timestamp, Uuid};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The environment variable that makes a test binary a child: the store's
/// path, a newline, then the child's arguments separated by spaces.
pub const CHILD_ENV: &str = "DISCO_TEST_CHILD";

/// If this process was started by [`child_command`], the store path and the
/// child's arguments.
pub fn child_role() -> Option<(PathBuf, Vec<String>)> {
    let value = std::env::var(CHILD_ENV).ok()?;
    let (path, args) = value.split_once('\n')?;
    Some((
        PathBuf::from(path),
        args.split(' ').map(str::to_owned).collect(),
    ))
}

/// A command that runs the test `test_name` of the current test binary as a
/// child on the store at `path`, with `args` for [`child_main`].
pub fn child_command(test_name: &str, path: &Path, args: &[&str]) -> Command {
    let exe =
        std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let mut command = Command::new(exe);
    command
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}\n{}", path.display(), args.join(" ")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Streams the child writes: `crash-0`, `crash-1`, ...
fn crash_stream(writer: usize) -> Result<StreamId, String> {
    StreamId::new(format!("crash-{writer}")).map_err(|e| e.to_string())
}

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    // A closed pipe means the parent is gone; stop quietly.
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

fn id_list(events: &[NewEvent]) -> String {
    events
        .iter()
        .map(|e| e.id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The child side. Arguments after the store's own: `append-loop WRITERS`
/// appends forever (until killed), printing `try STREAM IDS` before and
/// `ack STREAM FIRST LAST IDS` after each append; `append-once STREAM COUNT`
/// appends COUNT events in one append and prints `committed MICROS`;
/// `hold` prints `ready` and waits to be killed.
pub async fn child_main(store: Arc<dyn EventStore>, args: &[String]) -> Result<(), String> {
    // The test harness has printed "test NAME ... " without a line end.
    say(String::new());
    match args {
        [mode, writers] if mode == "append-loop" => {
            let writers: usize = writers
                .parse()
                .map_err(|_| format!("bad writer count {writers:?}"))?;
            let mut tasks = Vec::new();
            for w in 0..writers {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let stream = crash_stream(w)?;
                    let mut version = store
                        .stream_version(&stream)
                        .await
                        .map_err(|e| e.to_string())?;
                    for n in 0u64.. {
                        let size = 1 + (n as usize * 7 + w) % 5;
                        let batch: Vec<NewEvent> = (0..size)
                            .map(|i| NewEvent::new("Tick", format!("{w}:{n}:{i}").into_bytes()))
                            .collect();
                        let ids = id_list(&batch);
                        say(format!("try {stream} {ids}"));
                        let r = store
                            .append(&stream, ExpectedVersion::Exact(version), batch)
                            .await
                            .map_err(|e| e.to_string())?;
                        version = r.last_version;
                        say(format!(
                            "ack {stream} {} {} {ids}",
                            r.first_version, r.last_version
                        ));
                    }
                    Ok::<(), String>(())
                }));
            }
            for task in tasks {
                task.await.map_err(|e| e.to_string())??;
            }
            Ok(())
        }
        [mode, stream, count] if mode == "append-once" => {
            let stream = StreamId::new(stream).map_err(|e| e.to_string())?;
            let count: usize = count.parse().map_err(|_| format!("bad count {count:?}"))?;
            let batch: Vec<NewEvent> = (0..count)
                .map(|i| NewEvent::new("Remote", vec![i as u8]))
                .collect();
            store
                .append(&stream, ExpectedVersion::Any, batch)
                .await
                .map_err(|e| e.to_string())?;
            say(format!("committed {}", Timestamp::now().as_micros()));
            Ok(())
        }
        [mode] if mode == "hold" => {
            say("ready".into());
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
        _ => Err(format!(
            "unknown arguments {args:?}; use append-loop WRITERS | append-once STREAM COUNT | hold"
        )),
    }
}

/// What the parent learned from the child's output.
#[derive(Default, Debug)]
pub struct Ledger {
    /// Every batch the child tried to append: stream and ids.
    pub attempted: Vec<(String, Vec<Uuid>)>,
    /// Every acknowledged batch: stream, first and last version, ids.
    pub acked: Vec<(String, u64, u64, Vec<Uuid>)>,
    /// `try`/`ack` lines that did not parse (a kill can cut at most one per
    /// run). Other lines (the test harness's own) are ignored.
    pub garbled: usize,
}

fn parse_ids(text: &str) -> Option<Vec<Uuid>> {
    text.split(',').map(|id| Uuid::parse_str(id).ok()).collect()
}

impl Ledger {
    /// Records one line of the child's output.
    pub fn record(&mut self, line: &str) {
        let parts: Vec<&str> = line.split(' ').collect();
        let parsed = match parts.as_slice() {
            ["try", stream, ids] => {
                parse_ids(ids).map(|ids| self.attempted.push((stream.to_string(), ids)))
            }
            ["ack", stream, first, last, ids] => (|| {
                let (first, last, ids): (u64, u64, _) =
                    (first.parse().ok()?, last.parse().ok()?, parse_ids(ids)?);
                (ids.len() as u64 == last.checked_sub(first)? + 1)
                    .then(|| self.acked.push((stream.to_string(), first, last, ids)))
            })(),
            _ => Some(()),
        };
        if parsed.is_none() {
            self.garbled += 1;
        }
    }
}

/// Checks a reopened store against the ledger; returns how many events the
/// child's streams hold.
pub async fn verify(store: &dyn EventStore, ledger: &Ledger, writers: usize) -> usize {
    let mut located: HashMap<Uuid, (String, u64)> = HashMap::new();
    let mut total = 0;
    for w in 0..writers {
        let stream = crash_stream(w).expect("valid stream id");
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
            assert_eq!(
                located.get(id),
                Some(&(stream.clone(), first + offset as u64)),
                "acknowledged event {id} (versions {first}..={last} of {stream}) is missing or moved"
            );
        }
    }
    for (stream, ids) in &ledger.attempted {
        let present = ids.iter().filter(|id| located.contains_key(id)).count();
        assert!(
            present == 0 || present == ids.len(),
            "a batch of {} events to {stream} is partial: {present} present",
            ids.len()
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

fn random_below(n: u64) -> u64 {
    (Uuid::new_v4().as_u128() % u128::from(n)) as u64
}

/// The parent side: starts `child()` (a [`child_command`] with
/// `append-loop WRITERS`) `kills` times on the same file, kills it with
/// SIGKILL 100 to 500 ms after its first report, and verifies the store `reopen` returns after
/// each kill; `close` must release the file before the next child starts.
pub async fn kill_loop<K, S, R, RF, C, CF>(
    child: K,
    writers: usize,
    kills: usize,
    reopen: R,
    close: C,
) -> Ledger
where
    K: Fn() -> Command,
    S: EventStore,
    R: Fn() -> RF,
    RF: Future<Output = S>,
    C: Fn(S) -> CF,
    CF: Future<Output = ()>,
{
    let mut ledger = Ledger::default();
    let mut stored = 0;
    for round in 0..kills {
        let mut process = child()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the child process: {e}"));
        let stdout = process.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let acked_before = ledger.acked.len();
        // The kill's moment is drawn from when the child first reports (it is
        // then appending), not from its start: a debug child's start-up can
        // take most of the shortest delay, and a kill before any append
        // tests nothing.
        match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
            Ok(Ok(Some(line))) => ledger.record(&line),
            other => {
                let _ = process.start_kill();
                panic!("round {round}: the child reported nothing within 30 s: {other:?}");
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(100 + random_below(400));
        loop {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => ledger.record(&line),
                    Ok(None) => {
                        let out = process.wait_with_output().await.expect("child output");
                        panic!("round {round}: the child stopped by itself: {}", String::from_utf8_lossy(&out.stderr));
                    }
                    Err(e) => panic!("round {round}: reading the child failed: {e}"),
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        process.start_kill().expect("SIGKILL the child");
        let _ = process.wait().await;
        while let Ok(Some(line)) = lines.next_line().await {
            ledger.record(&line);
        }
        assert!(
            ledger.acked.len() > acked_before,
            "round {round}: the child acknowledged nothing"
        );
        assert!(ledger.garbled <= round + 1, "more garbled lines than kills");
        let store = reopen().await;
        let now = verify(&store, &ledger, writers).await;
        close(store).await;
        assert!(now >= stored, "events disappeared: {now} after {stored}");
        stored = now;
    }
    ledger
}
