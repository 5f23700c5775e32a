//! Fuzz target for what a redb store reads back: a closed store file with
//! bytes flipped anywhere (as a damaged disk or another program would
//! leave it). The property: the open refuses it with a typed error and
//! leaves it byte for byte as it was, or opens it and every read and write
//! answers, correctly or with a typed error; nothing panics. Runs for
//! `DISCO_FUZZ_SECONDS` (`disco_conformance::fuzz`).

use disco_conformance::fuzz;
use disco_conformance::helpers::TempDir;
use disco_core::{Error, EventStore, ExpectedVersion, NewEvent, ReadDirection, StreamId};
use disco_store_redb::{RedbOptions, RedbStore};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn typed(error: &Error) -> bool {
    matches!(
        error,
        Error::Backend(_)
            | Error::Foreign { .. }
            | Error::IncompatibleSchema { .. }
            | Error::InvalidInput(_)
            | Error::StreamDeleted { .. }
            | Error::WrongExpectedVersion { .. }
            | Error::DuplicateEventId { .. }
    )
}

fn check<T>(what: &str, result: Result<T, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if typed(&e) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("{what} answered {e:?}"))),
    }
}

async fn seeded(path: &std::path::Path) -> Result<(), Error> {
    let store = RedbStore::open(path, RedbOptions::default()).await?;
    for i in 0..30u64 {
        let s = StreamId::new(format!("s-{}", i % 3))?;
        store
            .append(
                &s,
                ExpectedVersion::Any,
                vec![NewEvent::new("E", vec![b'x'; 50])],
            )
            .await?;
    }
    store.save_checkpoint("reader", 3).await?;
    store.close().await
}

#[test]
fn fuzz_damaged_files() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = TempDir::new("redb-fuzz-files");
    let clean = dir.file("clean.redb");
    rt.block_on(seeded(&clean)).expect("seed");
    let clean_bytes = std::fs::read(&clean).expect("read");
    let len = clean_bytes.len();
    // Flips anywhere, and more often in the first pages (header, roots).
    let offset = prop_oneof![0..len, 0..len.min(16 * 1024)];
    let damage = proptest::collection::vec((offset, 1u8..=255), 1..6);
    let n = std::sync::atomic::AtomicU64::new(0);
    let property = |flips: Vec<(usize, u8)>| -> Result<(), TestCaseError> {
        let i = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.file(&format!("damaged-{i}.redb"));
        let mut bytes = clean_bytes.clone();
        for (at, mask) in &flips {
            bytes[*at] ^= mask;
        }
        std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(async {
            let store = match RedbStore::open(&path, RedbOptions::default()).await {
                Ok(store) => store,
                Err(e) => {
                    let said = e.to_string();
                    check("open", Err::<(), _>(e))?;
                    let after =
                        std::fs::read(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert!(after == bytes, "a refused open ({}) changed the file", said);
                    return Ok(());
                }
            };
            check("read_all", store.read_all(0, 100).await)?;
            check(
                "read_all_backward",
                store.read_all_backward(u64::MAX, 100).await,
            )?;
            for s in ["s-0", "s-1", "s-2"] {
                let s = StreamId::new(s).map_err(|e| TestCaseError::fail(e.to_string()))?;
                check(
                    "read_stream",
                    store.read_stream(&s, 0, ReadDirection::Forward, 100).await,
                )?;
                check("stream_version", store.stream_version(&s).await)?;
                check(
                    "append",
                    store
                        .append(&s, ExpectedVersion::Any, vec![NewEvent::new("E", vec![1])])
                        .await,
                )?;
            }
            check("list_streams", store.list_streams("", None, 100).await)?;
            check("list_checkpoints", store.list_checkpoints().await)?;
            check("load_checkpoint", store.load_checkpoint("reader").await)?;
            store.close().await.ok();
            Ok(())
        })?;
        let _ = std::fs::remove_file(&path);
        Ok(())
    };
    // What found something before: `OFFSET^MASK ...` a line.
    let corpus = fuzz::corpus(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz-corpus/damaged-files.txt"
    ));
    for line in &corpus {
        let flips: Vec<(usize, u8)> = line
            .split_whitespace()
            .filter_map(|flip| {
                let (at, mask) = flip.split_once('^')?;
                Some((at.parse::<usize>().ok()? % len, mask.parse().ok()?))
            })
            .collect();
        if let Err(e) = property(flips) {
            panic!("the corpus input {line:?} fails again: {e}");
        }
    }
    fuzz::run("redb damaged files", damage, property);
}
