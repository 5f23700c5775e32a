//! Deliberately faulty stores, to show the suite can fail: [`Faulty`] wraps
//! a correct store and breaks one rule ([`Fault`]); [`check_fault`] runs the
//! cases that cover that rule (and the model test, for the faults it can
//! see) on fresh faulty stores and says whether each caught it. The memory
//! store's test runs every fault against every case; a backend can run the
//! same check on its own stores (the NATS store does).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::{LocalLeases, Notifier};
use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendResult, Checkpoint, DeleteMode, EventFilter, EventStore,
    ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo,
};

use crate::model::check_model;
use crate::{all_cases, all_stores_cases, Fixture};

/// A fault a wrapped store has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every append is sent with `ExpectedVersion::Any`.
    IgnoresExpectedVersion,
    /// Positions are handed out swapped in pairs two apart (1<->3, 2<->4,
    /// 5<->7, ...), so a later commit can get a smaller position than an
    /// earlier one.
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
    /// A conditional append ignores its condition (an atomic append).
    IgnoresConditions,
}

/// A store with one [`Fault`], wrapping a correct one.
pub struct Faulty {
    inner: Arc<dyn EventStore>,
    fault: Fault,
    silent: Notifier,
}

/// The swap of `PositionsOutOfCommitOrder`: 1<->3, 2<->4, 5<->7, 6<->8,
/// ... (two apart, so it also swaps commits on a store whose positions
/// have a hole after each event, as NATS's claims make); its own inverse.
fn swap(position: u64) -> u64 {
    ((position - 1) ^ 2) + 1
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
            | Fault::NeverCloses
            | Fault::IgnoresConditions => self.inner.append(stream, expected, events).await,
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

    async fn append_if(
        &self,
        parts: Vec<disco_core::AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        match self.fault {
            Fault::IgnoresConditions => {
                condition.fail_if_events_match.check()?;
                self.inner.append_atomic(parts).await
            }
            _ => self.inner.append_if(parts, condition).await,
        }
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        let mut read = self.inner.read_query(query, after, limit).await?;
        read.events = self.events(read.events);
        Ok(read)
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
            // The highest swapped position at or below the head.
            Fault::PositionsOutOfCommitOrder if head > 0 && (head - 1) & 2 == 0 => head + 2,
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

impl Fault {
    /// Every fault.
    pub const ALL: [Fault; 8] = [
        Fault::IgnoresExpectedVersion,
        Fault::PositionsOutOfCommitOrder,
        Fault::DropsLastEventOfBatch,
        Fault::LeasesNeverExclusive,
        Fault::SilentNotifications,
        Fault::IgnoresFences,
        Fault::NeverCloses,
        Fault::IgnoresConditions,
    ];

    /// The cases that must fail on a store with this fault.
    pub fn caught_by(self) -> &'static [&'static str] {
        match self {
            Fault::IgnoresExpectedVersion => &[
                "no_stream_fails_on_existing_stream",
                "stream_exists_fails_on_absent_stream",
                "exact_fails_below_and_above_current_version",
                "exact_zero_behaves_as_no_stream",
                "failed_expected_version_writes_nothing",
                "racing_exact_appends_have_one_winner",
            ],
            Fault::PositionsOutOfCommitOrder => &[
                "positions_are_unique_and_increase_within_an_append",
                "positions_follow_commit_order_across_streams",
                "reader_never_sees_a_late_position",
            ],
            Fault::DropsLastEventOfBatch => &[
                "versions_start_at_one_without_holes",
                "positions_are_unique_and_increase_within_an_append",
                "read_stream_forward_from_and_limit",
                "read_stream_backward_from_and_limit",
                "retry_with_any_returns_original_result",
            ],
            Fault::LeasesNeverExclusive => &[
                "lease_is_exclusive_until_released",
                "lease_of_a_dead_holder_is_taken_over",
                "one_active_runner_per_name_and_takeover_on_stop",
            ],
            Fault::SilentNotifications => &[
                "notifications_wake_a_waiting_reader",
                "subscription_wakes_promptly_after_an_append",
            ],
            Fault::IgnoresFences => &["stale_lease_token_is_fenced_off"],
            Fault::NeverCloses => &[
                "closed_store_refuses_calls",
                "closed_store_ends_subscriptions",
            ],
            Fault::IgnoresConditions => &[
                "conditional_append_fails_naming_the_first_conflict",
                "conditional_append_retry_returns_the_original_results",
                "racing_conditional_appends_take_exactly_the_capacity",
            ],
        }
    }

    /// Whether the model test sees this fault (it covers appends,
    /// conditions, reads and positions, not leases, notifications or
    /// closing).
    pub fn in_model(self) -> bool {
        matches!(
            self,
            Fault::IgnoresExpectedVersion
                | Fault::PositionsOutOfCommitOrder
                | Fault::DropsLastEventOfBatch
                | Fault::IgnoresConditions
        )
    }
}

/// `inner` with `fault`.
pub fn wrap(inner: Arc<dyn EventStore>, fault: Fault) -> Arc<dyn EventStore> {
    Arc::new(Faulty {
        inner,
        fault,
        silent: Notifier::new(0),
    })
}

/// A fixture of `inner`'s store with `fault`, cleaned up as `inner` is.
/// Its cases share one handle.
pub fn faulty_fixture(inner: Fixture, fault: Fault) -> Fixture {
    let store = wrap(inner.store.clone(), fault);
    Fixture::from_arc(store).with_cleanup(move || inner.finish())
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

/// Runs the cases `only` names (every case when `None`) on fresh stores of
/// `factory` with `fault`, and returns the names of those that failed.
pub fn failing_cases<F, Fut>(fault: Fault, factory: &F, only: Option<&[&str]>) -> Vec<&'static str>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let runtime = quiet_runtime();
    let mut failed = Vec::new();
    for (name, case) in all_cases() {
        if only.is_some_and(|names| !names.contains(&name)) {
            continue;
        }
        let fixture = runtime.block_on(factory());
        let fixture = faulty_fixture(fixture, fault);
        let store = fixture.store.clone();
        if runtime.block_on(runtime.spawn(case(store))).is_err() {
            failed.push(name);
        }
        runtime.block_on(fixture.finish());
    }
    failed
}

/// Like [`failing_cases`], for the cases that take `Stores` (leases,
/// consumers): the faulty store with one handle.
pub fn failing_stores_cases<F, Fut>(
    fault: Fault,
    factory: &F,
    only: Option<&[&str]>,
) -> Vec<&'static str>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let runtime = quiet_runtime();
    let mut failed = Vec::new();
    for (name, case) in all_stores_cases() {
        if only.is_some_and(|names| !names.contains(&name)) {
            continue;
        }
        let outcome = runtime.block_on(async {
            let fixture = faulty_fixture(factory().await, fault);
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
    case: crate::StoresCaseFn,
) -> std::result::Result<(), tokio::task::JoinError> {
    tokio::spawn(async move { crate::run_stores_case(|| async { fixture }, case).await }).await
}

/// Runs, on fresh stores of `factory` with `fault`, the cases that must
/// catch it (every case when `all_cases` is set) and, for a fault the model
/// sees, the model test: `Ok` with a report when each caught it, `Err`
/// naming what passed that must not.
pub fn check_fault<F, Fut>(
    fault: Fault,
    factory: F,
    all_cases: bool,
) -> std::result::Result<String, String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let must_fail = fault.caught_by();
    let only = if all_cases { None } else { Some(must_fail) };
    let mut failed = failing_cases(fault, &factory, only);
    // The consumer cases are slow to fail on a store with a fault of the
    // model's; they are run for the named ones, or for faults only they see.
    if !all_cases || !fault.in_model() {
        failed.extend(failing_stores_cases(fault, &factory, only));
    }
    let missed: Vec<_> = must_fail.iter().filter(|c| !failed.contains(c)).collect();
    if !missed.is_empty() {
        return Err(format!(
            "{fault:?}: these cases passed but must fail: {missed:?} (failed: {failed:?})"
        ));
    }
    let mut report = format!("{fault:?} caught by {} cases ({failed:?})", failed.len());
    if fault.in_model() {
        match check_model(|| async { faulty_fixture(factory().await, fault) }) {
            Err(found) if found.contains("minimal failing sequence") => {
                report.push_str(&format!(" and the model test:\n{found}"));
            }
            Err(found) => return Err(format!("{fault:?}: the model test failed oddly: {found}")),
            Ok(()) => {
                return Err(format!(
                    "{fault:?}: the model test passed on a faulty store"
                ))
            }
        }
    }
    Ok(report)
}

/// Generates one `#[test]` per [`Fault`], each returning `$caught(fault)`
/// (a `fn(Fault) -> Result<(), String>` of the caller's that runs
/// [`check_fault`] on its own stores).
#[macro_export]
macro_rules! faulty_suite {
    ($caught:ident) => {
        #[test]
        fn suite_catches_a_store_that_ignores_expected_versions() -> Result<(), String> {
            $caught($crate::faulty::Fault::IgnoresExpectedVersion)
        }

        #[test]
        fn suite_catches_positions_out_of_commit_order() -> Result<(), String> {
            $caught($crate::faulty::Fault::PositionsOutOfCommitOrder)
        }

        #[test]
        fn suite_catches_a_store_that_drops_the_last_event_of_a_batch() -> Result<(), String> {
            $caught($crate::faulty::Fault::DropsLastEventOfBatch)
        }

        #[test]
        fn suite_catches_leases_that_are_not_exclusive() -> Result<(), String> {
            $caught($crate::faulty::Fault::LeasesNeverExclusive)
        }

        #[test]
        fn suite_catches_notifications_that_never_fire() -> Result<(), String> {
            $caught($crate::faulty::Fault::SilentNotifications)
        }

        #[test]
        fn suite_catches_a_store_that_ignores_fencing_tokens() -> Result<(), String> {
            $caught($crate::faulty::Fault::IgnoresFences)
        }

        #[test]
        fn suite_catches_a_store_that_never_closes() -> Result<(), String> {
            $caught($crate::faulty::Fault::NeverCloses)
        }
    };
}
