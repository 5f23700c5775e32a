//! `--dcb`: what conditions and query reads cost on the store of `--store`
//! (which should be empty), each against its plain counterpart in the same
//! run, rounds alternating:
//!
//! - `conditional-append`: 8 writers each appending one event tagged
//!   with a course and a student, with a 2-item condition that nothing
//!   matches (the course's definition and seats, the student's
//!   registration), against 8 writers appending the same tagged event with
//!   no condition (goal: at least 0.8x), and against 8 writers appending an
//!   untagged event (what tags and the condition cost together, shown);
//! - `query-read`: in a store of 1,000,000 events (times `--scale`), the
//!   1,000 events of one tag read by query (`read_query`, one call),
//!   against the 1,000 events of one stream (`read_stream`, one call)
//!   (goal: at least 0.5x).
//!
//! Prints a JSON line per round and one per ratio, with its goal.

use std::sync::Arc;
use std::time::Duration;

use disco::{AppendCondition, EventStore, ExpectedVersion, StreamId};

use crate::read_fill;
use crate::writers::{count_while, course_query, event, Failure};

const WRITERS: usize = 8;
const ROUNDS: usize = 3;
/// Events of the query-read fill, times --scale.
const FILL: f64 = 1_000_000.0;
/// Events of the tag (and the stream) read back.
const MATCHES: u64 = 1000;
const READS: usize = 20;

fn line(case: &str, side: &str, events: u64, seconds: f64) {
    println!(
        "{}",
        serde_json::json!({"case": case, "side": side, "events": events, "seconds": seconds,
            "rate": events as f64 / seconds.max(1e-9)})
    );
}

fn ratio(what: &str, ratios: &[f64], goal: f64) -> bool {
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(0.0, f64::max);
    let met = min >= goal;
    println!(
        "{}",
        serde_json::json!({"ratio": what, "min": min, "max": max, "goal": goal, "met": met})
    );
    met
}

/// Runs both measurements on the store at `url`.
pub async fn run(url: &str, scale: f64) -> Result<(), Failure> {
    let store = disco::connect(url).await?;
    if store.head_position().await? != 0 {
        return Err("the store is not empty: give the measurement a fresh one".into());
    }
    let time = Duration::from_secs_f64((3.0 * scale).max(0.5));
    let (mut ratios, mut untagged_ratios) = (Vec::new(), Vec::new());
    let rate = |(events, seconds): (u64, f64)| events as f64 / seconds;
    for round in 0..ROUNDS {
        let untagged = writers(&store, time, round, Side::Untagged).await?;
        let tagged = writers(&store, time, round, Side::Tagged).await?;
        let conditional = writers(&store, time, round, Side::Conditional).await?;
        line("append-8x1", "untagged", untagged.0, untagged.1);
        line("append-8x1", "tagged", tagged.0, tagged.1);
        line("append-8x1", "conditional", conditional.0, conditional.1);
        ratios.push(rate(conditional) / rate(tagged));
        untagged_ratios.push(rate(conditional) / rate(untagged));
    }
    let appends_met = ratio(
        "conditional / plain append of the same tagged event, 8 writers",
        &ratios,
        0.8,
    );
    ratio(
        "conditional append of a tagged event / plain append of an untagged one, 8 writers",
        &untagged_ratios,
        0.0,
    );
    let fill = (FILL * scale).round().max(MATCHES as f64 * 10.0) as u64;
    // Every `fill / 1000`th event goes to the stream and the tag read back.
    read_fill::fill(&*store, fill, fill / MATCHES, 1000).await?;
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        let by_stream = read_fill::time_stream_reads(&*store, READS, MATCHES).await?;
        let by_query = read_fill::time_tag_reads(&*store, READS, MATCHES).await?;
        line("read-1000", "stream", MATCHES * READS as u64, by_stream);
        line("read-1000", "query", MATCHES * READS as u64, by_query);
        ratios.push(by_stream / by_query);
    }
    let reads_met = ratio(
        &format!("query read / stream read, 1,000 of {fill}"),
        &ratios,
        0.5,
    );
    store.close().await?;
    if !(appends_met && reads_met) {
        return Err("a goal was missed".into());
    }
    Ok(())
}

/// What the writers of a side append.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// An untagged event.
    Untagged,
    /// An event tagged with a course and a student.
    Tagged,
    /// The tagged event, with a 2-item condition that matches nothing.
    Conditional,
}

/// 8 writers for `time`, appending as `side` says.
async fn writers(
    store: &Arc<dyn EventStore>,
    time: Duration,
    round: usize,
    side: Side,
) -> Result<(u64, f64), Failure> {
    let kind = match side {
        Side::Untagged => "u",
        Side::Tagged => "t",
        Side::Conditional => "c",
    };
    let streams: Arc<Vec<StreamId>> = Arc::new(
        (0..WRITERS)
            .map(|w| StreamId::new(format!("writer-{kind}{round}-{w}")))
            .collect::<Result<_, _>>()?,
    );
    let store = store.clone();
    let append = move |w: usize, i: u64| {
        let (store, streams) = (store.clone(), streams.clone());
        async move {
            let stream = streams.get(w).ok_or("no stream for the writer")?;
            let (course, student) = (
                format!("course:{kind}{round}-{w}-{i}"),
                format!("student:{kind}{round}-{w}"),
            );
            match side {
                Side::Conditional => {
                    let condition =
                        AppendCondition::new(course_query(&course, &format!("{student}-{i}")));
                    let tagged = event().with_tags([course, student]);
                    store
                        .append_if(
                            vec![(stream.clone(), ExpectedVersion::Any, vec![tagged])],
                            &condition,
                        )
                        .await?;
                }
                Side::Tagged => {
                    let tagged = event().with_tags([course, student]);
                    store
                        .append(stream, ExpectedVersion::Any, vec![tagged])
                        .await?;
                }
                Side::Untagged => {
                    store
                        .append(stream, ExpectedVersion::Any, vec![event()])
                        .await?;
                }
            }
            // The memory store answers without waiting: let the timer run.
            tokio::task::yield_now().await;
            Ok(())
        }
    };
    count_while(WRITERS, append, async {
        tokio::time::sleep(time).await;
        Ok(())
    })
    .await
}
