//! [`ProjectionHandle`]: stopping, resetting, rebuilding and watching a
//! running projection.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

use disco_core::progress::{Behind, Progress, ProgressTracker};
use disco_core::{EventStore, Uuid};
use disco_runtime::consumer::head_or_announced;

use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, ReadModel};

/// What a projection's runner is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectionState {
    /// Waiting for the lease, which another runner holds.
    Standby,
    /// Holding the lease and applying events.
    Active,
    /// Stopped by its handle.
    Stopped,
    /// Ended by a failure.
    Failed,
    /// A newer version is live; this runner has nothing to do.
    Retired,
}

/// A projection's progress as its runner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// The projection's name.
    pub name: String,
    /// Its version (this runner's).
    pub version: u32,
    /// What the runner is doing.
    pub state: ProjectionState,
    /// The live generation this runner applies to, if it does.
    pub generation: Option<u32>,
    /// The position the live generation has seen (committed).
    pub position: u64,
    /// The store's head when the status was taken.
    pub head: u64,
    /// `head - position`.
    pub lag: u64,
    /// A generation being built next to the live one: (generation, position).
    pub building: Option<(u32, u64)>,
    /// Events applied by this runner.
    pub applied: u64,
    /// The last failure, if one happened.
    pub last_error: Option<String>,
}

/// How a projection's runner ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectionExit {
    /// Stopped by its handle at `position`.
    Stopped {
        /// The live generation's position.
        position: u64,
    },
    /// A failure ended it; nothing of the failed transaction stayed.
    Failed {
        /// The position committed last.
        position: u64,
        /// The event that failed, if one did.
        event_id: Option<Uuid>,
        /// What failed.
        error: String,
    },
    /// A newer version of the projection is live.
    Retired {
        /// The live version.
        live_version: u32,
    },
}

pub(crate) enum Control {
    Stop,
    Reset(oneshot::Sender<Result<(), ProjectionError>>),
    Rebuild(oneshot::Sender<Result<u32, ProjectionError>>),
}

/// What the runner shares with its handle.
#[derive(Debug)]
pub(crate) struct Shared {
    tracker: ProgressTracker,
    pub(crate) progress: Progress,
    status: Mutex<Status>,
    /// Told whenever the progress moves (a partitioned projection's
    /// handle combines its partitions' progress).
    moved: Option<Arc<Notify>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Status {
    pub(crate) state: ProjectionState,
    pub(crate) generation: Option<u32>,
    pub(crate) building: Option<(u32, u64)>,
    pub(crate) applied: u64,
    pub(crate) last_error: Option<String>,
}

impl Shared {
    pub(crate) fn new(name: &str, moved: Option<Arc<Notify>>) -> Self {
        let (tracker, progress) = Progress::channel(name, 0);
        Shared {
            tracker,
            progress,
            moved,
            status: Mutex::new(Status {
                state: ProjectionState::Standby,
                generation: None,
                building: None,
                applied: 0,
                last_error: None,
            }),
        }
    }

    /// Announces that the live generation holds everything up to
    /// `position`.
    pub(crate) fn advance(&self, position: u64) {
        self.tracker.advance(position);
        if let Some(moved) = &self.moved {
            moved.notify_one();
        }
    }

    /// Sets the announced position, also backwards (a reset, a switch).
    pub(crate) fn reset(&self, position: u64) {
        self.tracker.reset(position);
        if let Some(moved) = &self.moved {
            moved.notify_one();
        }
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Status)) {
        change(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn snapshot(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The handle of a started projection.
///
/// Dropping it stops the runner gracefully in the background;
/// [`ProjectionHandle::abort`] ends it at once, as a crash would.
pub struct ProjectionHandle {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) store: Arc<dyn EventStore>,
    pub(crate) read_model: Arc<dyn ReadModel>,
    pub(crate) control: mpsc::UnboundedSender<Control>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) task: JoinHandle<ProjectionExit>,
}

impl std::fmt::Debug for ProjectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionHandle")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

impl ProjectionHandle {
    /// The projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The projection's progress: the position its live generation has
    /// committed (read by a standby from the read-model database).
    pub fn progress(&self) -> Progress {
        self.shared.progress.clone()
    }

    /// Waits until the live read model holds everything up to `position`
    /// (read-your-writes), at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<u64, Behind> {
        self.shared.progress.wait_for(position, timeout).await
    }

    /// The runner's status, with the lag against the store's head now.
    pub async fn status(&self) -> ProjectionStatus {
        let head = head_or_announced(&*self.store).await;
        let position = self.shared.progress.position();
        let status = self.shared.snapshot();
        ProjectionStatus {
            name: self.name.clone(),
            version: self.version,
            state: status.state,
            generation: status.generation,
            position,
            head,
            lag: head.saturating_sub(position),
            building: status.building,
            applied: status.applied,
            last_error: status.last_error,
        }
    }

    /// The projection's generations as the read-model database has them.
    pub async fn generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        self.read_model.generations().await
    }

    /// Development reset: the live generation's tables are emptied (dropped
    /// and made again) and it is rebuilt from position 0 in place; queries
    /// see it grow again. Use [`ProjectionHandle::rebuild`] in production.
    pub async fn reset(&self) -> Result<(), ProjectionError> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Reset(reply))
            .map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
    }

    /// Starts a blue-green rebuild: a new generation is built from position
    /// 0 into its own tables while the live one keeps answering queries,
    /// then the views switch to it in one transaction. Returns the new
    /// generation's number; the old one's tables stay until
    /// [`ProjectionHandle::drop_retired`].
    pub async fn rebuild(&self) -> Result<u32, ProjectionError> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Rebuild(reply))
            .map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
    }

    /// Drops the tables of retired generations; their numbers.
    pub async fn drop_retired(&self) -> Result<Vec<u32>, ProjectionError> {
        self.read_model.drop_retired().await
    }

    /// Stops the runner gracefully: the batch in hand commits, the lease is
    /// released.
    pub async fn stop(self) -> ProjectionExit {
        let _ = self.control.send(Control::Stop);
        self.wait().await
    }

    /// Waits until the runner ends (a failure, a retirement, or a stop).
    pub async fn wait(self) -> ProjectionExit {
        let position = self.shared.progress.position();
        match self.task.await {
            Ok(exit) => exit,
            Err(error) => ProjectionExit::Failed {
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

    /// Ends the runner at once, as a crash would.
    pub fn abort(self) {
        self.task.abort();
    }
}

fn ended() -> ProjectionError {
    ProjectionError::Invalid("the projection's runner has ended".into())
}
