//! Rule 5: global and stream reads with their after/from/limit edges, filters,
//! and absent streams.

use std::sync::Arc;

use disco_core::{EventFilter, EventStore, ExpectedVersion::*, ReadDirection::*};

use crate::helpers::*;

async fn fill(store: &dyn EventStore, streams: usize, per_stream: usize) {
    for round in 0..per_stream {
        for s in 0..streams {
            let stream = sid(&format!("fill-{s}"));
            append_ok(store, &stream, Any, vec![ev(&format!("T{}", round % 2))]).await;
        }
    }
}

/// Paging read_all in pages of every size returns every event exactly once,
/// in ascending position order.
pub async fn read_all_pages_cover_every_event_once(store: Arc<dyn EventStore>) {
    fill(&*store, 3, 7).await;
    let whole = ok(store.read_all(0, 1000).await, "read_all");
    assert_eq!(whole.len(), 21);
    assert!(whole.windows(2).all(|w| w[0].position < w[1].position));
    for page in [1, 2, 5, 20, 21, 22] {
        let paged = read_everything(&*store, page).await;
        assert_eq!(paged, whole, "paging by {page} differs from one read");
    }
}

/// read_all returns positions > after, at most limit; edges included.
pub async fn read_all_after_and_limit_edges(store: Arc<dyn EventStore>) {
    fill(&*store, 2, 5).await;
    let all = ok(store.read_all(0, 100).await, "read_all");
    let head = ok(store.head_position().await, "head_position");
    assert_eq!(all.len(), 10);
    assert!(ok(store.read_all(0, 0).await, "read_all limit 0").is_empty());
    assert_eq!(ok(store.read_all(0, 1).await, "read_all")[..], all[..1]);
    let third = all[2].position;
    assert_eq!(
        ok(store.read_all(third, 3).await, "read_all")[..],
        all[3..6]
    );
    assert_eq!(
        ok(store.read_all(third - 1, 1).await, "read_all")[0],
        all[2]
    );
    assert!(ok(store.read_all(head, 10).await, "read_all at head").is_empty());
    assert!(ok(store.read_all(head + 1000, 10).await, "read_all past head").is_empty());
    assert!(ok(store.read_all(u64::MAX, 10).await, "read_all at u64::MAX").is_empty());
    assert_eq!(ok(store.read_all(0, usize::MAX).await, "read_all"), all);
}

/// read_all_filtered keeps only the asked event types and stream prefix, and
/// still honours after and limit.
pub async fn read_all_filters_by_type_and_stream_prefix(store: Arc<dyn EventStore>) {
    for i in 0..6 {
        append_ok(
            &*store,
            &sid(&format!("wallet-{i}")),
            Any,
            vec![ev("Deposited"), ev("Withdrawn")],
        )
        .await;
        append_ok(
            &*store,
            &sid(&format!("order-{i}")),
            Any,
            vec![ev("Deposited")],
        )
        .await;
    }
    let deposits = EventFilter::default().with_event_types(["Deposited"]);
    let got = ok(
        store.read_all_filtered(0, 100, &deposits).await,
        "filtered read",
    );
    assert_eq!(got.len(), 12);
    assert!(got.iter().all(|e| e.event_type == "Deposited"));

    let wallets = EventFilter::default().with_stream_prefix("wallet-");
    let got = ok(
        store.read_all_filtered(0, 100, &wallets).await,
        "filtered read",
    );
    assert_eq!(got.len(), 12);
    assert!(got
        .iter()
        .all(|e| e.stream_id.as_str().starts_with("wallet-")));

    let both = wallets.clone().with_event_types(["Withdrawn", "Missing"]);
    let got = ok(store.read_all_filtered(0, 4, &both).await, "filtered read");
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|e| e.event_type == "Withdrawn"));
    let rest = ok(
        store.read_all_filtered(got[3].position, 100, &both).await,
        "filtered read",
    );
    assert_eq!(rest.len(), 2);
    assert!(rest[0].position > got[3].position);

    let none = EventFilter::default().with_stream_prefix("wallet-9");
    assert!(ok(
        store.read_all_filtered(0, 100, &none).await,
        "filtered read"
    )
    .is_empty());
}

/// read_stream forward starts at `from` (0 and 1 mean the start) and stops
/// after `limit` events or at the end.
pub async fn read_stream_forward_from_and_limit(store: Arc<dyn EventStore>) {
    let s = sid("fwd");
    append_ok(&*store, &s, NoStream, evs(10)).await;
    let versions = |events: Vec<disco_core::RecordedEvent>| -> Vec<u64> {
        events.iter().map(|e| e.version).collect()
    };
    let read = |from, limit| {
        let store = store.clone();
        let s = s.clone();
        async move {
            ok(
                store.read_stream(&s, from, Forward, limit).await,
                "read_stream",
            )
        }
    };
    assert_eq!(versions(read(0, 3).await), vec![1, 2, 3]);
    assert_eq!(versions(read(1, 3).await), vec![1, 2, 3]);
    assert_eq!(versions(read(4, 2).await), vec![4, 5]);
    assert_eq!(versions(read(8, 100).await), vec![8, 9, 10]);
    assert_eq!(versions(read(10, 1).await), vec![10]);
    assert!(read(11, 10).await.is_empty());
    assert!(read(1, 0).await.is_empty());
    assert_eq!(read(1, usize::MAX).await.len(), 10);
}

