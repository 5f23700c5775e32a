//! One event: where it sits, its data (JSON pretty-printed, other bytes as
//! hex) and metadata, and links to its conversation's story and to what
//! caused it.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State as Shared};
use axum::response::{Html, IntoResponse, Redirect, Response};
use disco::cqrs::Metadata;
use disco::{EventStore, RecordedEvent, Uuid};
use serde::Deserialize;

use super::{Failed, Page};
use crate::html::{self, query, text};
use crate::state::State;

/// `/event`'s query: a position, or an event id the story index knows.
#[derive(Deserialize)]
pub(crate) struct EventQuery {
    position: Option<u64>,
    id: Option<String>,
}

/// The event at `position`, if there is one.
pub(crate) async fn at(
    store: &dyn EventStore,
    position: u64,
) -> Result<Option<RecordedEvent>, disco::Error> {
    let Some(after) = position.checked_sub(1) else {
        return Ok(None);
    };
    let page = store.read_all(after, 1).await?;
    Ok(page.into_iter().next().filter(|e| e.position == position))
}

/// `GET /event?position=N` (or `?id=UUID`, sent on to its position).
pub(crate) async fn page(
    Shared(state): Shared<Arc<State>>,
    Query(q): Query<EventQuery>,
) -> Result<Response, Failed> {
    if let Some(id) = q.id.as_deref() {
        let id = Uuid::parse_str(id).map_err(|e| Failed::bad(format!("not an event id: {e}")))?;
        return match state.index.position_of(id) {
            Some(position) => Ok(Redirect::to(&format!("/event?position={position}")).into_response()),
            None => Err(Failed::missing(format!(
                "no event {id} is known to the story index (it holds the events written with disco's metadata, up to position {})",
                state.index.position()
            ))),
        };
    }
    let Some(position) = q.position else {
        return Err(Failed::bad("give ?position=N or ?id=UUID"));
    };
    shown(&state, position)
        .await
        .map(IntoResponse::into_response)
}

async fn shown(state: &State, position: u64) -> Page {
    let store = state.store().await?;
    let Some(e) = at(&*store, position).await? else {
        return Err(Failed::missing(format!(
            "there is no event at position {position}"
        )));
    };
    let mut body = format!(
        "<table class=\"facts\"><tr><th>stream</th><td><a class=\"stream-id\" href=\"/stream?id={}\">{}</a></td></tr><tr><th>version</th><td>{}</td></tr><tr><th>position</th><td>{}</td></tr><tr><th>type</th><td class=\"type\">{}</td></tr><tr><th>id</th><td><code>{}</code></td></tr><tr><th>recorded</th><td>{}</td></tr>",
        query(e.stream_id.as_str()),
        text(e.stream_id.as_str()),
        e.version,
        e.position,
        text(&e.event_type),
        e.id,
        e.recorded_at.to_rfc3339()
    );
    if let Ok(meta) = serde_json::from_slice::<Metadata>(&e.metadata) {
        let _ = write!(
            body,
            "<tr><th>correlation</th><td><a id=\"story-link\" href=\"/story?correlation={}\">{} (the story)</a></td></tr>",
            meta.correlation_id, meta.correlation_id
        );
        let cause = match state.index.position_of(meta.causation_id) {
            Some(p) => format!(
                "<a href=\"/event?position={p}\">event {} at position {p}</a>",
                meta.causation_id
            ),
            None => format!("command {}", meta.causation_id),
        };
        let _ = write!(body, "<tr><th>causation</th><td>{cause}</td></tr>");
        if let Some(command) = meta.command_id {
            let _ = write!(
                body,
                "<tr><th>command</th><td><code>{command}</code></td></tr>"
            );
        }
    }
    body.push_str("</table>");
    let _ = write!(
        body,
        "<h2>Data <span class=\"dim\">({} bytes)</span></h2><div id=\"data\">{}</div><h2>Metadata <span class=\"dim\">({} bytes)</span></h2><div id=\"metadata\">{}</div>",
        e.data.len(),
        html::payload(&e.data),
        e.metadata.len(),
        html::payload(&e.metadata)
    );
    let _ = write!(
        body,
        "<p><a href=\"/event?position={}\">← Previous position</a> · <a href=\"/event?position={}\">Next position →</a></p>",
        position.saturating_sub(1).max(1),
        position.saturating_add(1)
    );
    Ok(Html(html::page("Event", "/streams", None, &body)))
}
