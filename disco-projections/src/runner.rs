//! The runner: waits for the projection's lease, then applies events to the
//! generations its version runs (the live one, and one being built) until
//! stopped, failed, retired, or fenced off (then it waits again). The loop
//! is the one a consumer's runner runs too
//! ([`disco_runtime::consumer::holding::serve`],
//! [`disco_runtime::consumer::stretch::drive`]); this file is what a
//! projection does in it: two lanes, batches, plans and switches.
//!
//! Invariants:
//! - a lane's events are applied in position order, in batches of at most
//!   `batch_size`, each batch in one read-model transaction that also
//!   writes the position (the read model's invariants, [`ReadModel`]);
//! - the progress announced is a position whose batch has committed, or one
//!   the feed has seen with nothing in its range for the projection;
//! - a failing event is never passed over: the batch is split so the
//!   events before it commit, and it is retried alone under the error
//!   policy, then the runner stops or (only when asked) skips it;
//! - the switch to a rebuilt generation happens only once it has seen the
//!   store's head and at least what the live generation has.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use disco_core::lease::Lease;
use disco_core::{EventStore, RecordedEvent, Timestamp, Uuid};
use disco_runtime::consumer::holding::{self, Holding, Serve, Standby, Stretched};
use disco_runtime::consumer::stretch::{drive, Feed, Parts, Work};
use disco_runtime::consumer::{AfterRetries, Partition};
use disco_runtime::{Subscription, SubscriptionOptions};

use crate::error::ProjectionError;
use crate::handle::{Control, ProjectionExit, ProjectionHandle, ProjectionState, Shared};
use crate::options::ProjectionOptions;
use crate::read_model::{GenerationState, Inherited, PartitionSlot, ReadModel};

/// The partition a runner applies, when the projection is partitioned.
#[derive(Clone, Debug)]
pub(crate) struct RunnerPartition {
    /// Which partition.
    pub(crate) slot: PartitionSlot,
    /// How events are keyed (and, by stream, filtered by the store).
    pub(crate) key: Partition,
    /// When the partitioned projection was started in this process (a
    /// newer layout replaces an older one).
    pub(crate) started: Timestamp,
    /// Told when the progress moves.
    pub(crate) moved: Arc<Notify>,
}

/// Starts a runner (of the whole projection, or of one partition).
pub(crate) fn spawn(
    read_model: Arc<dyn ReadModel>,
    options: ProjectionOptions,
    store: Arc<dyn EventStore>,
    lease_name: String,
    part: Option<RunnerPartition>,
) -> ProjectionHandle {
    let name = read_model.name().to_owned();
    let version = read_model.version();
    let (control, commands) = mpsc::unbounded_channel();
    let moved = part.as_ref().map(|p| p.moved.clone());
    let shared = Arc::new(Shared::new(&name, moved));
    let runner = Runner {
        name: name.clone(),
        lease_name,
        read_model: read_model.clone(),
        options,
        store: store.clone(),
        commands,
        shared: shared.clone(),
        part,
    };
    let task = tokio::spawn(runner.run());
    ProjectionHandle {
        name,
        version,
        store,
        read_model,
        control,
        shared,
        task,
    }
}

struct Runner {
    name: String,
    lease_name: String,
    read_model: Arc<dyn ReadModel>,
    options: ProjectionOptions,
    store: Arc<dyn EventStore>,
    commands: mpsc::UnboundedReceiver<Control>,
    shared: Arc<Shared>,
    part: Option<RunnerPartition>,
}

/// One generation the runner applies to.
struct Lane {
    generation: u32,
    feed: Subscription,
    /// What a partition inherited from the count it replaced.
    inherited: Option<Inherited>,
    /// The position reached (committed, or seen with nothing to apply).
    position: u64,
    /// The position the bookkeeping row holds.
    stored: u64,
    /// When the row's position was last written.
    saved_at: Instant,
}

impl Lane {
    /// When a seen-only position is due to be written, if one waits.
    fn save_due(&self, every: Duration) -> Option<Instant> {
        (self.position > self.stored)
            .then(|| self.saved_at.checked_add(every))
            .flatten()
    }
}

/// The state of one stretch as the active runner.
struct Active {
    hold: Holding,
    claim: String,
    live: Option<Lane>,
    building: Option<Lane>,
    plan_due: Instant,
}

