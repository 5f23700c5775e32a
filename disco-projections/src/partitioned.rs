//! [`PartitionedProjector`]: one projection split into partitions by a key
//! (the stream id by default), run by every process that starts it.
//!
//! - **What a partition is.** Partition `i` of `n` applies the events whose
//!   key hashes to `i` ([`Partition`]), in position order, one batch at a
//!   time, under its own lease (`"projection:{name}:v{version}/partition-{i}-of-{n}"`)
//!   and its own row in `disco_projection_partitions`: each batch and the
//!   partition's position commit in one transaction of the read-model
//!   database, so every event is applied exactly once, as in an
//!   unpartitioned projection. Partitions write the same tables
//!   concurrently: a projection whose rows are per key (per account, per
//!   order) is safe to partition by that key; one that folds several keys
//!   into one row must take that row's lock in its own SQL.
//! - **Membership** is a partitioned consumer's: each process is a member
//!   `"projection:{name}:v{version}/partitions-{n}/member-{s}"` (a
//!   heartbeat checkpoint in the event store), the live members share the
//!   partitions round-robin, a member that leaves hands its partitions over
//!   at once and a killed one within the lease TTL
//!   ([`disco_runtime::consumer::membership`]).
//! - **Read-your-writes.** The handle's [`progress`](PartitionedProjectionHandle::progress)
//!   is the lowest position of the partitions: this process's runners
//!   announce theirs at once, other processes' are read from their rows
//!   (written with each batch, and at most
//!   [`ProjectionOptions::save_seen_every`] after a position passed with
//!   nothing to apply).
//! - **Rebuilds** are blue-green as for any projection: each partition
//!   builds its share of the new generation, and the switch happens once
//!   every partition of it has reached what the live one has.
//! - **Changing the number of partitions** needs no rebuild. The first
//!   runner of the new count (started after the old count's rows were made)
//!   makes the new rows at the lowest old position and freezes the old
//!   ones; the old count's runners are refused from then on
//!   ([`ProjectionError::Repartitioned`]: the newer layout wins, an older
//!   one stops). A new partition skips every event that the old partition
//!   of its key had applied, so the change applies nothing twice and loses
//!   nothing. A projection that ran unpartitioned is taken over the same
//!   way; going back to one runner is a partition count of 1 (or a
//!   rebuild).
//! - A partitioned projection is not [reset](crate::ProjectionHandle::reset)
//!   in place; it is rebuilt.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex as AsyncMutex, Notify};
use tokio::task::JoinHandle;

use disco_core::progress::{Behind, Progress, ProgressTracker};
use disco_core::{EventStore, RecordedEvent, Timestamp};
use disco_runtime::consumer::lowest::{keep_lowest, LocalRunners, Lowest};
use disco_runtime::consumer::membership::{member_name, Assignment, Member, MembershipOptions};
use disco_runtime::consumer::{head_or_announced, partition_name, KeyFn, Partition};

use crate::error::ProjectionError;
use crate::handle::{ProjectionHandle, ProjectionState};
use crate::options::ProjectionOptions;
use crate::projector::lease_name;
use crate::read_model::{GenerationRow, GenerationState, PartitionSlot, ReadModel};
use crate::runner::{spawn, RunnerPartition};

/// How often the combined progress reads the rows of partitions other
/// processes run.
const REMOTE_EVERY: Duration = Duration::from_millis(50);

/// A projection split into partitions; see the module docs. Made by
/// [`Projector::partitioned`](crate::Projector::partitioned).
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco::EventStore>, projector: disco::projections::Projector) -> Result<(), disco::projections::ProjectionError> {
/// let handle = projector.partitioned(4).start(store)?;
/// // read-your-writes over every partition, in whichever process it runs
/// let _ = handle.wait_for(42, std::time::Duration::from_secs(5)).await;
/// for p in handle.status().await {
///     println!("partition {} owned by {:?} at {} ({} behind)", p.partition, p.owner, p.position, p.lag);
/// }
/// handle.stop().await;
/// # Ok(()) }
/// ```
pub struct PartitionedProjector {
    read_model: Arc<dyn ReadModel>,
    options: ProjectionOptions,
    count: u32,
    key: Option<KeyFn>,
}

impl std::fmt::Debug for PartitionedProjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedProjector")
            .field("name", &self.read_model.name())
            .field("count", &self.count)
            .field("options", &self.options)
            .finish()
    }
}

impl PartitionedProjector {
    pub(crate) fn new(
        read_model: Arc<dyn ReadModel>,
        options: ProjectionOptions,
        count: u32,
    ) -> Self {
        PartitionedProjector {
            read_model,
            options,
            count: count.max(1),
            key: None,
        }
    }

    /// Partitions by `key` instead of the stream id (each partition then
    /// reads every event the projection wants and keeps its own).
    pub fn keyed_by(
        mut self,
        key: impl Fn(&RecordedEvent) -> String + Send + Sync + 'static,
    ) -> Self {
        self.key = Some(Arc::new(key));
        self
    }

