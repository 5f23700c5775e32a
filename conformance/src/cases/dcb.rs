//! Tags, query reads and conditional appends (Dynamic Consistency
//! Boundaries): tags round-trip and are checked, a query's items are ORed
//! (types ORed, tags ANDed within one), a read says where it is consistent,
//! and a conditional append is refused, writing nothing, once an event
//! matching its query was stored after its position.

use std::sync::Arc;

use disco_core::{
    AppendCondition, DeleteMode, Error, EventStore, ExpectedVersion::*, NewEvent, Query, QueryItem,
    QueryRead, RecordedEvent,
};
use tokio::task::JoinSet;

use crate::helpers::*;

/// An event of `event_type` carrying `tags`.
pub fn tagged(event_type: &str, tags: &[&str]) -> NewEvent {
    ev(event_type).with_tags(tags.iter().copied())
}

/// Every event matching `query`, read in pages of `page`; the last read's
/// consistent position.
pub async fn query_everything(
    store: &dyn EventStore,
    query: &Query,
    page: usize,
) -> (Vec<RecordedEvent>, u64) {
    let mut all: Vec<RecordedEvent> = Vec::new();
    let mut after = 0;
    loop {
        let read: QueryRead = ok(store.read_query(query, after, page).await, "read_query");
        assert!(
            read.events.len() <= page,
            "a query read answers at most its limit"
        );
        let full = read.events.len() == page;
        all.extend(read.events);
        if !full {
            return (all, read.consistent_at);
        }
        assert!(read.consistent_at > after, "a full page moves the read on");
        after = read.consistent_at;
    }
}

/// A course's query: its definition and its subscriptions.
fn course(id: &str) -> Query {
    let tag = format!("course:{id}");
    Query::new()
        .or(QueryItem::new()
            .types(["CourseDefined"])
            .tags([tag.as_str()]))
        .or(QueryItem::new()
            .types(["StudentSubscribed"])
            .tags([tag.as_str()]))
}

/// Tags come back as appended, in order, from every read; untagged events
/// read with none.
pub async fn tags_round_trip_on_every_read(store: Arc<dyn EventStore>) {
    let s = sid("tags-1");
    append_ok(
        &*store,
        &s,
        NoStream,
        vec![
            tagged("A", &["z:last", "a:first", "m"]),
            ev("B"),
            tagged("C", &["ünïcode ✓", "with space"]),
        ],
    )
    .await;
    let want: Vec<Vec<String>> = vec![
        vec!["z:last".into(), "a:first".into(), "m".into()],
        vec![],
        vec!["ünïcode ✓".into(), "with space".into()],
    ];
    let by_stream: Vec<Vec<String>> = read_stream_all(&*store, &s)
        .await
        .into_iter()
        .map(|e| e.tags)
        .collect();
    assert_eq!(by_stream, want);
    let by_log: Vec<Vec<String>> = read_everything(&*store, 2)
        .await
        .into_iter()
        .map(|e| e.tags)
        .collect();
    assert_eq!(by_log, want);
    let backward: Vec<Vec<String>> = ok(store.read_all_backward(u64::MAX, 10).await, "backward")
        .into_iter()
        .rev()
        .map(|e| e.tags)
        .collect();
    assert_eq!(backward, want);
    let (found, _) = query_everything(&*store, &Query::all(), 10).await;
    assert_eq!(found.into_iter().map(|e| e.tags).collect::<Vec<_>>(), want);
}

