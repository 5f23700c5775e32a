//! The consumers page: every consumer, partitioned consumer and process
//! manager (they all keep checkpoints) with its position and lag, its
//! partitions and members, and the streams it parked with retry and skip.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State as Shared;
use axum::response::Html;
use disco::consumer::parking::{self, ParkedStream, Release};
use disco::consumer::split_checkpoint_name;
use disco::EventStore;

use super::Page;
use crate::html::{self, attr, text, thousands};
use crate::state::{lock, State, Unavailable};

/// One partition of a partitioned consumer.
pub(crate) struct Part {
    pub name: String,
    pub position: u64,
    pub lag: u64,
}

/// One member of a partitioned consumer's group.
pub(crate) struct Member {
    pub name: String,
    /// Its heartbeat count (0: it left).
    pub beat: u64,
    /// Seconds since the console saw the count move.
    pub moved_ago: u64,
}

/// A consumer as its checkpoints show it.
pub(crate) struct Consumer {
    pub name: String,
    /// Its position (a partitioned one's lowest partition's).
    pub position: u64,
    pub lag: u64,
    pub parts: Vec<Part>,
    pub members: Vec<Member>,
    pub parked: Vec<(ParkedStream, Option<Release>)>,
}

impl Consumer {
    /// A word for its state.
    pub fn state(&self) -> &'static str {
        if self.parked.iter().any(|(_, r)| r.is_none()) {
            "parked"
        } else if self.lag == 0 {
            "caught up"
        } else {
            "behind"
        }
    }
}

/// Every consumer of the store, worst lag first, and the head.
pub(crate) async fn gather(
    state: &State,
    store: &Arc<dyn EventStore>,
) -> Result<(Vec<Consumer>, u64), Unavailable> {
    let head = store.head_position().await?;
    let mut checkpoints = store.list_checkpoints().await?;
    checkpoints.sort_by(|a, b| a.name.cmp(&b.name));
    let mut consumers: Vec<Consumer> = Vec::new();
    let now = Instant::now();
    for checkpoint in checkpoints {
        if checkpoint.name == disco::copy::PROGRESS_CHECKPOINT {
            continue;
        }
        let (group, part) = split_checkpoint_name(&checkpoint.name);
        let index = match consumers.iter().position(|c| c.name == group) {
            Some(i) => i,
            None => {
                consumers.push(Consumer {
                    name: group.to_owned(),
                    position: u64::MAX,
                    lag: 0,
                    parts: Vec::new(),
                    members: Vec::new(),
                    parked: Vec::new(),
                });
                consumers.len().saturating_sub(1)
            }
        };
        let Some(consumer) = consumers.get_mut(index) else {
            continue;
        };
        match part {
            Some(member) if member.starts_with("member-") => {
                let mut beats = lock(&state.heartbeats);
                let seen = beats
                    .entry(checkpoint.name.clone())
                    .or_insert((checkpoint.position, now));
                if seen.0 != checkpoint.position {
                    *seen = (checkpoint.position, now);
                }
                consumer.members.push(Member {
                    name: member.to_owned(),
                    beat: checkpoint.position,
                    moved_ago: now.saturating_duration_since(seen.1).as_secs(),
                });
            }
            Some(partition) => {
                consumer.position = consumer.position.min(checkpoint.position);
                consumer.parts.push(Part {
                    name: partition.to_owned(),
                    position: checkpoint.position,
                    lag: head.saturating_sub(checkpoint.position),
                });
            }
            None => consumer.position = consumer.position.min(checkpoint.position),
        }
    }
    for consumer in &mut consumers {
        if consumer.position == u64::MAX {
            consumer.position = 0;
        }
        consumer.lag = head.saturating_sub(consumer.position);
        consumer.parked = parking::parked(&**store, &consumer.name).await?;
    }
    consumers.sort_by(|a, b| b.lag.cmp(&a.lag).then_with(|| a.name.cmp(&b.name)));
    Ok((consumers, head))
}