/// Why a lane's work ended early.
enum LaneEnd {
    /// Another runner claimed the generation, or the lease was lost.
    Fenced,
    /// The generation was retired (a newer one is live).
    Retired,
    /// A failure the policy does not retry further, and the position the
    /// batch's earlier events committed up to, if they did.
    Failed(Option<Uuid>, String, Option<u64>),
}

/// How a lane's feed moved.
enum Moved {
    /// Events read, and the position the feed had seen once they were
    /// taken.
    Batch(Vec<RecordedEvent>, u64),
    /// Seen up to a position with nothing in its range for the projection.
    Seen(u64),
}

impl Runner {
    async fn run(mut self) -> ProjectionExit {
        let store = self.store.clone();
        let exit = holding::serve(&mut self, &*store).await;
        self.ended(exit)
    }

    fn ended(&self, exit: ProjectionExit) -> ProjectionExit {
        let state = match &exit {
            ProjectionExit::Stopped { .. } => ProjectionState::Stopped,
            ProjectionExit::Failed { error, .. } => {
                tracing::error!(projection = %self.name, %error, "projection failed");
                ProjectionState::Failed
            }
            ProjectionExit::Retired { .. } => ProjectionState::Retired,
        };
        self.shared.update(|s| s.state = state);
        exit
    }

    fn subscribe(&self, after: u64) -> Subscription {
        let mut filter = self.read_model.filter();
        if let Some(part) = &self.part {
            filter.partition = part.key.by_stream();
        }
        let options = SubscriptionOptions {
            after,
            filter,
            page_size: self.options.batch_size.max(1),
            buffer_pages: 2,
            poll_interval: self.options.poll_interval,
            ..SubscriptionOptions::default()
        };
        Subscription::start(self.store.clone(), options)
    }

    async fn lane(
        &self,
        generation: u32,
        claim: &str,
        token: u64,
    ) -> Result<Lane, ProjectionError> {
        let (position, inherited) = match &self.part {
            Some(part) => {
                let claimed = self
                    .read_model
                    .claim_partition(generation, part.slot, claim, token, part.started)
                    .await?;
                (claimed.position, claimed.inherited)
            }
            None => (self.read_model.claim(generation, claim, token).await?, None),
        };
        Ok(Lane {
            generation,
            feed: self.subscribe(position),
            inherited,
            position,
            stored: position,
            saved_at: Instant::now(),
        })
    }

    /// Applies events while holding the lease; `None` to stand by again.
    async fn stretch(&mut self, lease: Box<dyn Lease>) -> Option<ProjectionExit> {
        let claim = Uuid::now_v7().to_string();
        let mut a = Active {
            claim,
            hold: Holding::new(lease, self.options.lease_ttl),
            live: None,
            building: None,
            plan_due: Instant::now(),
        };
        if let Err(exit) = self.replan(&mut a).await {
            return self.leave(a, exit).await;
        }
        self.shared.update(|s| s.state = ProjectionState::Active);
        tracing::info!(projection = %self.name, live = ?a.live.as_ref().map(|l| l.generation), building = ?a.building.as_ref().map(|l| l.generation), "projection active");
        let mut stretch = Stretch { r: self, a };
        let exit = drive(&mut stretch).await;
        let Stretch { r, a } = stretch;
        r.leave(a, exit).await
    }

    /// Ends an active stretch: `None` stands by, `Some` ends the runner.
    async fn leave(&self, a: Active, exit: Option<ProjectionExit>) -> Option<ProjectionExit> {
        if let Err(error) = a.hold.release().await {
            tracing::warn!(projection = %self.name, %error, "releasing the lease failed");
        }
        exit
    }

    /// Reads the plan and opens the lanes it names that are not open yet.
    async fn replan(&self, a: &mut Active) -> Result<(), Option<ProjectionExit>> {
        a.plan_due = Instant::from_std(disco_core::clock::deadline_after(
            self.options.takeover_poll,
        ));
        let plan = self.read_model.plan().await.map_err(|e| self.failed(e))?;
        if let Some(live_version) = plan.retired_by {
            return Err(Some(ProjectionExit::Retired { live_version }));
        }
        let token = a.hold.lease().token();
        if let Some(generation) = plan.live {
            // Another partition's runner switched to the generation this
            // one was building: its lane goes on as the live one.
            if a.live.as_ref().map(|l| l.generation) != Some(generation)
                && a.building.as_ref().map(|l| l.generation) == Some(generation)
            {
                a.live = a.building.take();
                if let Some(lane) = &a.live {
                    self.shared.reset(lane.position);
                }
            }
            if a.live.as_ref().map(|l| l.generation) != Some(generation) {
                let lane = self
                    .lane(generation, &a.claim, token)
                    .await
                    .map_err(|e| self.failed(e))?;
                self.shared.reset(lane.position);
                a.live = Some(lane);
            }
        }
        if let Some(generation) = plan.building {
            if a.building.as_ref().map(|l| l.generation) != Some(generation) {
                let lane = self
                    .lane(generation, &a.claim, token)
                    .await
                    .map_err(|e| self.failed(e))?;
                a.building = Some(lane);
            }
        }
        self.shared.update(|s| {
            s.generation = a.live.as_ref().map(|l| l.generation);
            s.building = a.building.as_ref().map(|l| (l.generation, l.position));
        });
        self.check_count(a).await
    }

