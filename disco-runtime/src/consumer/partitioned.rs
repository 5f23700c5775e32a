//! [`PartitionedConsumer`]: one consumer split into partitions by a key
//! (the stream id by default). Events of one key are handled in order by
//! one runner at a time; partitions run concurrently, in one process or
//! spread over several.
//!
//! Each partition is a consumer of its own, named
//! `"{name}/partition-{i}-of-{n}"`: its own fenced lease, its own
//! checkpoint, the error policy, status and resets of any consumer. Which
//! process runs which partition is settled by membership, through the
//! store alone:
//!
//! - each process holds a member lease `"{name}/member-{s}"` (the lowest
//!   free slot `s` of `n`) and bumps the checkpoint of that name every
//!   [`ConsumerOptions::takeover_poll`]; a member whose count has not moved
//!   for [`ConsumerOptions::lease_ttl`] (by the observer's own clock) is
//!   gone, and one that left gracefully wrote 0;
//! - the live members, sorted by slot, share the partitions: partition `i`
//!   goes to the member of rank `i mod k`, so each of `k` members runs
//!   `n / k` or one more;
//! - a process starts the runners of its partitions and stops (gracefully:
//!   the event in hand finishes, the checkpoint is saved, the lease
//!   released) the runners of partitions that went to another. A partition
//!   is handled by whoever holds its lease, so two views that disagree for a
//!   moment never handle one partition twice at once: the newcomer waits as
//!   a standby until the lease is free.
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
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::{mpsc, Mutex as AsyncMutex};
use tokio::task::JoinHandle;

use disco_core::lease::Lease;
use disco_core::limits::check_checkpoint_name;
use disco_core::{EventFilter, EventStore, RecordedEvent, Result};

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

/// The member slot `slot` of the consumer `name` (a lease and a heartbeat
/// checkpoint).
pub fn member_name(name: &str, slot: u32) -> String {
    format!("{name}/member-{slot}")
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
        let shared = Arc::new(Members {
            slot: Mutex::new(None),
            live: Mutex::new(Vec::new()),
            runners: AsyncMutex::new(BTreeMap::new()),
        });
        let (stop, stopped) = mpsc::unbounded_channel();
        let coordinator = Coordinator {
            consumer: self,
            store: store.clone(),
            shared: shared.clone(),
            stopped,
            heartbeats: HashMap::new(),
            beat: 0,
        };
        let name = coordinator.consumer.name.clone();
        let count = coordinator.consumer.count;
        let task = tokio::spawn(coordinator.run());
        Ok(PartitionedHandle {
            name,
            count,
            store,
            shared,
            stop,
            task,
        })
    }
}

/// What the coordinator shares with its handle.
struct Members {
    /// This process's member slot, once it has one.
    slot: Mutex<Option<u32>>,
    /// The live members' slots as last seen, sorted.
    live: Mutex<Vec<u32>>,
    /// The runners of the partitions this process runs.
    runners: AsyncMutex<BTreeMap<u32, ConsumerHandle>>,
}

impl Members {
    /// The live members' slots as last seen.
    fn live(&self) -> Vec<u32> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
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
    shared: Arc<Members>,
    stop: mpsc::UnboundedSender<()>,
    task: JoinHandle<()>,
}

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
        *self
            .shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The partitions this process runs now.
    pub async fn local_partitions(&self) -> Vec<u32> {
        self.shared.runners.lock().await.keys().copied().collect()
    }

    /// Every partition: its owner, position and lag (positions of
    /// partitions other processes run come from their checkpoints).
    pub async fn status(&self) -> Vec<PartitionStatus> {
        let live = self.shared.live();
        let head = head_or_announced(&*self.store).await;
        let stored: HashMap<String, u64> = self
            .store
            .list_checkpoints()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.position))
            .collect();
        let runners = self.shared.runners.lock().await;
        let mut all = Vec::with_capacity(self.count as usize);
        for partition in 0..self.count {
            let owner = owner_of(&live, partition);
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

    /// Waits until every partition has seen `position` (by this process's
    /// runners or, for the others, their checkpoints), or `timeout` passes.
    pub async fn wait_for(&self, position: u64, timeout: std::time::Duration) -> bool {
        let deadline = Instant::now() + timeout;
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
        let _ = self.stop.send(());
        let _ = self.task.await;
    }

    /// Ends at once, as a crash would: nothing is saved or released; the
    /// others take the partitions over once the leases end.
    pub fn abort(self) {
        self.task.abort();
        let shared = self.shared;
        tokio::spawn(async move {
            let mut runners = shared.runners.lock().await;
            for (_, runner) in std::mem::take(&mut *runners) {
                runner.abort();
            }
        });
    }
}

