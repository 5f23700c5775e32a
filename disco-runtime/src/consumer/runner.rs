//! The runner: a task that waits for the consumer's lease, then handles
//! events from its checkpoint on until it is stopped, fails, or loses the
//! lease (and then waits again). The loop is the one a projection's runner
//! runs too ([`holding::serve`], [`super::stretch::drive`]); this file is
//! what a consumer does in it: one event at a time, its checkpoint, its
//! parked streams.
//!
//! Invariants:
//! - events are handled one at a time in position order; `position` moves
//!   only past an event that was handled or deliberately skipped, so a
//!   failing event is never passed over;
//! - the checkpoint saved is always a `position` the handler is done with;
//! - before writing a checkpoint the runner reads it: if it is not what the
//!   runner last wrote, someone reset it, and the runner follows the reset
//!   instead of overwriting it;
//! - commands from the handle are looked at before every event (the
//!   shared loop looks before every batch, and a consumer's batch is one
//!   event);
//! - the handler is never called once the lease is known lost
//!   ([`Lease::is_held`] is checked before every event), and every
//!   checkpoint write carries the lease's fencing token, so a runner that
//!   lost its lease without knowing cannot overwrite its successor's
//!   checkpoint: the store refuses it with `Error::Fenced` and the runner
//!   stands by.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::handle::{Control, Shared};
use super::holding::{self, Holding, Serve, Standby, Stretched};
use super::parking::{self, ParkedStream, Release};
use super::stretch::{drive, Feed, Parts, Work};
use super::{AfterRetries, ConsumerExit, ConsumerHandle, ConsumerOptions, ConsumerState, Handler};
use crate::catch_panic::CatchPanic;
use crate::measured::{CONSUMED, CONSUMER_LABEL, CONSUMER_LAG, PROCESS_DURATION};
use crate::{Subscription, SubscriptionOptions};
use disco_core::lease::Lease;
use disco_core::{EventStore, ExpectedVersion, ReadDirection, RecordedEvent, StreamId, Uuid};

/// How many buffered events may pass between two looks at the clock (for
/// the lease's renewal and the timed checkpoint), which also announce the
/// position of the events handled since (at once when the feed runs dry).
const CLOCK_EVERY: u32 = 32;

/// How many passed-over events (another partition's, a parked stream's)
/// may go by before the position is announced; it is announced at once
/// when the feed runs dry.
const ANNOUNCE_EVERY: u32 = 64;

pub(crate) fn spawn(
    name: String,
    handler: Arc<dyn Handler>,
    options: ConsumerOptions,
    store: Arc<dyn EventStore>,
) -> ConsumerHandle {
    let (control, commands) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(&name, options.start_after));
    let runner = Runner {
        meter: Meter::new(&name),
        name: name.clone(),
        handler,
        options,
        store: store.clone(),
        commands,
        shared: shared.clone(),
        ticks: 0,
    };
    let task = tokio::spawn(run_caught(runner));
    ConsumerHandle {
        name,
        store,
        control,
        shared,
        task,
    }
}

/// Runs `runner`; a panic inside it (a bug: every failure it knows of is
/// an exit) ends it `Failed` with the panic's message in the status, so
/// `status()` never shows a dead runner as standing by.
async fn run_caught(runner: Runner) -> ConsumerExit {
    let (name, shared) = (runner.name.clone(), runner.shared.clone());
    match CatchPanic(Box::pin(runner.run())).await {
        Ok(exit) => exit,
        Err(panic) => {
            let error = format!("the consumer's runner panicked: {panic}");
            tracing::error!(consumer = %name, %error);
            shared.set_error(error.clone());
            shared.set_state(ConsumerState::Failed);
            ConsumerExit::Failed {
                position: shared.position.load(Ordering::Acquire),
                event_id: None,
                error,
            }
        }
    }
}