    /// Stops a partition's runner whose count was replaced, when it has
    /// nothing to write: a write would refuse it, but an idle runner (its
    /// partition caught up before the new count took over) writes nothing.
    /// A failed read only waits for the next plan.
    async fn check_count(&self, a: &Active) -> Result<(), Option<ProjectionExit>> {
        let Some(part) = &self.part else {
            return Ok(());
        };
        let rows = match self.read_model.partitions().await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(projection = %self.name, %error, "reading the partitions' rows failed");
                return Ok(());
            }
        };
        for lane in [a.live.as_ref(), a.building.as_ref()].into_iter().flatten() {
            // Invariant: a runner runs while its count is its generation's current one.
            let other = rows.iter().find(|row| {
                row.generation == lane.generation
                    && row.current
                    && row.slot.count != part.slot.count
            });
            if let Some(row) = other {
                let error = ProjectionError::Repartitioned {
                    name: self.name.clone(),
                    generation: lane.generation,
                    partitions: row.slot.count,
                };
                self.shared
                    .update(|s| s.last_error = Some(error.to_string()));
                return Err(self.failed(error));
            }
        }
        Ok(())
    }

    fn failed(&self, error: ProjectionError) -> Option<ProjectionExit> {
        match error {
            ProjectionError::Fenced { .. } => None,
            error => Some(ProjectionExit::Failed {
                position: self.shared.progress.position(),
                event_id: error.event_id(),
                error: error.to_string(),
            }),
        }
    }

    /// A graceful stop: the positions seen are saved.
    async fn stop(&self, a: &mut Active) -> Option<ProjectionExit> {
        // Stopping either way; a fenced runner has nothing to save.
        let _ = self.save_seen(a).await;
        let position = a.live.as_ref().map_or(0, |l| l.position);
        tracing::info!(projection = %self.name, position, "projection stopped");
        Some(ProjectionExit::Stopped { position })
    }

    /// When a lane's seen-only position is next due to be written.
    fn save_due(&self, a: &Active) -> Option<Instant> {
        [a.live.as_ref(), a.building.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|l| l.save_due(self.options.save_seen_every))
            .min()
    }

    async fn obey(&self, command: Control, a: &mut Active) -> Result<(), Option<ProjectionExit>> {
        match command {
            Control::Stop => Err(self.stop(a).await),
            Control::Reset(reply) if self.part.is_some() => {
                let _ = reply.send(Err(ProjectionError::Invalid(
                    "a partitioned projection is rebuilt (blue-green), not reset in place".into(),
                )));
                Ok(())
            }
            Control::Reset(reply) => {
                let Some(live) = a.live.as_mut() else {
                    let _ = reply.send(Err(ProjectionError::Invalid(
                        "this runner has no live generation to reset".into(),
                    )));
                    return Ok(());
                };
                let reset = self.read_model.reset(live.generation, &a.claim).await;
                if reset.is_ok() {
                    tracing::info!(projection = %self.name, generation = live.generation, "projection reset to position 0");
                    live.feed = self.subscribe(0);
                    live.position = 0;
                    self.shared.reset(0);
                }
                let _ = reply.send(reset);
                Ok(())
            }
            Control::Rebuild(reply) => {
                let requested = self.read_model.request_rebuild().await;
                let _ = reply.send(requested);
                self.replan(a).await
            }
        }
    }

    /// A lane's feed moved: apply a batch, or note what was seen.
    async fn progressed(
        &self,
        a: &mut Active,
        live: bool,
        moved: Moved,
    ) -> Result<(), Option<ProjectionExit>> {
        let claim = a.claim.clone();
        let slot = if live { &mut a.live } else { &mut a.building };
        let Some(lane) = slot.as_mut() else {
            return Ok(());
        };
        let ended = match moved {
            Moved::Seen(seen) => {
                lane.position = lane.position.max(seen);
                None
            }
            Moved::Batch(batch, seen) => {
                let batch = self.own(lane.inherited.as_ref(), batch);
                let applied = batch.len() as u64;
                match self.apply(lane.generation, &claim, batch, seen).await {
                    Ok(()) => {
                        lane.position = seen;
                        lane.stored = seen;
                        lane.saved_at = Instant::now();
                        self.shared
                            .update(|s| s.applied = s.applied.saturating_add(applied));
                        None
                    }
                    Err(LaneEnd::Failed(id, error, Some(committed))) => {
                        lane.position = committed;
                        lane.stored = committed;
                        Some(LaneEnd::Failed(id, error, None))
                    }
                    Err(end) => Some(end),
                }
            }
        };
        let position = lane.position;
        let generation = lane.generation;
        match ended {
            None => {}
            Some(LaneEnd::Fenced) => return Err(None),
            Some(LaneEnd::Retired) => {
                *slot = None;
                return self.after_retired(a, live).await;
            }
            Some(LaneEnd::Failed(event_id, error, _)) => {
                return Err(self.lane_failed(live, position, event_id, error));
            }
        }
        if live {
            self.shared.advance(position);
        } else {
            self.shared
                .update(|s| s.building = Some((generation, position)));
            self.maybe_switch(a).await?;
        }
        Ok(())
    }

    /// Ends the runner for a lane that failed at `position`.
    fn lane_failed(
        &self,
        live: bool,
        position: u64,
        event_id: Option<Uuid>,
        error: String,
    ) -> Option<ProjectionExit> {
        if live {
            self.shared.advance(position);
        }
        self.shared.update(|s| s.last_error = Some(error.clone()));
        Some(ProjectionExit::Failed {
            position,
            event_id,
            error,
        })
    }

    /// A lane's generation was retired by someone else's switch.
    async fn after_retired(
        &self,
        a: &mut Active,
        live: bool,
    ) -> Result<(), Option<ProjectionExit>> {
        tracing::info!(projection = %self.name, live, "generation retired; re-reading the plan");
        self.replan(a).await?;
        if a.live.is_none() && a.building.is_none() {
            return Err(Some(ProjectionExit::Retired {
                live_version: self.read_model.version(),
            }));
        }
        Ok(())
    }

    /// Writes each lane's position when it is ahead of its row's (the
    /// filter let nothing through since the last batch).
    /// `Err` as from [`Runner::replan`]: fenced off (stand by), or
    /// repartitioned (stop).
    async fn save_seen(&self, a: &mut Active) -> Result<(), Option<ProjectionExit>> {
        let claim = a.claim.clone();
        for lane in [a.live.as_mut(), a.building.as_mut()].into_iter().flatten() {
            lane.saved_at = Instant::now();
            if lane.position <= lane.stored {
                continue;
            }
            match self
                .write(lane.generation, &claim, Vec::new(), lane.position)
                .await
            {
                Ok(()) => lane.stored = lane.position,
                Err(
                    error
                    @ (ProjectionError::Fenced { .. } | ProjectionError::Repartitioned { .. }),
                ) => {
                    self.shared
                        .update(|s| s.last_error = Some(error.to_string()));
                    return Err(self.failed(error));
                }
                Err(error) => {
                    tracing::warn!(projection = %self.name, %error, "saving the position seen failed")
                }
            }
        }
        Ok(())
    }

    /// One read-model transaction: `events` applied and `seen` stored, for
    /// the whole generation or this runner's partition of it.
    async fn write(
        &self,
        generation: u32,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        match &self.part {
            Some(part) => {
                self.read_model
                    .apply_partition(generation, part.slot, claim, events, seen)
                    .await
            }
            None => self.read_model.apply(generation, claim, events, seen).await,
        }
    }

    /// Switches to the building generation once it has seen the head.
    async fn maybe_switch(&self, a: &mut Active) -> Result<(), Option<ProjectionExit>> {
        let Some((generation, position)) = a.building.as_ref().map(|l| (l.generation, l.position))
        else {
            return Ok(());
        };
        let head = match self.store.head_position().await {
            Ok(head) => head,
            Err(_) => return Ok(()),
        };
        if position < head {
            return Ok(());
        }
        // The switch compares stored positions (a partition's, the other
        // partitions'): store what was seen first.
        self.save_seen(a).await?;
        let switched = match &self.part {
            Some(part) => {
                self.read_model
                    .switch_partition(generation, part.slot, &a.claim)
                    .await
            }
            None => self.read_model.switch(generation, &a.claim).await,
        };
        match switched {
            Ok(true) => {
                tracing::info!(projection = %self.name, generation, "switched to the rebuilt generation");
                a.live = a.building.take();
                let position = a.live.as_ref().map_or(0, |l| l.position);
                self.shared.reset(position);
                self.shared.update(|s| {
                    s.generation = Some(generation);
                    s.building = None;
                });
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(error) => Err(self.failed(error)),
        }
    }

    /// The events of `batch` this runner applies: a partition's own (a
    /// custom key is checked here; a stream key was filtered by the store),
    /// less those the count it replaced had applied already.
    fn own(
        &self,
        inherited: Option<&Inherited>,
        mut batch: Vec<RecordedEvent>,
    ) -> Vec<RecordedEvent> {
        let Some(part) = &self.part else {
            return batch;
        };
        batch.retain(|event| {
            if !part.key.owns(event) {
                return false;
            }
            // Invariant: an event the replaced count had applied is not applied again.
            !inherited.is_some_and(|old| {
                let index = Partition::of_key(&part.key.key_of(event), old.count);
                old.covers(index, event.position)
            })
        });
        batch
    }

    /// Applies a batch under the error policy (see the module's invariants).
    async fn apply(
        &self,
        generation: u32,
        claim: &str,
        batch: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), LaneEnd> {
        let mut work = VecDeque::from([(batch, seen)]);
        let mut committed = None;
        while let Some((mut batch, seen)) = work.pop_front() {
            let mut retries = self.options.error_policy.start();
            loop {
                let error = match self.write(generation, claim, batch.clone(), seen).await {
                    Ok(()) => {
                        committed = Some(seen);
                        break;
                    }
                    Err(ProjectionError::Fenced { .. }) => return Err(LaneEnd::Fenced),
                    Err(error @ ProjectionError::Repartitioned { .. }) => {
                        return Err(LaneEnd::Failed(None, error.to_string(), committed))
                    }
                    Err(ProjectionError::GenerationRetired { .. }) => return Err(LaneEnd::Retired),
                    Err(error) => error,
                };
                let failing = error.event_id();
                if let (Some(id), true) = (failing, batch.len() > 1) {
                    // Split: the events before the failing one commit, then
                    // it is retried alone, then the rest.
                    let at = batch.iter().position(|e| e.id == id).unwrap_or(0);
                    let rest = batch.split_off(at.saturating_add(1).min(batch.len()));
                    let Some(one) = batch.pop() else { break };
                    if !rest.is_empty() {
                        work.push_front((rest, seen));
                    }
                    let one_seen = if work.is_empty() { seen } else { one.position };
                    work.push_front((vec![one], one_seen));
                    if let Some(last) = batch.last() {
                        let before_seen = last.position;
                        work.push_front((batch, before_seen));
                    }
                    break;
                }
                let message = error.to_string();
                self.shared.update(|s| s.last_error = Some(message.clone()));
                let Some(backoff) = retries.failed() else {
                    match (retries.after(), failing, batch.first()) {
                        (AfterRetries::Skip, Some(id), Some(event)) => {
                            tracing::warn!(projection = %self.name, event_id = %id, position = event.position, error = %message, "event failed after its retries; skipping it");
                            batch.clear();
                            retries = self.options.error_policy.start();
                            continue;
                        }
                        _ => {
                            tracing::error!(projection = %self.name, event_id = ?failing, error = %message, retries = retries.failures(), "projection failed after its retries; stopping");
                            return Err(LaneEnd::Failed(failing, message, committed));
                        }
                    }
                };
                tracing::warn!(projection = %self.name, event_id = ?failing, error = %message, retry_in = ?backoff, "projection batch failed; retrying");
                // The batch rolled back: nothing of it stayed.
                tokio::time::sleep(backoff).await;
            }
        }
        Ok(())
    }
}