/// The member of rank `partition mod k` among the live members.
fn owner_of(live: &[u32], partition: u32) -> Option<u32> {
    if live.is_empty() {
        return None;
    }
    live.get(partition as usize % live.len()).copied()
}

/// The task that keeps this process's membership and runners.
struct Coordinator {
    consumer: PartitionedConsumer,
    store: Arc<dyn EventStore>,
    shared: Arc<Members>,
    stopped: mpsc::UnboundedReceiver<()>,
    /// Each other member's heartbeat: (count, when it last moved).
    heartbeats: HashMap<u32, (u64, Instant)>,
    beat: u64,
}

impl Coordinator {
    async fn run(mut self) {
        let mut slot: Option<(u32, Box<dyn Lease>)> = None;
        loop {
            if let Some((_, lease)) = &mut slot {
                let held = lease.is_held() && matches!(lease.renew().await, Ok(true));
                if !held {
                    tracing::warn!(consumer = %self.consumer.name, "lost the member lease; stopping this member's partitions");
                    self.stop_all().await;
                    slot = None;
                }
            }
            if slot.is_none() {
                slot = self.take_slot().await;
                *self
                    .shared
                    .slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = slot.as_ref().map(|(s, _)| *s);
            }
            if let Some((own, _)) = &slot {
                let own = *own;
                if let Err(error) = self.beat(own).await {
                    tracing::warn!(consumer = %self.consumer.name, %error, "membership heartbeat failed");
                } else {
                    self.rebalance(own).await;
                }
            }
            let poll = self.consumer.options.takeover_poll;
            tokio::select! {
                _ = self.stopped.recv() => break,
                _ = tokio::time::sleep(poll) => {}
            }
        }
        self.stop_all().await;
        if let Some((own, lease)) = slot {
            let name = member_name(&self.consumer.name, own);
            if let Err(error) = self.store.save_checkpoint(&name, 0).await {
                tracing::warn!(consumer = %self.consumer.name, %error, "could not say this member left");
            }
            if let Err(error) = lease.release().await {
                tracing::warn!(consumer = %self.consumer.name, %error, "releasing the member lease failed");
            }
        }
    }

    /// The lowest free member slot, with its lease.
    async fn take_slot(&self) -> Option<(u32, Box<dyn Lease>)> {
        for slot in 0..self.consumer.count {
            let name = member_name(&self.consumer.name, slot);
            match self
                .store
                .try_lease(&name, self.consumer.options.lease_ttl)
                .await
            {
                Ok(Some(lease)) => {
                    tracing::info!(consumer = %self.consumer.name, slot, pid = std::process::id(), "joined as a member");
                    return Some((slot, lease));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(consumer = %self.consumer.name, %error, "taking a member slot failed");
                    return None;
                }
            }
        }
        None
    }

    /// Bumps this member's heartbeat and reads everyone's: the live members.
    async fn beat(&mut self, own: u32) -> Result<()> {
        self.beat += 1;
        let name = member_name(&self.consumer.name, own);
        self.store.save_checkpoint(&name, self.beat).await?;
        let prefix = format!("{}/member-", self.consumer.name);
        let now = Instant::now();
        let ttl = self.consumer.options.lease_ttl;
        let mut live = vec![own];
        for checkpoint in self.store.list_checkpoints().await? {
            let Some(slot) = checkpoint
                .name
                .strip_prefix(&prefix)
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if slot == own || slot >= self.consumer.count {
                continue;
            }
            let beat = checkpoint.position;
            let entry = self.heartbeats.entry(slot).or_insert((beat, now));
            if entry.0 != beat {
                *entry = (beat, now);
            }
            // Invariant: a member counts as alive while its heartbeat moved within the lease TTL and it has not said it left.
            if beat != 0 && now.duration_since(entry.1) < ttl {
                live.push(slot);
            }
        }
        live.sort_unstable();
        *self
            .shared
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = live;
        Ok(())
    }

    /// Starts the runners of this member's partitions and stops the others.
    async fn rebalance(&mut self, own: u32) {
        let live = self.shared.live();
        let count = self.consumer.count;
        let mine: Vec<u32> = (0..count)
            .filter(|p| owner_of(&live, *p) == Some(own))
            .collect();
        let mut runners = self.shared.runners.lock().await;
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

    async fn stop_all(&self) {
        let mut runners = self.shared.runners.lock().await;
        for (_, runner) in std::mem::take(&mut *runners) {
            runner.stop().await;
        }
    }
}