/// Too many tags is `TooManyTags`; an empty, overlong or control-character
/// tag, or one tag twice, is `InvalidInput`; nothing is written.
pub async fn bad_tags_are_refused_and_write_nothing(store: Arc<dyn EventStore>) {
    let s = sid("bad-tags");
    let most = store.limits().max_tags_per_event;
    let many: Vec<String> = (0..=most).map(|i| format!("t{i}")).collect();
    let event = ev("E").with_tags(many.iter().cloned());
    let id = event.id;
    match store.append(&s, Any, vec![event]).await {
        Err(Error::TooManyTags {
            id: got,
            count,
            limit,
        }) => {
            assert_eq!((got, count, limit), (id, most + 1, most));
        }
        other => panic!("{} tags should be TooManyTags, got {other:?}", most + 1),
    }
    let at_most = ev("E").with_tags(many.iter().take(most).cloned());
    let s_ok = sid("bad-tags-most");
    append_ok(&*store, &s_ok, NoStream, vec![at_most]).await;
    let long = "t".repeat(256);
    for bad in [
        vec!["".to_owned()],
        vec![long],
        vec!["a\nb".to_owned()],
        vec!["same".to_owned(), "same".to_owned()],
    ] {
        assert_invalid(
            store
                .append(&s, Any, vec![ev("Fine"), ev("E").with_tags(bad.clone())])
                .await,
        );
        assert_invalid(
            store
                .append_if(
                    vec![(s.clone(), Any, vec![ev("E").with_tags(bad)])],
                    &AppendCondition::new(Query::new()),
                )
                .await,
        );
    }
    assert!(read_stream_all(&*store, &s).await.is_empty());
    assert_eq!(ok(store.head_position().await, "head"), 1);
}

/// Items are ORed; within an item types are ORed and tags ANDed; an item
/// of tags only takes any type, one of types only any tags.
pub async fn query_items_or_types_or_tags_and(store: Arc<dyn EventStore>) {
    let s = sid("query-match");
    let events = vec![
        tagged("CourseDefined", &["course:c1"]),
        tagged("CourseDefined", &["course:c2"]),
        tagged("StudentSubscribed", &["course:c1", "student:s1"]),
        tagged("StudentSubscribed", &["course:c2", "student:s1"]),
        tagged("StudentSubscribed", &["student:s2", "course:c1"]),
        tagged("StudentRegistered", &["student:s1"]),
        ev("StudentSubscribed"),
        tagged("Other", &["course:c1"]),
    ];
    append_ok(&*store, &s, NoStream, events).await;
    let everything = read_everything(&*store, 100).await;
    let queries = vec![
        course("c1"),
        Query::new().or(QueryItem::new().tags(["course:c1", "student:s1"])),
        Query::new().or(QueryItem::new().tags(["student:s1"])),
        Query::new().or(QueryItem::new().types(["StudentSubscribed", "StudentRegistered"])),
        Query::new()
            .or(QueryItem::new().tags(["student:s2"]))
            .or(QueryItem::new().types(["Other"])),
        Query::new().or(QueryItem::new().tags(["course:c9"])),
        Query::new().or(QueryItem::new().types(["Nothing"])),
        Query::new().or(QueryItem::new()
            .types(["CourseDefined"])
            .tags(["student:s1"])),
        Query::new(),
        Query::all(),
        Query::new()
            .or(QueryItem::new().tags(["course:c2"]))
            .or(QueryItem::new())
            .or(QueryItem::new().types(["Other"])),
    ];
    for query in queries {
        let want: Vec<u64> = everything
            .iter()
            .filter(|e| query.matches_event(e))
            .map(|e| e.position)
            .collect();
        for page in [1, 2, 100] {
            let (found, _) = query_everything(&*store, &query, page).await;
            let got: Vec<u64> = found.iter().map(|e| e.position).collect();
            assert_eq!(got, want, "query {query:?} in pages of {page}");
        }
    }
    let c1 = ok(store.read_query(&course("c1"), 0, 100).await, "read_query");
    let full: Vec<&RecordedEvent> = everything
        .iter()
        .filter(|e| course("c1").matches_event(e))
        .collect();
    assert_eq!(
        c1.events.iter().collect::<Vec<_>>(),
        full,
        "a query read returns whole events"
    );
}