struct Runner {
    name: String,
    handler: Arc<dyn Handler>,
    options: ConsumerOptions,
    store: Arc<dyn EventStore>,
    commands: mpsc::UnboundedReceiver<Control>,
    shared: Arc<Shared>,
    meter: Meter,
    /// Events delivered, for timing one in [`TIME_EVERY`].
    ticks: u32,
}

/// One delivery in this many is timed ([`PROCESS_DURATION`]): reading the
/// clock for every event costs more than a no-op delivery.
const TIME_EVERY: u32 = 16;

/// The consumer's metrics, registered once (see [`crate::measured`]).
struct Meter {
    consumed: metrics::Counter,
    process: metrics::Histogram,
    lag: metrics::Gauge,
}

impl Meter {
    fn new(name: &str) -> Self {
        let label = || name.to_owned();
        Meter {
            consumed: metrics::counter!(CONSUMED, CONSUMER_LABEL => label()),
            process: metrics::histogram!(PROCESS_DURATION, CONSUMER_LABEL => label()),
            lag: metrics::gauge!(CONSUMER_LAG, CONSUMER_LABEL => label()),
        }
    }
}

/// The state of one stretch as the active runner.
struct Session {
    hold: Holding,
    feed: Subscription,
    /// The last position handled.
    position: u64,
    /// The checkpoint as this runner last read or wrote it.
    saved: Option<u64>,
    since_save: u64,
    save_due: Instant,
    /// The stream recording what this consumer parked.
    records: StreamId,
    /// How far `records` was read.
    records_read: u64,
    /// Whether `records` was read at least once in this stretch.
    records_checked: bool,
    /// The streams this runner holds back, and a release not yet carried
    /// out.
    parked: parking::Fold,
    /// Events handled or passed over since the position was last
    /// announced.
    unannounced: u32,
}

/// Why a checkpoint was not saved.
enum Saved {
    /// A newer lease holder exists: this runner lost its lease.
    Fenced,
    /// Any other failure that ends the runner.
    Failed(String),
}

enum Delivery {
    Handled,
    Skipped,
    /// Failed after its retries under `AfterRetries::Park`.
    Park(String),
    GaveUp(String),
    Command(Control),
    LeaseLost,
}

/// Why the active stretch ends.
enum Halt {
    /// Told to stop.
    Stop,
    /// A failure that ends the runner (with the event, if one failed).
    Failed(String, Option<Uuid>),
    /// An event failed after its retries: the checkpoint of what was
    /// handled before it is saved, then the runner ends.
    GaveUp(String, Uuid),
    /// The lease is gone.
    LeaseLost,
}

impl Runner {
    /// Reports how far behind the head the consumer is, against the head
    /// the store last announced to this process.
    fn report_lag(&self, position: u64) {
        let head = self.store.notifications().head();
        self.meter.lag.set(head.saturating_sub(position) as f64);
    }

    async fn run(mut self) -> ConsumerExit {
        let store = self.store.clone();
        let exit = holding::serve(&mut self, &*store).await;
        self.shared.set_state(match exit {
            ConsumerExit::Stopped { .. } => ConsumerState::Stopped,
            ConsumerExit::Failed { .. } => ConsumerState::Failed,
        });
        exit
    }

    fn subscribe(&self, after: u64) -> Subscription {
        let mut filter = self.options.filter.clone();
        // A partition of stream ids is read by the store alone; a custom
        // key is checked here, event by event.
        if let Some(partition) = self.options.partition.as_ref().and_then(|p| p.by_stream()) {
            filter = filter.with_partition(partition);
        }
        let options = SubscriptionOptions {
            after,
            filter,
            page_size: self.options.page_size,
            buffer_pages: self.options.buffer_pages,
            poll_interval: self.options.poll_interval,
            ..SubscriptionOptions::default()
        };
        Subscription::start(self.store.clone(), options)
    }

