//! Running a case on both sides and reporting it: [`Row`], the table and
//! the JSON lines.

use std::time::Duration;

use crate::backend::{Backend, Goal};
use crate::memory_usage;
use crate::partition_case;
use crate::projection_cases;
use crate::reopen_case;
use crate::transfer_case;
use crate::workloads::{self, Case, Sizes};

/// One case's result.
#[derive(Clone, Debug)]
pub struct Row {
    /// Case name.
    pub case: &'static str,
    /// Backend name.
    pub backend: &'static str,
    /// Events in the timed part (each side did the same).
    pub events: u64,
    /// Store events per second.
    pub store_rate: f64,
    /// Raw baseline events per second.
    pub raw_rate: f64,
    /// Store peak RSS in MiB during its run, where measurable.
    pub store_peak_mib: Option<f64>,
    /// Raw peak RSS in MiB during its run, where measurable.
    pub raw_peak_mib: Option<f64>,
    /// Store and raw (p50, p99) latencies, for the latency case.
    pub latency: Option<[(Duration, Duration); 2]>,
    /// For the transfer case: the (p50, p99) of four commands in a row.
    pub floor: Option<(Duration, Duration)>,
    /// The goal, if one is set.
    pub goal: Option<Goal>,
    /// Whether the goal was met.
    pub met: Option<bool>,
}

impl Row {
    /// Store rate over raw rate.
    pub fn ratio(&self) -> f64 {
        self.store_rate / self.raw_rate.max(1e-9)
    }

    fn goal_text(&self) -> String {
        let verdict = match self.met {
            Some(true) => " ok",
            Some(false) => " MISSED",
            None => "",
        };
        match self.goal {
            Some(Goal::MinRatio(r)) => format!(">= {r}x{verdict}"),
            Some(Goal::MaxPeakMib(m)) => format!("peak <= {m} MiB{verdict}"),
            Some(Goal::MaxP99Ms(m)) => format!("p99 <= {m} ms{verdict}"),
            Some(Goal::Flat(m)) => format!("long/short <= {m}x{verdict}"),
            Some(Goal::MinRate(m)) => format!(">= {m} ev/s{verdict}"),
            None => "-".into(),
        }
    }

    fn latency_text(&self) -> String {
        if self.case == "transfer-process" {
            if let Some([(p50, p99), (raw50, raw99)]) = self.latency {
                let floor = self.floor.map_or(String::new(), |(f50, f99)| {
                    format!(
                        "; four commands in a row (the floor) p50 {:.2} p99 {:.2} ms, transfer/floor {:.2}x",
                        ms(f50),
                        ms(f99),
                        ms(p50) / ms(f50).max(1e-9)
                    )
                });
                return format!(
                    "per transfer p50 {:.2} p99 {:.2} ms; per command p50 {:.2} p99 {:.2} ms; transfer/command {:.2}x{floor}",
                    ms(p50),
                    ms(p99),
                    ms(raw50),
                    ms(raw99),
                    1.0 / self.ratio().max(1e-9)
                );
            }
        }
        if self.case == "reopen-after-kill" {
            if let Some([(killed, _), (closed, unchecked)]) = self.latency {
                return format!(
                    "open after kill -9 {:.1} ms, after a clean close {:.1} ms (without the integrity check); after a clean close with it (the default) {:.1} ms",
                    ms(killed),
                    ms(unchecked),
                    ms(closed)
                );
            }
        }
        if self.case == "dispatch-growth" {
            if let Some([(short, long), (raw_short, raw_long)]) = self.latency {
                return format!(
                    "per command: {:.3} ms at 10 events, {:.3} ms at the longest stream (raw append {:.3}/{:.3})",
                    ms(short),
                    ms(long),
                    ms(raw_short),
                    ms(raw_long)
                );
            }
        }
        match self.latency {
            Some([(p50, p99), (raw50, raw99)]) => format!(
                "p50 {:.2} p99 {:.2} ms (raw {:.2}/{:.2})",
                ms(p50),
                ms(p99),
                ms(raw50),
                ms(raw99)
            ),
            None => String::new(),
        }
    }

