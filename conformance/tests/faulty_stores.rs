//! The suite can fail: it runs against deliberately faulty wrappers of the
//! memory store, and each fault must be caught by the cases that cover its
//! rule and by the model test.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::LocalLeases;
use disco_backend::Notifier;
use disco_conformance::{all_cases, all_stores_cases, model::check_model, Fixture};
use disco_core::lease::Lease;
use disco_core::{
    AppendResult, Checkpoint, DeleteMode, EventFilter, EventStore, ExpectedVersion, Limits,
    NewEvent, Notifications, ReadDirection, RecordedEvent, Result, Snapshot, StreamId, StreamInfo,
};
use disco_store_memory::MemoryStore;

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Every append is sent with `ExpectedVersion::Any`.
    IgnoresExpectedVersion,
    /// Positions are handed out in pairs swapped (1<->2, 3<->4, ...), so a
    /// later commit can get a smaller position than an earlier one.
    PositionsOutOfCommitOrder,
    /// An append of several events stores all but the last, and answers as if
    /// it had stored them all.
    DropsLastEventOfBatch,
    /// Every lease request is granted, held or not.
    LeasesNeverExclusive,
    /// Notifications never announce a new head.
    SilentNotifications,
    /// A fenced checkpoint write ignores its token.
    IgnoresFences,
    /// `close` does nothing: the store keeps answering.
    NeverCloses,
}

struct Faulty {
    inner: MemoryStore,
    fault: Fault,
    silent: Notifier,
}

/// The swap of `PositionsOutOfCommitOrder`; its own inverse.
fn swap(position: u64) -> u64 {
    if position % 2 == 1 {
        position + 1
    } else {
        position - 1
    }
}

impl Faulty {
    fn position(&self, p: u64) -> u64 {
        match self.fault {
            Fault::PositionsOutOfCommitOrder if p > 0 => swap(p),
            _ => p,
        }
    }

    fn events(&self, mut events: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
        for e in &mut events {
            e.position = self.position(e.position);
        }
        events
    }
}

#[async_trait]
impl EventStore for Faulty {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mut events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        match self.fault {
            Fault::IgnoresExpectedVersion => {
                self.inner
                    .append(stream, ExpectedVersion::Any, events)
                    .await
            }
            Fault::PositionsOutOfCommitOrder => {
                let r = self.inner.append(stream, expected, events).await?;
                Ok(AppendResult {
                    first_position: self.position(r.first_position),
                    last_position: self.position(r.last_position),
                    ..r
                })
            }
            Fault::LeasesNeverExclusive
            | Fault::SilentNotifications
            | Fault::IgnoresFences
            | Fault::NeverCloses => self.inner.append(stream, expected, events).await,
            Fault::DropsLastEventOfBatch => {
                let dropped = events.len() > 1;
                if dropped {
                    events.pop();
                }
                let r = self.inner.append(stream, expected, events).await?;
                Ok(if dropped {
                    AppendResult {
                        last_version: r.last_version + 1,
                        last_position: r.last_position + 1,
                        ..r
                    }
                } else {
                    r
                })
            }
        }
    }

    async fn append_atomic(&self, parts: Vec<disco_core::AppendMany>) -> Result<Vec<AppendResult>> {
        self.inner.append_atomic(parts).await
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let events = self
            .inner
            .read_stream(stream, from, direction, limit)
            .await?;
        Ok(self.events(events))
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        let events = self.inner.read_all_backward(from, limit).await?;
        Ok(self.events(events))
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        if let Fault::PositionsOutOfCommitOrder = self.fault {
            let mut all = self.events(self.inner.read_all_filtered(0, usize::MAX, filter).await?);
            all.retain(|e| e.position > after);
            all.sort_by_key(|e| e.position);
            all.truncate(limit);
            return Ok(all);
        }
        self.inner.read_all_filtered(after, limit, filter).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        self.inner.stream_version(stream).await
    }

    async fn head_position(&self) -> Result<u64> {
        let head = self.inner.head_position().await?;
        Ok(match self.fault {
            Fault::PositionsOutOfCommitOrder if head % 2 == 1 => head + 1,
            _ => head,
        })
    }

    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        self.inner.list_streams(prefix, after, limit).await
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        self.inner.delete_stream(stream, expected, mode).await
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        self.inner.save_snapshot(stream, version, data).await
    }

    async fn delete_snapshot(&self, s: &StreamId) -> Result<()> {
        self.inner.delete_snapshot(s).await
    }
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.inner.load_snapshot(stream).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.inner.save_checkpoint(name, position).await
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        match self.fault {
            Fault::IgnoresFences => self.inner.save_checkpoint(name, position).await,
            _ => {
                self.inner
                    .save_checkpoint_fenced(name, position, token)
                    .await
            }
        }
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        self.inner.load_checkpoint(name).await
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.inner.list_checkpoints().await
    }

    async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        match self.fault {
            Fault::LeasesNeverExclusive => LocalLeases::default().try_lease(name),
            _ => self.inner.try_lease(name, ttl).await,
        }
    }

    fn notifications(&self) -> Notifications {
        match self.fault {
            Fault::SilentNotifications => self.silent.subscribe(),
            _ => self.inner.notifications(),
        }
    }

    async fn close(&self) -> Result<()> {
        match self.fault {
            Fault::NeverCloses => Ok(()),
            _ => self.inner.close().await,
        }
    }

    fn limits(&self) -> Limits {
        self.inner.limits()
    }
}

