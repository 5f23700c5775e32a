//! Helpers shared by the CLI's test files: running the binary, the test
//! database, and writing a first event.

#![allow(dead_code)]

use std::process::{Command, Output};

use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};

/// Runs `disco` with `args` (and no `DISCO_STORE` from the environment).
pub fn disco(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_disco"))
        .args(args)
        .env_remove("DISCO_STORE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run disco: {e}"))
}

/// What a run printed, stdout then stderr.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The test database: `DISCO_TEST_DATABASE_URL`, or the local server's `test`.
pub fn pg_base() -> String {
    std::env::var("DISCO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Appends one event of `event_type` to the new stream `stream`.
pub async fn append_one(store: &dyn EventStore, stream: &str, event_type: &str) {
    let s = StreamId::new(stream).unwrap_or_else(|e| panic!("{e}"));
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            vec![NewEvent::new(event_type, b"{}".to_vec())],
        )
        .await
        .unwrap_or_else(|e| panic!("append to {stream}: {e}"));
}
