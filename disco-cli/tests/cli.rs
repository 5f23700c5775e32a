//! The `disco` binary driven as a user drives it, on every store.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::{DeleteMode, EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_conformance::helpers::TempDir;
use serde_json::Value;

mod common;

use common::{disco, pg_base, text};

fn ok(args: &[&str]) -> String {
    let out = disco(args);
    assert!(
        out.status.success(),
        "disco {args:?} failed:\n{}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn code(args: &[&str]) -> Option<i32> {
    disco(args).status.code()
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn sid(s: &str) -> StreamId {
    StreamId::new(s).unwrap_or_else(|e| panic!("{e}"))
}

fn pg_url() -> String {
    format!("{}?schema=t_{}", pg_base(), uuid::Uuid::new_v4().simple())
}

async fn open(url: &str) -> Arc<dyn EventStore> {
    match disco::connect(url).await {
        Ok(store) => store,
        Err(e) => panic!(
            "cannot open {url}: {e}\nFor PostgreSQL, start the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (bash .ci/run installs and starts it), or point DISCO_TEST_DATABASE_URL at another database."
        ),
    }
}

/// A small store: three streams (JSON and binary data), one soft-deleted, a
/// snapshot and a checkpoint.
async fn small(store: &dyn EventStore) {
    let json = |n: u64| NewEvent::new("Deposited", format!("{{\"amount\":{n}}}").into_bytes());
    let r = |x: disco::Result<disco::AppendResult>| x.unwrap_or_else(|e| panic!("{e}"));
    r(store
        .append(
            &sid("wallet-1"),
            ExpectedVersion::NoStream,
            vec![json(1), json(2), json(3)],
        )
        .await);
    r(store
        .append(
            &sid("blob-1"),
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Raw", vec![0, 159, 255])],
        )
        .await);
    r(store
        .append(&sid("wallet-2"), ExpectedVersion::NoStream, vec![json(9)])
        .await);
    store
        .delete_stream(&sid("wallet-2"), ExpectedVersion::Any, DeleteMode::Soft)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_snapshot(&sid("wallet-1"), 2, b"{\"balance\":3}".to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_checkpoint("projector", 3)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

fn browse(url: &str) {
    let status = &json_lines(&ok(&["--store", url, "--json", "status"]))[0];
    assert_eq!(status["events"], 5);
    assert_eq!(status["streams"], 3);
    assert_eq!(status["soft_deleted_streams"], 1);
    assert_eq!(status["checkpoints"], 1);
    assert!(ok(&["--store", url, "status"]).contains("head position   5"));

    let streams = json_lines(&ok(&[
        "--store", url, "--json", "streams", "--prefix", "wallet-",
    ]));
    let names: Vec<&str> = streams
        .iter()
        .filter_map(|s| s["stream"].as_str())
        .collect();
    assert_eq!(names, vec!["wallet-1", "wallet-2"]);
    assert_eq!(streams[1]["state"], "soft-deleted");
    let page = ok(&["--store", url, "streams", "--limit", "1"]);
    assert!(page.contains("-- more: --after blob-1"), "{page}");

    let read = json_lines(&ok(&[
        "--store", url, "--json", "read", "wallet-1", "--from", "2",
    ]));
    assert_eq!(read.len(), 2);
    assert_eq!(read[0]["version"], 2);
    assert_eq!(read[0]["data"]["amount"], 2);
    let back = json_lines(&ok(&[
        "--store",
        url,
        "--json",
        "read",
        "wallet-1",
        "--backward",
        "--limit",
        "1",
    ]));
    assert_eq!(back[0]["version"], 3);
    let blob = ok(&["--store", url, "read", "blob-1"]);
    assert!(blob.contains("hex 009fff (3 bytes)"), "{blob}");
    assert_eq!(code(&["--store", url, "read", "nope"]), Some(4));
    assert_eq!(code(&["--store", url, "read", "wallet-2"]), Some(4));

    let events = json_lines(&ok(&["--store", url, "--json", "events", "--type", "Raw"]));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["data"]["hex"], "009fff");
    let after = json_lines(&ok(&[
        "--store", url, "--json", "events", "--after", "3", "--prefix", "wallet-",
    ]));
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["stream"], "wallet-2");

    let checkpoints = json_lines(&ok(&["--store", url, "--json", "checkpoints"]));
    assert_eq!(checkpoints[0]["name"], "projector");
    assert_eq!(checkpoints[0]["lag"], 2);
    ok(&[
        "--store",
        url,
        "checkpoints",
        "reset",
        "projector",
        "--to",
        "1",
    ]);
    let checkpoints = json_lines(&ok(&["--store", url, "--json", "checkpoints"]));
    assert_eq!(checkpoints[0]["position"], 1);
    ok(&[
        "--store",
        url,
        "checkpoints",
        "reset",
        "projector",
        "--to",
        "3",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_init_browse_migrate_and_drop() {
    let dir = TempDir::new("cli-sqlite");
    let path = dir.file("events.db");
    let url = format!("sqlite:{}", path.display());
    assert_eq!(
        code(&["--store", &url, "status"]),
        Some(8),
        "a missing file is not created by status"
    );
    assert!(!path.exists(), "status created the file");
    assert!(ok(&["--store", &url, "init"]).contains("schema version 4"));
    {
        let store = open(&url).await;
        small(&*store).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    browse(&url);
    assert!(ok(&["--store", &url, "migrate"]).contains("up to date"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
        .args(["--store", &url, "drop"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(stdin) = child.stdin.as_mut() {
        let _ = stdin.write_all(b"no\n");
    }
    let refused = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status.code(), Some(7));
    assert!(path.exists());
    ok(&["--store", &url, "drop", "--yes"]);
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_browse() {
    let dir = TempDir::new("cli-redb");
    let url = format!("redb:{}", dir.file("events.redb").display());
    {
        let store = open(&url).await;
        small(&*store).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    browse(&url);
    ok(&["--store", &url, "drop", "--yes"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_browse_and_drop() {
    let url = pg_url();
    assert!(ok(&["--store", &url, "init"]).contains("schema version 4"));
    let status = &json_lines(&ok(&["--store", &url, "--json", "status"]))[0];
    assert_eq!(status["schema_version"], 4, "{status}");
    assert!(
        status["schema"]
            .as_str()
            .is_some_and(|s| s.starts_with("t_")),
        "{status}"
    );
    let store = open(&url).await;
    small(&*store).await;
    browse(&url);
    ok(&["--store", &url, "drop", "--yes"]);
    assert_ne!(
        code(&["--store", &url, "status"]),
        Some(0),
        "status of a dropped schema"
    );
}

#[test]
fn memory_and_error_cases() {
    let status = &json_lines(&ok(&["--store", "memory:", "--json", "status"]))[0];
    assert_eq!(status["events"], 0);
    assert_eq!(code(&["--store", "memory:", "read", "x"]), Some(4));
    assert_eq!(code(&["status"]), Some(2), "no store given");
    assert_eq!(code(&["--store", "mysql://x", "status"]), Some(2));
    assert_eq!(code(&["--store", "sqlite:", "status"]), Some(2));
    let unreachable = disco(&["--store", "postgres://postgres@127.0.0.1:1/test", "status"]);
    assert_eq!(unreachable.status.code(), Some(3), "{}", text(&unreachable));
    // Said as the OS said it: refused, not a timeout.
    assert!(
        text(&unreachable).contains("refused the connection"),
        "{}",
        text(&unreachable)
    );

    let dir = TempDir::new("cli-newer");
    let path = dir.file("future.db");
    ok(&["--store", &format!("sqlite:{}", path.display()), "init"]);
    {
        let raw = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        raw.execute_batch("PRAGMA user_version = 99")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let newer = disco(&["--store", &format!("sqlite:{}", path.display()), "status"]);
    assert_eq!(newer.status.code(), Some(5), "{}", text(&newer));
    assert!(text(&newer).contains("newer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_follows_new_events_live() {
    let dir = TempDir::new("cli-tail");
    let url = format!("sqlite:{}", dir.file("events.db").display());
    let store = open(&url).await;
    store
        .append(
            &sid("before"),
            ExpectedVersion::Any,
            vec![NewEvent::new("Old", vec![])],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
        .args([
            "--store", &url, "--json", "tail", "--after", "1", "--type", "New",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let Some(stdout) = child.stdout.take() else {
        panic!("no stdout");
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    for i in 0..3 {
        store
            .append(
                &sid("live"),
                ExpectedVersion::Any,
                vec![
                    NewEvent::new("Skip", vec![]),
                    NewEvent::new("New", format!("{i}").into_bytes()),
                ],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < 3 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            got.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let lines = json_lines(&got.join("\n"));
    assert_eq!(lines.len(), 3, "tail printed {got:?}");
    let data: Vec<i64> = lines.iter().filter_map(|l| l["data"].as_i64()).collect();
    assert_eq!(data, vec![0, 1, 2]);
}

/// `n` events over 1,000 streams, interleaved, with a soft-deleted stream,
/// a hard-deleted one, snapshots and checkpoints.
async fn fill(store: &dyn EventStore, n: usize) {
    let mut versions = vec![0u64; 1000];
    let mut appends = Vec::new();
    for i in 0..n {
        let s = i % 1000;
        let data = if i % 7 == 0 {
            vec![0xde, 0xad, i as u8]
        } else {
            format!("{{\"i\":{i}}}").into_bytes()
        };
        appends.push((
            sid(&format!("s-{s:04}")),
            ExpectedVersion::Exact(versions[s]),
            vec![NewEvent::new(format!("T{}", i % 3), data).with_metadata(b"{\"m\":1}".to_vec())],
        ));
        versions[s] += 1;
        if appends.len() == 2000 || i + 1 == n {
            for r in store.append_many(std::mem::take(&mut appends)).await {
                r.unwrap_or_else(|e| panic!("fill: {e}"));
            }
        }
    }
    store
        .delete_stream(&sid("s-0001"), ExpectedVersion::Any, DeleteMode::Soft)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .delete_stream(&sid("s-0002"), ExpectedVersion::Any, DeleteMode::Hard)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .save_snapshot(&sid("s-0003"), 5, b"snap".to_vec())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (name, at) in [("early", 10u64), ("late", n as u64 - 5)] {
        store
            .save_checkpoint(name, at)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Both stores hold the same streams, events in the same order, and the
/// mapped checkpoints point at the same events.
async fn assert_same(source: &dyn EventStore, target: &dyn EventStore) {
    let a = disco_conformance::helpers::read_everything(source, 5000).await;
    let b = disco_conformance::helpers::read_everything(target, 5000).await;
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(
            x.id == y.id
                && x.stream_id == y.stream_id
                && x.version == y.version
                && x.event_type == y.event_type
                && x.data == y.data
                && x.metadata == y.metadata
                && x.recorded_at == y.recorded_at,
            "event {} differs",
            x.id
        );
    }
    let snap = target.load_snapshot(&sid("s-0003")).await.ok().flatten();
    assert_eq!(
        snap.map(|s| (s.version, s.data)),
        Some((5, b"snap".to_vec()))
    );
    assert!(matches!(
        target
            .read_stream(&sid("s-0001"), 1, disco::ReadDirection::Forward, 1)
            .await,
        Err(disco::Error::StreamDeleted { .. })
    ));
    for name in ["early", "late"] {
        let at_source = source
            .load_checkpoint(name)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        let at_target = target
            .load_checkpoint(name)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        let last = |events: &[disco::RecordedEvent], p: u64| {
            events.iter().rfind(|e| e.position <= p).map(|e| e.id)
        };
        assert_eq!(
            last(&a, at_source),
            last(&b, at_target),
            "checkpoint {name}"
        );
    }
}

async fn drop_pg(url: &str) {
    let out = disco(&["--store", url, "drop", "--yes"]);
    if !out.status.success() {
        eprintln!("could not drop {url}: {}", text(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_100k_events_from_sqlite_to_postgres_verifies_equal() {
    let dir = TempDir::new("cli-copy");
    let from = format!("sqlite:{}", dir.file("source.db").display());
    let to = pg_url();
    let source = open(&from).await;
    fill(&*source, 100_000).await;
    let out = disco(&["--json", "copy", "--from", &from, "--to", &to]);
    assert!(out.status.success(), "copy failed: {}", text(&out));
    let report = &json_lines(&String::from_utf8_lossy(&out.stdout))[0];
    assert_eq!(report["verified_events"], 100_000 - 100);
    println!("copy: {report}");
    let target = open(&to).await;
    assert_same(&*source, &*target).await;
    drop(target);
    drop_pg(&to).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_resumes_and_verifies() {
    let dir = TempDir::new("cli-resume");
    let from = format!("sqlite:{}", dir.file("source.db").display());
    let to = pg_url();
    let source = open(&from).await;
    fill(&*source, 30_000).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
        .args([
            "copy", "--quiet", "--batch", "100", "--from", &from, "--to", &to,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Kill it once it has copied some, but not all.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut progress = 0;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Ok(out) = Command::new(env!("CARGO_BIN_EXE_disco"))
            .args(["--store", &to, "--json", "checkpoints"])
            .output()
        {
            progress = json_lines(&String::from_utf8_lossy(&out.stdout))
                .iter()
                .find(|c| c["name"] == "disco-copy-progress")
                .and_then(|c| c["position"].as_u64())
                .unwrap_or(0);
            if progress > 1000 {
                break;
            }
        }
    }
    let _ = child.kill();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        progress > 1000 && !status.success(),
        "the copy was not interrupted midway"
    );
    let resumed = ok(&["copy", "--quiet", "--from", &from, "--to", &to]);
    assert!(
        resumed.contains("resumed") && resumed.contains("verified"),
        "{resumed}"
    );
    let target = open(&to).await;
    assert_same(&*source, &*target).await;
    drop(target);
    drop_pg(&to).await;
}

/// A fresh store on the test NATS cluster (`DISCO_TEST_NATS_URL`, else the
/// three nodes `scripts/nats-cluster.sh start` starts).
fn nats_url() -> String {
    let servers = std::env::var("DISCO_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303".into());
    let hosts = servers.trim_start_matches("nats://").replace("nats://", "");
    format!(
        "nats://{hosts}?store=c{}&replicas=3",
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    )
}

async fn open_nats(url: &str) -> Arc<dyn EventStore> {
    match disco::connect(url).await {
        Ok(store) => store,
        Err(e) => panic!(
            "cannot open {url}: {e}\nStart the test cluster with `scripts/nats-cluster.sh start` (bash .ci/run does), or point DISCO_TEST_NATS_URL at another one."
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_browse_tail_and_drop() {
    let url = nats_url();
    let store = open_nats(&url).await;
    small(&*store).await;
    let status = &json_lines(&ok(&["--store", &url, "--json", "status"]))[0];
    assert_eq!(status["events"], 5, "{status}");
    assert_eq!(status["streams"], 3);
    assert_eq!(status["soft_deleted_streams"], 1);
    assert_eq!(status["checkpoints"], 1);
    let names: Vec<String> = json_lines(&ok(&[
        "--store", &url, "--json", "streams", "--prefix", "wallet-",
    ]))
    .iter()
    .filter_map(|s| s["stream"].as_str().map(str::to_owned))
    .collect();
    assert_eq!(names, vec!["wallet-1", "wallet-2"]);
    let read = json_lines(&ok(&[
        "--store", &url, "--json", "read", "wallet-1", "--from", "2",
    ]));
    assert_eq!(read.len(), 2);
    assert_eq!(read[0]["data"]["amount"], 2);
    assert_eq!(code(&["--store", &url, "read", "wallet-2"]), Some(4));
    let raw = json_lines(&ok(&["--store", &url, "--json", "events", "--type", "Raw"]));
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0]["data"]["hex"], "009fff");
    let checkpoints = json_lines(&ok(&["--store", &url, "--json", "checkpoints"]));
    assert_eq!(checkpoints[0]["name"], "projector");

    // tail prints what is appended while it runs.
    let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
        .args(["--store", &url, "--json", "tail", "--prefix", "live-"])
        .env_remove("DISCO_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run disco: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    store
        .append(
            &sid("live-1"),
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Live", b"7".to_vec())],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::task::spawn_blocking(move || lines.next())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = child.kill();
    let _ = child.wait();
    let line = line
        .unwrap_or_else(|| panic!("tail printed nothing"))
        .unwrap_or_default();
    assert_eq!(json_lines(&line)[0]["data"], 7, "{line}");

    drop(store);
    let out = disco(&["--store", &url, "drop", "--yes"]);
    assert!(out.status.success(), "drop: {}", text(&out));
    let out = disco(&["--store", &url, "status"]);
    assert!(!out.status.success(), "the dropped store still opens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_postgres_to_nats_and_back_verifies_equal() {
    let (from, through, back) = (pg_url(), nats_url(), pg_url());
    // The source has a hard-deleted stream, which PostgreSQL allows when asked.
    let how = disco::backend::registry::OpenOptions {
        allow_hard_delete: true,
        ..Default::default()
    };
    let source = disco::open_url(&from, how)
        .await
        .unwrap_or_else(|e| panic!("cannot open {from}: {e}"))
        .store;
    fill(&*source, 20_000).await;
    for (a, b) in [(&from, &through), (&through, &back)] {
        let out = disco(&["--json", "copy", "--from", a, "--to", b]);
        assert!(
            out.status.success(),
            "copy {a} -> {b} failed: {}",
            text(&out)
        );
        let report = &json_lines(&String::from_utf8_lossy(&out.stdout))[0];
        assert_eq!(report["verified_events"], 20_000 - 20, "{report}");
        println!("copy {a} -> {b}: {report}");
    }
    let middle = open_nats(&through).await;
    assert_same(&*source, &*middle).await;
    let target = open(&back).await;
    assert_same(&*source, &*target).await;
    drop((middle, target));
    drop_pg(&from).await;
    drop_pg(&back).await;
    let out = disco(&["--store", &through, "drop", "--yes"]);
    assert!(out.status.success(), "drop: {}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_line_up_whatever_the_length_of_their_ids() {
    let dir = TempDir::new("cli-wide");
    let url = format!("sqlite:{}", dir.file("events.db").display());
    {
        let store = open(&url).await;
        for id in [
            "a-1".to_owned(),
            format!("b-{}", "x".repeat(45)),
            format!("c-{}", "y".repeat(70)),
        ] {
            store
                .append(
                    &sid(&id),
                    ExpectedVersion::NoStream,
                    vec![NewEvent::new("E", b"{}".to_vec())],
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let page = ok(&["--store", &url, "streams"]);
    let columns: Vec<usize> = page
        .lines()
        .filter(|line| !line.starts_with("--"))
        .map(|line| line.find(" version ").unwrap_or_else(|| panic!("{page}")))
        .collect();
    assert_eq!(columns.len(), 3, "{page}");
    assert!(columns.iter().all(|c| *c == columns[0]), "{page}");
}
