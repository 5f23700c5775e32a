//! The story of a command: every event its conversation (its correlation
//! id) holds, as a tree in causation order: the command, the events it
//! wrote, the process-manager steps and commands each event caused, down
//! to the last event, with refusals marked and times from the first event.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State as Shared};
use axum::response::Html;
use disco::cqrs::Metadata;
use disco::{RecordedEvent, Uuid};
use serde::Deserialize;

use super::event::at;
use super::{Failed, Page};
use crate::html::{self, query, text};
use crate::state::State;

/// The most events a story page shows.
const MOST: usize = 2000;
/// How deep causation is followed (a chain longer than this is cut).
const DEEPEST: usize = 64;
/// The event type of a process manager's record of a refused command.
const REFUSED: &str = "CommandRefused";

/// `/story`'s query: a correlation id, or the position of any of its events.
#[derive(Deserialize)]
pub(crate) struct StoryQuery {
    correlation: Option<String>,
    position: Option<u64>,
}

/// The story's events with their metadata, position order.
struct Story {
    events: Vec<(RecordedEvent, Metadata)>,
    /// Event indexes by what caused them.
    caused_by: BTreeMap<Uuid, Vec<usize>>,
}

/// `GET /story?correlation=UUID` (or `?position=N`).
pub(crate) async fn page(Shared(state): Shared<Arc<State>>, Query(q): Query<StoryQuery>) -> Page {
    let store = state.store().await?;
    let correlation = match (q.correlation.as_deref(), q.position) {
        (Some(c), _) => {
            Uuid::parse_str(c).map_err(|e| Failed::bad(format!("not a correlation id: {e}")))?
        }
        (None, Some(position)) => {
            let Some(e) = at(&*store, position).await? else {
                return Err(Failed::missing(format!(
                    "there is no event at position {position}"
                )));
            };
            serde_json::from_slice::<Metadata>(&e.metadata)
                .map_err(|_| {
                    Failed::missing(format!(
                        "the event at position {position} has no disco metadata, so it belongs to no story"
                    ))
                })?
                .correlation_id
        }
        (None, None) => return Err(Failed::bad("give ?correlation=UUID or ?position=N")),
    };
    let positions = state.index.conversation(correlation);
    let indexed = state.index.position();
    let head = store.head_position().await?;
    let mut events = Vec::with_capacity(positions.len().min(MOST));
    for &position in positions.iter().take(MOST) {
        if let Some(e) = at(&*store, position).await? {
            if let Ok(meta) = serde_json::from_slice::<Metadata>(&e.metadata) {
                events.push((e, meta));
            }
        }
    }
    let mut caused_by: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (i, (_, meta)) in events.iter().enumerate() {
        caused_by.entry(meta.causation_id).or_default().push(i);
    }
    let story = Story { events, caused_by };

    let mut body = format!(
        "<p>Conversation <code id=\"correlation\">{correlation}</code>: <b id=\"story-count\">{}</b> events.</p>",
        story.events.len()
    );
    if indexed < head {
        let _ = write!(
            body,
            "<p class=\"warn\">The story index has read up to position {indexed} of {head}: events after it are not shown yet.</p>"
        );
    }
    if positions.len() > MOST {
        let _ = write!(
            body,
            "<p class=\"warn\">Only the first {MOST} of its {} events are shown.</p>",
            positions.len()
        );
    }
    if story.events.is_empty() {
        body.push_str("<p class=\"dim\">No event of this conversation is known.</p>");
        return Ok(Html(html::page("Story", "/streams", None, &body)));
    }
    let ids: HashSet<Uuid> = story.events.iter().map(|(e, _)| e.id).collect();
    let start = story
        .events
        .first()
        .map_or(0, |(e, _)| e.recorded_at.as_micros());
    // The roots: what no event of the story caused (the commands sent from
    // outside), in the order of their first event.
    let mut roots: Vec<Uuid> = Vec::new();
    for (_, meta) in &story.events {
        if !ids.contains(&meta.causation_id) && !roots.contains(&meta.causation_id) {
            roots.push(meta.causation_id);
        }
    }
    let mut shown = HashSet::new();
    body.push_str("<ol class=\"story\" id=\"story\">");
    for root in roots {
        caused(&story, root, start, 0, &mut shown, &mut body);
    }
    body.push_str("</ol>");
    Ok(Html(html::page("Story", "/streams", None, &body)))
}

/// The events `cause` caused, grouped by the command that wrote them, each
/// followed by what it caused in turn.
fn caused(
    story: &Story,
    cause: Uuid,
    start: i64,
    depth: usize,
    shown: &mut HashSet<usize>,
    body: &mut String,
) {
    let Some(children) = story.caused_by.get(&cause) else {
        return;
    };
    // Commands in the order of their first event; a process manager's own
    // records (no command) as one group.
    let mut groups: Vec<(Option<Uuid>, Vec<usize>)> = Vec::new();
    for &i in children {
        let Some((_, meta)) = story.events.get(i) else {
            continue;
        };
        match groups.iter_mut().find(|(c, _)| *c == meta.command_id) {
            Some((_, members)) => members.push(i),
            None => groups.push((meta.command_id, vec![i])),
        }
    }
    for (command, members) in groups {
        let heading = match command {
            Some(id) => format!("<span class=\"command\">command <code>{id}</code></span>"),
            None => "<span class=\"step\">process manager</span>".to_owned(),
        };
        let _ = write!(body, "<li class=\"group\">{heading}<ol>");
        for i in members {
            // Each event once, however the causation links loop.
            if !shown.insert(i) {
                continue;
            }
            let Some((e, _)) = story.events.get(i) else {
                continue;
            };
            event_line(e, start, body);
            if depth < DEEPEST {
                let mut nested = String::new();
                caused(
                    story,
                    e.id,
                    start,
                    depth.saturating_add(1),
                    shown,
                    &mut nested,
                );
                if !nested.is_empty() {
                    let _ = write!(body, "<ol>{nested}</ol>");
                }
            }
            body.push_str("</li>");
        }
        body.push_str("</ol></li>");
    }
}

/// One event of the story (its `<li>` left open for what it caused).
fn event_line(e: &RecordedEvent, start: i64, body: &mut String) {
    let after_ms = e.recorded_at.as_micros().saturating_sub(start) as f64 / 1000.0;
    let refused = e.event_type == REFUSED;
    let class = if refused { "event refused" } else { "event" };
    let _ = write!(
        body,
        "<li class=\"{class}\" data-type=\"{}\"><span class=\"time\">+{after_ms:.1} ms</span> <a href=\"/event?position={}\" class=\"type\">{}</a> in <a class=\"stream-id\" href=\"/stream?id={}\">{}</a> <span class=\"dim\">v{} · position {}</span>",
        html::attr(&e.event_type),
        e.position,
        text(&e.event_type),
        query(e.stream_id.as_str()),
        text(e.stream_id.as_str()),
        e.version,
        e.position
    );
    if refused {
        let reason = serde_json::from_slice::<serde_json::Value>(&e.data)
            .ok()
            .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
            .unwrap_or_default();
        let _ = write!(
            body,
            " <span class=\"reason\">refused: {}</span>",
            text(&reason)
        );
    }
}