/// A read that is not full is consistent at the head, also when nothing
/// matched; a full page at its last event; `after` past everything reads
/// nothing.
pub async fn query_read_reports_the_position_it_is_consistent_at(store: Arc<dyn EventStore>) {
    let empty = ok(store.read_query(&course("c1"), 0, 10).await, "read_query");
    assert!(empty.events.is_empty());
    assert_eq!(empty.consistent_at, 0);
    let s = sid("consistent");
    append_ok(
        &*store,
        &s,
        NoStream,
        vec![tagged("CourseDefined", &["course:c1"])],
    )
    .await;
    append_ok(&*store, &s, Any, evs(3)).await;
    append_ok(
        &*store,
        &s,
        Any,
        vec![tagged("StudentSubscribed", &["course:c1"])],
    )
    .await;
    append_ok(&*store, &s, Any, evs(2)).await;
    let head = ok(store.head_position().await, "head");
    let none = ok(store.read_query(&course("c9"), 0, 10).await, "read_query");
    assert!(none.events.is_empty());
    assert_eq!(
        none.consistent_at, head,
        "nothing matched: consistent at the head"
    );
    let all = ok(store.read_query(&course("c1"), 0, 10).await, "read_query");
    assert_eq!(all.events.len(), 2);
    assert_eq!(all.consistent_at, head);
    let first = ok(store.read_query(&course("c1"), 0, 1).await, "read_query");
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.consistent_at, first.events[0].position);
    let rest = ok(
        store
            .read_query(&course("c1"), first.consistent_at, 1)
            .await,
        "read_query",
    );
    assert_eq!(rest.events.len(), 1);
    assert_eq!(rest.events[0].position, all.events[1].position);
    let past = ok(
        store.read_query(&course("c1"), head, 10).await,
        "read_query",
    );
    assert!(past.events.is_empty());
    assert!(past.consistent_at >= head);
}

/// A query read checks its query; a bad one is `InvalidInput`, also as a
/// condition (nothing written).
pub async fn query_is_checked(store: Arc<dyn EventStore>) {
    let bad = [
        Query::new().or(QueryItem::new().tags([""])),
        Query::new().or(QueryItem::new().types(["bad\u{7}type"])),
        Query::new().or(QueryItem::new().tags(["x".repeat(256)])),
        Query {
            items: vec![QueryItem::new(); 65],
        },
    ];
    let s = sid("query-checked");
    for query in bad {
        assert_invalid(store.read_query(&query, 0, 10).await);
        assert_invalid(
            store
                .append_if(vec![(s.clone(), Any, evs(1))], &AppendCondition::new(query))
                .await,
        );
    }
    assert_eq!(ok(store.head_position().await, "head"), 0);
}

/// Events of a hard-deleted stream leave query reads and conditions; those
/// of a soft-deleted one stay.
pub async fn query_reads_follow_deletes(store: Arc<dyn EventStore>) {
    let (hard, soft) = (sid("q-hard"), sid("q-soft"));
    append_ok(&*store, &hard, NoStream, vec![tagged("E", &["t"])]).await;
    append_ok(&*store, &soft, NoStream, vec![tagged("E", &["t"])]).await;
    ok(
        store.delete_stream(&hard, Any, DeleteMode::Hard).await,
        "delete hard",
    );
    ok(
        store.delete_stream(&soft, Any, DeleteMode::Soft).await,
        "delete soft",
    );
    let query = Query::new().or(QueryItem::new().tags(["t"]));
    let read = ok(store.read_query(&query, 0, 10).await, "read_query");
    let streams: Vec<&str> = read.events.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(streams, ["q-soft"]);
    let refused = store
        .append_if(
            vec![(sid("q-new"), NoStream, evs(1))],
            &AppendCondition::new(query.clone()),
        )
        .await;
    match refused {
        Err(Error::ConditionFailed { position, after: 0 }) => {
            assert_eq!(position, read.events[0].position)
        }
        other => panic!("the soft-deleted stream's event should conflict, got {other:?}"),
    }
    ok(
        store
            .append_if(
                vec![(sid("q-new"), NoStream, evs(1))],
                &AppendCondition::new(query).after(read.events[0].position),
            )
            .await,
        "append_if after the soft-deleted event",
    );
}