    /// Handles events while holding the lease.
    async fn stretch(&mut self, lease: Box<dyn Lease>) -> Stretched<ConsumerExit> {
        let lease = Holding::new(lease, self.options.lease_ttl);
        let saved = match self.store.load_checkpoint(&self.name).await {
            Ok(saved) => saved,
            Err(error) if error.is_retryable() => {
                tracing::warn!(consumer = %self.name, %error, "cannot read the checkpoint; standing by");
                self.shared.set_error(error.to_string());
                self.release(lease).await;
                return Stretched::Unavailable;
            }
            Err(error) => {
                let position = self.shared.position.load(Ordering::Acquire);
                return Stretched::Ended(
                    self.end_failed(lease, position, None, error.to_string())
                        .await,
                );
            }
        };
        let position = saved.unwrap_or(self.options.start_after);
        self.shared.restart_at(position);
        let records = match parking::records_stream(&self.name) {
            Ok(records) => records,
            Err(error) => {
                return Stretched::Ended(
                    self.end_failed(lease, position, None, error.to_string())
                        .await,
                )
            }
        };
        let mut s = Session {
            hold: lease,
            feed: self.subscribe(position),
            position,
            saved,
            since_save: 0,
            save_due: Instant::from_std(disco_core::clock::deadline_after(
                self.options.checkpoint_every,
            )),
            records,
            records_read: 0,
            records_checked: false,
            parked: parking::Fold::new(),
            unannounced: 0,
        };
        // Boxed: the records' future is rarely run and would otherwise
        // widen this loop's state.
        if let Err(halt) = Box::pin(self.follow_records(&mut s)).await {
            return self.halted(s, halt).await;
        }
        let mut stretch = Stretch { r: self, s };
        let halt = drive(&mut stretch).await;
        let Stretch { r, s } = stretch;
        r.halted(s, halt).await
    }

    /// Runs the handler on `event` under the error policy.
    async fn deliver(&mut self, event: &RecordedEvent, s: &mut Session) -> Delivery {
        let mut retries = self.options.error_policy.start();
        loop {
            let error = match CatchPanic((*self.handler).handle(event)).await {
                Ok(Ok(())) => return Delivery::Handled,
                Ok(Err(error)) => error.to_string(),
                Err(panic) => format!("the handler panicked: {panic}"),
            };
            self.shared.set_error(format!(
                "event {} at position {}: {error}",
                event.id, event.position
            ));
            let Some(backoff) = retries.failed() else {
                let failures = retries.failures();
                return match retries.after() {
                    AfterRetries::Stop => {
                        tracing::error!(consumer = %self.name, event_id = %event.id, position = event.position, %error, retries = failures, "event failed after its retries; stopping the consumer");
                        Delivery::GaveUp(error)
                    }
                    AfterRetries::Skip => {
                        tracing::warn!(consumer = %self.name, event_id = %event.id, position = event.position, %error, retries = failures, "event failed after its retries; skipping it");
                        Delivery::Skipped
                    }
                    AfterRetries::Park => {
                        tracing::error!(consumer = %self.name, event_id = %event.id, position = event.position, stream = %event.stream_id, %error, retries = failures, "event failed after its retries; parking its stream");
                        Delivery::Park(error)
                    }
                };
            };
            tracing::warn!(consumer = %self.name, event_id = %event.id, position = event.position, %error, retry_in = ?backoff, "handler failed; retrying");
            let wake = Instant::from_std(disco_core::clock::deadline_after(backoff));
            loop {
                if !s.hold.lease().is_held()
                    || (Instant::now() >= s.hold.renew_due() && !self.renew(s).await)
                {
                    return Delivery::LeaseLost;
                }
                let until = wake.min(s.hold.renew_due());
                let command = tokio::select! {
                    biased;
                    command = self.commands.recv() => Some(command),
                    _ = sleep_until(until) => None,
                };
                match command {
                    Some(command) => return Delivery::Command(command.unwrap_or(Control::Stop)),
                    None if Instant::now() >= wake => break,
                    None => {}
                }
            }
        }
    }

