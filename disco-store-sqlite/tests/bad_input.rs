//! Files and places the store must refuse with a typed error, leaving the
//! file as it was; and a locked database, which is `Unavailable` (retryable).

use disco_conformance::helpers::TempDir;
use std::path::{Path, PathBuf};
use std::time::Duration;

use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, StreamId};
use disco_store_sqlite::{SqliteOptions, SqliteStore, SCHEMA_VERSION};

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

async fn open_err(path: &Path) -> Error {
    match SqliteStore::open(path, SqliteOptions::default()).await {
        Ok(_) => panic!("{} was opened but must be refused", path.display()),
        Err(e) => e,
    }
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused_and_untouched() {
    let dir = TempDir::new("sqlite-bad");
    let path = dir.file("notes.txt");
    let text: Vec<u8> = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).expect("write");
    let err = open_err(&path).await;
    assert!(matches!(&err, Error::Foreign { .. }), "{err}");
    assert!(bytes(&path) == text, "the file was modified");
    assert!(!dir.file("notes.txt-wal").exists());
}

/// SQLite itself treats a file shorter than a page as an empty database;
/// disco looks at the header first.
#[tokio::test]
async fn a_one_byte_text_file_is_refused_and_untouched() {
    let dir = TempDir::new("sqlite-one-byte");
    let path = dir.file("x.db");
    std::fs::write(&path, b"x").expect("write");
    let err = open_err(&path).await;
    assert!(matches!(&err, Error::Foreign { .. }), "{err}");
    assert_eq!(bytes(&path), b"x".to_vec(), "the file was modified");
}

/// An application's database (tables, `user_version` 0) is not adopted by
/// accident; with `share_database` disco's tables go in beside its own,
/// which keep their content.
#[tokio::test]
async fn a_database_with_tables_is_adopted_only_when_shared() {
    let dir = TempDir::new("sqlite-share");
    let path = dir.file("app.db");
    {
        let raw = rusqlite::Connection::open(&path).expect("raw open");
        raw.execute_batch(
            "CREATE TABLE customers (name TEXT); INSERT INTO customers VALUES ('ada'), ('bob');",
        )
        .expect("app schema");
    }
    let before = bytes(&path);
    match open_err(&path).await {
        Error::Foreign { objects, .. } => {
            assert!(
                objects.iter().any(|o| o == "table customers"),
                "{objects:?}"
            )
        }
        other => panic!("expected Foreign, got {other}"),
    }
    assert!(bytes(&path) == before, "the file was modified");
    let shared = SqliteStore::open(&path, SqliteOptions::default().share_database(true))
        .await
        .expect("a shared open");
    let s = first_event(&shared).await;
    drop(shared);
    // Once the store is in, the file opens without the option.
    let again = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("reopen");
    assert_eq!(again.stream_version(&s).await.expect("version"), 1);
    drop(again);
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let names: Vec<String> = raw
        .prepare("SELECT name FROM customers ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .expect("customers");
    assert_eq!(names, vec!["ada".to_owned(), "bob".to_owned()]);
}

/// An open that may not create makes nothing where nothing is.
#[tokio::test]
async fn an_existing_only_open_creates_nothing() {
    let dir = TempDir::new("sqlite-existing-only");
    let path = dir.file("typo.db");
    let err = match SqliteStore::open(&path, SqliteOptions::default().existing_only()).await {
        Ok(_) => panic!("a missing file was opened"),
        Err(e) => e,
    };
    assert!(matches!(&err, Error::NoStore { .. }), "{err}");
    assert!(!path.exists(), "the open created the file");
}

/// Eight tasks open one new file at once: all of them succeed (the WAL
/// switch and the schema creation wait within the busy timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_of_a_new_file_all_succeed() {
    for round in 0..5 {
        let dir = TempDir::new("sqlite-first-opens");
        let path = dir.file("new.db");
        let opens: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                tokio::spawn(
                    async move { SqliteStore::open(&path, SqliteOptions::default()).await },
                )
            })
            .collect();
        for open in opens {
            match open.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => panic!("round {round}: a concurrent first open failed: {e}"),
                Err(e) => panic!("round {round}: an open task failed: {e}"),
            }
        }
    }
}

/// Appends one event to the new stream `s`, which it returns.
async fn first_event(store: &SqliteStore) -> StreamId {
    let s = StreamId::new("s").expect("id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![1])],
        )
        .await
        .expect("append");
    s
}

