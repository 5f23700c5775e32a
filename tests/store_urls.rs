//! What a store URL may say: unknown parameters, paths where none belong,
//! the wrong kind of file, and a server that cannot be used are refused with
//! a typed error that says which, and nothing is created.

#![cfg(all(feature = "sqlite", feature = "redb", feature = "postgres"))]

#[path = "support/pg.rs"]
#[allow(dead_code)]
mod pg;
#[path = "support/temp.rs"]
mod temp;

use std::time::{Duration, Instant};

use disco::Error;
use temp::TempDir;

fn invalid_naming<T>(result: Result<T, Error>, names: &[&str]) {
    match result.map(|_| ()) {
        Err(Error::InvalidInput(message)) => {
            for name in names {
                assert!(message.contains(name), "{message:?} does not name {name:?}");
            }
        }
        other => panic!("expected InvalidInput naming {names:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn memory_urls_take_nothing_after_the_scheme() {
    assert!(disco::connect("memory:").await.is_ok());
    invalid_naming(disco::connect("memory:xyz").await, &["xyz"]);
    invalid_naming(disco::connect("memory:?schema=a").await, &["schema=a"]);
}

#[tokio::test]
async fn file_urls_refuse_parameters_and_create_nothing() {
    let tmp = TempDir::new("urls");
    let dir = tmp.path();
    for scheme in ["sqlite", "redb"] {
        let path = dir.join(format!("{scheme}.db"));
        let url = format!("{scheme}:{}?schma=x&mode=ro", path.display());
        invalid_naming(disco::connect(&url).await, &["schma", "mode"]);
        assert!(
            !path.exists(),
            "{scheme}: a refused URL made {}",
            path.display()
        );
        let made: Vec<_> = std::fs::read_dir(dir).expect("list").collect();
        assert!(made.is_empty(), "{scheme}: a refused URL left {made:?}");
    }
}

#[tokio::test]
async fn a_directory_is_not_a_store_file_on_either_embedded_store() {
    let tmp = TempDir::new("urls");
    let dir = tmp.path();
    for scheme in ["sqlite", "redb"] {
        let result = disco::connect(&format!("{scheme}:{}", dir.display())).await;
        // Not `Unavailable`: a retrying caller would loop on a permanent mistake.
        invalid_naming(result, &["directory"]);
    }
    let left: Vec<_> = std::fs::read_dir(dir).expect("list").collect();
    assert!(left.is_empty(), "opening a directory left {left:?}");
}

#[tokio::test]
async fn a_file_that_is_not_redb_is_foreign_and_left_as_it_was() {
    let tmp = TempDir::new("urls");
    let dir = tmp.path();
    let path = dir.join("notes.txt");
    let bytes = b"these are someone else's notes, not a redb file\n".repeat(100);
    std::fs::write(&path, &bytes).expect("write");
    for mode in [
        disco::backend::registry::OpenMode::Create,
        disco::backend::registry::OpenMode::Existing,
    ] {
        let url = format!("redb:{}", path.display());
        match disco::open_url(&url, disco::backend::registry::OpenOptions::mode(mode)).await {
            Err(Error::Foreign { objects, .. }) => {
                assert!(
                    objects.iter().any(|o| o.contains("not a redb")),
                    "{objects:?}"
                )
            }
            other => panic!("a text file opened as redb gave {:?}", other.map(|_| ())),
        }
        assert_eq!(
            std::fs::read(&path).expect("read"),
            bytes,
            "the file changed"
        );
    }
    // A short file too: shorter than redb's magic number.
    std::fs::write(&path, b"re").expect("write");
    assert!(matches!(
        disco::connect(&format!("redb:{}", path.display())).await,
        Err(Error::Foreign { .. })
    ));
    assert_eq!(std::fs::read(&path).expect("read"), b"re");
}

#[tokio::test]
async fn postgres_refuses_unknown_and_repeated_parameters_and_creates_no_schema() {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let typo = format!("{}?schma={schema}", pg::base());
    invalid_naming(disco::connect(&typo).await, &["schma", "schema"]);
    let twice = format!("{}?schema={schema}&schema=other", pg::base());
    invalid_naming(disco::connect(&twice).await, &["schema", "more than once"]);
    // The driver's own parameters still pass, beside disco's.
    let fine = format!(
        "{}?sslmode=disable&application_name=x&schema={schema}",
        pg::base()
    );
    let store = disco::connect(&fine).await.unwrap_or_else(|e| {
        panic!(
            "{e}: is PostgreSQL running at {}? (bash .ci/run starts it)",
            pg::base()
        )
    });
    store.close().await.ok();
    pg::Schema(schema).drop().await;
    // The typo made nothing: no schema by the typo's name appears anywhere.
    let direct = disco::postgres::PostgresStore::connect(
        &format!("{}?schma=x", pg::base()),
        disco::postgres::PgOptions::default(),
    )
    .await;
    invalid_naming(direct, &["schma"]);
}

#[tokio::test]
async fn a_refused_connection_is_said_at_once_and_not_as_a_timeout() {
    // Port 1 on loopback: nothing listens, so the OS refuses at once.
    let options = disco::postgres::PgOptions::default().connect_timeout(Duration::from_secs(30));
    let start = Instant::now();
    let result =
        disco::postgres::PostgresStore::connect("postgres://postgres@127.0.0.1:1/test", options)
            .await;
    let took = start.elapsed();
    match result {
        Err(Error::Unavailable(message)) => {
            assert!(message.contains("refused"), "{message}");
            assert!(!message.contains("within"), "{message}");
        }
        other => panic!("a refused connection gave {:?}", other.map(|_| ())),
    }
    // Far below the 30 s timeout: the refusal was reported, not waited out.
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn a_missing_database_and_an_unknown_role_are_their_own_facts() {
    let base = pg::base();
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    match disco::connect(&format!("{server}/disco_no_such_database")).await {
        Err(Error::NoStore { location }) => {
            assert!(location.contains("does not exist"), "{location}");
            assert!(!location.contains(" at line "), "{location}");
        }
        other => panic!("a missing database gave {:?}", other.map(|_| ())),
    }
    let stranger = server.replacen("postgres@", "disco_no_such_role@", 1);
    if stranger != server {
        match disco::connect(&format!("{stranger}/test")).await {
            Err(Error::Unauthorized(message)) => {
                assert!(message.contains("disco_no_such_role"), "{message}");
                assert!(!message.contains(" at line "), "{message}");
            }
            other => panic!("an unknown role gave {:?}", other.map(|_| ())),
        }
    }
}

#[tokio::test]
async fn a_nul_in_a_postgres_url_is_invalid_input_not_an_outage() {
    // Found by the URL fuzz target: the server answered a protocol
    // violation, which read as a retryable outage.
    for url in [
        format!("{}?options[search_path]=a\0b", pg::base()),
        format!("{}?application_name=a%00b", pg::base()),
    ] {
        invalid_naming(disco::connect(&url).await, &["NUL"]);
    }
}

#[tokio::test]
async fn sqlite_options_out_of_range_open_a_working_store() {
    // Found by the options fuzz target: a busy timeout past a C int of
    // milliseconds panicked in rusqlite, and so did a reader count past
    // tokio's semaphore.
    let tmp = TempDir::new("urls");
    let dir = tmp.path();
    let options = disco::sqlite::SqliteOptions::default()
        .busy_timeout(Duration::MAX)
        .readers(usize::MAX);
    let store = disco::sqlite::SqliteStore::open(dir.join("s.db"), options)
        .await
        .expect("open with extreme options");
    let s = disco::StreamId::new("s").expect("id");
    disco::EventStore::append(
        &store,
        &s,
        disco::ExpectedVersion::NoStream,
        vec![disco::NewEvent::new("E", vec![])],
    )
    .await
    .expect("append");
    assert_eq!(
        disco::EventStore::read_all(&store, 0, 10)
            .await
            .expect("read")
            .len(),
        1
    );
    disco::EventStore::close(&store).await.expect("close");
}

#[tokio::test]
async fn a_nul_in_a_file_path_is_invalid_input() {
    // Found by the URL fuzz target: the OS's refusal came back as Backend.
    for scheme in ["sqlite", "redb"] {
        invalid_naming(
            disco::connect(&format!("{scheme}:/tmp/a\0b")).await,
            &["NUL"],
        );
    }
}