/// A decision read, then a conditional append after its consistent
/// position: it commits as an atomic append would; with nothing matching at
/// all, a condition at 0 passes too.
pub async fn conditional_append_passes_when_nothing_matches_after(store: Arc<dyn EventStore>) {
    let (a, b) = (sid("cond-a"), sid("cond-b"));
    append_ok(
        &*store,
        &a,
        NoStream,
        vec![tagged("CourseDefined", &["course:c1"])],
    )
    .await;
    append_ok(
        &*store,
        &b,
        NoStream,
        vec![tagged("Unrelated", &["course:c1"])],
    )
    .await;
    let read = ok(store.read_query(&course("c1"), 0, 100).await, "read_query");
    assert_eq!(read.events.len(), 1);
    let results = ok(
        store
            .append_if(
                vec![
                    (
                        a.clone(),
                        Exact(1),
                        vec![tagged("StudentSubscribed", &["course:c1", "student:s1"])],
                    ),
                    (sid("cond-c"), NoStream, evs(2)),
                ],
                &AppendCondition::new(course("c1")).after(read.consistent_at),
            )
            .await,
        "append_if",
    );
    assert_eq!(results.len(), 2);
    assert_eq!((results[0].first_version, results[0].last_version), (2, 2));
    assert!(results[0].first_position > read.consistent_at);
    assert!(results[1].first_position > results[0].last_position);
    // A condition nothing matches passes from the start.
    ok(
        store
            .append_if(
                vec![(sid("cond-d"), NoStream, evs(1))],
                &AppendCondition::new(course("c9")),
            )
            .await,
        "append_if with nothing matching",
    );
    let after = ok(store.read_query(&course("c1"), 0, 100).await, "read_query");
    assert_eq!(after.events.len(), 2);
    assert_eq!(after.events[1].tags, ["course:c1", "student:s1"]);
}

