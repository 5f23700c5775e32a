//! Membership of a group of processes that share `count` partitions of one
//! piece of work (a [`PartitionedConsumer`](super::PartitionedConsumer), a
//! partitioned projection), through the store alone:
//!
//! - each process holds a member lease `"{name}/member-{s}"` (the lowest
//!   free slot `s` of `count`) and bumps the checkpoint of that name every
//!   poll; a member whose count has not moved for the lease TTL (by the
//!   observer's own clock) is gone, and one that left gracefully wrote 0;
//! - the live members, sorted by slot, share the partitions: partition `i`
//!   goes to the member of rank `i mod k`, so each of `k` members runs
//!   `count / k` or one more;
//! - the member hands its share to an [`Assignment`], which starts the
//!   partitions it was given and stops (gracefully) the others. Whoever runs
//!   a partition must hold that partition's own lease, so two views that
//!   disagree for a moment never run one partition twice at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use disco_core::lease::Lease;
use disco_core::{EventStore, Result};

/// The member slot `slot` of the group `name` (a lease and a heartbeat
/// checkpoint).
pub fn member_name(name: &str, slot: u32) -> String {
    format!("{name}/member-{slot}")
}

/// What a member runs: the partitions membership gives it.
#[async_trait]
pub trait Assignment: Send + Sync + 'static {
    /// Runs exactly the partitions in `mine`: starts those it does not run
    /// yet, stops (gracefully) those it runs that are not in `mine`.
    async fn assign(&mut self, mine: &[u32]);
    /// Stops every partition it runs (gracefully).
    async fn stop_all(&mut self);
}

/// How a member watches the group.
#[derive(Clone, Copy, Debug)]
pub struct MembershipOptions {
    /// How many partitions (and member slots) there are.
    pub count: u32,
    /// How long a silent member counts as alive, and its lease's TTL.
    pub lease_ttl: Duration,
    /// How often the member beats and looks at the others.
    pub poll: Duration,
}

/// What a member shares with its handle: its slot and the live members.
#[derive(Debug, Default)]
pub struct MemberView {
    slot: Mutex<Option<u32>>,
    live: Mutex<Vec<u32>>,
}

impl MemberView {
    /// This process's member slot, once it has one.
    pub fn member(&self) -> Option<u32> {
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live members' slots as last seen, sorted.
    pub fn live(&self) -> Vec<u32> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The member slot `partition` is assigned to, as last seen.
    pub fn owner_of(&self, partition: u32) -> Option<u32> {
        owner_of(&self.live(), partition)
    }
}

/// The member of rank `partition mod k` among the `k` live members.
fn owner_of(live: &[u32], partition: u32) -> Option<u32> {
    if live.is_empty() {
        return None;
    }
    let rank = usize::try_from(partition).ok()?.checked_rem(live.len())?;
    live.get(rank).copied()
}

/// A running member of a group; see the module docs.
pub struct Member {
    view: Arc<MemberView>,
    stop: mpsc::UnboundedSender<()>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("slot", &self.view.member())
            .finish()
    }
}

impl Member {
    /// Joins the group `name` on `store` (on the current tokio runtime):
    /// the member takes a slot, beats, and keeps `assignment` running its
    /// share until [`Member::leave`].
    pub fn join(
        store: Arc<dyn EventStore>,
        name: String,
        options: MembershipOptions,
        assignment: impl Assignment,
    ) -> Member {
        let view = Arc::new(MemberView::default());
        let (stop, stopped) = mpsc::unbounded_channel();
        let coordinator = Coordinator {
            name,
            options,
            store,
            view: view.clone(),
            assignment,
            stopped,
            heartbeats: HashMap::new(),
            beat: 0,
        };
        let task = tokio::spawn(coordinator.run());
        Member { view, stop, task }
    }

    /// The member's view of the group.
    pub fn view(&self) -> &Arc<MemberView> {
        &self.view
    }

    /// Leaves gracefully: the assignment stops every partition, then the
    /// member says it left and releases its slot, so the others take the
    /// partitions over at once.
    pub async fn leave(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }

    /// Ends the member at once, as a crash would (the assignment's
    /// partitions are the caller's to abort).
    pub fn abort(self) {
        self.task.abort();
    }
}

/// The task that keeps one member's slot, heartbeat and assignment.
struct Coordinator<A> {
    name: String,
    options: MembershipOptions,
    store: Arc<dyn EventStore>,
    view: Arc<MemberView>,
    assignment: A,
    stopped: mpsc::UnboundedReceiver<()>,
    /// Each other member's heartbeat: (count, when it last moved).
    heartbeats: HashMap<u32, (u64, Instant)>,
    beat: u64,
}

impl<A: Assignment> Coordinator<A> {
    async fn run(mut self) {
        let mut slot: Option<(u32, Box<dyn Lease>)> = None;
        loop {
            if let Some((_, lease)) = &mut slot {
                let held = lease.is_held() && matches!(lease.renew().await, Ok(true));
                if !held {
                    tracing::warn!(group = %self.name, "lost the member lease; stopping this member's partitions");
                    self.assignment.stop_all().await;
                    slot = None;
                }
            }
            if slot.is_none() {
                slot = self.take_slot().await;
                *self
                    .view
                    .slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = slot.as_ref().map(|(s, _)| *s);
            }
            if let Some((own, _)) = &slot {
                let own = *own;
                if let Err(error) = self.beat(own).await {
                    tracing::warn!(group = %self.name, %error, "membership heartbeat failed");
                } else {
                    let live = self.view.live();
                    let mine: Vec<u32> = (0..self.options.count)
                        .filter(|p| owner_of(&live, *p) == Some(own))
                        .collect();
                    self.assignment.assign(&mine).await;
                }
            }
            tokio::select! {
                _ = self.stopped.recv() => break,
                _ = tokio::time::sleep(self.options.poll) => {}
            }
        }
        self.assignment.stop_all().await;
        if let Some((own, lease)) = slot {
            let name = member_name(&self.name, own);
            if let Err(error) = self.store.save_checkpoint(&name, 0).await {
                tracing::warn!(group = %self.name, %error, "could not say this member left");
            }
            if let Err(error) = lease.release().await {
                tracing::warn!(group = %self.name, %error, "releasing the member lease failed");
            }
        }
    }

    /// The lowest free member slot, with its lease.
    async fn take_slot(&self) -> Option<(u32, Box<dyn Lease>)> {
        for slot in 0..self.options.count {
            let name = member_name(&self.name, slot);
            match self.store.try_lease(&name, self.options.lease_ttl).await {
                Ok(Some(lease)) => {
                    tracing::info!(group = %self.name, slot, pid = std::process::id(), "joined as a member");
                    return Some((slot, lease));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(group = %self.name, %error, "taking a member slot failed");
                    return None;
                }
            }
        }
        None
    }

    /// Bumps this member's heartbeat and reads everyone's: the live members.
    async fn beat(&mut self, own: u32) -> Result<()> {
        self.beat = self.beat.wrapping_add(1);
        let name = member_name(&self.name, own);
        self.store.save_checkpoint(&name, self.beat).await?;
        let prefix = format!("{}/member-", self.name);
        let now = Instant::now();
        let ttl = self.options.lease_ttl;
        let mut live = vec![own];
        for checkpoint in self.store.list_checkpoints().await? {
            let Some(slot) = checkpoint
                .name
                .strip_prefix(&prefix)
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if slot == own || slot >= self.options.count {
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
            .view
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = live;
        Ok(())
    }
}
