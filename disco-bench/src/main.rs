//! disco-bench: runs named workloads against a store URL and, in the same
//! process, against the backend's raw baseline, and prints events/s for both,
//! their ratio and peak memory, as a table and as JSON lines.

mod backend;
mod baseline;
mod commands;
mod console_load;
mod dcb_case;
mod memory_usage;
mod nats_memory;
mod nats_scale_out;
mod partition_case;
mod peer_workload;
mod projection_cases;
mod read_fill;
mod reopen_case;
mod report;
mod target;
mod transfer_case;
mod umadb_ceiling;
mod umadb_workload;
mod workloads;
mod writers;

use std::process::ExitCode;

use clap::Parser;

use backend::Backend;
use report::Row;
use workloads::{Case, Sizes};

/// Benchmarks a disco event store against the raw baseline of its backend.
#[derive(Parser, Debug)]
#[command(name = "disco-bench", version)]
struct Args {
    /// The store: memory:, sqlite:PATH, redb:PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, default_value = "memory:", env = "DISCO_STORE")]
    store: String,
    /// Cases to run (repeat the flag); all of them by default.
    #[arg(long = "case", value_name = "NAME")]
    cases: Vec<String>,
    /// Multiplies every case's amount of work (0.01 for a smoke run).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Print only JSON lines, no table.
    #[arg(long)]
    json: bool,
    /// List the cases and exit.
    #[arg(long)]
    list: bool,
    /// Run disco's side of the peer benchmark (`bench/peers/run.sh`)
    /// instead: `new-1`, `new-8` or `own-8` (repeat the flag), on the
    /// PostgreSQL store of `--store`.
    #[arg(long = "peer-workload", value_name = "CASE")]
    peer_cases: Vec<String>,
    /// Run disco's side of the UmaDB benchmark (`bench/umadb/run.sh`)
    /// instead: `append-8x1`, `append-1x100`, `reads`, `cond-8x1` or
    /// `seat-race`, on the empty store of `--store`.
    #[arg(long = "umadb-workload", value_name = "CASE")]
    umadb_case: Option<String>,
    /// With `--umadb-workload`: run the case on the store's raw baseline
    /// (its ceiling) instead of the store.
    #[arg(long)]
    raw: bool,
    /// Internal: run one member of the partitioned-io case's consumer on
    /// the store at this location until killed.
    #[arg(long, value_name = "STORE", hide = true)]
    partition_member: Option<String>,
    /// Internal: the member's handler's wait per event, in ms.
    #[arg(long, default_value_t = 2, hide = true)]
    handler_ms: u64,
    /// Internal: fill the redb store at this path (reopen-after-kill's
    /// child), then wait to be killed.
    #[arg(long, value_name = "PATH", hide = true)]
    fill_redb: Option<std::path::PathBuf>,
    /// Measure what a NATS store costs its servers in memory per million
    /// events and per million streams, on the store this URL names (its
    /// monitor= parameter names the servers' monitoring ports); the count
    /// is 1,000,000 times --scale.
    #[arg(long, value_name = "NATS_URL")]
    nats_memory: Option<String>,
    /// Measure the aggregate append rate of N stores on the NATS cluster of
    /// --store (a nats:// URL) written at once, against one store alone
    /// (each for 10 s times --scale).
    #[arg(long, value_name = "N")]
    nats_scale_out: Option<usize>,
    /// Measure what one commit costs the NATS cluster of --store (a
    /// nats:// URL, its replicas): a plain publish, and atomic batches of
    /// 2, 4, 16, 64 messages, each acknowledged before the next.
    #[arg(long)]
    nats_commit_cost: bool,
    /// Measure the web console under load on --store (SQLite or
    /// PostgreSQL; filled with 1,000,000 events times --scale if empty):
    /// page latencies for 8 clients, and what it costs 8 writers.
    #[arg(long)]
    console_load: bool,
    /// Measure conditions and query reads on the empty store of --store:
    /// conditional against plain appends (8 writers), and a query read of
    /// 1,000 matches against a stream read of 1,000 in a store of
    /// 1,000,000 events times --scale.
    #[arg(long)]
    dcb: bool,
    /// Internal: how many MiB the child fills.
    #[arg(long, default_value_t = 1024, hide = true)]
    fill_mib: u64,
}