/// A lag bar: its width relative to the worst, red for the worst.
pub(crate) fn lag_bar(lag: u64, worst: u64) -> String {
    let percent = lag
        .saturating_mul(100)
        .checked_div(worst)
        .unwrap_or(0)
        .min(100);
    let class = if lag > 0 && lag == worst {
        "bar worst"
    } else {
        "bar"
    };
    // An SVG rect's width is an attribute, not a style: the content
    // security policy allows no inline style.
    format!("<svg class=\"{class}\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\"><rect class=\"track\" width=\"100\" height=\"10\"/><rect class=\"fill\" width=\"{percent}\" height=\"10\"/></svg>")
}

/// `GET /consumers`.
pub(crate) async fn page(Shared(state): Shared<Arc<State>>) -> Page {
    let store = state.store().await?;
    let (consumers, head) = gather(&state, &store).await?;
    let worst = consumers.first().map_or(0, |c| c.lag);
    let mut body = format!(
        "<p>Head position <b id=\"head\">{}</b>.</p>",
        thousands(head)
    );
    if consumers.is_empty() {
        body.push_str("<p class=\"dim\">No consumer has a checkpoint in this store.</p>");
    }
    body.push_str("<table id=\"consumers\"><tr><th>consumer</th><th>state</th><th>position</th><th>lag</th><th></th></tr>");
    for c in &consumers {
        let _ = write!(
            body,
            "<tr class=\"consumer\" data-name=\"{}\"><td>{}</td><td class=\"state {}\">{}</td><td class=\"num\">{}</td><td class=\"num lag\">{}</td><td>{}</td></tr>",
            attr(&c.name),
            text(&c.name),
            c.state().replace(' ', "-"),
            c.state(),
            thousands(c.position),
            thousands(c.lag),
            lag_bar(c.lag, worst)
        );
        for p in &c.parts {
            let _ = write!(
                body,
                "<tr class=\"part\"><td>&nbsp;&nbsp;{}</td><td></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td></td></tr>",
                text(&p.name),
                thousands(p.position),
                thousands(p.lag)
            );
        }
        for m in &c.members {
            let life = if m.beat == 0 {
                "left".to_owned()
            } else {
                format!("heartbeat {} (moved {}s ago)", m.beat, m.moved_ago)
            };
            let _ = write!(
                body,
                "<tr class=\"member\"><td>&nbsp;&nbsp;{}</td><td colspan=\"4\" class=\"dim\">{}</td></tr>",
                text(&m.name),
                life
            );
        }
    }
    body.push_str("</table>");
    for c in consumers.iter().filter(|c| !c.parked.is_empty()) {
        parked_table(&state, c, &mut body);
    }
    Ok(Html(html::page("Consumers", "/consumers", Some(5), &body)))
}

/// The parked streams of `c`, with retry and skip when actions are on.
fn parked_table(state: &State, c: &Consumer, body: &mut String) {
    let _ = write!(
        body,
        "<h2>Parked by {}</h2><table class=\"parked\"><tr><th>stream</th><th>event</th><th>error</th><th>state</th><th></th></tr>",
        text(&c.name)
    );
    for (p, released) in &c.parked {
        let status = match released {
            None => "parked",
            Some(Release::Retry) => "released (retry), resuming",
            Some(Release::Skip) => "released (skip), resuming",
        };
        let _ = write!(
            body,
            "<tr class=\"parked-stream\" data-stream=\"{}\"><td><a href=\"/stream?id={}\">{}</a></td><td><a href=\"/event?position={}\">version {} · position {}</a></td><td class=\"error\">{}</td><td>{status}</td><td>",
            attr(p.stream.as_str()),
            html::query(p.stream.as_str()),
            text(p.stream.as_str()),
            p.position,
            p.version,
            p.position,
            text(&p.error)
        );
        if state.config.allow_actions && released.is_none() {
            for (how, label) in [("retry", "Retry"), ("skip", "Skip")] {
                let _ = write!(
                    body,
                    "<form method=\"post\" action=\"/actions/parked\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"consumer\" value=\"{}\"><input type=\"hidden\" name=\"stream\" value=\"{}\"><input type=\"hidden\" name=\"how\" value=\"{how}\"><button class=\"{how}\">{label}</button></form>",
                    attr(&state.csrf),
                    attr(&c.name),
                    attr(p.stream.as_str())
                );
            }
        }
        body.push_str("</td></tr>");
    }
    body.push_str("</table>");
}
