//! `--umadb-workload CASE`: disco's side of `bench/umadb/run.sh`, the
//! workloads `disco-umadb-peer` runs on UmaDB, on the store of `--store`
//! (which should be empty). Prints JSON lines
//! `{"case", "side", "events", "seconds"}`, the side named after the store
//! (`disco-sqlite`, `disco-redb`, `disco-postgres`).
//!
//! - `append-8x1`: 8 writers, each on a stream of its own, one event of
//!   200 bytes per append (`ExpectedVersion::Any`), for 5 s (times
//!   `--scale`) ([`crate::writers`]);
//! - `append-1x100`: one writer, 100 such events per append, for 5 s;
//! - `reads`: fills 100,000 events in appends of 100 (every 100th in the
//!   stream `target`, tagged `target`, the rest over 97 streams, tagged
//!   with their stream's name: UmaDB's side tags them the same), then reads
//!   the whole log three times in pages of 1,000 (`read-all`), the 1,000
//!   events of `target` twenty times in one call each (`read-stream`), and
//!   the 1,000 events tagged `target` twenty times by query (`read-query`);
//! - `cond-8x1`: as `append-8x1`, each event tagged with a course and a
//!   student and appended on a 2-item condition nothing matches;
//! - `seat-race`: 12 writers race for the 5 seats of a course, each
//!   reading the course by query and appending on the condition that
//!   nothing about it changed since; exactly 5 must win.

use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::{AppendCondition, EventStore, ExpectedVersion, NewEvent, Query, QueryItem, StreamId};

use crate::read_fill;
use crate::target::{StoreTarget, Target};
use crate::writers::{count_while, course_query, event, Failure};

/// Concurrent writers of `append-8x1`.
pub(crate) const WRITERS: usize = 8;
/// Events the read cases fill the store with.
pub(crate) const FILL: u64 = 100_000;
/// Every this many events of the fill, one goes to the stream read back.
pub(crate) const TARGET_EVERY: u64 = 100;
/// Events per append of the fill.
pub(crate) const PER_APPEND: u64 = 100;
/// Reads of the whole log, and of the 1,000 events of one stream.
pub(crate) const READ_ALL_TIMES: usize = 3;
pub(crate) const READ_STREAM_TIMES: usize = 20;
/// Events per page of a read of the whole log.
pub(crate) const PAGE: usize = 1000;

/// Prints one measurement as a JSON line.
pub(crate) fn line(case: &str, side: &str, events: u64, seconds: f64) {
    println!(
        "{}",
        serde_json::json!({"case": case, "side": side, "events": events, "seconds": seconds})
    );
}

/// Runs `case` on the store at `url`.
pub async fn run(url: &str, case: &str, scale: f64) -> Result<(), Failure> {
    let side = format!(
        "disco-{}",
        match url.split(':').next().unwrap_or("") {
            "postgresql" => "postgres",
            scheme => scheme,
        }
    );
    let store = disco::connect(url).await?;
    if store.head_position().await? != 0 {
        return Err(format!(
            "{} is not empty: give each case a fresh store",
            disco_console::redact(url)
        )
        .into());
    }
    let time = Duration::from_secs_f64((5.0 * scale).max(1.0));
    match case {
        "append-8x1" => append_8x1(&store, &side, time).await?,
        "append-1x100" => append_1x100(&*store, &side, time).await?,
        "reads" => reads(&store, &side).await?,
        "cond-8x1" => cond_8x1(&store, &side, time).await?,
        "seat-race" => seat_race(&store, &side).await?,
        other => {
            return Err(format!(
                "no case {other:?}: append-8x1, append-1x100, reads, cond-8x1 or seat-race"
            )
            .into())
        }
    }
    store.close().await?;
    Ok(())
}

async fn append_8x1(
    store: &Arc<dyn EventStore>,
    side: &str,
    time: Duration,
) -> Result<(), Failure> {
    let (events, seconds) = crate::writers::append_while(store, WRITERS, async {
        tokio::time::sleep(time).await;
        Ok(())
    })
    .await?;
    line("append-8x1", side, events, seconds);
    Ok(())
}

async fn append_1x100(store: &dyn EventStore, side: &str, time: Duration) -> Result<(), Failure> {
    let stream = StreamId::new("batch")?;
    let (appends, seconds) = repeat_for(time, |_| async {
        store
            .append(
                &stream,
                ExpectedVersion::Any,
                (0..100).map(|_| event()).collect(),
            )
            .await?;
        Ok(())
    })
    .await?;
    line("append-1x100", side, appends * 100, seconds);
    Ok(())
}

/// Calls `call(i)` for its `i`th time, one call after another, until
/// `time` has passed: the calls made and the seconds they took (the store's
/// side and the raw side both).
pub(crate) async fn repeat_for<C, Fut>(time: Duration, mut call: C) -> Result<(u64, f64), Failure>
where
    C: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < time {
        call(calls).await?;
        calls += 1;
    }
    Ok((calls, started.elapsed().as_secs_f64()))
}

