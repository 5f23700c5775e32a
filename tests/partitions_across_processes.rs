//! Partitioned consumers across processes, on SQLite (one file) and
//! PostgreSQL: members join (a second, then a third process), one is killed
//! with `kill -9`; every event is handled, each stream's events first
//! arrive in order, and no stream is ever handled by two processes at once
//! (each handling's start and end are logged by the process that did it).

#[path = "support/temp.rs"]
mod temp;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use disco::consumer::{handler_fn, ConsumerOptions, PartitionedConsumer};
use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
use temp::TempDir;

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;

const URL: &str = "DISCO_PARTITION_URL";
const LOG: &str = "DISCO_PARTITION_LOG";
const NAME: &str = "shared-across-processes";
const STREAMS: usize = 30;
const PER: usize = 8;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The child: one member, logging `pid stream version start end` per event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a member process of the across-processes tests, started by them"]
async fn partition_member_child() {
    let url = std::env::var(URL).expect("the store URL");
    let log = std::env::var(LOG).expect("the log file");
    let store = disco::connect(&url).await.expect("open the store");
    let options = ConsumerOptions {
        lease_ttl: Duration::from_secs(2),
        takeover_poll: Duration::from_millis(50),
        checkpoint_every_events: 5,
        checkpoint_every: Duration::from_millis(50),
        poll_interval: Duration::from_millis(100),
        ..ConsumerOptions::default()
    };
    let handler = handler_fn(move |event| {
        let line_of = (event.stream_id.to_string(), event.version);
        let log = log.clone();
        async move {
            let start = now_ns();
            tokio::time::sleep(Duration::from_millis(3)).await;
            let line = format!(
                "{} {} {} {start} {}\n",
                std::process::id(),
                line_of.0,
                line_of.1,
                now_ns()
            );
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&log)?;
            file.write_all(line.as_bytes())?;
            Ok(())
        }
    });
    let handle = PartitionedConsumer::new(NAME, 4, handler)
        .options(options)
        .start(store)
        .expect("start");
    tokio::time::sleep(Duration::from_secs(600)).await;
    handle.stop().await;
}

fn spawn(url: &str, log: &std::path::Path) -> Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--ignored",
            "--exact",
            "partition_member_child",
            "--nocapture",
        ])
        .env(URL, url)
        .env(LOG, log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a member")
}

/// One logged handling: (pid, stream, version, start, end).
type Entry = (u32, String, u64, u128, u128);

/// Every logged handling.
fn read_log(path: &std::path::Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            Some((
                f.first()?.parse().ok()?,
                (*f.get(1)?).to_owned(),
                f.get(2)?.parse().ok()?,
                f.get(3)?.parse().ok()?,
                f.get(4)?.parse().ok()?,
            ))
        })
        .collect()
}

async fn fill(store: &dyn EventStore, tag: &str) {
    for v in 0..PER {
        for i in 0..STREAMS {
            let stream = StreamId::new(format!("{tag}-{i}")).expect("stream id");
            store
                .append(
                    &stream,
                    ExpectedVersion::Exact(v as u64),
                    vec![NewEvent::new("Work", Vec::new())],
                )
                .await
                .expect("append");
        }
    }
}

fn distinct(log: &[Entry]) -> usize {
    let mut pairs: Vec<(&str, u64)> = log.iter().map(|l| (l.1.as_str(), l.2)).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs.len()
}

async fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn across_processes(url: &str) {
    let dir = TempDir::new("partition-log");
    let log = dir.file("handled.log");
    let store = disco::connect(url).await.expect("open the store");
    fill(&*store, "first").await;
    let mut first = spawn(url, &log);
    wait_until("the first member's work", Duration::from_secs(60), || {
        read_log(&log).len() >= 30
    })
    .await;
    let mut second = spawn(url, &log);
    let mut third = spawn(url, &log);
    fill(&*store, "second").await;
    wait_until("work by a joining member", Duration::from_secs(60), || {
        let pids: std::collections::BTreeSet<u32> = read_log(&log).iter().map(|l| l.0).collect();
        pids.len() >= 2
    })
    .await;
    first.kill().expect("kill -9 the first member");
    first.wait().expect("reap it");
    fill(&*store, "third").await;
    let total = 3 * STREAMS * PER;
    wait_until("every event", Duration::from_secs(120), || {
        distinct(&read_log(&log)) >= total
    })
    .await;
    for child in [&mut second, &mut third] {
        child.kill().expect("kill a member");
        child.wait().expect("reap it");
    }

    let entries = read_log(&log);
    let mut by_stream: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in &entries {
        by_stream.entry(entry.1.as_str()).or_default().push(entry);
    }
    assert_eq!(by_stream.len(), 3 * STREAMS);
    for (stream, mut handled) in by_stream {
        handled.sort_by_key(|e| e.3);
        for pair in handled.windows(2) {
            assert!(
                pair[1].3 >= pair[0].4,
                "{stream} was handled by {} and {} at once",
                pair[0].0,
                pair[1].0
            );
        }
        let mut first_seen: Vec<u64> = Vec::new();
        for e in &handled {
            if !first_seen.contains(&e.2) {
                first_seen.push(e.2);
            }
        }
        let want: Vec<u64> = (1..=PER as u64).collect();
        assert_eq!(
            first_seen, want,
            "{stream}'s events in first-delivery order"
        );
    }
    let pids: std::collections::BTreeSet<u32> = entries.iter().map(|e| e.0).collect();
    assert!(pids.len() >= 2, "only {pids:?} did any work");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_members_in_three_processes_share_and_survive_a_kill() {
    let dir = TempDir::new("partition-sqlite");
    across_processes(&format!("sqlite:{}", dir.file("store.db").display())).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_members_in_three_processes_share_and_survive_a_kill() {
    let (schema, url) = pg::Schema::new().await;
    across_processes(&url).await;
    schema.drop().await;
}