fn faulty(fault: Fault) -> Arc<dyn EventStore> {
    Arc::new(Faulty {
        inner: MemoryStore::new(),
        fault,
        silent: Notifier::new(0),
    })
}

/// The threads the faulty cases run on; their (expected) panics are not printed.
const QUIET_THREAD: &str = "faulty-case";

fn quiet_runtime() -> tokio::runtime::Runtime {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(QUIET_THREAD) {
            default_hook(info);
        }
    }));
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .thread_name(QUIET_THREAD)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot start a tokio runtime: {e}"),
    }
}

/// Runs every case on a fresh faulty store and returns the names of those
/// that failed.
fn failing_cases(fault: Fault) -> Vec<&'static str> {
    let runtime = quiet_runtime();
    let mut failed = Vec::new();
    for (name, case) in all_cases() {
        if runtime
            .block_on(runtime.spawn(case(faulty(fault))))
            .is_err()
        {
            failed.push(name);
        }
    }
    failed
}

/// Like [`failing_cases`], for the cases that take `Stores` (leases,
/// consumers): the faulty store with one handle.
fn failing_stores_cases(fault: Fault) -> Vec<&'static str> {
    let runtime = quiet_runtime();
    let mut failed = Vec::new();
    for (name, case) in all_stores_cases() {
        let outcome = runtime.block_on(async {
            let fixture = Fixture::from_arc(faulty(fault));
            run_stores(fixture, case).await
        });
        if outcome.is_err() {
            failed.push(name);
        }
    }
    failed
}

async fn run_stores(
    fixture: Fixture,
    case: disco_conformance::StoresCaseFn,
) -> std::result::Result<(), tokio::task::JoinError> {
    tokio::spawn(
        async move { disco_conformance::run_stores_case(|| async { fixture }, case).await },
    )
    .await
}

/// For faults outside the model (leases, notifications): the named cases
/// must fail.
fn assert_cases_catch(fault: Fault, must_fail: &[&str]) -> std::result::Result<(), String> {
    let mut failed = failing_cases(fault);
    failed.extend(failing_stores_cases(fault));
    let missed: Vec<_> = must_fail.iter().filter(|c| !failed.contains(c)).collect();
    if missed.is_empty() {
        println!("{fault:?} caught by {} cases ({failed:?})", failed.len());
        Ok(())
    } else {
        Err(format!(
            "{fault:?}: these cases passed but must fail: {missed:?} (failed: {failed:?})"
        ))
    }
}

