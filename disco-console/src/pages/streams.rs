//! The streams list (prefix search, keyset paging: a page costs the same at
//! millions of streams) and one stream's events, a page at a time.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State as Shared};
use axum::response::Html;
use disco::{ReadDirection, StreamId, StreamState};
use serde::Deserialize;

use super::{Failed, Page};
use crate::html::{self, attr, query, text, thousands};
use crate::state::State;

/// Streams or events per page.
const PAGE: usize = 50;

/// `/streams`' query.
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    prefix: String,
    after: Option<String>,
}

fn state_name(state: StreamState) -> &'static str {
    match state {
        StreamState::Active => "active",
        StreamState::SoftDeleted => "soft-deleted",
        StreamState::HardDeleted => "hard-deleted",
    }
}

/// A stream id from a request.
fn stream_id(id: &str) -> Result<StreamId, Failed> {
    StreamId::new(id).map_err(|e| Failed::bad(format!("not a stream id: {e}")))
}

/// `GET /streams?prefix=&after=`.
pub(crate) async fn list(Shared(state): Shared<Arc<State>>, Query(q): Query<ListQuery>) -> Page {
    let store = state.store().await?;
    let after = q.after.as_deref().map(stream_id).transpose()?;
    let page = store.list_streams(&q.prefix, after.as_ref(), PAGE).await?;
    let mut body = format!(
        "<form method=\"get\" action=\"/streams\" class=\"search\"><input name=\"prefix\" value=\"{}\" placeholder=\"stream id prefix\" autofocus> <button>Search</button></form>",
        attr(&q.prefix)
    );
    if page.is_empty() {
        body.push_str("<p class=\"dim\">No stream here.</p>");
    } else {
        body.push_str(
            "<table id=\"streams\"><tr><th>stream</th><th>version</th><th>state</th></tr>",
        );
        for info in &page {
            let _ = write!(
                body,
                "<tr><td><a class=\"stream-id\" href=\"/stream?id={}\">{}</a></td><td class=\"num\">{}</td><td>{}</td></tr>",
                query(info.stream_id.as_str()),
                text(info.stream_id.as_str()),
                thousands(info.version),
                state_name(info.state)
            );
        }
        body.push_str("</table>");
    }
    if page.len() == PAGE {
        if let Some(last) = page.last() {
            let _ = write!(
                body,
                "<p><a id=\"next\" href=\"/streams?prefix={}&amp;after={}\">Next page →</a></p>",
                query(&q.prefix),
                query(last.stream_id.as_str())
            );
        }
    }
    Ok(Html(html::page("Streams", "/streams", None, &body)))
}

/// `/stream`'s query.
#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    id: String,
    from: Option<u64>,
}

/// `GET /stream?id=&from=`: the events of one stream from a version.
pub(crate) async fn stream(
    Shared(state): Shared<Arc<State>>,
    Query(q): Query<StreamQuery>,
) -> Page {
    let store = state.store().await?;
    let id = stream_id(&q.id)?;
    let known = store.list_streams(id.as_str(), None, 1).await?;
    let Some(info) = known.first().filter(|i| i.stream_id == id) else {
        return Err(Failed::missing(format!("there is no stream {}", q.id)));
    };
    let from = q.from.unwrap_or(1).max(1);
    let events = match info.state {
        StreamState::Active => {
            store
                .read_stream(&id, from, ReadDirection::Forward, PAGE)
                .await?
        }
        _ => Vec::new(),
    };
    let mut body = format!(
        "<p>Stream <code class=\"stream-id\">{}</code>: version <b>{}</b>, {}.</p>",
        text(id.as_str()),
        thousands(info.version),
        state_name(info.state)
    );
    body.push_str("<table id=\"events\"><tr><th>version</th><th>position</th><th>type</th><th>recorded</th></tr>");
    for e in &events {
        let _ = write!(
            body,
            "<tr><td class=\"num\"><a href=\"/event?position={}\">{}</a></td><td class=\"num\">{}</td><td class=\"type\">{}</td><td class=\"dim\">{}</td></tr>",
            e.position,
            e.version,
            e.position,
            text(&e.event_type),
            e.recorded_at.to_rfc3339()
        );
    }
    body.push_str("</table>");
    let mut links = Vec::new();
    if from > 1 {
        links.push(format!(
            "<a href=\"/stream?id={}&amp;from={}\">← Earlier</a>",
            query(id.as_str()),
            from.saturating_sub(PAGE as u64).max(1)
        ));
    }
    if let Some(last) = events.last().filter(|_| events.len() == PAGE) {
        links.push(format!(
            "<a id=\"next\" href=\"/stream?id={}&amp;from={}\">Later →</a>",
            query(id.as_str()),
            last.version.saturating_add(1)
        ));
    }
    if !links.is_empty() {
        let _ = write!(body, "<p>{}</p>", links.join(" · "));
    }
    Ok(Html(html::page("Stream", "/streams", None, &body)))
}
