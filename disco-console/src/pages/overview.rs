//! The overview: the store (kind, location without secrets, schema
//! version), its head, streams and events, the append rate of the last ten
//! minutes as a chart, and everything that consumes it (consumers,
//! partitioned consumers, process managers, projections) worst lag first.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State as Shared;
use axum::response::Html;
use disco::projections::GenerationState;

use super::consumers::{gather, lag_bar};
use super::Page;
use crate::background::{rate_last_minute, rates};
use crate::html::{self, text, thousands};
use crate::state::{lock, State};

/// The append-rate chart: one bar per sample interval, newest right.
fn chart(rates: &[(f64, f64)]) -> String {
    const W: f64 = 600.0;
    const H: f64 = 80.0;
    let top = rates.iter().map(|r| r.0).fold(1.0_f64, f64::max);
    let mut svg = format!(
        "<svg id=\"rate-chart\" class=\"chart\" viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"append rate, last 10 minutes\"><text x=\"0\" y=\"10\" class=\"axis\">{top:.0} events/s</text><line x1=\"0\" y1=\"{}\" x2=\"{W}\" y2=\"{}\" class=\"axis\"/>",
        H + 14.0,
        H + 12.0,
        H + 12.0
    );
    let slots = crate::state::SAMPLES as f64;
    let width = W / slots;
    for (i, (rate, _ago)) in rates.iter().enumerate() {
        let x = W - rates.len().saturating_sub(i) as f64 * width;
        let h = (rate / top * H).max(if *rate > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{h:.1}\"/>",
            H + 12.0 - h,
            width * 0.9
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `GET /`.
pub(crate) async fn page(Shared(state): Shared<Arc<State>>) -> Page {
    let opened = state.opened().await?;
    let store = opened.store.clone();
    let (consumers, head) = gather(&state, &store).await?;
    let kind = state
        .config
        .store_url
        .split(':')
        .next()
        .unwrap_or("")
        .to_owned();
    let version = match (opened.schema_version, opened.schema.as_deref()) {
        (None, _) => format!("none ({})", opened.version_kind),
        (Some(v), Some(schema)) => format!("{v} ({}, schema {schema})", opened.version_kind),
        (Some(v), None) => format!("{v} ({})", opened.version_kind),
    };
    let counts = match *lock(&state.counts) {
        Some((c, at)) => format!(
            "<b id=\"streams\">{}</b> streams ({} soft-deleted, {} hard-deleted), <b id=\"events\">{}</b> events <span class=\"dim\">(counted {})</span>",
            thousands(c.streams()),
            thousands(c.soft_deleted),
            thousands(c.hard_deleted),
            thousands(c.events),
            at.to_rfc3339()
        ),
        None => "<span class=\"dim\">counting streams and events…</span>".to_owned(),
    };
    let rate = rate_last_minute(&state).map_or_else(
        || "<span class=\"dim\">measuring…</span>".to_owned(),
        |r| format!("<b id=\"rate\">{r:.1}</b> events/s over the last minute"),
    );
    let mut body = format!(
        "<table class=\"facts\"><tr><th>store</th><td><b id=\"kind\">{}</b> <code id=\"location\">{}</code></td></tr><tr><th>schema version</th><td>{}</td></tr><tr><th>head position</th><td><b id=\"head\">{}</b></td></tr><tr><th>contents</th><td>{counts}</td></tr><tr><th>append rate</th><td>{rate}</td></tr></table>",
        text(&kind),
        text(&state.shown_url),
        text(&version),
        thousands(head),
    );
    body.push_str("<h2>Append rate, last 10 minutes</h2>");
    body.push_str(&chart(&rates(&state)));

    // Everything that reads the store, worst lag first.
    let mut readers: Vec<(String, &'static str, String, u64, String)> = consumers
        .iter()
        .map(|c| {
            let kind = if c.parts.is_empty() {
                "consumer"
            } else {
                "partitioned consumer"
            };
            (
                c.name.clone(),
                kind,
                c.state().to_owned(),
                c.lag,
                "/consumers".to_owned(),
            )
        })
        .collect();
    let projections_note = match super::projections::gather(&state).await {
        Ok((rows, _)) => {
            for row in rows.iter().filter(|r| r.state != GenerationState::Retired) {
                readers.push((
                    format!("{} (generation {})", row.name, row.generation),
                    "projection",
                    row.state.as_str().to_owned(),
                    head.saturating_sub(row.position),
                    "/projections".to_owned(),
                ));
            }
            String::new()
        }
        Err(why) => format!(
            "<p class=\"dim\">Projections: the read-model database cannot be read ({}).</p>",
            text(&why.0)
        ),
    };
    readers.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
    let worst = readers.first().map_or(0, |r| r.3);
    body.push_str("<h2>Consumers and projections, worst lag first</h2>");
    if readers.is_empty() {
        body.push_str("<p class=\"dim\">Nothing consumes this store yet.</p>");
    } else {
        body.push_str("<table id=\"lags\"><tr><th>name</th><th>kind</th><th>state</th><th>lag</th><th></th></tr>");
        for (name, kind, st, lag, link) in &readers {
            let class = if *lag > 0 && *lag == worst || st == "parked" {
                " class=\"worst\""
            } else {
                ""
            };
            let _ = write!(
                body,
                "<tr{class}><td><a href=\"{link}\">{}</a></td><td>{kind}</td><td>{}</td><td class=\"num lag\">{}</td><td>{}</td></tr>",
                text(name),
                text(st),
                thousands(*lag),
                lag_bar(*lag, worst)
            );
        }
        body.push_str("</table>");
    }
    body.push_str(&projections_note);
    Ok(Html(html::page("Overview", "/", Some(5), &body)))
}
