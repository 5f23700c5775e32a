//! Files and places the store must refuse with a typed error, without a panic
//! and without writing to the file; and a file another process holds.

use disco_conformance::helpers::TempDir;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use disco_conformance::crash;
use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_store_redb::{RedbOptions, RedbStore, FORMAT_VERSION};
use tokio::io::{AsyncBufReadExt, BufReader};

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

async fn open_err(path: &Path) -> Error {
    match RedbStore::open(path, RedbOptions::default()).await {
        Ok(_) => panic!("{} was opened but must be refused", path.display()),
        Err(e) => e,
    }
}

/// A disco redb file with a few events, closed cleanly.
async fn closed_store_file(dir: &TempDir) -> PathBuf {
    let path = dir.file("events.redb");
    let store = RedbStore::open(&path, RedbOptions::default())
        .await
        .expect("open");
    for i in 0..50u64 {
        let s = StreamId::new(format!("s-{}", i % 5)).expect("id");
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![NewEvent::new("E", vec![7; 300])],
            )
            .await
            .expect("append");
    }
    store.close().await.expect("close");
    path
}

#[tokio::test]
async fn a_file_that_is_not_a_redb_database_is_refused_and_untouched() {
    let dir = TempDir::new("redb-bad");
    let path = dir.file("notes.txt");
    let text = b"these are my notes, not a database\n".repeat(300);
    std::fs::write(&path, &text).expect("write");
    let err = open_err(&path).await;
    // Another program's file: Foreign (the CLI's exit 9), not a backend fault.
    assert!(matches!(err, Error::Foreign { .. }), "{err}");
    assert!(bytes(&path) == text, "the file was modified");
}

#[tokio::test]
async fn a_truncated_file_is_refused_and_untouched() {
    let dir = TempDir::new("redb-truncated");
    let path = closed_store_file(&dir).await;
    let whole = bytes(&path);
    let cut = whole[..whole.len() / 3].to_vec();
    std::fs::write(&path, &cut).expect("truncate");
    let err = open_err(&path).await;
    assert!(matches!(err, Error::Backend(_)), "{err}");
    assert!(bytes(&path) == cut, "the file was modified");
}

#[tokio::test]
async fn a_corrupted_file_is_refused_and_untouched() {
    let dir = TempDir::new("redb-corrupted");
    let path = closed_store_file(&dir).await;
    let mut damaged = bytes(&path);
    // Overwrite the header after redb's magic number, and the first pages,
    // with garbage: a redb file, damaged.
    for (i, b) in damaged.iter_mut().enumerate().take(16 * 1024).skip(9) {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    std::fs::write(&path, &damaged).expect("corrupt");
    let err = open_err(&path).await;
    assert!(matches!(err, Error::Backend(_)), "{err}");
    assert!(bytes(&path) == damaged, "the file was modified");
    // With the magic number gone too, nothing says it was ever redb's.
    damaged[..9].copy_from_slice(b"garbage!!");
    std::fs::write(&path, &damaged).expect("corrupt");
    let err = open_err(&path).await;
    assert!(matches!(err, Error::Foreign { .. }), "{err}");
    assert!(bytes(&path) == damaged, "the file was modified");
}

#[tokio::test]
async fn a_damaged_event_page_is_refused_by_the_integrity_check_and_untouched() {
    let dir = TempDir::new("redb-damaged-page");
    let path = closed_store_file(&dir).await;
    // Without the check the file opens quickly and the same options serve.
    let unchecked = RedbOptions::default().check_integrity_on_open(false);
    let store = RedbStore::open(&path, unchecked)
        .await
        .expect("a clean file opens without the check");
    assert_eq!(store.head_position().await.expect("head"), 50);
    store.close().await.expect("close");
    // One byte of every copy of the events' data flipped: the pages still
    // parse, only their checksums tell.
    let mut damaged = bytes(&path);
    let mut flipped = 0;
    let mut at = 0;
    while let Some(found) = damaged
        .get(at..)
        .and_then(|rest| rest.windows(300).position(|w| w.iter().all(|b| *b == 7)))
    {
        damaged[at + found + 150] ^= 0x10;
        flipped += 1;
        at += found + 300;
    }
    assert!(flipped >= 50, "found {flipped} copies of the events' data");
    std::fs::write(&path, &damaged).expect("damage");
    let err = open_err(&path).await;
    assert!(matches!(err, Error::Backend(_)), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert!(bytes(&path) == damaged, "the file was modified");
}

#[tokio::test]
async fn a_format_from_a_newer_disco_is_refused_and_untouched() {
    let dir = TempDir::new("redb-future");
    let path = closed_store_file(&dir).await;
    {
        let db = redb::Database::open(&path).expect("raw open");
        let txn = db.begin_write().expect("write");
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, u64>::new("disco_meta"))
                .expect("meta");
            meta.insert("format_version", FORMAT_VERSION + 1)
                .expect("bump");
        }
        txn.commit().expect("commit");
    }
    let before = bytes(&path);
    let err = open_err(&path).await;
    assert!(matches!(&err, Error::IncompatibleSchema { .. }), "{err}");
    assert!(bytes(&path) == before, "the file was modified");
}