/// Prints the cost of one commit on the cluster of `url` (see
/// `--nats-commit-cost`).
async fn nats_commit_cost(url: &str) -> disco_core::Result<()> {
    let (servers, options) = disco_store_nats::options_of_url(url)?;
    let raw = baseline::nats::RawNats::create(&servers, "commitcost", options.replicas).await?;
    let mut line = format!("commit cost on R{}:", options.replicas);
    for size in [1usize, 2, 4, 16, 64] {
        let took = raw.commit_cost(size, 200).await?;
        line.push_str(&format!(
            " {} {:.2} ms;",
            if size == 1 {
                "publish".to_owned()
            } else {
                format!("batch of {size}")
            },
            took.as_secs_f64() * 1000.0
        ));
    }
    raw.destroy().await;
    println!("{}", line.trim_end_matches(';'));
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for case in Case::ALL {
            println!("{}", case.name());
        }
        return ExitCode::SUCCESS;
    }
    if !args.peer_cases.is_empty() {
        return peer_main(&args);
    }
    if let Some(path) = &args.fill_redb {
        return run_to_end(
            "filling the redb store failed",
            reopen_case::fill_and_wait(path, args.fill_mib),
        );
    }
    if let Some(url) = &args.nats_memory {
        let count = (1_000_000.0 * args.scale).round().max(1.0) as usize;
        return run_to_end(
            "the NATS memory measurement failed",
            nats_memory::run(url, count),
        );
    }
    if args.nats_commit_cost {
        return run_to_end(
            "the NATS commit cost measurement failed",
            nats_commit_cost(&args.store),
        );
    }
    if let Some(case) = args.umadb_case.as_ref().filter(|_| args.raw) {
        return run_to_end(
            "the UmaDB workload's ceiling failed",
            umadb_ceiling::run(&args.store, case, args.scale),
        );
    }
    if let Some(case) = &args.umadb_case {
        return run_to_end(
            "the UmaDB workload failed",
            umadb_workload::run(&args.store, case, args.scale),
        );
    }
    if args.dcb {
        return run_to_end(
            "the conditions measurement failed",
            dcb_case::run(&args.store, args.scale),
        );
    }
    if args.console_load {
        return run_to_end(
            "the console load measurement failed",
            console_load::run(&args.store, args.scale),
        );
    }
    if let Some(n) = args.nats_scale_out {
        let time = std::time::Duration::from_secs_f64((10.0 * args.scale).max(1.0));
        return run_to_end(
            "the NATS scale-out measurement failed",
            nats_scale_out::run(&args.store, n, time),
        );
    }
    if let Some(location) = &args.partition_member {
        let pause = std::time::Duration::from_millis(args.handler_ms);
        return run_to_end(
            "the partition member failed",
            partition_case::run_member(location, pause),
        );
    }
    let backend = match Backend::parse(&args.store) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("disco-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut cases = Vec::new();
    for name in &args.cases {
        match Case::from_name(name) {
            Some(case) => cases.push(case),
            None => {
                let known: Vec<_> = Case::ALL.iter().map(|c| c.name()).collect();
                eprintln!(
                    "disco-bench: no case {name:?}; the cases are {}",
                    known.join(", ")
                );
                return ExitCode::from(2);
            }
        }
    }
    if cases.is_empty() {
        cases = backend.default_cases();
    }
    if !(args.scale > 0.0 && args.scale.is_finite()) {
        eprintln!("disco-bench: --scale must be a positive number");
        return ExitCode::from(2);
    }
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let sizes = Sizes::scaled(args.scale);
    let mut rows = Vec::new();
    for case in cases {
        match runtime.block_on(report::measure(&backend, case, sizes)) {
            Ok(row) => {
                if args.json {
                    println!("{}", row.json());
                }
                rows.push(row);
            }
            Err(e) => {
                eprintln!("disco-bench: {} failed: {e}", case.name());
                return ExitCode::FAILURE;
            }
        }
    }
    if !args.json {
        report::print_table(&rows);
        println!();
        for row in &rows {
            println!("{}", row.json());
        }
    }
    let cross = report::cross_goals(&rows, sizes.full);
    for goal in &cross {
        if args.json {
            println!("{}", goal.json());
        } else {
            println!(
                "{}: {:.2}x (goal >= {}x){}",
                goal.what,
                goal.ratio,
                goal.min,
                if goal.met() { " ok" } else { " MISSED" }
            );
        }
    }
    if rows.iter().any(|r: &Row| r.met == Some(false)) || cross.iter().any(|g| !g.met()) {
        eprintln!("disco-bench: a goal was missed (see the `goal` column)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--peer-workload`: disco's side of `bench/peers/`.
fn peer_main(args: &Args) -> ExitCode {
    if !args.store.starts_with("postgres") {
        eprintln!("disco-bench: --peer-workload runs on PostgreSQL: pass --store postgres://...");
        return ExitCode::from(2);
    }
    run_to_end(
        "the peer workload failed",
        peer_workload::run_cases(&args.store, &args.peer_cases, args.scale),
    )
}

/// Runs `work` on the bench's runtime: success, or the failure said as
/// `disco-bench: {what}: {error}`.
fn run_to_end<E: std::fmt::Display>(
    what: &str,
    work: impl std::future::Future<Output = Result<(), E>>,
) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("disco-bench: {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The multi-threaded tokio runtime the bench runs on (`None`, said, if it
/// cannot start).
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("disco-bench: cannot start the tokio runtime: {e}");
            None
        }
    }
}