    /// Ends an active stretch for a reason a helper met.
    async fn halted(&self, s: Session, halt: Halt) -> Stretched<ConsumerExit> {
        match halt {
            Halt::Stop => Stretched::Ended(self.end_stopped(s).await),
            Halt::Failed(error, event) => {
                let position = s.position;
                Stretched::Ended(self.end_failed(s.hold, position, event, error).await)
            }
            Halt::GaveUp(error, event) => {
                let position = s.position;
                let mut s = s;
                self.save_final(&mut s).await;
                Stretched::Ended(self.end_failed(s.hold, position, Some(event), error).await)
            }
            Halt::LeaseLost => {
                tracing::warn!(consumer = %self.name, "consumer lost its lease; standing by");
                Stretched::LeaseLost
            }
        }
    }

    /// Records that `event`'s stream is parked, then holds it back.
    async fn park(
        &self,
        event: &RecordedEvent,
        error: String,
        s: &mut Session,
    ) -> Result<(), String> {
        let parked = ParkedStream {
            stream: event.stream_id.clone(),
            event_id: event.id,
            position: event.position,
            version: event.version,
            partition: self.options.partition.as_ref().map_or(0, |p| p.index),
            error,
        };
        // Invariant: a stream is held back only once its parking is stored, so a restart holds it back too.
        self.store
            .append(&s.records, ExpectedVersion::Any, vec![parked.to_event()])
            .await
            .map_err(|e| format!("cannot park stream {}: {e}", event.stream_id))?;
        s.parked.insert(event.stream_id.clone(), (parked, None));
        self.shared.set_parked(s.parked.len());
        Ok(())
    }

    /// Reads the parking records written since the last look and carries
    /// out the releases of this runner's streams. A store that cannot be
    /// read now is tried again at the next look.
    async fn follow_records(&mut self, s: &mut Session) -> Result<(), Halt> {
        // A runner that does not park, with nothing parked when it started,
        // has nothing a release could concern.
        let parks = self.options.error_policy.after_retries == AfterRetries::Park;
        if s.records_checked && !parks && s.parked.is_empty() {
            return Ok(());
        }
        let (records, read) =
            match parking::read_records(&*self.store, &s.records, s.records_read).await {
                Ok(read) => read,
                Err(error) if error.is_retryable() => {
                    self.shared.set_error(error.to_string());
                    return Ok(());
                }
                Err(error) => return Err(Halt::Failed(error.to_string(), None)),
            };
        s.records_read = read;
        s.records_checked = true;
        let own = self.options.partition.as_ref().map_or(0, |p| p.index);
        parking::fold(&mut s.parked, records);
        s.parked.retain(|_, (parked, _)| parked.partition == own);
        let released: Vec<(StreamId, Release)> = s
            .parked
            .iter()
            .filter_map(|(stream, (_, how))| how.map(|how| (stream.clone(), how)))
            .collect();
        for (stream, how) in released {
            self.resume(s, &stream, how).await?;
        }
        self.shared.set_parked(s.parked.len());
        Ok(())
    }

    /// Delivers a released stream's held events (those at or below the
    /// position reached) in order, the failed one first unless skipped,
    /// then records the stream resumed. Failing again parks it again.
    async fn resume(
        &mut self,
        s: &mut Session,
        stream: &StreamId,
        how: Release,
    ) -> Result<(), Halt> {
        let Some((parked, _)) = s.parked.remove(stream) else {
            return Ok(());
        };
        let from = match how {
            Release::Retry => parked.version,
            Release::Skip => {
                tracing::warn!(consumer = %self.name, %stream, event_id = %parked.event_id, position = parked.position, "parked event skipped by an operator");
                parked.version.saturating_add(1)
            }
        };
        tracing::info!(consumer = %self.name, %stream, "resuming a parked stream");
        let held = self
            .store
            .read_stream(stream, from, ReadDirection::Forward, usize::MAX)
            .await
            .map_err(|e| Halt::Failed(e.to_string(), None))?;
        let reached = s.position;
        for event in held.iter().filter(|e| e.position <= reached) {
            if !s.hold.lease().is_held() {
                return Err(Halt::LeaseLost);
            }
            match self.deliver(event, s).await {
                Delivery::Handled | Delivery::Skipped => {}
                Delivery::Park(error) => {
                    return self
                        .park(event, error, s)
                        .await
                        .map_err(|e| Halt::Failed(e, Some(event.id)));
                }
                Delivery::GaveUp(error) => return Err(Halt::Failed(error, Some(event.id))),
                Delivery::Command(command) => {
                    if self.obey(command, s).await {
                        return Err(Halt::Stop);
                    }
                }
                Delivery::LeaseLost => return Err(Halt::LeaseLost),
            }
        }
        self.store
            .append(
                &s.records,
                ExpectedVersion::Any,
                vec![parking::resumed_event(stream)],
            )
            .await
            .map_err(|e| Halt::Failed(format!("cannot record {stream} resumed: {e}"), None))?;
        Ok(())
    }

