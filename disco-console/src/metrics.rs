//! `GET /metrics`: the store as Prometheus reads it (text format 0.0.4):
//! head, counts, append rate, each consumer's position, lag and parked
//! streams, each projection generation's position and lag.
//!
//! These are the store's numbers as seen from outside; the library's own
//! (append latency, command latency, handling time) go through the
//! `metrics` facade to the application's exporter.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State as Shared;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::background::rate_last_minute;
use crate::pages::consumers::gather;
use crate::pages::Failed;
use crate::state::{lock, State};

/// `s` as a label value: backslash, quote and newline escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes one metric's help and type lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `GET /metrics`.
pub(crate) async fn metrics(Shared(state): Shared<Arc<State>>) -> Result<Response, Failed> {
    let store = state.store().await?;
    let (consumers, head) = gather(&state, &store).await?;
    let mut out = String::new();
    family(
        &mut out,
        "disco_head_position",
        "gauge",
        "The position of the newest event.",
    );
    let _ = writeln!(out, "disco_head_position {head}");
    if let Some((counts, _)) = *lock(&state.counts) {
        family(
            &mut out,
            "disco_streams",
            "gauge",
            "Streams, by state (counted every 30 s).",
        );
        let _ = writeln!(out, "disco_streams{{state=\"active\"}} {}", counts.active);
        let _ = writeln!(
            out,
            "disco_streams{{state=\"soft_deleted\"}} {}",
            counts.soft_deleted
        );
        let _ = writeln!(
            out,
            "disco_streams{{state=\"hard_deleted\"}} {}",
            counts.hard_deleted
        );
        family(
            &mut out,
            "disco_events",
            "gauge",
            "Events in streams not hard-deleted.",
        );
        let _ = writeln!(out, "disco_events {}", counts.events);
    }
    if let Some(rate) = rate_last_minute(&state) {
        family(
            &mut out,
            "disco_append_rate",
            "gauge",
            "Events appended per second over the last minute.",
        );
        let _ = writeln!(out, "disco_append_rate {rate:.3}");
    }
    family(
        &mut out,
        "disco_consumer_position",
        "gauge",
        "A consumer's checkpoint (a partitioned one's lowest partition's).",
    );
    for c in &consumers {
        let _ = writeln!(
            out,
            "disco_consumer_position{{consumer=\"{}\"}} {}",
            label(&c.name),
            c.position
        );
    }
    family(
        &mut out,
        "disco_consumer_lag",
        "gauge",
        "Events between a consumer's checkpoint and the head.",
    );
    for c in &consumers {
        let _ = writeln!(
            out,
            "disco_consumer_lag{{consumer=\"{}\"}} {}",
            label(&c.name),
            c.lag
        );
    }
    family(
        &mut out,
        "disco_consumer_parked_streams",
        "gauge",
        "Streams a consumer holds parked (not yet released).",
    );
    for c in &consumers {
        let parked = c.parked.iter().filter(|(_, r)| r.is_none()).count();
        let _ = writeln!(
            out,
            "disco_consumer_parked_streams{{consumer=\"{}\"}} {parked}",
            label(&c.name)
        );
    }
    if let Ok((rows, _)) = crate::pages::projections::gather(&state).await {
        family(
            &mut out,
            "disco_projection_position",
            "gauge",
            "A projection generation's position.",
        );
        for r in &rows {
            let _ = writeln!(
                out,
                "disco_projection_position{{projection=\"{}\",generation=\"{}\",state=\"{}\"}} {}",
                label(&r.name),
                r.generation,
                r.state.as_str(),
                r.position
            );
        }
        family(
            &mut out,
            "disco_projection_lag",
            "gauge",
            "Events between a projection generation's position and the head.",
        );
        for r in &rows {
            let _ = writeln!(
                out,
                "disco_projection_lag{{projection=\"{}\",generation=\"{}\",state=\"{}\"}} {}",
                label(&r.name),
                r.generation,
                r.state.as_str(),
                head.saturating_sub(r.position)
            );
        }
        family(
            &mut out,
            "disco_projection_generations",
            "gauge",
            "A projection's generations, by state.",
        );
        let mut names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        names.dedup();
        for name in names {
            for st in ["live", "building", "retired"] {
                let n = rows
                    .iter()
                    .filter(|r| r.name == name && r.state.as_str() == st)
                    .count();
                let _ = writeln!(
                    out,
                    "disco_projection_generations{{projection=\"{}\",state=\"{st}\"}} {n}",
                    label(name)
                );
            }
        }
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_cannot_break_out() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
