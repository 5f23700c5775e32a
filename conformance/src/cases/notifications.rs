//! Notifications wake waiting readers.

use std::sync::Arc;
use std::time::Duration;

use disco_core::{EventStore, ExpectedVersion::*};

use crate::helpers::*;

/// A reader waiting beyond the head wakes after an append, within a second.
pub async fn notifications_wake_a_waiting_reader(store: Arc<dyn EventStore>) {
    append_ok(&*store, &sid("before"), NoStream, evs(1)).await;
    let head = ok(store.head_position().await, "head_position");
    let mut notes = store.notifications();
    let waiter = tokio::spawn(async move { notes.wait_beyond(head).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "woke before any append");
    let r = append_ok(&*store, &sid("wake"), NoStream, evs(2)).await;
    let woke = tokio::time::timeout(Duration::from_secs(1), waiter)
        .await
        .expect("the waiting reader was not woken within 1 s")
        .expect("waiter panicked");
    let announced = ok(woke, "wait_beyond");
    assert!(announced > head && announced <= r.last_position);
    let page = ok(store.read_all(head, 10).await, "read_all");
    assert_eq!(page.len(), 2);
}

/// A reader asking beyond a position already passed returns at once.
pub async fn notifications_report_the_head_at_once(store: Arc<dyn EventStore>) {
    let r = append_ok(&*store, &sid("n"), NoStream, evs(3)).await;
    let mut notes = store.notifications();
    let head = tokio::time::timeout(Duration::from_secs(1), notes.wait_beyond(0))
        .await
        .expect("wait_beyond(0) blocked although events exist");
    assert!(ok(head, "wait_beyond") > 0);
    let _ = r;
}
