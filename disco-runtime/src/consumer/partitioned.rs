//! [`PartitionedConsumer`]: one consumer split into partitions by a key
//! (the stream id by default). Events of one key are handled in order by
//! one runner at a time; partitions run concurrently, in one process or
//! spread over several.
//!
//! Each partition is a consumer of its own, named
//! `"{name}/partition-{i}-of-{n}"`: its own fenced lease, its own
//! checkpoint, the error policy, status and resets of any consumer. Which
//! process runs which partition is settled by [membership](super::membership)
//! through the store alone: each process is a member `"{name}/member-{s}"`,
//! the live members share the partitions round-robin, and a process starts
//! the runners of its partitions and stops (gracefully: the event in hand
//! finishes, the checkpoint is saved, the lease released) the runners of
//! partitions that went to another. A partition is handled by whoever holds
//! its lease, so two views that disagree for a moment never handle one
//! partition twice at once: the newcomer waits as a standby until the lease
//! is free.
//!
//! **Changing the number of partitions** is a new set of checkpoints (the
//! count is in their names). Stop every process, start them with the new
//! count: each new partition that has no checkpoint starts at the lowest
//! position any partition of the old count reached (or the unpartitioned
//! consumer's checkpoint of the same name), so nothing is lost and the
//! events between that position and where each old partition was are
//! handled again (at least once, as after a crash). The old checkpoints stay
//! until removed (`disco checkpoints` lists them under the consumer).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::JoinHandle;

use disco_core::limits::check_checkpoint_name;
use disco_core::progress::{Progress, ProgressTracker};
use disco_core::{EventFilter, EventStore, RecordedEvent, Result};

use super::lowest::{keep_lowest, LocalRunners, Lowest};
use super::membership::{Assignment, Member, MembershipOptions};
use super::partition::{KeyFn, Partition};
use super::{
    head_or_announced, Consumer, ConsumerHandle, ConsumerOptions, ConsumerState, ErrorPolicy,
    Handler,
};

/// The checkpoint and lease name of partition `index` of `count` of the
/// consumer `name`.
pub fn partition_name(name: &str, index: u32, count: u32) -> String {
    format!("{name}/partition-{index}-of-{count}")
}

/// A checkpoint's name split into its consumer and, for a partitioned
/// consumer's checkpoints, the part (`partition-I-of-N` or `member-S`);
/// any other name is a whole consumer's.
///
/// ```
/// use disco::consumer::split_checkpoint_name;
/// assert_eq!(split_checkpoint_name("emails/partition-1-of-4"), ("emails", Some("partition-1-of-4")));
/// assert_eq!(split_checkpoint_name("emails/member-0"), ("emails", Some("member-0")));
/// assert_eq!(split_checkpoint_name("a/b"), ("a/b", None));
/// ```
pub fn split_checkpoint_name(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('/') {
        Some((consumer, part))
            if part.starts_with("member-")
                || (part.starts_with("partition-") && part.contains("-of-")) =>
        {
            (consumer, Some(part))
        }
        _ => (name, None),
    }
}

/// A consumer split into partitions; see the module docs.
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> disco::Result<()> {
/// use disco::consumer::{handler_fn, PartitionedConsumer};
/// let handle = PartitionedConsumer::new(
///     "emails",
///     4,
///     handler_fn(|event| {
///         let stream = event.stream_id.clone();
///         async move {
///             // events of one stream arrive in order, one at a time
///             let _ = stream;
///             Ok(())
///         }
///     }),
/// )
/// .start(store)?;
/// for p in handle.status().await {
///     println!("partition {} owned by member {:?} at {} ({} behind)", p.partition, p.owner, p.position, p.lag);
/// }
/// handle.stop().await;
/// # Ok(()) }
/// ```
pub struct PartitionedConsumer {
    name: String,
    count: u32,
    handler: Arc<dyn Handler>,
    key: Option<KeyFn>,
    options: ConsumerOptions,
}

impl std::fmt::Debug for PartitionedConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedConsumer")
            .field("name", &self.name)
            .field("count", &self.count)
            .field("options", &self.options)
            .finish()
    }
}

impl PartitionedConsumer {
    /// The consumer `name` in `partitions` partitions (at least 1), keyed
    /// by stream id, with the default options.
    pub fn new(name: impl Into<String>, partitions: u32, handler: impl Handler) -> Self {
        PartitionedConsumer {
            name: name.into(),
            count: partitions.max(1),
            handler: Arc::new(handler),
            key: None,
            options: ConsumerOptions::default(),
        }
    }

    /// Partitions by `key` instead of the stream id.
    pub fn keyed_by(
        mut self,
        key: impl Fn(&RecordedEvent) -> String + Send + Sync + 'static,
    ) -> Self {
        self.key = Some(Arc::new(key));
        self
    }

