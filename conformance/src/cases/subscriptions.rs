//! Subscriptions: catch-up then live, filters, nothing lost or repeated
//! under concurrent writers, prompt wake-ups.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco_core::{EventFilter, EventStore, ExpectedVersion::*, NewEvent, RecordedEvent, Uuid};
use disco_runtime::{Subscription, SubscriptionOptions};

use crate::helpers::*;

/// Takes `n` events from `feed`, failing after `within`.
async fn take(feed: &mut Subscription, n: usize, within: Duration) -> Vec<RecordedEvent> {
    let mut got = Vec::with_capacity(n);
    let deadline = Instant::now() + within;
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, feed.next()).await {
            Ok(Some(Ok(event))) => got.push(event),
            Ok(Some(Err(e))) => panic!("the subscription failed: {e}"),
            Ok(None) => panic!("the subscription ended after {} events", got.len()),
            Err(_) => panic!("only {} of {n} events arrived within {within:?}", got.len()),
        }
    }
    got
}

/// Asserts nothing more arrives within `quiet`.
async fn assert_nothing_more(feed: &mut Subscription, quiet: Duration) {
    if let Ok(Some(item)) = tokio::time::timeout(quiet, feed.next()).await {
        panic!("an unexpected item arrived: {item:?}");
    }
}

fn ids(events: &[RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.id).collect()
}

/// A subscription from the start reads what is there in pages (page size 2
/// over 5 events), then delivers new appends live, in position order.
pub async fn subscription_catches_up_in_pages_then_follows_live(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("sub-a"), NoStream, evs(3)).await;
    append_ok(&*store, &sid("sub-b"), NoStream, evs(2)).await;
    let options = SubscriptionOptions::default()
        .page_size(2)
        .poll_interval(Duration::from_secs(30));
    let mut feed = Subscription::start(store.clone(), options);
    let first = take(&mut feed, 5, Duration::from_secs(5)).await;
    assert_eq!(ids(&first), ids(&read_everything(&*store, 100).await));
    assert_eq!(feed.position(), first[4].position);
    let live = append_ok(&*store, &sid("sub-c"), NoStream, evs(3)).await;
    let next = take(&mut feed, 3, Duration::from_secs(5)).await;
    assert_eq!(next.last().map(|e| e.position), Some(live.last_position));
    assert!(next.iter().all(|e| e.stream_id.as_str() == "sub-c"));
    assert!(next.windows(2).all(|w| w[0].position < w[1].position));
    assert!(next[0].position > first[4].position);
    assert_nothing_more(&mut feed, Duration::from_millis(200)).await;
}

/// A subscription after a position starts with the first event beyond it.
pub async fn subscription_starts_after_the_given_position(store: Arc<dyn EventStore>) {
    let first = append_ok(&*store, &sid("from"), NoStream, evs(4)).await;
    let mut feed = Subscription::start(
        store.clone(),
        SubscriptionOptions::default().after(first.first_position + 1),
    );
    let got = take(&mut feed, 2, Duration::from_secs(5)).await;
    assert_eq!(got[0].version, 3);
    assert_eq!(got[1].version, 4);
    assert_nothing_more(&mut feed, Duration::from_millis(200)).await;
}

/// Type and stream-prefix filters hold in catch-up and live.
pub async fn subscription_filters_by_type_and_stream_prefix(store: Arc<dyn EventStore>) {
    let mixed = |n: usize| -> Vec<NewEvent> {
        (0..n)
            .map(|i| ev(if i % 2 == 0 { "Deposited" } else { "Withdrawn" }))
            .collect()
    };
    append_ok(&*store, &sid("wallet-1"), NoStream, mixed(4)).await;
    append_ok(&*store, &sid("order-1"), NoStream, mixed(4)).await;
    let filter = EventFilter::default()
        .with_stream_prefix("wallet-")
        .with_event_types(["Deposited"]);
    let mut feed = Subscription::start(
        store.clone(),
        SubscriptionOptions::default().filter(filter).page_size(1),
    );
    let got = take(&mut feed, 2, Duration::from_secs(5)).await;
    append_ok(&*store, &sid("order-2"), NoStream, mixed(2)).await;
    append_ok(&*store, &sid("wallet-2"), NoStream, mixed(2)).await;
    let live = take(&mut feed, 1, Duration::from_secs(5)).await;
    for e in got.iter().chain(&live) {
        assert!(e.stream_id.as_str().starts_with("wallet-") && e.event_type == "Deposited");
    }
    assert_eq!(live[0].stream_id.as_str(), "wallet-2");
    assert_nothing_more(&mut feed, Duration::from_millis(200)).await;
}

