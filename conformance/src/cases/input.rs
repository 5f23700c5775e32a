//! Rules 3 and 10: atomicity and typed rejection of invalid input.

use std::sync::Arc;

use disco_core::{Error, EventStore, ExpectedVersion::*, NewEvent, StreamId};

use crate::helpers::*;

/// An append with a bad event at its end writes none of its events.
pub async fn batch_failing_part_way_writes_nothing(store: Arc<dyn EventStore>) {
    let s = sid("atomic");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    let limit = store.limits().max_event_size;

    let mut too_big = evs(3);
    too_big.push(NewEvent::new("Huge", vec![7; limit + 1]));
    let result = store.append(&s, Any, too_big.clone()).await;
    assert!(
        matches!(result, Err(Error::TooLarge { .. })),
        "got {result:?}"
    );

    let mut bad_type = evs(3);
    bad_type.insert(2, NewEvent::new("", vec![]));
    assert_invalid(store.append(&s, Any, bad_type).await);

    assert_eq!(read_stream_all(&*store, &s).await.len(), 1);
    assert_eq!(read_everything(&*store, 10).await.len(), 1);
    // None of the first three ids was kept.
    too_big.pop();
    append_ok(&*store, &s, Exact(1), too_big).await;
}

/// An append without events is `InvalidInput`.
pub async fn empty_append_is_rejected(store: Arc<dyn EventStore>) {
    let s = sid("empty-append");
    assert_invalid(store.append(&s, Any, vec![]).await);
    assert_invalid(store.append(&s, NoStream, vec![]).await);
    assert_eq!(ok(store.head_position().await, "head_position"), 0);
}

/// An empty stream id is `InvalidInput`.
pub async fn empty_stream_id_is_rejected(_store: Arc<dyn EventStore>) {
    assert_invalid(StreamId::new(""));
}

/// 255 bytes is the longest stream id; 256 is `InvalidInput`.
pub async fn stream_id_length_limit_is_255_bytes(store: Arc<dyn EventStore>) {
    assert_invalid(StreamId::new("x".repeat(256)));
    let longest = sid(&"x".repeat(255));
    append_ok(&*store, &longest, NoStream, evs(1)).await;
    let back = read_stream_all(&*store, &longest).await;
    assert_eq!(back[0].stream_id.as_str().len(), 255);
}

/// Stream ids with control characters (NUL, newline, DEL) are `InvalidInput`.
pub async fn control_characters_in_stream_id_are_rejected(_store: Arc<dyn EventStore>) {
    for bad in ["nul\0", "line\nbreak", "tab\t", "del\u{7f}", "\u{1b}[31m"] {
        assert_invalid(StreamId::new(bad));
    }
}

/// Stream ids starting with `$` are reserved: `InvalidInput`.
pub async fn dollar_prefixed_stream_id_is_rejected(store: Arc<dyn EventStore>) {
    assert_invalid(StreamId::new("$all"));
    // Only the first character is reserved.
    append_ok(&*store, &sid("cost-$5"), NoStream, evs(1)).await;
}

/// Empty, too long and control-character event types are `InvalidInput`.
pub async fn bad_event_types_are_rejected(store: Arc<dyn EventStore>) {
    let s = sid("typed");
    for bad in [String::new(), "T".repeat(256), "a\0b".into(), "a\nb".into()] {
        assert_invalid(
            store
                .append(&s, Any, vec![NewEvent::new(bad, vec![])])
                .await,
        );
    }
    append_ok(
        &*store,
        &s,
        NoStream,
        vec![NewEvent::new("T".repeat(255), vec![])],
    )
    .await;
    assert_eq!(ok(store.head_position().await, "head_position"), 1);
}

/// An event over the store's size limit is `TooLarge`; one at the limit is fine.
pub async fn event_over_size_limit_is_too_large(store: Arc<dyn EventStore>) {
    let s = sid("sized");
    let limit = store.limits().max_event_size;
    let over = NewEvent::new("Big", vec![1; limit - 10]).with_metadata(vec![2; 11]);
    match store.append(&s, Any, vec![over.clone()]).await {
        Err(Error::TooLarge { id, size, limit: l }) => {
            assert_eq!((id, size, l), (over.id, limit + 1, limit));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let at_limit = NewEvent::new("Big", vec![1; limit - 10]).with_metadata(vec![2; 10]);
    append_ok(&*store, &s, NoStream, vec![at_limit]).await;
    let back = read_stream_all(&*store, &s).await;
    assert_eq!(back[0].data.len() + back[0].metadata.len(), limit);
}

/// The same id twice in one append is refused and nothing is written.
pub async fn same_id_twice_in_one_append_is_rejected(store: Arc<dyn EventStore>) {
    let s = sid("twice");
    let e = ev("Once");
    assert_duplicate(store.append(&s, Any, vec![e.clone(), ev("Other"), e]).await);
    assert_eq!(ok(store.head_position().await, "head_position"), 0);
}

/// A store that bounds the events of one append (its `Limits`) takes
/// exactly that many, and refuses one more, plain or atomic, writing
/// nothing; an unbounded store takes 1,000 in one append.
pub async fn appends_past_the_stores_event_count_are_refused_whole(store: Arc<dyn EventStore>) {
    let most = store.limits().max_events_per_append;
    let s = sid("count-limit");
    if most > 100_000 {
        append_ok(&*store, &s, NoStream, evs(1000)).await;
        assert_eq!(read_stream_all(&*store, &s).await.len(), 1000);
        return;
    }
    assert_invalid(store.append(&s, NoStream, evs(most + 1)).await);
    let (a, b) = (sid("count-limit-a"), sid("count-limit-b"));
    let half = most / 2 + 1;
    assert_invalid(
        store
            .append_atomic(vec![
                (a.clone(), NoStream, evs(half)),
                (b.clone(), NoStream, evs(most + 1 - half)),
            ])
            .await,
    );
    assert_eq!(ok(store.head_position().await, "head_position"), 0);
    append_ok(&*store, &s, NoStream, evs(most)).await;
    assert_eq!(read_stream_all(&*store, &s).await.len(), most);
}
