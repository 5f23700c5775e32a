//! Several processes on one file: an append in one is visible in the other,
//! wakes its waiting reader within 100 ms, and both keep one global order.

use disco_conformance::helpers::TempDir;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use disco_conformance::crash;
use disco_core::{EventStore, ExpectedVersion, NewEvent, StreamId, Timestamp};
use disco_store_sqlite::{SqliteOptions, SqliteStore};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Runs this binary's test `name` as a child if it was started as one.
async fn child_role() -> bool {
    let Some((path, args)) = crash::child_role() else {
        return false;
    };
    let store: Arc<dyn EventStore> = Arc::new(open(&path).await);
    if let Err(e) = crash::child_main(store, &args).await {
        panic!("child failed: {e}");
    }
    true
}

async fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_append_is_visible_and_wakes_a_waiting_reader_within_100ms() {
    if child_role().await {
        return;
    }
    let dir = TempDir::new("sqlite-multi");
    let path = dir.file("shared.db");
    let store = open(&path).await;
    let mut worst = 0i64;
    for round in 0..5 {
        let head = store.head_position().await.expect("head");
        let mut notes = store.notifications();
        let waiter = tokio::spawn(async move {
            let woke = notes.wait_beyond(head).await;
            (woke, Timestamp::now().as_micros())
        });
        let stream = format!("remote-{round}");
        let out = crash::child_command(
            "another_process_append_is_visible_and_wakes_a_waiting_reader_within_100ms",
            &path,
            &["append-once", &stream, "3"],
        )
        .output()
        .await
        .expect("the child runs");
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let committed: i64 = stdout
            .lines()
            .find_map(|l| l.strip_prefix("committed "))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected child output {stdout:?}"));
        let (woke, at) = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the reader was not woken within 5 s")
            .expect("waiter task");
        assert!(woke.expect("wait_beyond") > head);
        worst = worst.max(at - committed);
        let events = store.read_all(head, 100).await.expect("read_all");
        assert_eq!(events.len(), 3);
        assert!(events
            .iter()
            .all(|e| e.stream_id.as_str() == format!("remote-{round}")));
    }
    println!("worst wake-up latency across processes: {} us", worst);
    assert!(
        worst < 100_000,
        "a reader woke {worst} us after another process committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_appending_at_once_keep_one_global_order() {
    if child_role().await {
        return;
    }
    let dir = TempDir::new("sqlite-multi-order");
    let path = dir.file("shared.db");
    let store = open(&path).await;
    let mut child = crash::child_command(
        "two_processes_appending_at_once_keep_one_global_order",
        &path,
        &["append-loop", "2"],
    )
    .spawn()
    .expect("the child starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();

    // A reader pages read_all while both processes write.
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let (mut after, mut seen) = (0, Vec::new());
            let stop_at = tokio::time::Instant::now() + Duration::from_millis(1500);
            while tokio::time::Instant::now() < stop_at {
                for e in store.read_all(after, 100).await.expect("read_all") {
                    assert!(e.position > after);
                    after = e.position;
                    seen.push(e.id);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            seen
        })
    };
    let stream = StreamId::new("parent-0").expect("id");
    let mut mine = Vec::new();
    for v in 0..150u64 {
        let e = NewEvent::new("Local", vec![]);
        mine.push(e.id);
        store
            .append(&stream, ExpectedVersion::Exact(v), vec![e])
            .await
            .unwrap_or_else(|err| panic!("parent append {v} failed while the child wrote: {err}"));
    }
    let seen = reader.await.expect("reader");
    child.start_kill().expect("kill the child");
    let _ = child.wait().await;
    let mut child_acked = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rest) = line.strip_prefix("ack ") {
            if let Some(ids) = rest.split(' ').nth(3) {
                child_acked.extend(ids.split(',').map(str::to_owned));
            }
        }
    }
    assert!(!child_acked.is_empty(), "the child wrote nothing meanwhile");

    let all = store.read_all(0, usize::MAX).await.expect("read_all");
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    let ids: HashSet<String> = all.iter().map(|e| e.id.to_string()).collect();
    assert!(
        mine.iter().all(|id| ids.contains(&id.to_string())),
        "a parent event is missing"
    );
    assert!(
        child_acked.iter().all(|id| ids.contains(id)),
        "a child event is missing"
    );
    // What the reader saw is a prefix of the final order: nothing arrived late.
    let prefix: Vec<_> = all.iter().take(seen.len()).map(|e| e.id).collect();
    assert_eq!(seen, prefix, "the reader saw positions out of commit order");
}

/// Two processes (and this one) open one new file at the same moment: every
/// open succeeds, waiting within the busy timeout for the WAL switch and the
/// schema creation of the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_open_a_new_file_at_once() {
    if child_role().await {
        return;
    }
    for round in 0..3 {
        let dir = TempDir::new("sqlite-first-open-processes");
        let path = dir.file("new.db");
        // Spawned here, before this process opens: all three race.
        let children: Vec<_> = (0..2)
            .map(|child| {
                crash::child_command(
                    "two_processes_open_a_new_file_at_once",
                    &path,
                    &["append-once", &format!("opener-{child}"), "1"],
                )
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the child starts")
            })
            .collect();
        let _store = open(&path).await;
        for child in children {
            let out = child.wait_with_output().await.expect("the child runs");
            assert!(
                out.status.success(),
                "round {round}: a child's first open failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
