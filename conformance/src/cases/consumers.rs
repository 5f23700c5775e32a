//! Leases and consumers: one active runner per name, takeover, checkpoints
//! across restarts and crashes, error policies, resets, status.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use disco_core::{EventStore, ExpectedVersion::*, RecordedEvent, Uuid};
use disco_runtime::consumer::{
    handler_fn, Consumer, ConsumerExit, ConsumerHandle, ConsumerState, ErrorPolicy, FnHandler,
    HandlerError,
};

use crate::fixture::Stores;
use crate::helpers::*;

/// A short lease, so takeover after a crash is quick on stores whose leases
/// expire.
const TTL: Duration = Duration::from_millis(1000);
/// How long a case waits for something that should happen.
const PATIENCE: Duration = Duration::from_secs(10);

/// Positions a handler saw, shared with the case.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(u64, Uuid)>>>);

type Handler = FnHandler<Box<dyn Fn(&RecordedEvent) -> HandlerFuture + Send + Sync>>;
type HandlerFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send>>;

impl Seen {
    fn handler(&self) -> Handler {
        let seen = self.clone();
        handler_fn(Box::new(move |event: &RecordedEvent| {
            seen.push(event);
            Box::pin(async { Ok(()) }) as HandlerFuture
        }))
    }

    fn push(&self, event: &RecordedEvent) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((event.position, event.id));
    }

    fn positions(&self) -> Vec<u64> {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter().map(|(p, _)| *p).collect()
    }

    fn len(&self) -> usize {
        self.positions().len()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[u64]) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if done(&self.positions()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {PATIENCE:?}; saw {:?}",
                self.positions()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn consumer(name: &str, handler: Handler) -> Consumer {
    Consumer::new(name, handler)
        .lease(TTL, Duration::from_millis(50))
        .checkpoint_every(1000, Duration::from_millis(100))
        .error_policy(
            ErrorPolicy::default()
                .retries(2)
                .backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
}

fn start(consumer: Consumer, store: &Arc<dyn EventStore>) -> ConsumerHandle {
    ok(consumer.start(store.clone()), "start the consumer")
}

async fn wait_state(handle: &ConsumerHandle, state: ConsumerState) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = handle.status().await;
        if status.state == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the runner did not become {state:?} within {PATIENCE:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn positions(store: &dyn EventStore) -> Vec<u64> {
    read_everything(store, 500)
        .await
        .iter()
        .map(|e| e.position)
        .collect()
}

fn after(all: &[u64], position: u64) -> Vec<u64> {
    all.iter().copied().filter(|p| *p > position).collect()
}

/// A lease is held by one taker until released; then another gets it.
pub async fn lease_is_exclusive_until_released(stores: Stores) {
    let other = stores.another_handle().await;
    let held = ok(stores.store.try_lease("projector", TTL).await, "try_lease")
        .expect("a free lease was refused");
    assert_eq!(held.name(), "projector");
    assert!(ok(other.try_lease("projector", TTL).await, "try_lease").is_none());
    assert!(ok(stores.store.try_lease("projector", TTL).await, "try_lease").is_none());
    let second = ok(other.try_lease("another", TTL).await, "try_lease");
    assert!(second.is_some(), "a lease of another name was refused");
    let mut held = held;
    assert!(
        ok(held.renew().await, "renew"),
        "a held lease did not renew"
    );
    ok(held.release().await, "release");
    let taken = ok(other.try_lease("projector", TTL).await, "try_lease");
    assert!(taken.is_some(), "a released lease was refused");
    assert_invalid(stores.store.try_lease("", TTL).await);
}

/// A lease taken for any time to live, from zero to `Duration::MAX`, is an
/// answer and never a panic (a deadline computed as `now + ttl` overflows);
/// a consumer whose lease and checkpoint intervals are `u64::MAX` seconds
/// runs, handles its events and stops. A bad lease name is refused as a
/// lease name.
pub async fn leases_and_consumers_take_any_duration(stores: Stores) {
    for ttl in [Duration::MAX, Duration::from_secs(u64::MAX), Duration::ZERO] {
        let lease = ok(stores.store.try_lease("forever", ttl).await, "try_lease");
        let mut lease = lease.unwrap_or_else(|| panic!("a free lease was refused for {ttl:?}"));
        ok(lease.renew().await, "renew");
        ok(lease.release().await, "release");
    }
    match stores.store.try_lease("", Duration::MAX).await {
        Err(disco_core::Error::InvalidInput(message)) => assert!(
            message.contains("lease name"),
            "an empty lease name was refused as {message:?}"
        ),
        other => panic!("an empty lease name gave {other:?}"),
    }
    let s = sid("any-duration");
    append_ok(&*stores.store, &s, NoStream, evs(3)).await;
    let seen = Seen::default();
    let handle = start(
        Consumer::new("any-duration", seen.handler())
            .lease(Duration::from_secs(u64::MAX), Duration::from_millis(50))
            .checkpoint_every(u64::MAX, Duration::MAX),
        &stores.store,
    );
    seen.wait_for("every event handled", |p| p.len() == 3).await;
    let status = handle.status().await;
    assert_eq!(status.state, ConsumerState::Active, "{status:?}");
    assert_eq!(status.last_error, None, "{status:?}");
    match tokio::time::timeout(PATIENCE, handle.stop()).await {
        Ok(ConsumerExit::Stopped { position }) => assert_eq!(position, 3),
        other => panic!("the consumer did not stop: {other:?}"),
    }
}

/// A lease whose holder dies (drops it unreleased, without renewing) can be
/// taken by another within its time to live and a margin; until then,
/// renewals keep it.
pub async fn lease_of_a_dead_holder_is_taken_over(stores: Stores) {
    let other = stores.another_handle().await;
    let mut held = ok(stores.store.try_lease("worker", TTL).await, "try_lease")
        .expect("a free lease was refused");
    for _ in 0..4 {
        tokio::time::sleep(TTL / 3).await;
        assert!(ok(held.renew().await, "renew"), "a renewed lease was lost");
        assert!(
            ok(other.try_lease("worker", TTL).await, "try_lease").is_none(),
            "a renewed lease was taken"
        );
    }
    drop(held);
    let deadline = Instant::now() + TTL + Duration::from_secs(3);
    loop {
        if ok(other.try_lease("worker", TTL).await, "try_lease").is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead holder's lease was not free after its time to live"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A consumer handles every event once, in order; stopped and started
/// again, it resumes after its checkpoint and sees only the new events.
pub async fn consumer_resumes_from_its_checkpoint_after_a_restart(stores: Stores) {
    let store = stores.store.clone();
    for i in 0..4 {
        append_ok(&*store, &sid(&format!("c-{i}")), NoStream, evs(5)).await;
    }
    let seen = Seen::default();
    let handle = start(consumer("restartable", seen.handler()), &store);
    let all = positions(&*store).await;
    seen.wait_for("the first 20 events", |p| p.len() >= 20)
        .await;
    let exit = handle.stop().await;
    assert_eq!(seen.positions(), all, "not every event once, in order");
    let last = *all.last().expect("events");
    assert_eq!(exit, ConsumerExit::Stopped { position: last });
    assert_eq!(
        ok(store.load_checkpoint("restartable").await, "load"),
        Some(last)
    );

    append_ok(&*store, &sid("c-new"), NoStream, evs(3)).await;
    let again = Seen::default();
    let handle = start(consumer("restartable", again.handler()), &store);
    let all = positions(&*store).await;
    again.wait_for("the 3 new events", |p| p.len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(again.positions(), after(&all, last));
    handle.stop().await;
}

/// A runner killed between checkpoints loses nothing: the next one starts
/// after the last saved checkpoint, so every event is handled at least once.
pub async fn consumer_killed_mid_stream_loses_nothing(stores: Stores) {
    let store = stores.store.clone();
    for i in 0..10 {
        append_ok(&*store, &sid(&format!("k-{i}")), NoStream, evs(6)).await;
    }
    let all = positions(&*store).await;
    let seen = Seen::default();
    let slow = {
        let seen = seen.clone();
        handler_fn(Box::new(move |event: &RecordedEvent| {
            seen.push(event);
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok(())
            }) as HandlerFuture
        })
            as Box<dyn Fn(&RecordedEvent) -> HandlerFuture + Send + Sync>)
    };
    let handle = start(
        consumer("crashy", slow).checkpoint_every(10, Duration::from_secs(3600)),
        &store,
    );
    seen.wait_for("25 events", |p| p.len() >= 25).await;
    handle.abort();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = seen.positions();
    let checkpoint = ok(store.load_checkpoint("crashy").await, "load").unwrap_or(0);
    assert!(
        before.contains(&checkpoint),
        "checkpoint {checkpoint} is not a handled position ({before:?})"
    );

    let again = Seen::default();
    let handle = start(consumer("crashy", again.handler()), &store);
    let expected = after(&all, checkpoint);
    again
        .wait_for("the rest", |p| p.len() >= expected.len())
        .await;
    assert_eq!(again.positions(), expected);
    handle.stop().await;
}

/// Two runners of one name: one is active and handles everything, the other
/// stands by; when the active one stops, the standby takes over and goes on
/// from the checkpoint. The second runs on another store handle, as a
/// second process would.
pub async fn one_active_runner_per_name_and_takeover_on_stop(stores: Stores) {
    let store = stores.store.clone();
    let other = stores.another_handle().await;
    append_ok(&*store, &sid("t-1"), NoStream, evs(5)).await;
    let (first, second) = (Seen::default(), Seen::default());
    let a = start(consumer("single", first.handler()), &store);
    wait_state(&a, ConsumerState::Active).await;
    let b = start(consumer("single", second.handler()), &other);
    first.wait_for("5 events", |p| p.len() >= 5).await;
    append_ok(&*store, &sid("t-2"), NoStream, evs(5)).await;
    first.wait_for("10 events", |p| p.len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(b.status().await.state, ConsumerState::Standby);
    assert_eq!(second.len(), 0, "the standby handled events");

    let stopped = a.stop().await;
    wait_state(&b, ConsumerState::Active).await;
    append_ok(&*store, &sid("t-3"), NoStream, evs(5)).await;
    let all = positions(&*store).await;
    let ConsumerExit::Stopped { position } = stopped else {
        panic!("the first runner did not stop cleanly: {stopped:?}");
    };
    second.wait_for("the new events", |p| p.len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(second.positions(), after(&all, position));
    assert_eq!(first.positions(), all[..10].to_vec());
    b.stop().await;
}

/// When the active runner dies, the standby takes over within the lease's
/// time to live plus the takeover poll (and a margin), and nothing is lost.
pub async fn standby_takes_over_when_the_active_runner_dies(stores: Stores) {
    let store = stores.store.clone();
    let other = stores.another_handle().await;
    append_ok(&*store, &sid("d-1"), NoStream, evs(4)).await;
    let (first, second) = (Seen::default(), Seen::default());
    let a = start(consumer("mortal", first.handler()), &store);
    wait_state(&a, ConsumerState::Active).await;
    let b = start(consumer("mortal", second.handler()), &other);
    first.wait_for("4 events", |p| p.len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(b.status().await.state, ConsumerState::Standby);
    assert_eq!(second.len(), 0, "the standby handled events");
    a.abort();
    let died = Instant::now();
    wait_state(&b, ConsumerState::Active).await;
    let took = died.elapsed();
    assert!(
        took < TTL + Duration::from_secs(3),
        "takeover took {took:?}"
    );
    append_ok(&*store, &sid("d-2"), NoStream, evs(3)).await;
    let all = positions(&*store).await;
    second
        .wait_for("the new events", |p| p.ends_with(&all[4..]))
        .await;
    let mut union = first.positions();
    union.extend(second.positions());
    for p in &all {
        assert!(union.contains(p), "position {p} was never handled");
    }
    b.stop().await;
}

fn failing_on(poison: u64, seen: &Seen, calls: Arc<Mutex<Vec<u64>>>, panics: bool) -> Handler {
    let seen = seen.clone();
    handler_fn(Box::new(move |event: &RecordedEvent| {
        calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.position);
        let bad = event.position == poison;
        if !bad {
            seen.push(event);
        }
        Box::pin(async move {
            if bad && panics {
                panic!("poison at {poison}");
            }
            if bad {
                return Err("poison".into());
            }
            Ok(())
        }) as HandlerFuture
    }))
}

fn count(calls: &Arc<Mutex<Vec<u64>>>, position: u64) -> usize {
    calls
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|p| **p == position)
        .count()
}

/// A poison event under the default policy: retried, then the runner stops
/// with the event's id, its checkpoint just before it, and nothing after it
/// handled.
pub async fn poison_event_stops_the_consumer_by_default(stores: Stores) {
    let store = stores.store.clone();
    append_ok(&*store, &sid("p"), NoStream, evs(6)).await;
    let all = positions(&*store).await;
    let poison = all[3];
    let seen = Seen::default();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let handle = start(
        consumer("stopper", failing_on(poison, &seen, calls.clone(), false)),
        &store,
    );
    let exit = tokio::time::timeout(PATIENCE, handle.wait())
        .await
        .expect("the runner did not stop on the poison event");
    let ConsumerExit::Failed {
        position, event_id, ..
    } = exit
    else {
        panic!("the runner did not fail: {exit:?}");
    };
    let poisoned = read_everything(&*store, 10).await[3].id;
    assert_eq!(event_id, Some(poisoned));
    assert_eq!(position, all[2]);
    assert_eq!(seen.positions(), all[..3].to_vec());
    assert_eq!(count(&calls, poison), 3, "1 try + 2 retries");
    assert_eq!(
        ok(store.load_checkpoint("stopper").await, "load"),
        Some(all[2])
    );
}

/// Under the skip policy the poison event is retried, then passed over; the
/// rest are handled.
pub async fn poison_event_is_skipped_when_chosen(stores: Stores) {
    let store = stores.store.clone();
    append_ok(&*store, &sid("s"), NoStream, evs(6)).await;
    let all = positions(&*store).await;
    let poison = all[1];
    let seen = Seen::default();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let policy = ErrorPolicy::default()
        .retries(1)
        .backoff(Duration::from_millis(5), Duration::from_millis(5))
        .then_skip();
    let handle = start(
        consumer("skipper", failing_on(poison, &seen, calls.clone(), false)).error_policy(policy),
        &store,
    );
    seen.wait_for("the other 5", |p| p.len() >= 5).await;
    let expected: Vec<u64> = all.iter().copied().filter(|p| *p != poison).collect();
    assert_eq!(seen.positions(), expected);
    assert_eq!(count(&calls, poison), 2);
    let status = handle.status().await;
    assert!(status
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("poison")));
    assert_eq!(status.state, ConsumerState::Active);
    handle.stop().await;
}

/// A handler that panics counts as failing: the runner survives it,
/// retries, and passes nothing over while the event keeps failing.
pub async fn handler_panic_is_an_error_and_never_passed_over(stores: Stores) {
    let store = stores.store.clone();
    append_ok(&*store, &sid("x"), NoStream, evs(4)).await;
    let all = positions(&*store).await;
    let poison = all[1];
    let seen = Seen::default();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let policy = ErrorPolicy::default()
        .retries(1000)
        .backoff(Duration::from_millis(5), Duration::from_millis(10));
    let handle = start(
        consumer("panicky", failing_on(poison, &seen, calls.clone(), true)).error_policy(policy),
        &store,
    );
    let deadline = Instant::now() + PATIENCE;
    while count(&calls, poison) < 5 {
        assert!(
            Instant::now() < deadline,
            "the panicking event was not retried"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        seen.positions(),
        all[..1].to_vec(),
        "an event was passed over"
    );
    let status = handle.status().await;
    assert_eq!(status.state, ConsumerState::Active);
    assert_eq!(status.position, all[0]);
    assert!(status
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("panicked")));
    let exit = handle.stop().await;
    assert_eq!(exit, ConsumerExit::Stopped { position: all[0] });
}

/// A reset through the handle is obeyed by the running runner: the events
/// after the new position come again.
pub async fn reset_is_obeyed_while_running(stores: Stores) {
    let store = stores.store.clone();
    append_ok(&*store, &sid("r"), NoStream, evs(6)).await;
    let all = positions(&*store).await;
    let seen = Seen::default();
    let handle = start(consumer("resettable", seen.handler()), &store);
    seen.wait_for("6 events", |p| p.len() >= 6).await;
    ok(handle.reset(all[2]).await, "reset");
    seen.wait_for("the 3 events after the reset", |p| p.len() >= 9)
        .await;
    let mut expected = all.clone();
    expected.extend_from_slice(&all[3..]);
    assert_eq!(seen.positions(), expected);
    assert_eq!(
        ok(store.load_checkpoint("resettable").await, "load"),
        Some(all[2])
    );
    handle.stop().await;
    assert_eq!(
        ok(store.load_checkpoint("resettable").await, "load"),
        Some(all[5])
    );
}

/// A reset written to the store by someone else (another process, the CLI)
/// is noticed by the running runner at its next checkpoint, not overwritten.
pub async fn reset_in_the_store_is_noticed_while_running(stores: Stores) {
    let store = stores.store.clone();
    let other = stores.another_handle().await;
    append_ok(&*store, &sid("rr"), NoStream, evs(5)).await;
    let all = positions(&*store).await;
    let seen = Seen::default();
    let handle = start(consumer("noticing", seen.handler()), &store);
    seen.wait_for("5 events", |p| p.len() >= 5).await;
    // Wait for the runner's own save of the last position.
    let deadline = Instant::now() + PATIENCE;
    while ok(store.load_checkpoint("noticing").await, "load") != Some(all[4]) {
        assert!(
            Instant::now() < deadline,
            "the runner never saved its checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ok(
        other.save_checkpoint("noticing", 0).await,
        "reset in the store",
    );
    seen.wait_for("everything again", |p| p.len() >= 10).await;
    let mut expected = all.clone();
    expected.extend_from_slice(&all);
    assert_eq!(seen.positions(), expected);
    handle.stop().await;
}

/// Status shows the state, the position handled, the lag behind the head
/// and the count.
pub async fn consumer_status_reports_position_and_lag(stores: Stores) {
    let store = stores.store.clone();
    append_ok(&*store, &sid("st"), NoStream, evs(3)).await;
    append_ok(&*store, &sid("other-st"), NoStream, evs(2)).await;
    let all = positions(&*store).await;
    let seen = Seen::default();
    let handle = start(
        consumer("status", seen.handler())
            .filter(disco_core::EventFilter::default().with_stream_prefix("st")),
        &store,
    );
    seen.wait_for("3 events", |p| p.len() >= 3).await;
    // The two events the filter leaves out are seen all the same: the
    // position reaches the head and the lag 0.
    ok_within(
        handle.wait_for(all[4], PATIENCE).await,
        "the filtered consumer to see the head",
    );
    let status = handle.status().await;
    assert_eq!(status.name, "status");
    assert_eq!(status.state, ConsumerState::Active);
    assert_eq!(status.position, all[4]);
    assert_eq!(status.head, all[4]);
    assert_eq!(status.lag, 0);
    assert_eq!(status.handled, 3);
    assert_eq!(status.last_error, None);
    handle.stop().await;
}

/// A consumer whose filter matches nothing new still follows the head
/// (read-your-writes: `wait_for` a position it will never handle returns
/// once it has seen it), a wait beyond the head ends with `Behind`, and
/// the position seen is what its checkpoint keeps.
pub async fn filtered_consumer_sees_past_what_it_skips(stores: Stores) {
    let store = stores.store.clone();
    append_ok(&*store, &sid("match-1"), NoStream, evs(1)).await;
    let seen = Seen::default();
    let handle = start(
        consumer("rarely", seen.handler())
            .filter(disco_core::EventFilter::default().with_stream_prefix("match-")),
        &store,
    );
    seen.wait_for("the matching event", |p| p.len() == 1).await;
    for i in 0..5 {
        let written = append_ok(&*store, &sid(&format!("noise-{i}")), NoStream, evs(2)).await;
        let reached = handle.wait_for(written.last_position, PATIENCE).await;
        ok_within(reached, "the consumer to see a write it filters out");
    }
    let head = ok(store.head_position().await, "head_position");
    let behind = handle
        .wait_for(head + 100, Duration::from_millis(50))
        .await
        .expect_err("a wait beyond the head returned");
    assert_eq!(
        (behind.name.as_str(), behind.wanted),
        ("rarely", head + 100)
    );
    assert_eq!(behind.reached, head);
    assert_eq!(seen.len(), 1, "the filter let noise through");
    let exit = handle.stop().await;
    assert_eq!(exit, ConsumerExit::Stopped { position: head });
    assert_eq!(
        ok(store.load_checkpoint("rarely").await, "load_checkpoint"),
        Some(head)
    );
}

fn ok_within<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("waiting for {what}: {error}"),
    }
}

/// Every acquisition of a name gets a greater fencing token, and a checkpoint
/// written with an older token than the newest is refused with
/// `Error::Fenced`, leaving the checkpoint as it was. Unfenced writes (an
/// operator's reset) still go through.
pub async fn stale_lease_token_is_fenced_off(stores: Stores) {
    let other = stores.another_handle().await;
    let first = ok(stores.store.try_lease("fenced", TTL).await, "try_lease")
        .expect("a free lease was refused");
    let old = first.token();
    ok(
        stores.store.save_checkpoint_fenced("fenced", 3, old).await,
        "save_checkpoint_fenced by the holder",
    );
    ok(first.release().await, "release");
    let second = ok(other.try_lease("fenced", TTL).await, "try_lease")
        .expect("a released lease was refused");
    let new = second.token();
    assert!(
        new > old,
        "the second token {new} is not above the first {old}"
    );
    match stores.store.save_checkpoint_fenced("fenced", 9, old).await {
        Err(disco_core::Error::Fenced { token, current, .. }) => {
            assert_eq!((token, current), (old, new));
        }
        other => panic!("a write with the stale token {old} gave {other:?}"),
    }
    assert_eq!(
        ok(other.load_checkpoint("fenced").await, "load_checkpoint"),
        Some(3),
        "the stale write changed the checkpoint"
    );
    ok(
        other.save_checkpoint_fenced("fenced", 5, new).await,
        "save_checkpoint_fenced by the new holder",
    );
    ok(
        stores.store.save_checkpoint("fenced", 7).await,
        "an unfenced reset",
    );
    assert_eq!(
        ok(other.load_checkpoint("fenced").await, "load_checkpoint"),
        Some(7)
    );
    assert!(second.is_held(), "a held lease says it is not held");
    ok(second.release().await, "release");
}

/// A running consumer whose store is closed ends (`Failed` with the closed
/// store's error) instead of retrying for ever.
pub async fn consumer_ends_when_its_store_is_closed(stores: Stores) {
    let store = stores.another_handle().await;
    let s = sid("closing-consumer");
    append_ok(&*store, &s, NoStream, evs(2)).await;
    let seen = Seen::default();
    let handle = start(consumer("closing", seen.handler()), &store);
    seen.wait_for("both events handled", |p| p.len() == 2).await;
    ok(store.close().await, "close");
    let exit = tokio::time::timeout(PATIENCE, handle.wait()).await;
    match exit {
        Ok(ConsumerExit::Failed { error, .. }) => assert!(
            error.contains(&disco_core::Error::Closed.to_string()),
            "the consumer failed with {error:?}, expected the closed store's error"
        ),
        other => panic!("the consumer did not end with the closed store: {other:?}"),
    }
}
