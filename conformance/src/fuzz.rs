//! A time-boxed fuzzing loop on proptest: the project's fuzz targets run
//! through it (the toolchain CI has is stable Rust, where cargo-fuzz's
//! libFuzzer does not build; proptest's generators and shrinking serve).
//!
//! [`run`] feeds a property fresh inputs until its time is up, in rounds
//! of [`ROUND`] cases with a new seed each, and fails with the shrunk input
//! and the seed that found it. Time per target: `DISCO_FUZZ_SECONDS`
//! (default [`DEFAULT_SECONDS`]); `DISCO_FUZZ_SEED` replays one seed (one
//! round). `scripts/fuzz.sh` runs every target longer.
//!
//! ```
//! use disco_conformance::fuzz;
//! use proptest::prelude::*;
//! let report = fuzz::run("lengths", any::<String>(), |s| {
//!     prop_assert!(s.chars().count() <= s.len());
//!     Ok(())
//! });
//! assert!(report.cases > 0);
//! ```

use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

/// Seconds a target runs when `DISCO_FUZZ_SECONDS` is not set.
pub const DEFAULT_SECONDS: f64 = 8.0;
/// Cases per round (one seed).
pub const ROUND: u32 = 64;

/// What a finished run did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target's name.
    pub name: String,
    /// Inputs tried.
    pub cases: u64,
    /// Time spent.
    pub elapsed: Duration,
}

/// The inputs that found something, kept beside the target as one input a
/// line (`#` starts a comment): each target runs them before new ones.
/// A missing file is an empty corpus.
pub fn corpus(path: impl AsRef<std::path::Path>) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// How long each target runs (`DISCO_FUZZ_SECONDS`).
pub fn budget() -> Duration {
    std::env::var("DISCO_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(
            Duration::from_secs_f64(DEFAULT_SECONDS),
            Duration::from_secs_f64,
        )
}

fn fresh_seed() -> u64 {
    let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
    high ^ low
}

/// Runs `property` on inputs of `strategy` for [`budget`], panicking with
/// the shrunk input and the seed on the first failure (or panic) found.
/// Prints one line: the target, its cases and time, for the CI log.
pub fn run<S>(
    name: &str,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> Report
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let replay = std::env::var("DISCO_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let budget = budget();
    let start = Instant::now();
    let mut cases = 0u64;
    loop {
        let seed = replay.unwrap_or_else(fresh_seed);
        let config = Config {
            cases: ROUND,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            max_shrink_iters: 2048,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        match runner.run(&strategy, &property) {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => panic!(
                "fuzz target {name} failed after {cases} cases: {why}\nminimal input: {input:?}\nreplay with DISCO_FUZZ_SEED={seed}"
            ),
            Err(TestError::Abort(why)) => {
                panic!("fuzz target {name} aborted: {why} (seed {seed})")
            }
        }
        cases += u64::from(ROUND);
        if replay.is_some() || start.elapsed() >= budget {
            break;
        }
    }
    let report = Report {
        name: name.to_owned(),
        cases,
        elapsed: start.elapsed(),
    };
    println!(
        "fuzz {}: {} cases in {:.1} s, nothing found",
        report.name,
        report.cases,
        report.elapsed.as_secs_f64()
    );
    report
}
