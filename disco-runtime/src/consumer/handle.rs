//! [`ConsumerHandle`]: stopping, resetting and watching a running consumer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use disco_core::progress::{Behind, Progress, ProgressTracker};
use disco_core::{EventStore, Result, Uuid};

/// What a runner is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerState {
    /// Waiting for the lease, which another runner holds.
    Standby,
    /// Holding the lease and handling events.
    Active,
    /// Stopped by its handle.
    Stopped,
    /// Ended by a failure (see [`ConsumerExit::Failed`]).
    Failed,
}

/// A consumer's progress as its runner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerStatus {
    /// The consumer's name.
    pub name: String,
    /// What the runner is doing.
    pub state: ConsumerState,
    /// The position up to which the consumer has seen the store: every
    /// event at or below it was handled or did not pass its filter (or the
    /// checkpoint it resumed from).
    pub position: u64,
    /// The store's head when the status was taken.
    pub head: u64,
    /// `head - position`: how far behind the consumer is; 0 once it has
    /// seen the head, whatever its filter lets through.
    pub lag: u64,
    /// Events handled (or skipped) by this runner.
    pub handled: u64,
    /// The last handler or store error of the runner's current stretch: what
    /// keeps a standby from the lease, what a failed runner ended with, what
    /// an active one is retrying. Cleared when the runner becomes active, so
    /// an error it recovered from (a `Fenced` checkpoint, a store outage) is
    /// not reported against a healthy runner.
    pub last_error: Option<String>,
    /// Streams held back by [`AfterRetries::Park`](super::AfterRetries::Park).
    pub parked: u64,
}

/// How a runner ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerExit {
    /// Stopped by its handle; the checkpoint was saved at `position`.
    Stopped {
        /// The last position handled.
        position: u64,
    },
    /// A failure ended it: an event failed past its retries under
    /// [`AfterRetries::Stop`](super::AfterRetries::Stop), or the store
    /// failed in a way retrying does not cure. The checkpoint stays at
    /// `position`, before the failed event.
    Failed {
        /// The last position handled.
        position: u64,
        /// The event that failed, if an event did.
        event_id: Option<Uuid>,
        /// What failed.
        error: String,
    },
}

pub(crate) enum Control {
    Stop,
    Reset(u64, oneshot::Sender<Result<()>>),
}

/// What the runner shares with its handle.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) position: AtomicU64,
    tracker: ProgressTracker,
    progress: Progress,
    pub(crate) handled: AtomicU64,
    parked: AtomicU64,
    state: Mutex<(ConsumerState, Option<String>)>,
}

impl Shared {
    pub(crate) fn new(name: &str, position: u64) -> Self {
        let (tracker, progress) = Progress::channel(name, position);
        Shared {
            position: AtomicU64::new(position),
            tracker,
            progress,
            handled: AtomicU64::new(0),
            parked: AtomicU64::new(0),
            state: Mutex::new((ConsumerState::Standby, None)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (ConsumerState, Option<String>)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The runner has seen everything up to `position`.
    pub(crate) fn advance(&self, position: u64) {
        self.position.store(position, Ordering::Release);
        self.tracker.advance(position);
    }

    /// The runner starts again at `position` (a resume or a reset).
    pub(crate) fn restart_at(&self, position: u64) {
        self.position.store(position, Ordering::Release);
        self.tracker.reset(position);
    }

    pub(crate) fn set_state(&self, state: ConsumerState) {
        self.lock().0 = state;
    }

    pub(crate) fn set_parked(&self, streams: usize) {
        self.parked.store(streams as u64, Ordering::Release);
    }

    pub(crate) fn set_error(&self, error: impl Into<String>) {
        self.lock().1 = Some(error.into());
    }

    /// The runner became active: what held it back no longer does.
    pub(crate) fn set_active(&self) {
        *self.lock() = (ConsumerState::Active, None);
    }
}

/// The store's head now, or the last head it announced if it cannot be
/// read: what a runner's lag is measured against.
pub async fn head_or_announced(store: &dyn EventStore) -> u64 {
    match store.head_position().await {
        Ok(head) => head,
        Err(_) => store.notifications().head(),
    }
}

/// The handle of a started consumer runner.
///
/// Dropping it stops the runner gracefully in the background, as
/// [`ConsumerHandle::stop`] does without waiting; [`ConsumerHandle::abort`]
/// ends it at once, as a crash would.
pub struct ConsumerHandle {
    pub(crate) name: String,
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) control: mpsc::UnboundedSender<Control>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) task: JoinHandle<ConsumerExit>,
}

impl std::fmt::Debug for ConsumerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerHandle")
            .field("name", &self.name)
            .field("shared", &self.shared)
            .finish()
    }
}