    /// Only events that pass `filter`.
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.options.filter = filter;
        self
    }

    /// How handler failures are treated (in every partition).
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.options.error_policy = policy;
        self
    }

    /// Every option of the partitions' runners; `lease_ttl` is also how long
    /// a silent member counts as alive, `takeover_poll` how often
    /// membership is looked at.
    pub fn options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts this process's member: it joins, takes its share of the
    /// partitions and follows the membership until stopped. Fails only for
    /// a name that makes no valid checkpoint name.
    pub fn start(self, store: Arc<dyn EventStore>) -> Result<PartitionedHandle> {
        check_checkpoint_name(&partition_name(&self.name, self.count, self.count))?;
        let runners = Arc::new(AsyncMutex::new(BTreeMap::new()));
        let options = MembershipOptions {
            count: self.count,
            lease_ttl: self.options.lease_ttl,
            poll: self.options.takeover_poll,
        };
        let name = self.name.clone();
        let count = self.count;
        let assignment = Runners {
            consumer: self,
            store: store.clone(),
            runners: runners.clone(),
        };
        let (tracker, progress) = Progress::channel(&name, 0);
        let combiner = tokio::spawn(combine(
            store.clone(),
            name.clone(),
            count,
            runners.clone(),
            tracker,
        ));
        let member = Member::join(store.clone(), name.clone(), options, assignment);
        Ok(PartitionedHandle {
            name,
            count,
            store,
            runners,
            member,
            progress,
            combiner,
        })
    }
}

/// One partition as the status shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionStatus {
    /// Its index.
    pub partition: u32,
    /// The member slot it is assigned to, as this process sees membership.
    pub owner: Option<u32>,
    /// Whether this process runs it.
    pub local: bool,
    /// Its runner's state, when this process runs it.
    pub state: Option<ConsumerState>,
    /// The position it has seen up to (its runner's, or its checkpoint).
    pub position: u64,
    /// How far behind the head it is.
    pub lag: u64,
    /// Events handled by this process's runner.
    pub handled: u64,
    /// Its runner's last error.
    pub last_error: Option<String>,
}

/// Controls this process's member of a partitioned consumer.
pub struct PartitionedHandle {
    name: String,
    count: u32,
    store: Arc<dyn EventStore>,
    runners: SharedRunners,
    member: Member,
    progress: Progress,
    combiner: JoinHandle<()>,
}

/// How often the combined progress looks at this process's runners.
const LOCAL_EVERY: std::time::Duration = std::time::Duration::from_millis(5);

/// How often the combined progress reads the checkpoints of partitions
/// other processes run.
const STORED_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Keeps the combined progress: this process's runners' positions, and the
/// checkpoints of the others.
async fn combine(
    store: Arc<dyn EventStore>,
    name: String,
    count: u32,
    runners: SharedRunners,
    tracker: ProgressTracker,
) {
    let lowest = Lowest {
        count,
        poll: LOCAL_EVERY,
        stored_every: STORED_EVERY,
        wake: None,
    };
    let stored = || {
        let (store, name) = (store.clone(), name.clone());
        async move {
            let checkpoints = store.list_checkpoints().await.unwrap_or_default();
            (0..count)
                .filter_map(|p| {
                    let wanted = partition_name(&name, p, count);
                    let position = checkpoints.iter().find(|c| c.name == wanted)?.position;
                    Some((p, position))
                })
                .collect()
        }
    };
    keep_lowest(
        lowest,
        runners,
        |r: &ConsumerHandle| r.progress().position(),
        stored,
        tracker,
    )
    .await;
}

/// The runners of the partitions this process runs, by partition.
type SharedRunners = LocalRunners<ConsumerHandle>;

impl std::fmt::Debug for PartitionedHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedHandle")
            .field("name", &self.name)
            .field("count", &self.count)
            .finish()
    }
}

impl PartitionedHandle {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This process's member slot, once it joined.
    pub fn member(&self) -> Option<u32> {
        self.member.view().member()
    }

    /// The partitions this process runs now.
    pub async fn local_partitions(&self) -> Vec<u32> {
        self.runners.lock().await.keys().copied().collect()
    }