#[tokio::test]
async fn a_redb_file_of_another_application_is_refused_and_untouched() {
    let dir = TempDir::new("redb-foreign");
    let path = dir.file("app.redb");
    {
        let db = redb::Database::create(&path).expect("raw create");
        let txn = db.begin_write().expect("write");
        {
            let mut t = txn
                .open_table(redb::TableDefinition::<u64, u64>::new("their_table"))
                .expect("table");
            t.insert(1, 2).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let before = bytes(&path);
    let err = open_err(&path).await;
    assert!(matches!(&err, Error::Foreign { .. }), "{err}");
    assert!(bytes(&path) == before, "the file was modified");
}

#[tokio::test]
async fn a_missing_directory_is_a_typed_error() {
    let dir = TempDir::new("redb-missing");
    let path = dir.file("no/such/dir/events.redb");
    let err = open_err(&path).await;
    assert!(
        matches!(&err, Error::Backend(m) if m.contains("cannot open")),
        "{err}"
    );
}

#[tokio::test]
async fn an_unwritable_directory_is_a_typed_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("redb-readonly");
    let ro = dir.file("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // Root ignores the mode; /sys refuses new files even to root.
    let base = if std::fs::write(ro.join("probe"), b"x").is_err() {
        ro
    } else {
        PathBuf::from("/sys")
    };
    let path = base.join(format!("disco-{}.redb", uuid::Uuid::new_v4()));
    let err = open_err(&path).await;
    assert!(
        matches!(&err, Error::Backend(m) if m.contains("cannot open")),
        "{err}"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn the_same_file_twice_in_one_process_is_unavailable_share_a_clone_instead() {
    let dir = TempDir::new("redb-twice");
    let path = dir.file("events.redb");
    let store = RedbStore::open(&path, RedbOptions::default())
        .await
        .expect("open");
    let err = open_err(&path).await;
    assert!(matches!(err, Error::Unavailable(_)), "{err}");
    let clone = store.clone();
    let s = StreamId::new("shared").expect("id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append");
    assert_eq!(
        clone
            .stream_version(&s)
            .await
            .expect("read through the clone"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_held_by_another_process_is_unavailable_at_once() {
    if let Some((path, args)) = crash::child_role() {
        let store = RedbStore::open(&path, RedbOptions::default())
            .await
            .expect("child open");
        if let Err(e) = crash::child_main(std::sync::Arc::new(store), &args).await {
            panic!("child failed: {e}");
        }
        return;
    }
    let dir = TempDir::new("redb-held");
    let path = dir.file("events.redb");
    let mut child = crash::child_command(
        "a_file_held_by_another_process_is_unavailable_at_once",
        &path,
        &["hold"],
    )
    .spawn()
    .expect("the child starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
            Ok(Ok(Some(line))) if line == "ready" => break,
            Ok(Ok(Some(_))) => continue,
            other => panic!("the child did not get ready: {other:?}"),
        }
    }
    let start = Instant::now();
    let err = open_err(&path).await;
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "open waited {:?}",
        start.elapsed()
    );
    assert!(
        matches!(&err, Error::Unavailable(m) if m.contains("another process")),
        "{err}"
    );
    child.start_kill().expect("kill");
    let _ = child.wait().await;
    let store = RedbStore::open(&path, RedbOptions::default())
        .await
        .expect("open once the child is gone");
    assert_eq!(store.head_position().await.expect("head"), 0);
}

#[tokio::test]
async fn a_directory_is_invalid_input_not_a_retryable_outage() {
    let dir = TempDir::new("redb-dir");
    let err = open_err(dir.path()).await;
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.contains("directory")),
        "{err}"
    );
    assert!(!err.is_retryable());
}
