//! Fuzz target for the command line: any sequence of words after
//! `--store` (subcommands, flags, numbers out of range, hostile text) ends
//! with one of the documented exit codes and a message, never a panic.
//! Runs for `DISCO_FUZZ_SECONDS` (`disco_conformance::fuzz`); every child
//! runs in a temp dir, so a path it is given lands there.

use std::process::{Command, Stdio};
use std::time::Duration;

use disco_conformance::fuzz;
use disco_conformance::helpers::TempDir;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

mod common;

fn word() -> impl Strategy<Value = String> {
    let words = [
        "init",
        "migrate",
        "drop",
        "status",
        "streams",
        "read",
        "events",
        "copy",
        "checkpoints",
        "parked",
        "projections",
        "retry",
        "skip",
        "rebuild",
        "drop-retired",
        "reset",
        "--yes",
        "--prefix",
        "--after",
        "--limit",
        "--from",
        "--backward",
        "--type",
        "--to",
        "--batch",
        "--quiet",
        "--read-models",
        "--create",
        "--force",
        "--json",
        "--help",
        "--version",
        "--store",
        "0",
        "1",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "1e9",
        "sqlite:copy.db",
        "redb:copy.redb",
        "memory:",
        "sqlite:",
        "wallet-1",
        "$all",
        "",
    ];
    prop_oneof![
        4 => proptest::sample::select(words.to_vec()).prop_map(str::to_owned),
        1 => "[a-z0-9$:/?=&%\\x01é-]{0,12}",
        1 => any::<String>().prop_filter("no NUL in argv", |s| !s.contains('\0')),
    ]
}

#[test]
fn fuzz_cli_arguments() {
    let dir = TempDir::new("disco-cli-fuzz");
    let store = format!("sqlite:{}", dir.path().join("store.db").display());
    let seed = common::disco(&["--store", &store, "init"]);
    assert!(seed.status.success(), "init: {}", common::text(&seed));
    let stores = prop_oneof![Just(store.clone()), Just("memory:".to_owned())];
    let argv = (stores, proptest::collection::vec(word(), 0..6));
    fuzz::run("cli arguments", argv, |(store, words)| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_disco"))
            .arg("--store")
            .arg(&store)
            .args(&words)
            .env_remove("DISCO_STORE")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TestCaseError::fail(format!("cannot run disco: {e}")))?;
        // `tail` and the like wait for events: a child still running after
        // its time is fine, and is stopped.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child
                .try_wait()
                .map_err(|e| TestCaseError::fail(e.to_string()))?
            {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let Some(status) = status else { return Ok(()) };
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            use std::io::Read;
            let _ = err.read_to_string(&mut stderr);
        }
        prop_assert!(
            !stderr.contains("panicked"),
            "disco {:?} panicked: {}",
            words,
            stderr
        );
        let code = status.code();
        prop_assert!(
            code.is_some_and(|c| (0..=11).contains(&c)),
            "disco {:?} exited with {:?}: {}",
            words,
            code,
            stderr
        );
        Ok(())
    });
}