/// A disco file closed cleanly (WAL checkpointed into the main file).
async fn closed_store_file(dir: &TempDir) -> PathBuf {
    let path = dir.file("events.db");
    let store = SqliteStore::open(&path, SqliteOptions::default())
        .await
        .expect("open");
    first_event(&store).await;
    drop(store);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(raw);
    path
}

#[tokio::test]
async fn a_schema_from_a_newer_disco_is_refused_and_untouched() {
    let dir = TempDir::new("sqlite-future");
    let path = closed_store_file(&dir).await;
    {
        let raw = rusqlite::Connection::open(&path).expect("raw open");
        raw.execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
            .expect("bump");
        raw.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
            .expect("leave WAL");
    }
    let before = bytes(&path);
    let err = open_err(&path).await;
    assert!(
        matches!(&err, Error::IncompatibleSchema { found, supported, .. } if *found == SCHEMA_VERSION as u64 + 1 && *supported == SCHEMA_VERSION as u64),
        "{err}"
    );
    assert!(bytes(&path) == before, "the file was modified");
}

#[tokio::test]
async fn a_database_of_another_application_is_refused_and_untouched() {
    let dir = TempDir::new("sqlite-foreign");
    let path = dir.file("app.db");
    {
        let raw = rusqlite::Connection::open(&path).expect("raw open");
        raw.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1); PRAGMA user_version = 7;")
            .expect("foreign schema");
    }
    let before = bytes(&path);
    let err = open_err(&path).await;
    assert!(matches!(&err, Error::Foreign { .. }), "{err}");
    assert!(bytes(&path) == before, "the file was modified");
}

#[tokio::test]
async fn a_missing_directory_is_a_typed_error() {
    let dir = TempDir::new("sqlite-missing");
    let path = dir.file("no/such/dir/events.db");
    let err = open_err(&path).await;
    assert!(
        matches!(&err, Error::Backend(m) if m.contains("cannot open")),
        "{err}"
    );
    assert!(!path.exists());
}

/// A directory this process cannot create files in: a 0555 directory, or,
/// when running as root (which ignores the mode), /sys.
fn unwritable_dir(dir: &TempDir) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let ro = dir.file("ro");
    std::fs::create_dir(&ro).expect("mkdir");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    if std::fs::write(ro.join("probe"), b"x").is_err() {
        return ro;
    }
    PathBuf::from("/sys")
}

#[tokio::test]
async fn a_read_only_directory_is_a_typed_error() {
    let dir = TempDir::new("sqlite-readonly");
    let ro = unwritable_dir(&dir);
    let path = ro.join(format!("disco-{}.db", uuid::Uuid::new_v4()));
    let err = open_err(&path).await;
    assert!(
        matches!(&err, Error::Backend(m) if m.contains("cannot open")),
        "{err}"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn a_locked_database_gives_unavailable_and_recovers() {
    let dir = TempDir::new("sqlite-locked");
    let path = dir.file("events.db");
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(200));
    let store = SqliteStore::open(&path, options).await.expect("open");
    let s = StreamId::new("s").expect("id");
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append");

    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let blocked = store
        .append(
            &s,
            ExpectedVersion::Exact(1),
            vec![NewEvent::new("E", vec![])],
        )
        .await;
    match &blocked {
        Err(e @ Error::Unavailable(_)) => assert!(e.is_retryable()),
        other => panic!("expected Unavailable while locked, got {other:?}"),
    }
    // Readers are not blocked by a writer in WAL mode.
    assert_eq!(
        store.stream_version(&s).await.expect("read while locked"),
        1
    );
    raw.execute_batch("ROLLBACK").expect("unlock");
    let r = store
        .append(
            &s,
            ExpectedVersion::Exact(1),
            vec![NewEvent::new("E", vec![])],
        )
        .await
        .expect("append after the lock is gone");
    assert_eq!(r.last_version, 2);
}

#[tokio::test]
async fn opening_a_database_locked_in_rollback_mode_gives_unavailable() {
    let dir = TempDir::new("sqlite-locked-open");
    let path = dir.file("busy.db");
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute_batch("BEGIN EXCLUSIVE; CREATE TABLE other (x);")
        .expect("exclusive lock");
    let options = SqliteOptions::default().busy_timeout(Duration::from_millis(200));
    match SqliteStore::open(&path, options).await {
        Err(e @ Error::Unavailable(_)) => assert!(e.is_retryable()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    raw.execute_batch("ROLLBACK").expect("unlock");
}
