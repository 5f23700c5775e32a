//! Test helper, not a user tool: the child process of the crash and
//! multi-process tests of disco-store-sqlite.
//!
//! - `append-loop PATH WRITERS`: WRITERS tasks append batches of 1 to 5 events
//!   to their own streams forever. Before each append it prints
//!   `try STREAM ID,ID,...`; after the store acknowledged it,
//!   `ack STREAM FIRST_VERSION LAST_VERSION ID,ID,...`.
//! - `append-once PATH STREAM COUNT`: appends COUNT events to STREAM in one
//!   append and prints `committed MICROS` (the time just after the append
//!   returned, in microseconds since the epoch).

use std::io::Write;

use disco_core::{EventStore, ExpectedVersion, NewEvent, StreamId, Timestamp};
use disco_store_sqlite::{SqliteOptions, SqliteStore};

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    // A closed pipe means the parent is gone; stop quietly.
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(0);
    }
}

fn ids(events: &[NewEvent]) -> String {
    events
        .iter()
        .map(|e| e.id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

async fn append_loop(store: SqliteStore, writers: usize) -> Result<(), String> {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let stream = StreamId::new(format!("crash-{w}")).map_err(|e| e.to_string())?;
            let mut version = store
                .stream_version(&stream)
                .await
                .map_err(|e| e.to_string())?;
            let mut n: u64 = 0;
            loop {
                n += 1;
                let size = 1 + (n as usize * 7 + w) % 5;
                let batch: Vec<NewEvent> = (0..size)
                    .map(|i| NewEvent::new("Tick", format!("{w}:{n}:{i}").into_bytes()))
                    .collect();
                say(format!("try {stream} {}", ids(&batch)));
                let listed = ids(&batch);
                let r = store
                    .append(&stream, ExpectedVersion::Exact(version), batch)
                    .await
                    .map_err(|e| e.to_string())?;
                version = r.last_version;
                say(format!(
                    "ack {stream} {} {} {listed}",
                    r.first_version, r.last_version
                ));
            }
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn append_once(store: SqliteStore, stream: &str, count: usize) -> Result<(), String> {
    let stream = StreamId::new(stream).map_err(|e| e.to_string())?;
    let batch: Vec<NewEvent> = (0..count)
        .map(|i| NewEvent::new("Remote", vec![i as u8]))
        .collect();
    store
        .append(&stream, ExpectedVersion::Any, batch)
        .await
        .map_err(|e| e.to_string())?;
    println!("committed {}", Timestamp::now().as_micros());
    Ok(())
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("disco-sqlite-test-child: no tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("disco-sqlite-test-child: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, path, rest @ ..] => match SqliteStore::open(path, SqliteOptions::default()).await {
            Err(e) => Err(format!("cannot open {path}: {e}")),
            Ok(store) => match (mode.as_str(), rest) {
                ("append-loop", [writers]) => match writers.parse() {
                    Ok(writers) => append_loop(store, writers).await,
                    Err(_) => Err(format!("bad writer count {writers:?}")),
                },
                ("append-once", [stream, count]) => match count.parse() {
                    Ok(count) => append_once(store, stream, count).await,
                    Err(_) => Err(format!("bad count {count:?}")),
                },
                _ => Err(format!("unknown mode {mode:?} or arguments {rest:?}")),
            },
        },
        _ => Err("usage: disco-sqlite-test-child append-loop PATH WRITERS | append-once PATH STREAM COUNT".into()),
    }
}