async fn reads(store: &Arc<dyn EventStore>, side: &str) -> Result<(), Failure> {
    read_fill::fill(&**store, FILL, TARGET_EVERY, PER_APPEND).await?;
    let seconds = time_read_all(&StoreTarget(store.clone())).await?;
    line("read-all", side, FILL * READ_ALL_TIMES as u64, seconds);
    let want = FILL / TARGET_EVERY;
    let seconds = read_fill::time_stream_reads(&**store, READ_STREAM_TIMES, want).await?;
    line(
        "read-stream",
        side,
        want * READ_STREAM_TIMES as u64,
        seconds,
    );
    let seconds = read_fill::time_tag_reads(&**store, READ_STREAM_TIMES, want).await?;
    line("read-query", side, want * READ_STREAM_TIMES as u64, seconds);
    Ok(())
}

/// Seconds `READ_ALL_TIMES` reads of the whole (filled) log took, in pages
/// of `PAGE`, each checked whole; the store's side and the raw side both.
pub(crate) async fn time_read_all(target: &dyn Target) -> Result<f64, Failure> {
    let started = Instant::now();
    for _ in 0..READ_ALL_TIMES {
        let (mut after, mut read) = (0u64, 0u64);
        loop {
            let (n, last) = target.read_page(after, PAGE).await?;
            if n == 0 {
                break;
            }
            read += n as u64;
            after = last;
        }
        if read != FILL {
            return Err(format!("read {read} events of {FILL}").into());
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

fn subscribed(course: String, student: String) -> NewEvent {
    NewEvent::new("StudentSubscribed", vec![b'x'; 200]).with_tags([course, student])
}

async fn cond_8x1(store: &Arc<dyn EventStore>, side: &str, time: Duration) -> Result<(), Failure> {
    let streams: Arc<Vec<StreamId>> = Arc::new(
        (0..WRITERS)
            .map(|w| StreamId::new(format!("writer-{w}")))
            .collect::<Result<_, _>>()?,
    );
    let store = store.clone();
    let append = move |w: usize, i: u64| {
        let (store, streams) = (store.clone(), streams.clone());
        async move {
            let stream = streams.get(w).ok_or("no stream for the writer")?;
            let (course, student) = (format!("course:{w}-{i}"), format!("student:{w}"));
            let condition = AppendCondition::new(course_query(&course, &format!("{student}-{i}")));
            store
                .append_if(
                    vec![(
                        stream.clone(),
                        ExpectedVersion::Any,
                        vec![subscribed(course, student)],
                    )],
                    &condition,
                )
                .await?;
            Ok(())
        }
    };
    let (events, seconds) = count_while(WRITERS, append, async {
        tokio::time::sleep(time).await;
        Ok(())
    })
    .await?;
    line("cond-8x1", side, events, seconds);
    Ok(())
}

/// Racing writers and the course's seats (UmaDB's side races the same).
const RACERS: usize = 12;
const SEATS: usize = 5;

async fn seat_race(store: &Arc<dyn EventStore>, side: &str) -> Result<(), Failure> {
    let course = "course:race".to_owned();
    let defined = NewEvent::new("CourseDefined", vec![b'x'; 200]).with_tags([course.clone()]);
    store
        .append(
            &StreamId::new("course-race")?,
            ExpectedVersion::NoStream,
            vec![defined],
        )
        .await?;
    let query = Query::new().or(QueryItem::new()
        .types(["CourseDefined", "StudentSubscribed"])
        .tags([course.clone()]));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..RACERS {
        let (store, query, course) = (store.clone(), query.clone(), course.clone());
        tasks.spawn(async move {
            let stream = StreamId::new(format!("student-{w}"))?;
            loop {
                let read = store.read_query(&query, 0, 1000).await?;
                let taken = read
                    .events
                    .iter()
                    .filter(|e| e.event_type == "StudentSubscribed")
                    .count();
                if taken >= SEATS {
                    return Ok::<bool, Failure>(false);
                }
                let condition = AppendCondition::new(query.clone()).after(read.consistent_at);
                let event = subscribed(course.clone(), format!("student:{w}"));
                match store
                    .append_if(
                        vec![(stream.clone(), ExpectedVersion::Any, vec![event])],
                        &condition,
                    )
                    .await
                {
                    Ok(_) => return Ok(true),
                    Err(disco::Error::ConditionFailed { .. }) => continue,
                    Err(other) => return Err(other.into()),
                }
            }
        });
    }
    let mut won = 0u64;
    while let Some(done) = tasks.join_next().await {
        won += u64::from(done??);
    }
    let seconds = started.elapsed().as_secs_f64();
    let seated = store
        .read_query(&query, 0, 1000)
        .await?
        .events
        .iter()
        .filter(|e| e.event_type == "StudentSubscribed")
        .count();
    if won != SEATS as u64 || seated != SEATS {
        return Err(format!("{won} writers won and {seated} seats are taken, of {SEATS}").into());
    }
    line("seat-race", side, won, seconds);
    Ok(())
}