impl ConsumerHandle {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The runner's status, with the lag measured against the store's head
    /// now (or the last head the store announced, if it cannot be read).
    pub async fn status(&self) -> ConsumerStatus {
        let head = head_or_announced(&*self.store).await;
        self.status_at(head)
    }

    /// The runner's status without asking the store: the lag is measured
    /// against the last head the store announced to this process (its own
    /// appends at once, other processes' as notifications arrive), so it
    /// may be smaller than [`ConsumerHandle::status`]'s.
    pub fn snapshot(&self) -> ConsumerStatus {
        let position = self.shared.position.load(Ordering::Acquire);
        self.status_at(self.store.notifications().head().max(position))
    }

    fn status_at(&self, head: u64) -> ConsumerStatus {
        let position = self.shared.position.load(Ordering::Acquire);
        let (state, last_error) = self.shared.lock().clone();
        ConsumerStatus {
            name: self.name.clone(),
            state,
            position,
            head,
            lag: head.saturating_sub(position),
            handled: self.shared.handled.load(Ordering::Acquire),
            last_error,
            parked: self.shared.parked.load(Ordering::Acquire),
        }
    }

    /// The consumer's progress, to wait on (see [`Progress::wait_for`]); it
    /// moves while this process's runner is active: at once when the runner
    /// has handled every event it has read, and every 32 events while it
    /// catches up on a backlog (waking the watchers for each event would
    /// cost more than a no-op handler).
    pub fn progress(&self) -> Progress {
        self.shared.progress.clone()
    }

    /// Waits until the consumer has seen `position` (read-your-writes: pass
    /// the position a command's events were written at), at most `timeout`.
    pub async fn wait_for(
        &self,
        position: u64,
        timeout: std::time::Duration,
    ) -> std::result::Result<u64, Behind> {
        self.shared.progress.wait_for(position, timeout).await
    }

    /// Moves the consumer to `position`: its next event is the first after
    /// it. An active runner obeys before it handles another event; a standby
    /// writes the checkpoint, which the active runner (in this process or
    /// another) notices at its next checkpoint.
    pub async fn reset(&self, position: u64) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if self.control.send(Control::Reset(position, reply)).is_ok() {
            if let Ok(result) = answer.await {
                return result;
            }
        }
        // The runner has ended: the checkpoint is all there is to move.
        self.store.save_checkpoint(&self.name, position).await
    }

    /// Stops the runner gracefully: the event in hand finishes, the
    /// checkpoint is saved, the lease is released. Returns how it ended.
    pub async fn stop(self) -> ConsumerExit {
        let _ = self.control.send(Control::Stop);
        self.wait().await
    }

    /// Waits until the runner ends on its own (a failure) or is stopped.
    pub async fn wait(self) -> ConsumerExit {
        let position = self.shared.position.load(Ordering::Acquire);
        match self.task.await {
            Ok(exit) => exit,
            Err(error) => ConsumerExit::Failed {
                position,
                event_id: None,
                error: format!("the runner task ended abnormally: {error}"),
            },
        }
    }

    /// Whether the runner has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Ends the runner at once, as a crash would: no checkpoint is saved and
    /// the lease is not released (it ends as the store's leases end when
    /// their holder dies).
    pub fn abort(self) {
        self.task.abort();
    }
}