    /// Every partition: its owner, position and lag (positions of
    /// partitions other processes run come from their checkpoints).
    pub async fn status(&self) -> Vec<PartitionStatus> {
        let view = self.member.view().clone();
        let head = head_or_announced(&*self.store).await;
        let stored: HashMap<String, u64> = self
            .store
            .list_checkpoints()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.position))
            .collect();
        let runners = self.runners.lock().await;
        let mut all = Vec::with_capacity(self.count as usize);
        for partition in 0..self.count {
            let owner = view.owner_of(partition);
            let status = match runners.get(&partition) {
                Some(runner) => {
                    let s = runner.status().await;
                    PartitionStatus {
                        partition,
                        owner,
                        local: true,
                        state: Some(s.state),
                        position: s.position,
                        lag: s.lag,
                        handled: s.handled,
                        last_error: s.last_error,
                    }
                }
                None => {
                    let position = stored
                        .get(&partition_name(&self.name, partition, self.count))
                        .copied()
                        .unwrap_or(0);
                    PartitionStatus {
                        partition,
                        owner,
                        local: false,
                        state: None,
                        position,
                        lag: head.saturating_sub(position),
                        handled: 0,
                        last_error: None,
                    }
                }
            };
            all.push(status);
        }
        all
    }

    /// The consumer's progress: the lowest position of its partitions (this
    /// process's runners announce theirs at once, other processes' are read
    /// from their checkpoints, saved every
    /// [`ConsumerOptions::checkpoint_every`]); what the orchestrator's
    /// strong consistency waits on.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Waits until every partition has seen `position` (by this process's
    /// runners or, for the others, their checkpoints), or `timeout` passes.
    pub async fn wait_for(&self, position: u64, timeout: std::time::Duration) -> bool {
        let deadline = disco_core::clock::deadline_after(timeout);
        loop {
            let status = self.status().await;
            if status.iter().all(|p| p.position >= position) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Leaves gracefully: this process's runners stop (their events in
    /// hand finish, checkpoints saved, leases released), the member says it
    /// left, and the others take the partitions over at once.
    pub async fn stop(self) {
        self.member.leave().await;
        self.combiner.abort();
    }

    /// Ends at once, as a crash would: nothing is saved or released; the
    /// others take the partitions over once the leases end.
    pub fn abort(self) {
        self.combiner.abort();
        self.member.abort();
        let runners = self.runners;
        tokio::spawn(async move {
            let mut runners = runners.lock().await;
            for (_, runner) in std::mem::take(&mut *runners) {
                runner.abort();
            }
        });
    }
}

/// This process's runners of a partitioned consumer: what membership
/// assigns it.
struct Runners {
    consumer: PartitionedConsumer,
    store: Arc<dyn EventStore>,
    runners: SharedRunners,
}

#[async_trait]
impl Assignment for Runners {
    /// Starts the runners of this member's partitions and stops the others.
    async fn assign(&mut self, mine: &[u32]) {
        let count = self.consumer.count;
        let mut runners = self.runners.lock().await;
        let leaving: Vec<u32> = runners
            .keys()
            .copied()
            .filter(|p| !mine.contains(p))
            .collect();
        for partition in leaving {
            if let Some(runner) = runners.remove(&partition) {
                tracing::info!(consumer = %self.consumer.name, partition, "handing the partition over");
                runner.stop().await;
            }
        }
        let missing: Vec<u32> = mine
            .iter()
            .copied()
            .filter(|p| !runners.contains_key(p))
            .collect();
        if missing.is_empty() {
            return;
        }
        let inherited = self.inherited_start().await;
        for partition in missing {
            let name = partition_name(&self.consumer.name, partition, count);
            let mut options = self.consumer.options.clone();
            options.start_after = inherited.unwrap_or(options.start_after);
            let mut slice = Partition::new(partition, count);
            if let Some(key) = &self.consumer.key {
                slice = slice.keyed_by(key.clone());
            }
            options.partition = Some(slice);
            let consumer = Consumer {
                name: name.clone(),
                handler: self.consumer.handler.clone(),
                options,
            };
            match consumer.start(self.store.clone()) {
                Ok(handle) => {
                    tracing::info!(consumer = %self.consumer.name, partition, "taking the partition");
                    runners.insert(partition, handle);
                }
                Err(error) => {
                    tracing::error!(consumer = %self.consumer.name, partition, %error, "cannot start the partition");
                }
            }
        }
    }

    async fn stop_all(&mut self) {
        let mut runners = self.runners.lock().await;
        for (_, runner) in std::mem::take(&mut *runners) {
            runner.stop().await;
        }
    }
}

impl Runners {
    /// Where a partition without a checkpoint starts: the lowest position
    /// of the partitions of another count, else the unpartitioned
    /// consumer's checkpoint of this name, else `None` (the options').
    async fn inherited_start(&self) -> Option<u64> {
        let checkpoints = self.store.list_checkpoints().await.ok()?;
        let name = &self.consumer.name;
        let prefix = format!("{name}/partition-");
        let suffix = format!("-of-{}", self.consumer.count);
        let other_counts = checkpoints
            .iter()
            .filter(|c| c.name.starts_with(&prefix) && !c.name.ends_with(&suffix))
            .map(|c| c.position)
            .min();
        other_counts.or_else(|| {
            checkpoints
                .iter()
                .find(|c| &c.name == name)
                .map(|c| c.position)
        })
    }
}