/// read_stream backward starts at `from` (clamped to the stream's version)
/// and walks down.
pub async fn read_stream_backward_from_and_limit(store: Arc<dyn EventStore>) {
    let s = sid("bwd");
    append_ok(&*store, &s, NoStream, evs(10)).await;
    let read = |from, limit| {
        let store = store.clone();
        let s = s.clone();
        async move {
            ok(
                store.read_stream(&s, from, Backward, limit).await,
                "read_stream",
            )
            .iter()
            .map(|e| e.version)
            .collect::<Vec<u64>>()
        }
    };
    assert_eq!(read(u64::MAX, 3).await, vec![10, 9, 8]);
    assert_eq!(read(10, 2).await, vec![10, 9]);
    assert_eq!(read(50, 1).await, vec![10]);
    assert_eq!(read(3, 100).await, vec![3, 2, 1]);
    assert_eq!(read(1, 5).await, vec![1]);
    assert!(read(0, 5).await.is_empty());
    assert!(read(5, 0).await.is_empty());
    assert_eq!(
        read(u64::MAX, usize::MAX).await,
        (1..=10).rev().collect::<Vec<_>>()
    );
}

/// A stream that was never written reads empty, in both directions.
pub async fn absent_stream_reads_empty(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("present"), NoStream, evs(3)).await;
    let absent = sid("absent");
    assert!(ok(store.read_stream(&absent, 1, Forward, 10).await, "read").is_empty());
    assert!(ok(
        store.read_stream(&absent, u64::MAX, Backward, 10).await,
        "read"
    )
    .is_empty());
}

/// Interleaved appends to several streams: each stream reads only its own.
pub async fn read_stream_returns_only_its_stream(store: Arc<dyn EventStore>) {
    let (a, ab) = (sid("a"), sid("ab"));
    for _ in 0..4 {
        append_ok(&*store, &a, Any, evs(1)).await;
        append_ok(&*store, &ab, Any, evs(2)).await;
    }
    let got_a = read_stream_all(&*store, &a).await;
    let got_ab = read_stream_all(&*store, &ab).await;
    assert_eq!(got_a.len(), 4);
    assert_eq!(got_ab.len(), 8);
    assert!(got_a.iter().all(|e| e.stream_id == a));
    assert!(got_ab.iter().all(|e| e.stream_id == ab));
}

/// `$all` read backward: newest first from a position (inclusive) or from
/// the head (`u64::MAX`), in pages, skipping the holes a hard delete left;
/// the same events as a forward read, in reverse.
pub async fn read_all_backward_is_the_forward_read_reversed(store: Arc<dyn EventStore>) {
    for i in 0..4 {
        append_ok(&*store, &sid(&format!("back-{i}")), NoStream, evs(3)).await;
    }
    ok(
        store
            .delete_stream(&sid("back-1"), Any, disco_core::DeleteMode::Hard)
            .await,
        "hard delete",
    );
    let forward = read_everything(&*store, 1000).await;
    let mut expected = forward.clone();
    expected.reverse();
    assert_eq!(
        ok(
            store.read_all_backward(u64::MAX, 1000).await,
            "read_all_backward"
        ),
        expected
    );
    // In pages of 4, each from just below the last one read.
    let mut paged = Vec::new();
    let mut from = u64::MAX;
    loop {
        let page = ok(store.read_all_backward(from, 4).await, "read_all_backward");
        let Some(last) = page.last() else { break };
        from = last.position - 1;
        paged.extend(page);
        if from == 0 {
            break;
        }
    }
    assert_eq!(paged, expected);
    // From a position: that event first.
    let middle = forward[4].position;
    let from_middle = ok(
        store.read_all_backward(middle, 2).await,
        "read_all_backward",
    );
    assert_eq!(from_middle, vec![forward[4].clone(), forward[3].clone()]);
    assert!(ok(store.read_all_backward(0, 10).await, "read_all_backward").is_empty());
    assert!(ok(
        store.read_all_backward(u64::MAX, 0).await,
        "read_all_backward"
    )
    .is_empty());
}

/// A stream-partition filter: every event in exactly one of the
/// partitions, each partition's events in position order, paging by small
/// limits included, and with the other filters at once.
pub async fn read_all_filters_by_stream_partition(store: Arc<dyn EventStore>) {
    use disco_core::{EventFilter, StreamPartition};
    for v in 0..3u64 {
        for i in 0..17 {
            let s = sid(&format!("part-{i}"));
            let kind = if i % 2 == 0 { "Even" } else { "Odd" };
            append_ok(
                &*store,
                &s,
                disco_core::ExpectedVersion::Exact(v),
                vec![ev(kind)],
            )
            .await;
        }
    }
    let all = read_everything(&*store, 1000).await;
    let mut seen = Vec::new();
    for index in 0..3 {
        let partition = StreamPartition::new(index, 3);
        let filter = EventFilter::default().with_partition(partition);
        let mut after = 0;
        let mut mine = Vec::new();
        loop {
            let page = ok(
                store.read_all_filtered(after, 2, &filter).await,
                "read_all_filtered",
            );
            let Some(last) = page.last() else { break };
            after = last.position;
            mine.extend(page);
        }
        let want: Vec<u64> = all
            .iter()
            .filter(|e| partition.contains(e.stream_id.as_str()))
            .map(|e| e.position)
            .collect();
        let got: Vec<u64> = mine.iter().map(|e| e.position).collect();
        assert_eq!(got, want, "partition {index} of 3");
        seen.extend(got);
        let odd = filter.clone().with_event_types(["Odd"]);
        let odd_got = ok(
            store.read_all_filtered(0, usize::MAX, &odd).await,
            "read_all_filtered",
        );
        assert!(odd_got
            .iter()
            .all(|e| e.event_type == "Odd" && partition.contains(e.stream_id.as_str())));
    }
    seen.sort_unstable();
    assert_eq!(seen, all.iter().map(|e| e.position).collect::<Vec<_>>());
}