    fn latency_json(&self) -> String {
        let floor = self.floor.map_or(String::new(), |(f50, f99)| {
            format!(
                ",\"floor_p50_ms\":{:.3},\"floor_p99_ms\":{:.3}",
                ms(f50),
                ms(f99)
            )
        });
        floor
            + &match self.latency {
            Some([(p50, p99), (raw50, raw99)]) => format!(
                ",\"store_p50_ms\":{:.3},\"store_p99_ms\":{:.3},\"raw_p50_ms\":{:.3},\"raw_p99_ms\":{:.3}",
                ms(p50),
                ms(p99),
                ms(raw50),
                ms(raw99)
            ),
            None => String::new(),
        }
    }

    /// The row as one JSON object.
    pub fn json(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.1}"));
        format!(
            "{{\"case\":\"{}\",\"backend\":\"{}\",\"events\":{},\"store_events_per_s\":{:.0},\"raw_events_per_s\":{:.0},\"ratio\":{:.3},\"store_peak_rss_mib\":{},\"raw_peak_rss_mib\":{}{},\"goal\":\"{}\",\"goal_met\":{}}}",
            self.case,
            self.backend,
            self.events,
            self.store_rate,
            self.raw_rate,
            self.ratio(),
            opt(self.store_peak_mib),
            opt(self.raw_peak_mib),
            self.latency_json(),
            self.goal_text(),
            self.met.map_or("null".to_string(), |m| m.to_string()),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: Option<u64>) -> Option<f64> {
    bytes.map(|b| b as f64 / (1024.0 * 1024.0))
}

/// Runs `case` on a fresh store, then on a fresh raw baseline, and reports.
pub async fn measure(backend: &Backend, case: Case, sizes: Sizes) -> disco_core::Result<Row> {
    let can_reset = memory_usage::reset_peak();
    let mut floor = None;
    let (on_store, on_raw, store_peak, raw_peak) =
        if matches!(case, Case::PartitionedIo | Case::PartitionedNoop) {
            // One store for both sides: partitioned (store), lone (raw).
            let store = backend.fresh_store(case).await?;
            let measured = match case {
                Case::PartitionedIo => {
                    partition_case::io(store.store(), backend.shared_url(case), sizes).await
                }
                _ => partition_case::noop(store.store(), sizes).await,
            };
            store.finish().await;
            let (on_store, on_raw) = measured?;
            (on_store, on_raw, None, None)
        } else if case == Case::ReopenAfterKill {
            let Backend::Redb(base) = backend else {
                return Err(disco_core::Error::InvalidInput(
                    "reopen-after-kill runs on redb: pass --store redb:PATH".into(),
                ));
            };
            let (on_store, on_raw) = reopen_case::run(base, sizes).await?;
            (on_store, on_raw, None, None)
        } else if case == Case::TransferProcess {
            // One store serves both sides: transfers, then single commands.
            let store = backend.fresh_store(case).await?;
            let measured = transfer_case::run(store.store(), sizes).await;
            store.finish().await;
            let (on_store, on_raw, four) = measured?;
            floor = four.latency;
            (on_store, on_raw, None, None)
        } else if projection_cases::is_projection_case(case) {
            // One store serves both sides; the read models differ.
            let store = backend.fresh_store(case).await?;
            let events = store.store();
            let measured = match case {
                Case::ProjectionRebuild => projection_cases::rebuild(backend, events, sizes).await,
                Case::ProjectionPortable => {
                    projection_cases::portable(backend, events, sizes).await
                }
                _ => projection_cases::latency(backend, events, sizes).await,
            };
            store.finish().await;
            let (on_store, on_raw) = measured?;
            (on_store, on_raw, None, None)
        } else {
            let store = backend.fresh_store(case).await?;
            let on_store = workloads::run(case, store.target.clone(), sizes).await?;
            let store_peak = mib(memory_usage::peak_bytes().filter(|_| can_reset));
            store.finish().await;

            memory_usage::reset_peak();
            let raw = backend.fresh_raw(case).await?;
            let on_raw = workloads::run(case, raw.target.clone(), sizes).await?;
            let raw_peak = mib(memory_usage::peak_bytes().filter(|_| can_reset));
            raw.finish().await;
            (on_store, on_raw, store_peak, raw_peak)
        };

    let goal = backend.goal(case);
    let mut row = Row {
        case: case.name(),
        backend: backend.name(),
        events: on_store.events,
        store_rate: on_store.rate(),
        raw_rate: on_raw.rate(),
        store_peak_mib: store_peak,
        raw_peak_mib: raw_peak,
        latency: on_store.latency.zip(on_raw.latency).map(|(s, r)| [s, r]),
        floor,
        goal,
        met: None,
    };
    // Only a full-size run can show whether a goal is met.
    row.met = match goal {
        _ if !sizes.full => None,
        Some(Goal::MinRatio(r)) => Some(row.ratio() >= r),
        Some(Goal::MaxPeakMib(m)) => store_peak.map(|p| p <= m),
        Some(Goal::MaxP99Ms(m)) => row.latency.map(|[(_, p99), _]| ms(p99) <= m),
        Some(Goal::MinRate(m)) => Some(row.store_rate >= m),
        Some(Goal::Flat(m)) => row
            .latency
            .map(|[(short, long), _]| long.as_secs_f64() <= m * short.as_secs_f64()),
        None => None,
    };
    Ok(row)
}

/// Prints the rows as an aligned table.
pub fn print_table(rows: &[Row]) {
    let peak = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}"));
    println!(
        "{:<18} {:<8} {:>9} {:>14} {:>14} {:>7} {:>10} {:>10}  goal",
        "case", "backend", "events", "store ev/s", "raw ev/s", "ratio", "store MiB", "raw MiB"
    );
    for r in rows {
        println!(
            "{:<18} {:<8} {:>9} {:>14.0} {:>14.0} {:>6.2}x {:>10} {:>10}  {}",
            r.case,
            r.backend,
            r.events,
            r.store_rate,
            r.raw_rate,
            r.ratio(),
            peak(r.store_peak_mib),
            peak(r.raw_peak_mib),
            r.goal_text()
        );
        if r.latency.is_some() {
            println!("{:<18} {}", "", r.latency_text());
        }
    }
}