    /// Obeys a command from the handle; `true` for a stop, which the caller
    /// carries out with [`Runner::end_stopped`].
    async fn obey(&mut self, command: Control, s: &mut Session) -> bool {
        match command {
            Control::Stop => true,
            Control::Reset(position, reply) => {
                let saved = self
                    .store
                    .save_checkpoint_fenced(&self.name, position, s.hold.lease().token())
                    .await;
                if saved.is_ok() {
                    tracing::info!(consumer = %self.name, position, "consumer reset");
                    self.restart(s, position);
                    s.saved = Some(position);
                }
                let _ = reply.send(saved);
                false
            }
        }
    }

    fn restart(&self, s: &mut Session, position: u64) {
        s.feed = self.subscribe(position);
        s.position = position;
        s.since_save = 0;
        self.shared.restart_at(position);
    }

    /// Renews the lease; `false` when it is lost (or cannot be confirmed).
    async fn renew(&self, s: &mut Session) -> bool {
        match s.hold.renew().await {
            Ok(true) => true,
            Ok(false) => false,
            Err(error) => {
                tracing::warn!(consumer = %self.name, %error, "renewing the lease failed");
                self.shared.set_error(error.to_string());
                false
            }
        }
    }

    /// Saves the checkpoint unless someone reset it since this runner last
    /// saw it, in which case the runner follows the reset. A retryable store
    /// error waits for the next checkpoint; any other ends the runner.
    async fn checkpoint(&self, s: &mut Session) -> Result<(), Saved> {
        s.save_due = Instant::from_std(disco_core::clock::deadline_after(
            self.options.checkpoint_every,
        ));
        match self.save_checkpoint(s).await {
            Ok(()) => Ok(()),
            Err(error) if error.is_retryable() => {
                tracing::warn!(consumer = %self.name, %error, "saving the checkpoint failed; will retry");
                self.shared.set_error(error.to_string());
                Ok(())
            }
            Err(error @ disco_core::Error::Fenced { .. }) => {
                tracing::warn!(consumer = %self.name, %error, "checkpoint refused: another runner holds the lease now");
                self.shared.set_error(error.to_string());
                Err(Saved::Fenced)
            }
            Err(error) => Err(Saved::Failed(error.to_string())),
        }
    }

    async fn save_checkpoint(&self, s: &mut Session) -> disco_core::Result<()> {
        let stored = self.store.load_checkpoint(&self.name).await?;
        if stored != s.saved {
            let position = stored.unwrap_or(self.options.start_after);
            tracing::info!(consumer = %self.name, position, "the checkpoint was reset in the store; following it");
            self.restart(s, position);
            s.saved = stored;
            return Ok(());
        }
        if s.saved != Some(s.position) {
            self.store
                .save_checkpoint_fenced(&self.name, s.position, s.hold.lease().token())
                .await?;
            s.saved = Some(s.position);
        }
        s.since_save = 0;
        Ok(())
    }

