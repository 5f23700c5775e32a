//! Closing a store: every later call is refused with the non-retryable
//! `Error::Closed`, and what runs on the store (subscriptions) ends with it
//! instead of retrying for ever.

use std::sync::Arc;
use std::time::Duration;

use disco_core::{Error, EventFilter, EventStore, ExpectedVersion::*};
use disco_runtime::{Subscription, SubscriptionOptions};

use crate::helpers::*;

/// How long a subscription may take to end after its store closed.
const PATIENCE: Duration = Duration::from_secs(10);

fn assert_closed<T: std::fmt::Debug>(result: Result<T, Error>, what: &str) {
    match result {
        Err(Error::Closed) => {}
        other => panic!("{what} on a closed store gave {other:?}, expected Error::Closed"),
    }
}

/// After `close`, appends, reads, checkpoints and leases fail with
/// `Error::Closed`, which is not retryable.
pub async fn closed_store_refuses_calls(store: Arc<dyn EventStore>) {
    let s = sid("closing-1");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    ok(store.close().await, "close");
    assert!(!Error::Closed.is_retryable());
    assert_closed(store.append(&s, Any, evs(1)).await, "append");
    assert_closed(store.read_all(0, 10).await, "read_all");
    assert_closed(store.stream_version(&s).await, "stream_version");
    assert_closed(store.save_checkpoint("c", 1).await, "save_checkpoint");
    let many = store.append_many(vec![(s.clone(), Any, evs(1))]).await;
    assert!(
        matches!(many.as_slice(), [Err(Error::Closed)]),
        "append_many on a closed store gave {many:?}"
    );
    assert_closed(
        store
            .try_lease("l", Duration::from_secs(1))
            .await
            .map(|l| l.is_some()),
        "try_lease",
    );
    ok(store.close().await, "closing twice");
}

/// A live subscription, caught up and waiting, ends with `Error::Closed` and
/// then ends, when its store is closed.
pub async fn closed_store_ends_subscriptions(store: Arc<dyn EventStore>) {
    let s = sid("closing-2");
    append_ok(&*store, &s, NoStream, evs(1)).await;
    let options = SubscriptionOptions {
        poll_interval: Duration::from_secs(30),
        ..SubscriptionOptions::default()
    };
    let mut feed = Subscription::start(store.clone(), options);
    let first = tokio::time::timeout(PATIENCE, feed.next()).await;
    assert!(
        matches!(first, Ok(Some(Ok(_)))),
        "the subscription did not deliver the first event: {first:?}"
    );
    ok(store.close().await, "close");
    let ended = tokio::time::timeout(PATIENCE, async {
        let mut items = Vec::new();
        while let Some(item) = feed.next().await {
            items.push(item);
        }
        items
    })
    .await;
    let items = ended.unwrap_or_else(|_| {
        panic!("the subscription did not end within {PATIENCE:?} after its store closed")
    });
    assert!(
        matches!(items.last(), Some(Err(Error::Closed))),
        "the subscription ended with {items:?}, expected a last Error::Closed"
    );
}

/// Filters and listing prefixes holding a NUL character (which no stream id
/// or event type can hold) match nothing, on every store alike.
pub async fn filters_with_nul_match_nothing(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("nul-1"), NoStream, evs(2)).await;
    let by_prefix = EventFilter::default().with_stream_prefix("nul\0");
    let found = ok(
        store.read_all_filtered(0, 10, &by_prefix).await,
        "read_all_filtered",
    );
    assert!(found.is_empty(), "a NUL prefix matched {found:?}");
    let by_type = EventFilter::default().with_event_types(["Happened\0"]);
    let found = ok(
        store.read_all_filtered(0, 10, &by_type).await,
        "read_all_filtered",
    );
    assert!(found.is_empty(), "a NUL event type matched {found:?}");
    let listed = ok(store.list_streams("nul\0", None, 10).await, "list_streams");
    assert!(listed.is_empty(), "a NUL prefix listed {listed:?}");
}