    /// Starts this process's member: it joins, runs its share of the
    /// partitions and follows the membership until stopped. Fails only for
    /// a name that makes no valid lease name.
    pub fn start(
        self,
        store: Arc<dyn EventStore>,
    ) -> Result<PartitionedProjectionHandle, ProjectionError> {
        let group = lease_name(&*self.read_model);
        // Members of one count only: a new count's runners run beside an
        // old count's while it hands over.
        let members = format!("{group}/partitions-{}", self.count);
        disco_core::limits::check_checkpoint_name(&partition_name(&group, self.count, self.count))?;
        disco_core::limits::check_checkpoint_name(&member_name(&members, self.count))?;
        let name = self.read_model.name().to_owned();
        let version = self.read_model.version();
        let runners: SharedRunners = Arc::new(AsyncMutex::new(BTreeMap::new()));
        let moved = Arc::new(Notify::new());
        let (tracker, progress) = Progress::channel(&name, 0);
        let membership = MembershipOptions {
            count: self.count,
            lease_ttl: self.options.lease_ttl,
            poll: self.options.takeover_poll,
        };
        let assignment = Runners {
            group: group.clone(),
            read_model: self.read_model.clone(),
            options: self.options,
            store: store.clone(),
            count: self.count,
            key: self.key,
            started: Timestamp::now(),
            moved: moved.clone(),
            runners: runners.clone(),
        };
        let member = Member::join(store.clone(), members, membership, assignment);
        let combiner = tokio::spawn(combine(
            self.read_model.clone(),
            self.count,
            runners.clone(),
            moved,
            tracker,
        ));
        Ok(PartitionedProjectionHandle {
            name,
            version,
            count: self.count,
            store,
            read_model: self.read_model,
            runners,
            member,
            progress,
            combiner,
        })
    }
}

/// The runners of the partitions this process runs, by partition.
type SharedRunners = LocalRunners<ProjectionHandle>;

/// One partition as the status shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectionPartitionStatus {
    /// Its index.
    pub partition: u32,
    /// The member slot it is assigned to, as this process sees membership.
    pub owner: Option<u32>,
    /// Whether this process runs it.
    pub local: bool,
    /// Its runner's state, when this process runs it.
    pub state: Option<ProjectionState>,
    /// The live generation.
    pub generation: Option<u32>,
    /// The position it holds in the live generation (its runner's, or its
    /// row's).
    pub position: u64,
    /// How far behind the head it is.
    pub lag: u64,
    /// Events applied by this process's runner.
    pub applied: u64,
    /// Its runner's last error.
    pub last_error: Option<String>,
}

/// Controls this process's member of a partitioned projection. Dropping
/// it leaves gracefully in the background.
pub struct PartitionedProjectionHandle {
    name: String,
    version: u32,
    count: u32,
    store: Arc<dyn EventStore>,
    read_model: Arc<dyn ReadModel>,
    runners: SharedRunners,
    member: Member,
    progress: Progress,
    combiner: JoinHandle<()>,
}

impl std::fmt::Debug for PartitionedProjectionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedProjectionHandle")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("count", &self.count)
            .finish()
    }
}

impl PartitionedProjectionHandle {
    /// The projection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many partitions it runs in.
    pub fn partitions(&self) -> u32 {
        self.count
    }

    /// This process's member slot, once it joined.
    pub fn member(&self) -> Option<u32> {
        self.member.view().member()
    }

    /// The partitions this process runs now.
    pub async fn local_partitions(&self) -> Vec<u32> {
        self.runners.lock().await.keys().copied().collect()
    }