    /// The last save before the runner ends; a failure is logged.
    async fn save_final(&self, s: &mut Session) {
        if let Err(error) = self.save_checkpoint(s).await {
            tracing::warn!(consumer = %self.name, %error, "saving the final checkpoint failed");
            self.shared.set_error(error.to_string());
        }
    }

    /// A graceful end: the checkpoint saved, the lease released.
    async fn end_stopped(&self, mut s: Session) -> ConsumerExit {
        self.shared.advance(s.position);
        self.save_final(&mut s).await;
        tracing::info!(consumer = %self.name, position = s.position, "consumer stopped");
        self.release(s.hold).await;
        ConsumerExit::Stopped {
            position: s.position,
        }
    }

    async fn end_failed(
        &self,
        lease: Holding,
        position: u64,
        event_id: Option<Uuid>,
        error: String,
    ) -> ConsumerExit {
        // Everything before `position` was handled.
        self.shared.advance(position);
        self.shared.set_error(error.clone());
        self.release(lease).await;
        ConsumerExit::Failed {
            position,
            event_id,
            error,
        }
    }

    async fn release(&self, lease: Holding) {
        if let Err(error) = lease.release().await {
            tracing::warn!(consumer = %self.name, %error, "releasing the lease failed");
        }
    }
}

/// The consumer's active stretch: the runner and its session.
struct Stretch<'r> {
    r: &'r mut Runner,
    s: Session,
}

impl Stretch<'_> {
    /// Handles one event the feed read (see the module's invariants).
    async fn event(&mut self, event: RecordedEvent, seen: u64) -> Result<(), Halt> {
        let (r, s) = (&mut *self.r, &mut self.s);
        // Not this runner's to handle: its own records, another
        // partition's events, a parked stream's (held back, read again
        // from the store on release).
        let held = r
            .options
            .partition
            .as_ref()
            .is_some_and(|p| !p.owns(&event))
            || (!s.parked.is_empty() && s.parked.contains_key(&event.stream_id))
            || event.stream_id == s.records;
        if held {
            s.position = event.position.max(seen);
            // Announced in steps: waking the position's watchers for
            // every passed-over event costs more than passing it over.
            s.unannounced = s.unannounced.saturating_add(1);
            if s.unannounced >= ANNOUNCE_EVERY {
                s.unannounced = 0;
                r.shared.advance(s.position);
            }
            return Ok(());
        }
        // Invariant: the handler is never called once the lease is known lost.
        if !s.hold.lease().is_held() {
            return Err(Halt::LeaseLost);
        }
        r.ticks = r.ticks.wrapping_add(1);
        let timed = (r.ticks % TIME_EVERY == 0).then(std::time::Instant::now);
        let delivered = match r.deliver(&event, s).await {
            Delivery::Park(error) => match Box::pin(r.park(&event, error, s)).await {
                Ok(()) => Delivery::Skipped,
                Err(error) => Delivery::GaveUp(error),
            },
            other => other,
        };
        match delivered {
            Delivery::Handled | Delivery::Skipped => {
                if let Some(started) = timed {
                    r.meter.process.record(started.elapsed().as_secs_f64());
                }
                r.meter.consumed.increment(1);
                // What the feed has seen once this event is delivered:
                // beyond it when the rest of its page was filtered out.
                s.position = event.position.max(seen);
                s.since_save = s.since_save.saturating_add(1);
                // Announced with the next look at the clock, or at once
                // when the feed runs dry (waking the position's watchers
                // for every event costs more than a no-op delivery).
                s.unannounced = s.unannounced.saturating_add(1);
                r.shared.handled.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Delivery::GaveUp(error) | Delivery::Park(error) => Err(Halt::GaveUp(error, event.id)),
            Delivery::Command(command) => self.obey(command).await,
            Delivery::LeaseLost => Err(Halt::LeaseLost),
        }
    }
}