fn assert_caught(fault: Fault, must_fail: &[&str]) -> std::result::Result<(), String> {
    let failed = failing_cases(fault);
    let missed: Vec<_> = must_fail.iter().filter(|c| !failed.contains(c)).collect();
    if !missed.is_empty() {
        return Err(format!(
            "{fault:?}: these cases passed but must fail: {missed:?} (failed: {failed:?})"
        ));
    }
    match check_model(move || async move { Fixture::from_arc(faulty(fault)) }) {
        Err(report) if report.contains("minimal failing sequence") => {
            println!(
                "{fault:?} caught by {} cases ({failed:?}) and the model test:\n{report}",
                failed.len()
            );
            Ok(())
        }
        Err(report) => Err(format!("{fault:?}: the model test failed oddly: {report}")),
        Ok(()) => Err(format!(
            "{fault:?}: the model test passed on a faulty store"
        )),
    }
}

#[test]
fn suite_catches_a_store_that_ignores_expected_versions() -> std::result::Result<(), String> {
    assert_caught(
        Fault::IgnoresExpectedVersion,
        &[
            "no_stream_fails_on_existing_stream",
            "stream_exists_fails_on_absent_stream",
            "exact_fails_below_and_above_current_version",
            "exact_zero_behaves_as_no_stream",
            "failed_expected_version_writes_nothing",
            "racing_exact_appends_have_one_winner",
        ],
    )
}

#[test]
fn suite_catches_positions_out_of_commit_order() -> std::result::Result<(), String> {
    assert_caught(
        Fault::PositionsOutOfCommitOrder,
        &[
            "positions_are_unique_and_increase_within_an_append",
            "positions_follow_commit_order_across_streams",
            "reader_never_sees_a_late_position",
        ],
    )
}

#[test]
fn suite_catches_a_store_that_drops_the_last_event_of_a_batch() -> std::result::Result<(), String> {
    assert_caught(
        Fault::DropsLastEventOfBatch,
        &[
            "versions_start_at_one_without_holes",
            "positions_are_unique_and_increase_within_an_append",
            "read_stream_forward_from_and_limit",
            "read_stream_backward_from_and_limit",
            "retry_with_any_returns_original_result",
        ],
    )
}

#[tokio::test]
async fn the_suite_has_at_least_forty_cases_and_passes_on_the_memory_store() {
    let cases = all_cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    for (name, case) in cases {
        let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
        assert!(
            tokio::spawn(case(store)).await.is_ok(),
            "{name} failed on the memory store"
        );
    }
}

#[test]
fn suite_catches_leases_that_are_not_exclusive() -> std::result::Result<(), String> {
    assert_cases_catch(
        Fault::LeasesNeverExclusive,
        &[
            "lease_is_exclusive_until_released",
            "lease_of_a_dead_holder_is_taken_over",
            "one_active_runner_per_name_and_takeover_on_stop",
        ],
    )
}

#[test]
fn suite_catches_notifications_that_never_fire() -> std::result::Result<(), String> {
    assert_cases_catch(
        Fault::SilentNotifications,
        &[
            "notifications_wake_a_waiting_reader",
            "subscription_wakes_promptly_after_an_append",
        ],
    )
}

#[test]
fn suite_catches_a_store_that_ignores_fencing_tokens() -> std::result::Result<(), String> {
    assert_cases_catch(Fault::IgnoresFences, &["stale_lease_token_is_fenced_off"])
}

#[test]
fn suite_catches_a_store_that_never_closes() -> std::result::Result<(), String> {
    assert_cases_catch(
        Fault::NeverCloses,
        &[
            "closed_store_refuses_calls",
            "closed_store_ends_subscriptions",
        ],
    )
}
