//! The live tail: a page whose script opens a server-sent event feed of the
//! events appended after it loaded, filtered by type and stream prefix.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Query, State as Shared};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::Html;
use disco::{EventFilter, Subscription, SubscriptionOptions};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::Page;
use crate::html::{self, attr};
use crate::state::State;

/// The tail's filters (empty: everything).
#[derive(Deserialize)]
pub(crate) struct TailQuery {
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    prefix: String,
    /// Start after this position (default: the head when the feed opens).
    after: Option<u64>,
}

/// `GET /tail`: the page (the feed is opened by `/static/tail.js`).
pub(crate) async fn page(Query(q): Query<TailQuery>) -> Page {
    let body = format!(
        "<form method=\"get\" action=\"/tail\" class=\"search\"><input name=\"type\" value=\"{}\" placeholder=\"event types, comma-separated\"> <input name=\"prefix\" value=\"{}\" placeholder=\"stream id prefix\"> <button>Filter</button></form><p id=\"tail-status\" class=\"dim\">connecting…</p><table id=\"tail\" data-type=\"{}\" data-prefix=\"{}\"><thead><tr><th>position</th><th>stream</th><th>version</th><th>type</th><th>recorded</th></tr></thead><tbody></tbody></table><script src=\"/static/tail.js\"></script>",
        attr(&q.r#type),
        attr(&q.prefix),
        attr(&q.r#type),
        attr(&q.prefix)
    );
    Ok(Html(html::page("Live tail", "/tail", None, &body)))
}

/// The SSE events a channel receives, as a stream.
struct Feed(mpsc::Receiver<Event>);

impl futures_core::Stream for Feed {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|item| item.map(Ok))
    }
}

/// `GET /tail/feed?type=&prefix=&after=`: one SSE `event` per appended
/// event (JSON: position, stream, version, type, recorded), from the head
/// (or `after`); an `error` event when the store fails.
pub(crate) async fn feed(
    Shared(state): Shared<Arc<State>>,
    Query(q): Query<TailQuery>,
) -> impl axum::response::IntoResponse {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        let store = match state.store().await {
            Ok(store) => store,
            Err(why) => {
                let _ = tx.send(Event::default().event("failure").data(why.0)).await;
                return;
            }
        };
        let after = match q.after {
            Some(after) => after,
            None => match store.head_position().await {
                Ok(head) => head,
                Err(why) => {
                    let _ = tx
                        .send(Event::default().event("failure").data(why.to_string()))
                        .await;
                    return;
                }
            },
        };
        let mut filter = EventFilter::default().with_event_types(
            q.r#type
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
        if !q.prefix.is_empty() {
            filter = filter.with_stream_prefix(q.prefix.clone());
        }
        let options = SubscriptionOptions::default()
            .after(after)
            .filter(filter)
            .poll_interval(Duration::from_millis(100));
        let _ = tx
            .send(Event::default().event("ready").data(after.to_string()))
            .await;
        let mut events = Subscription::start(store, options);
        // Ends when the page goes away (the channel closes) or the store fails.
        while let Some(item) = events.next().await {
            let message = match item {
                Ok(e) => Event::default().event("appended").data(
                    json!({
                        "position": e.position,
                        "stream": e.stream_id.as_str(),
                        "version": e.version,
                        "type": e.event_type,
                        "recorded": e.recorded_at.to_rfc3339(),
                    })
                    .to_string(),
                ),
                Err(why) => Event::default().event("failure").data(why.to_string()),
            };
            if tx.send(message).await.is_err() {
                return;
            }
        }
    });
    Sse::new(Feed(rx)).keep_alive(KeepAlive::default())
}