impl Work for Stretch<'_> {
    type Command = Control;
    type End = Halt;

    /// One event at a time: the commands are looked at before every event.
    fn batch_size(&self) -> usize {
        1
    }

    fn clock_every(&self) -> u32 {
        CLOCK_EVERY
    }

    fn hold(&self) -> &Holding {
        &self.s.hold
    }

    async fn renew(&mut self) -> bool {
        self.r.renew(&mut self.s).await
    }

    fn lease_lost(&mut self) -> Halt {
        Halt::LeaseLost
    }

    fn parts(&mut self) -> Parts<'_, Control> {
        Parts {
            commands: &mut self.r.commands,
            feeds: [Some(&mut self.s.feed), None],
        }
    }

    fn due_at(&self) -> Instant {
        self.s.save_due
    }

    fn due_now(&self) -> bool {
        self.s.since_save >= self.r.options.checkpoint_every_events
    }

    async fn due(&mut self) -> Result<(), Halt> {
        Box::pin(self.r.follow_records(&mut self.s)).await?;
        match self.r.checkpoint(&mut self.s).await {
            Ok(()) => Ok(()),
            Err(Saved::Fenced) => Err(Halt::LeaseLost),
            Err(Saved::Failed(error)) => Err(Halt::Failed(error, None)),
        }
    }

    fn announce(&mut self) {
        // Invariant: the lag at a position is reported before anyone waiting
        // on the handle learns the position (a caller of `wait_for` then
        // reads the lag of where the consumer is, not of an earlier batch).
        self.r.report_lag(self.s.position);
        if self.s.unannounced > 0 {
            self.s.unannounced = 0;
            self.r.shared.advance(self.s.position);
        }
    }

    async fn obey(&mut self, command: Control) -> Result<(), Halt> {
        if self.r.obey(command, &mut self.s).await {
            return Err(Halt::Stop);
        }
        Ok(())
    }

    async fn stop(&mut self) -> Halt {
        Halt::Stop
    }

    async fn events(
        &mut self,
        _lane: Feed,
        events: &mut Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), Halt> {
        for event in events.drain(..) {
            self.event(event, seen).await?;
        }
        Ok(())
    }

    async fn seen(&mut self, _lane: Feed, seen: u64) -> Result<(), Halt> {
        // Nothing in the range passed the filter: the consumer has seen
        // it all the same.
        self.s.position = self.s.position.max(seen);
        self.r.shared.advance(self.s.position);
        Ok(())
    }

    async fn feed_failed(&mut self, _lane: Feed, error: String) -> Halt {
        Halt::Failed(error, None)
    }
}

impl Serve for Runner {
    type Exit = ConsumerExit;

    fn lease(&self) -> (String, Duration, Duration) {
        let options = &self.options;
        (self.name.clone(), options.lease_ttl, options.takeover_poll)
    }

    fn standing_by(&mut self) {
        self.shared.set_state(ConsumerState::Standby);
    }

    fn stopped(&self) -> ConsumerExit {
        ConsumerExit::Stopped {
            position: self.shared.position.load(Ordering::Acquire),
        }
    }

    async fn active(&mut self, lease: Box<dyn Lease>) -> Stretched<ConsumerExit> {
        tracing::info!(consumer = %self.name, "consumer active");
        self.shared.set_active();
        self.stretch(lease).await
    }
}

impl Standby for Runner {
    type Command = Control;

    fn commands(&mut self) -> &mut mpsc::UnboundedReceiver<Control> {
        &mut self.commands
    }

    async fn obey_waiting(&mut self, command: Control) -> bool {
        match command {
            Control::Stop => false,
            Control::Reset(position, reply) => {
                // Not active: the checkpoint is the message to the active
                // runner, wherever it runs.
                let saved = self.store.save_checkpoint(&self.name, position).await;
                if saved.is_ok() {
                    self.shared.restart_at(position);
                }
                let _ = reply.send(saved);
                true
            }
        }
    }

    async fn held_elsewhere(&mut self) {}

    fn try_failed(&mut self, error: &disco_core::Error) {
        tracing::warn!(consumer = %self.name, %error, "taking the lease failed");
        self.shared.set_error(error.to_string());
    }
}