/// An event matching the query after the condition's position refuses the
/// whole call with `ConditionFailed` naming the first such event's
/// position; nothing of any part is written.
pub async fn conditional_append_fails_naming_the_first_conflict(store: Arc<dyn EventStore>) {
    let s = sid("conflict");
    append_ok(
        &*store,
        &s,
        NoStream,
        vec![tagged("CourseDefined", &["course:c1"])],
    )
    .await;
    let read = ok(store.read_query(&course("c1"), 0, 100).await, "read_query");
    append_ok(&*store, &s, Any, evs(2)).await;
    let first = append_ok(
        &*store,
        &s,
        Any,
        vec![tagged("StudentSubscribed", &["course:c1", "student:s9"])],
    )
    .await;
    append_ok(
        &*store,
        &s,
        Any,
        vec![tagged("StudentSubscribed", &["course:c1", "student:s8"])],
    )
    .await;
    let head = ok(store.head_position().await, "head");
    let refused = store
        .append_if(
            vec![
                (sid("conflict-new"), NoStream, evs(1)),
                (
                    s.clone(),
                    Any,
                    vec![tagged("StudentSubscribed", &["course:c1"])],
                ),
            ],
            &AppendCondition::new(course("c1")).after(read.consistent_at),
        )
        .await;
    match refused {
        Err(Error::ConditionFailed { position, after }) => {
            assert_eq!(
                position, first.first_position,
                "the first conflict is named"
            );
            assert_eq!(after, read.consistent_at);
        }
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
    assert_eq!(
        ok(store.head_position().await, "head"),
        head,
        "nothing written"
    );
    assert!(read_stream_all(&*store, &sid("conflict-new"))
        .await
        .is_empty());
    // Condition at the head: passes. Other query items do not conflict.
    let unrelated = Query::new()
        .or(QueryItem::new()
            .types(["CourseDefined"])
            .tags(["course:c1"]))
        .or(QueryItem::new().tags(["course:c1", "student:s1"]));
    ok(
        store
            .append_if(
                vec![(sid("conflict-new"), NoStream, evs(1))],
                &AppendCondition::new(unrelated).after(read.consistent_at),
            )
            .await,
        "append_if whose query the later events do not match",
    );
}

/// A conditional append's parts are decided as an atomic append's: a wrong
/// expected version or a deleted stream refuses the call, nothing written.
pub async fn conditional_append_decides_parts_as_atomic(store: Arc<dyn EventStore>) {
    let (a, gone) = (sid("cparts-a"), sid("cparts-gone"));
    append_ok(&*store, &a, NoStream, evs(1)).await;
    append_ok(&*store, &gone, NoStream, evs(1)).await;
    ok(
        store.delete_stream(&gone, Any, DeleteMode::Soft).await,
        "delete",
    );
    let head = ok(store.head_position().await, "head");
    let pass = AppendCondition::new(course("c1"));
    assert_wrong_version(
        store
            .append_if(
                vec![
                    (sid("cparts-b"), NoStream, evs(1)),
                    (a.clone(), Exact(3), evs(1)),
                ],
                &pass,
            )
            .await,
        &a,
        Exact(3),
        1,
    );
    assert_deleted(
        store
            .append_if(vec![(gone.clone(), Any, evs(1))], &pass)
            .await,
    );
    assert_invalid(store.append_if(Vec::new(), &pass).await);
    assert_eq!(ok(store.head_position().await, "head"), head);
}

/// A conditional append retried after its answer was lost gets its
/// original results, though its own events now break the condition; a
/// different call with those ids is refused.
pub async fn conditional_append_retry_returns_the_original_results(store: Arc<dyn EventStore>) {
    let s = sid("cretry");
    let events = vec![tagged("StudentSubscribed", &["course:c1", "student:s1"])];
    let condition = AppendCondition::new(course("c1"));
    let first = ok(
        store
            .append_if(vec![(s.clone(), NoStream, events.clone())], &condition)
            .await,
        "append_if",
    );
    let again = ok(
        store
            .append_if(vec![(s.clone(), NoStream, events.clone())], &condition)
            .await,
        "retried append_if",
    );
    assert_eq!(first, again);
    assert_eq!(read_stream_all(&*store, &s).await.len(), 1);
    // One part new: not a retry, so the condition decides.
    let refused = store
        .append_if(
            vec![
                (s.clone(), NoStream, events),
                (sid("cretry-2"), NoStream, evs(1)),
            ],
            &condition,
        )
        .await;
    assert!(
        matches!(refused, Err(Error::ConditionFailed { .. })),
        "{refused:?}"
    );
}

/// Writers race for the last seats of a course: each reads the course,
/// and subscribes on the condition that nothing about the course changed.
/// Exactly the capacity wins, every store, one process.
pub async fn racing_conditional_appends_take_exactly_the_capacity(store: Arc<dyn EventStore>) {
    const CAPACITY: usize = 5;
    const WRITERS: usize = 12;
    let s = sid("course-race");
    append_ok(
        &*store,
        &s,
        NoStream,
        vec![tagged("CourseDefined", &["course:race"])],
    )
    .await;
    let mut tasks = JoinSet::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.spawn(async move {
            let student = sid(&format!("student-race-{w}"));
            for _attempt in 0..200 {
                let read = ok(
                    store.read_query(&course("race"), 0, 1000).await,
                    "read_query",
                );
                let taken = read
                    .events
                    .iter()
                    .filter(|e| e.event_type == "StudentSubscribed")
                    .count();
                if taken >= CAPACITY {
                    return false;
                }
                let tag = format!("student:{w}");
                let result = store
                    .append_if(
                        vec![(
                            student.clone(),
                            NoStream,
                            vec![tagged("StudentSubscribed", &["course:race", &tag])],
                        )],
                        &AppendCondition::new(course("race")).after(read.consistent_at),
                    )
                    .await;
                match result {
                    Ok(_) => return true,
                    Err(Error::ConditionFailed { .. }) => continue,
                    Err(other) => panic!("writer {w}: {other}"),
                }
            }
            panic!("writer {w} never got an answer in 200 rounds");
        });
    }
    let mut won = 0;
    while let Some(joined) = tasks.join_next().await {
        if joined.expect("writer task panicked") {
            won += 1;
        }
    }
    assert_eq!(won, CAPACITY, "exactly the capacity subscribes");
    let (subscribed, _) = query_everything(&*store, &course("race"), 100).await;
    assert_eq!(
        subscribed
            .iter()
            .filter(|e| e.event_type == "StudentSubscribed")
            .count(),
        CAPACITY
    );
}
