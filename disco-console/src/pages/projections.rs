//! The projections page: every generation of every projection in the
//! read-model database with its state, position and lag, a running
//! rebuild's progress as a bar, partitions, and rebuild and drop-retired
//! when actions are on.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State as Shared;
use axum::response::Html;
use disco::projections::{GenerationRow, GenerationState, PartitionRow};

use super::Page;
use crate::html::{self, attr, text, thousands};
use crate::state::{State, Unavailable};

/// Every generation and every partition in the read-model database.
pub(crate) async fn gather(
    state: &State,
) -> Result<(Vec<GenerationRow>, Vec<PartitionRow>), Unavailable> {
    let models = state.models().await?;
    Ok((models.list().await?, models.partitions().await?))
}

/// `GET /projections`.
pub(crate) async fn page(Shared(state): Shared<Arc<State>>) -> Page {
    let store = state.store().await?;
    let head = store.head_position().await?;
    let mut body = format!(
        "<p>Read-model database <code>{}</code>; head position <b>{}</b>.</p>",
        text(&crate::config::redact(&state.models_url())),
        thousands(head)
    );
    let (rows, partitions) = match gather(&state).await {
        Ok(found) => found,
        Err(why) => {
            let _ = write!(
                body,
                "<p class=\"error\">The read-model database cannot be read: {}</p><p class=\"dim\">Start the console with <code>--read-models URL</code> to name another one; the console creates nothing.</p>",
                text(&why.0)
            );
            return Ok(Html(html::page("Projections", "/projections", None, &body)));
        }
    };
    if rows.is_empty() {
        body.push_str("<p class=\"dim\">No projection has run in this database.</p>");
    }
    body.push_str("<table id=\"projections\"><tr><th>projection</th><th>generation</th><th>version</th><th>state</th><th>position</th><th>lag</th><th>progress</th><th>updated</th><th></th></tr>");
    for row in &rows {
        let lag = head.saturating_sub(row.position);
        let progress = if row.state == GenerationState::Building {
            let percent = row
                .position
                .saturating_mul(100)
                .checked_div(head)
                .unwrap_or(100);
            format!(
                "<progress max=\"100\" value=\"{}\"></progress> {}%",
                percent.min(100),
                percent.min(100)
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr class=\"generation {}\" data-name=\"{}\" data-generation=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num lag\">{}</td><td>{progress}</td><td class=\"dim\">{}</td><td>",
            row.state.as_str(),
            attr(&row.name),
            row.generation,
            text(&row.name),
            row.generation,
            row.version,
            row.state.as_str(),
            thousands(row.position),
            thousands(lag),
            row.updated_at.to_rfc3339()
        );
        if state.config.allow_actions && row.state == GenerationState::Live {
            action(&state, &row.name, "rebuild", "Rebuild", &mut body);
            if rows
                .iter()
                .any(|r| r.name == row.name && r.state == GenerationState::Retired)
            {
                action(&state, &row.name, "drop-retired", "Drop retired", &mut body);
            }
        }
        body.push_str("</td></tr>");
        for part in partitions
            .iter()
            .filter(|p| p.name == row.name && p.generation == row.generation && p.current)
        {
            let _ = write!(
                body,
                "<tr class=\"part\"><td>&nbsp;&nbsp;partition {} of {}</td><td></td><td></td><td></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td></td><td class=\"dim\">{}</td><td></td></tr>",
                part.slot.index,
                part.slot.count,
                thousands(part.position),
                thousands(head.saturating_sub(part.position)),
                part.updated_at.to_rfc3339()
            );
        }
    }
    body.push_str("</table>");
    // A rebuild's bar moves: refresh while one runs.
    let building = rows.iter().any(|r| r.state == GenerationState::Building);
    Ok(Html(html::page(
        "Projections",
        "/projections",
        Some(if building { 2 } else { 5 }),
        &body,
    )))
}

/// A button that POSTs `what` for projection `name`.
fn action(state: &State, name: &str, what: &str, label: &str, body: &mut String) {
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/actions/projections\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"name\" value=\"{}\"><input type=\"hidden\" name=\"what\" value=\"{what}\"><button class=\"{what}\">{label}</button></form>",
        attr(&state.csrf),
        attr(name)
    );
}