/// The projection's active stretch: the runner and its lanes.
struct Stretch<'r> {
    r: &'r mut Runner,
    a: Active,
}

impl Work for Stretch<'_> {
    type Command = Control;
    type End = Option<ProjectionExit>;

    fn batch_size(&self) -> usize {
        self.r.options.batch_size
    }

    /// A batch is a read-model transaction: a look at the clock costs
    /// nothing beside it.
    fn clock_every(&self) -> u32 {
        1
    }

    fn hold(&self) -> &Holding {
        &self.a.hold
    }

    async fn renew(&mut self) -> bool {
        matches!(self.a.hold.renew().await, Ok(true))
    }

    fn lease_lost(&mut self) -> Option<ProjectionExit> {
        None
    }

    fn parts(&mut self) -> Parts<'_, Control> {
        Parts {
            commands: &mut self.r.commands,
            feeds: [
                self.a.live.as_mut().map(|l| &mut l.feed),
                self.a.building.as_mut().map(|l| &mut l.feed),
            ],
        }
    }

    fn due_at(&self) -> Instant {
        let plan = self.a.plan_due;
        self.r.save_due(&self.a).map_or(plan, |save| save.min(plan))
    }

    async fn due(&mut self) -> Result<(), Option<ProjectionExit>> {
        let (r, a) = (&*self.r, &mut self.a);
        let now = Instant::now();
        if now >= a.plan_due {
            r.replan(a).await?;
            // A rebuilt generation's partitions reach the head apart: the
            // last one's switch may have waited for another's.
            r.maybe_switch(a).await?;
        }
        if r.save_due(a).is_some_and(|due| now >= due) {
            r.save_seen(a).await?;
        }
        Ok(())
    }

    async fn obey(&mut self, command: Control) -> Result<(), Option<ProjectionExit>> {
        self.r.obey(command, &mut self.a).await
    }

    async fn stop(&mut self) -> Option<ProjectionExit> {
        self.r.stop(&mut self.a).await
    }

    async fn events(
        &mut self,
        lane: Feed,
        events: &mut Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), Option<ProjectionExit>> {
        let batch = Moved::Batch(std::mem::take(events), seen);
        self.r
            .progressed(&mut self.a, lane == Feed::First, batch)
            .await
    }

    async fn seen(&mut self, lane: Feed, seen: u64) -> Result<(), Option<ProjectionExit>> {
        let moved = Moved::Seen(seen);
        self.r
            .progressed(&mut self.a, lane == Feed::First, moved)
            .await
    }

    async fn feed_failed(&mut self, lane: Feed, error: String) -> Option<ProjectionExit> {
        let live = lane == Feed::First;
        let slot = if live { &self.a.live } else { &self.a.building };
        let position = slot.as_ref().map_or(0, |l| l.position);
        self.r.lane_failed(live, position, None, error)
    }
}