    /// The projection's progress: the lowest position of its partitions
    /// (what the orchestrator's strong consistency waits on).
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Waits until every partition holds everything up to `position`
    /// (read-your-writes), at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<u64, Behind> {
        self.progress.wait_for(position, timeout).await
    }

    /// Every partition: its owner, state, position and lag in the live
    /// generation (other processes' partitions from their rows).
    pub async fn status(&self) -> Vec<ProjectionPartitionStatus> {
        let view = self.member.view().clone();
        let head = head_or_announced(&*self.store).await;
        let (live, rows) = remote_positions(&*self.read_model).await;
        let runners = self.runners.lock().await;
        let mut all = Vec::with_capacity(self.count as usize);
        for partition in 0..self.count {
            let stored = rows.get(&partition).copied().unwrap_or(0);
            let mut status = ProjectionPartitionStatus {
                partition,
                owner: view.owner_of(partition),
                local: false,
                state: None,
                generation: live,
                position: stored,
                lag: 0,
                applied: 0,
                last_error: None,
            };
            if let Some(runner) = runners.get(&partition) {
                let s = runner.status().await;
                status.local = true;
                status.state = Some(s.state);
                status.generation = s.generation.or(live);
                status.position = s.position.max(stored);
                status.applied = s.applied;
                status.last_error = s.last_error;
            }
            status.lag = head.saturating_sub(status.position);
            all.push(status);
        }
        all
    }

    /// The projection's generations as the read-model database has them
    /// (a partitioned generation's position is its lowest partition's).
    pub async fn generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        self.read_model.generations().await
    }

    /// Starts a blue-green rebuild (every partition builds its share); the
    /// new generation's number.
    pub async fn rebuild(&self) -> Result<u32, ProjectionError> {
        self.read_model.request_rebuild().await
    }

    /// Drops the tables of retired generations; their numbers.
    pub async fn drop_retired(&self) -> Result<Vec<u32>, ProjectionError> {
        self.read_model.drop_retired().await
    }

    /// Leaves gracefully: this process's runners stop (their batches in
    /// hand commit, leases released), the member says it left, and the
    /// others take the partitions over at once.
    pub async fn stop(self) {
        self.member.leave().await;
        self.combiner.abort();
    }

    /// Ends at once, as a crash would: nothing is released; the others take
    /// the partitions over once the leases end.
    pub fn abort(self) {
        self.member.abort();
        self.combiner.abort();
        let runners = self.runners;
        tokio::spawn(async move {
            let mut runners = runners.lock().await;
            for (_, runner) in std::mem::take(&mut *runners) {
                runner.abort();
            }
        });
    }
}

/// The live generation and its partitions' stored positions, by index
/// (empty when the database cannot be read: positions only move forward,
/// so a failed read just waits for the next).
async fn remote_positions(read_model: &dyn ReadModel) -> (Option<u32>, HashMap<u32, u64>) {
    let Ok(generations) = read_model.generations().await else {
        return (None, HashMap::new());
    };
    let Some(live) = generations
        .iter()
        .find(|g| g.state == GenerationState::Live)
        .map(|g| g.generation)
    else {
        return (None, HashMap::new());
    };
    let rows = read_model.partitions().await.unwrap_or_default();
    let positions = rows
        .into_iter()
        .filter(|r| r.generation == live)
        .map(|r| (r.slot.index, r.position))
        .collect();
    (Some(live), positions)
}

/// Keeps the combined progress: this process's runners' announcements, and
/// the rows of the partitions other processes run.
async fn combine(
    read_model: Arc<dyn ReadModel>,
    count: u32,
    runners: SharedRunners,
    moved: Arc<Notify>,
    tracker: ProgressTracker,
) {
    let lowest = Lowest {
        count,
        poll: REMOTE_EVERY,
        stored_every: REMOTE_EVERY,
        wake: Some(moved),
    };
    let stored = || {
        let read_model = read_model.clone();
        async move { remote_positions(&*read_model).await.1 }
    };
    keep_lowest(
        lowest,
        runners,
        |r: &ProjectionHandle| r.progress().position(),
        stored,
        tracker,
    )
    .await;
}

/// This process's runners of a partitioned projection: what membership
/// assigns it.
struct Runners {
    group: String,
    read_model: Arc<dyn ReadModel>,
    options: ProjectionOptions,
    store: Arc<dyn EventStore>,
    count: u32,
    key: Option<KeyFn>,
    started: Timestamp,
    moved: Arc<Notify>,
    runners: SharedRunners,
}

#[async_trait]
impl Assignment for Runners {
    async fn assign(&mut self, mine: &[u32]) {
        let mut runners = self.runners.lock().await;
        let leaving: Vec<u32> = runners
            .keys()
            .copied()
            .filter(|p| !mine.contains(p))
            .collect();
        for partition in leaving {
            if let Some(runner) = runners.remove(&partition) {
                tracing::info!(projection = %self.read_model.name(), partition, "handing the partition over");
                runner.stop().await;
            }
        }
        for &partition in mine {
            if runners.contains_key(&partition) {
                continue;
            }
            let mut key = Partition::new(partition, self.count);
            if let Some(custom) = &self.key {
                key = key.keyed_by(custom.clone());
            }
            let part = RunnerPartition {
                slot: PartitionSlot {
                    index: partition,
                    count: self.count,
                },
                key,
                started: self.started,
                moved: self.moved.clone(),
            };
            let lease = partition_name(&self.group, partition, self.count);
            tracing::info!(projection = %self.read_model.name(), partition, "taking the partition");
            let handle = spawn(
                self.read_model.clone(),
                self.options.clone(),
                self.store.clone(),
                lease,
                Some(part),
            );
            runners.insert(partition, handle);
        }
        drop(runners);
        self.moved.notify_one();
    }

    async fn stop_all(&mut self) {
        let mut runners = self.runners.lock().await;
        for (_, runner) in std::mem::take(&mut *runners) {
            runner.stop().await;
        }
    }
}