/// Eight writers append while a subscription reads: it delivers every
/// appended event exactly once, in increasing position order.
pub async fn subscription_misses_and_repeats_nothing_under_concurrent_writers(
    store: Arc<dyn EventStore>,
) {
    let options = SubscriptionOptions::default()
        .page_size(7)
        .buffer_pages(1)
        .poll_interval(Duration::from_secs(30));
    let mut feed = Subscription::start(store.clone(), options);
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut written = Vec::new();
            for i in 0..25usize {
                let events = evs(1 + (i + w) % 3);
                written.extend(events.iter().map(|e| e.id));
                let stream = sid(&format!("race-{w}"));
                ok(store.append(&stream, Any, events).await, "append");
            }
            written
        }));
    }
    let mut expected = HashSet::new();
    for writer in writers {
        expected.extend(writer.await.expect("writer panicked"));
    }
    let got = take(&mut feed, expected.len(), Duration::from_secs(30)).await;
    assert!(got.windows(2).all(|w| w[0].position < w[1].position));
    let seen: HashSet<Uuid> = got.iter().map(|e| e.id).collect();
    assert_eq!(seen.len(), got.len(), "an event was delivered twice");
    assert_eq!(
        seen, expected,
        "the delivered events are not the appended ones"
    );
    assert_nothing_more(&mut feed, Duration::from_millis(200)).await;
}

/// A caught-up subscription wakes on the store's notification, not its poll
/// interval (set to 30 s here): an append arrives within a second.
pub async fn subscription_wakes_promptly_after_an_append(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("idle"), NoStream, evs(1)).await;
    let mut feed = Subscription::start(
        store.clone(),
        SubscriptionOptions::default().poll_interval(Duration::from_secs(30)),
    );
    take(&mut feed, 1, Duration::from_secs(5)).await;
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        append_ok(&*store, &sid("idle"), Exact(round + 1), evs(1)).await;
        take(&mut feed, 1, Duration::from_secs(1)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

/// A stream subscription from a version: the stream's events from that
/// version (caught up in pages), then its new events live, in version order;
/// other streams' events never; a deleted stream ends it with
/// `StreamDeleted`.
pub async fn stream_subscription_from_a_version_catches_up_then_follows_live(
    store: Arc<dyn EventStore>,
) {
    let s = sid("watched");
    append_ok(&*store, &s, NoStream, evs(5)).await;
    append_ok(&*store, &sid("unwatched"), NoStream, evs(3)).await;
    let options = SubscriptionOptions::default()
        .page_size(2)
        .poll_interval(Duration::from_secs(30));
    let mut feed = disco_runtime::StreamSubscription::start(store.clone(), s.clone(), 3, options);
    let mut got = Vec::new();
    while got.len() < 5 {
        if got.len() == 3 {
            // Caught up: what comes next is live.
            append_ok(&*store, &sid("unwatched"), Any, evs(2)).await;
            append_ok(&*store, &s, Any, evs(2)).await;
        }
        match tokio::time::timeout(Duration::from_secs(5), feed.next()).await {
            Ok(Some(Ok(event))) => got.push(event),
            other => panic!("after {} events: {other:?}", got.len()),
        }
    }
    let versions: Vec<u64> = got.iter().map(|e| e.version).collect();
    assert_eq!(versions, vec![3, 4, 5, 6, 7]);
    assert!(got.iter().all(|e| e.stream_id == s));
    assert_eq!(feed.version(), 7);
    ok(
        store
            .delete_stream(&s, Any, disco_core::DeleteMode::Soft)
            .await,
        "delete_stream",
    );
    append_ok(&*store, &sid("unwatched"), Any, evs(1)).await;
    match tokio::time::timeout(Duration::from_secs(5), feed.next()).await {
        Ok(Some(Err(disco_core::Error::StreamDeleted { .. }))) => {}
        other => panic!("a deleted stream did not end the feed: {other:?}"),
    }
}