impl Serve for Runner {
    type Exit = ProjectionExit;

    fn lease(&self) -> (String, Duration, Duration) {
        let options = &self.options;
        (
            self.lease_name.clone(),
            options.lease_ttl,
            options.takeover_poll,
        )
    }

    fn standing_by(&mut self) {
        self.shared.update(|s| s.state = ProjectionState::Standby);
    }

    fn stopped(&self) -> ProjectionExit {
        ProjectionExit::Stopped {
            position: self.shared.progress.position(),
        }
    }

    async fn active(&mut self, lease: Box<dyn Lease>) -> Stretched<ProjectionExit> {
        match self.stretch(lease).await {
            Some(exit) => Stretched::Ended(exit),
            None => {
                tracing::warn!(projection = %self.name, "projection lost its claim; standing by");
                Stretched::LeaseLost
            }
        }
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
            Control::Reset(reply) => {
                let _ = reply.send(Err(ProjectionError::Invalid(
                    "a standby cannot reset: the active runner holds the projection".into(),
                )));
                true
            }
            Control::Rebuild(reply) => {
                // The active runner (wherever it runs) picks it up.
                let _ = reply.send(self.read_model.request_rebuild().await);
                true
            }
        }
    }

    /// A standby's progress is the live generation's committed position.
    async fn held_elsewhere(&mut self) {
        if let Ok(rows) = self.read_model.generations().await {
            if let Some(live) = rows.iter().find(|r| r.state == GenerationState::Live) {
                self.shared.advance(live.position);
            }
        }
    }

    fn try_failed(&mut self, error: &disco_core::Error) {
        tracing::warn!(projection = %self.name, %error, "taking the lease failed");
        self.shared
            .update(|s| s.last_error = Some(error.to_string()));
    }
}
