//! The benchmark binary runs every case end to end on a small scale and
//! prints a row per case in both formats.

use std::process::Command;

#[test]
fn every_case_runs_on_memory_and_prints_table_and_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_disco-bench"))
        .args(["--store", "memory:", "--scale", "0.002"])
        .output()
        .expect("the disco-bench binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "disco-bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    for case in [
        "append-1x1",
        "append-8x1",
        "append-1x100",
        "read-all-1000",
        "read-stream-1000",
        "hold-1m",
        "consume-noop",
        "latency-to-handler",
        "dispatch-new-8",
        "dispatch-hot-8",
        "dispatch-growth",
        "copy-from-sqlite",
    ] {
        let table_row = stdout
            .lines()
            .any(|l| l.starts_with(case) && l.contains("memory"));
        assert!(table_row, "no table row for {case} in:\n{stdout}");
        let json = stdout
            .lines()
            .find(|l| l.contains(&format!("\"case\":\"{case}\"")))
            .unwrap_or_else(|| panic!("no JSON line for {case} in:\n{stdout}"));
        assert!(
            json.contains("\"store_events_per_s\":") && json.contains("\"ratio\":"),
            "{json}"
        );
        if case == "latency-to-handler" {
            assert!(json.contains("\"store_p99_ms\":"), "{json}");
        }
    }
}

#[test]
fn an_unknown_case_or_store_is_refused_with_exit_code_2() {
    let bin = env!("CARGO_BIN_EXE_disco-bench");
    let out = Command::new(bin)
        .args(["--case", "nope"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no case \"nope\""));
    let out = Command::new(bin)
        .args(["--store", "mongodb://x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("names no store"));
}