/// A goal that compares two cases of one run.
#[derive(Clone, Debug)]
pub struct CrossGoal {
    /// What is compared, for people.
    pub what: String,
    /// The ratio measured.
    pub ratio: f64,
    /// The least ratio the project holds the backend to.
    pub min: f64,
}

impl CrossGoal {
    /// Whether it was met.
    pub fn met(&self) -> bool {
        self.ratio >= self.min
    }

    /// The goal as one JSON object.
    pub fn json(&self) -> String {
        format!(
            "{{\"cross\":\"{}\",\"ratio\":{:.3},\"goal\":{},\"goal_met\":{}}}",
            self.what,
            self.ratio,
            self.min,
            self.met()
        )
    }
}

/// The goals across cases (when both cases ran at full size): a command on
/// a new aggregate against a bare append (`dispatch-new-8` over
/// `append-8x1`, at least 0.6x on durable stores), and on SQLite and redb
/// group commit against perfect batching (`append-8x1` over the raw side
/// of `group-8-streams`, at least 0.9x).
pub fn cross_goals(rows: &[Row], full: bool) -> Vec<CrossGoal> {
    let find = |case: &str| rows.iter().find(|r| r.case == case);
    let mut goals = Vec::new();
    if !full {
        return goals;
    }
    if let (Some(dispatch), Some(append)) = (find("dispatch-new-8"), find("append-8x1")) {
        if dispatch.backend != "memory" {
            goals.push(CrossGoal {
                what: "dispatch-new-8 store / append-8x1 store".into(),
                ratio: dispatch.store_rate / append.store_rate.max(1e-9),
                min: 0.6,
            });
        }
    }
    if let (Some(append), Some(group)) = (find("append-8x1"), find("group-8-streams")) {
        if matches!(append.backend, "sqlite" | "redb") {
            goals.push(CrossGoal {
                what: "append-8x1 store / group-8-streams raw".into(),
                ratio: append.store_rate / group.raw_rate.max(1e-9),
                min: 0.9,
            });
        }
    }
    goals
}
