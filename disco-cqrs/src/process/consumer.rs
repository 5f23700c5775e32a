//! [`ProcessManagerConsumer`]: runs a process manager as a consumer, and
//! the handler that takes each event through an instance's step, its
//! commands and their refusals.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use disco_core::{ExpectedVersion, RecordedEvent, StreamId};
use disco_runtime::consumer::{
    Consumer, ConsumerHandle, ConsumerOptions, ErrorPolicy, Handler, HandlerError,
    PartitionedConsumer, PartitionedHandle,
};

use super::command::{Command, Ran};
use super::ids::{derive, Purpose};
use super::step;
use super::{ProcessManager, Route};
use crate::aggregate::CommandContext;
use crate::orchestrator::Orchestrator;

/// Runs process manager `P` as a consumer named `P::NAME` over an
/// orchestrator's store, dispatching through the orchestrator (so every
/// aggregate `P` commands must be registered in it).
///
/// ```
/// # async fn demo(app: std::sync::Arc<disco::cqrs::Orchestrator>) -> disco::Result<()> {
/// # #[derive(Clone, Default, serde::Serialize, serde::Deserialize)] struct Mirror;
/// # impl disco::cqrs::process::ProcessManager for Mirror {
/// #     const NAME: &'static str = "mirror"; type Event = ();
/// #     fn decode(_: &disco::RecordedEvent) -> Option<Result<(), disco::cqrs::CodecError>> { None }
/// #     fn route(_: &()) -> disco::cqrs::process::Route { disco::cqrs::process::Route::Ignore }
/// #     fn handle(&self, _: &()) -> Vec<disco::cqrs::process::Command> { Vec::new() }
/// #     fn apply(&mut self, _: &()) {}
/// # }
/// use disco::consumer::ErrorPolicy;
/// use disco::cqrs::process::ProcessManagerConsumer;
/// let handle = ProcessManagerConsumer::<Mirror>::new()
///     .error_policy(ErrorPolicy::default().retries(5))
///     .start(app)?;
/// // handle.status(), handle.wait_for(position, timeout), handle.stop()
/// # handle.stop().await; Ok(()) }
/// ```
pub struct ProcessManagerConsumer<P> {
    options: ConsumerOptions,
    process: PhantomData<fn() -> P>,
}

impl<P: ProcessManager> Default for ProcessManagerConsumer<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: ProcessManager> ProcessManagerConsumer<P> {
    /// With the default consumer options and `P::filter()`.
    pub fn new() -> Self {
        ProcessManagerConsumer {
            options: ConsumerOptions {
                filter: P::filter(),
                ..ConsumerOptions::default()
            },
            process: PhantomData,
        }
    }

    /// How failures (other than refusals) are retried.
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.options.error_policy = policy;
        self
    }

    /// Replaces every consumer option (the filter included).
    pub fn options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts this process's member of the process manager split into
    /// `partitions` by instance: events of one instance are handled in
    /// order by one runner at a time, instances of different partitions at
    /// once, the partitions shared among the processes that run it (see
    /// [`PartitionedConsumer`]). Its progress (the lowest of its
    /// partitions') is registered with the orchestrator under `P::NAME`.
    pub fn start_partitioned(
        self,
        orchestrator: Arc<Orchestrator>,
        partitions: u32,
    ) -> disco_core::Result<PartitionedHandle> {
        let store = orchestrator.store().clone();
        let handle = PartitionedConsumer::new(
            P::NAME,
            partitions,
            ProcessHandler::<P> {
                orchestrator: orchestrator.clone(),
                instances: Instances::new(),
            },
        )
        .keyed_by(instance_key::<P>)
        .options(self.options)
        .start(store)?;
        orchestrator.add_read_model(handle.progress());
        Ok(handle)
    }

    /// Starts the runner (a standby while another process holds the lease),
    /// and registers its progress with the orchestrator under `P::NAME`, so
    /// [`DispatchOptions::strong`](crate::DispatchOptions::strong) may wait
    /// for it.
    pub fn start(self, orchestrator: Arc<Orchestrator>) -> disco_core::Result<ConsumerHandle> {
        let store = orchestrator.store().clone();
        let handle = Consumer::new(
            P::NAME,
            ProcessHandler::<P> {
                orchestrator: orchestrator.clone(),
                instances: Instances::new(),
            },
        )
        .options(self.options)
        .start(store)?;
        orchestrator.add_read_model(handle.progress());
        Ok(handle)
    }
}

/// The consumer's handler for `P`.
pub(crate) struct ProcessHandler<P> {
    pub(crate) orchestrator: Arc<Orchestrator>,
    pub(crate) instances: Instances<P>,
}

#[async_trait]
impl<P: ProcessManager> Handler for ProcessHandler<P> {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        let Some(decoded) = P::decode(event) else {
            return Ok(());
        };
        let decoded = decoded?;
        let (instance, starts, stops) = match P::route(&decoded) {
            Route::Ignore => return Ok(()),
            Route::Start(id) => (id, true, false),
            Route::Continue(id) => (id, false, false),
            Route::Stop(id) => (id, false, true),
        };
        let stream = StreamId::new(format!("{}-{instance}", P::NAME))?;
        let route = Routed {
            starts,
            stops,
            stream: &stream,
        };
        // A cached instance is checked by the store: the step it leads to
        // is appended at the version it was cached at, in the same atomic
        // append as the first command's events, so a stale one writes
        // nothing and is read again.
        let cached = self.instances.get(&stream);
        let from_cache = cached.is_some();
        let loaded = match cached {
            Some(instance) => instance,
            None => step::load::<P>(&**self.orchestrator.store(), &stream).await?,
        };
        let outcome = match self.react(event, &decoded, &route, loaded).await {
            Err(error) if from_cache && conflicted(&*error, &stream) => {
                self.instances.forget(&stream);
                let loaded = step::load::<P>(&**self.orchestrator.store(), &stream).await?;
                self.react(event, &decoded, &route, loaded).await
            }
            outcome => outcome,
        };
        match outcome {
            Ok(Some(instance)) => {
                self.instances.keep(&stream, instance);
                Ok(())
            }
            Ok(None) => {
                self.instances.forget(&stream);
                Ok(())
            }
            Err(error) => {
                self.instances.forget(&stream);
                Err(error)
            }
        }
    }
}

/// The partition key of an event for `P`: the instance it routes to (its
/// stream for an event `P` does not read).
fn instance_key<P: ProcessManager>(event: &RecordedEvent) -> String {
    match P::decode(event) {
        Some(Ok(decoded)) => match P::route(&decoded) {
            Route::Start(id) | Route::Continue(id) | Route::Stop(id) => id,
            Route::Ignore => event.stream_id.to_string(),
        },
        _ => event.stream_id.to_string(),
    }
}

/// Where an event goes and what it does there.
struct Routed<'a> {
    starts: bool,
    stops: bool,
    stream: &'a StreamId,
}

/// Whether `error` is the instance stream's expected-version check failing.
fn conflicted(error: &(dyn std::error::Error + 'static), stream: &StreamId) -> bool {
    let store_error = error.downcast_ref::<disco_core::Error>().or_else(|| {
        match error.downcast_ref::<crate::orchestrator::DispatchError>() {
            Some(crate::orchestrator::DispatchError::Store(e)) => Some(e),
            _ => None,
        }
    });
    matches!(store_error, Some(disco_core::Error::WrongExpectedVersion { stream: s, .. }) if s == stream)
}

/// The instances a handler has seen lately (bounded: forgotten all at once
/// when full).
pub(crate) struct Instances<P> {
    cached: Mutex<HashMap<StreamId, step::Instance<P>>>,
}

impl<P: Clone> Instances<P> {
    const CAPACITY: usize = 10_000;

    pub(crate) fn new() -> Self {
        Instances {
            cached: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StreamId, step::Instance<P>>> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, stream: &StreamId) -> Option<step::Instance<P>> {
        self.lock().get(stream).cloned()
    }

    fn keep(&self, stream: &StreamId, instance: step::Instance<P>) {
        let mut cached = self.lock();
        if cached.len() >= Self::CAPACITY && !cached.contains_key(stream) {
            cached.clear();
        }
        cached.insert(stream.clone(), instance);
    }

    fn forget(&self, stream: &StreamId) {
        self.lock().remove(stream);
    }
}

impl<P: ProcessManager> ProcessHandler<P> {
    /// Takes `event` through the instance as `loaded`; the instance after
    /// it, when it is known exactly (to cache).
    async fn react(
        &self,
        event: &RecordedEvent,
        decoded: &P::Event,
        route: &Routed<'_>,
        loaded: step::Instance<P>,
    ) -> Result<Option<step::Instance<P>>, HandlerError> {
        let store = self.orchestrator.store().clone();
        let stream = route.stream;
        let context = CommandContext::caused_by_event(event);
        if event.position <= loaded.last_position {
            // Delivered again (after a crash, before the checkpoint moved):
            // if the event made a step, its commands are sent again with the
            // same ids (no-ops); if it made none, it was ignored then too.
            let Some((version, before, after)) =
                step::find::<P>(&*store, stream, event.id, event.position).await?
            else {
                return Ok(Some(loaded));
            };
            let refused = step::refusals(&*store, stream, version, event.id).await?;
            let commands = before.handle(decoded);
            self.send_all(&commands, &after, &refused, event, stream, &context, None)
                .await?;
            return Ok(None);
        }
        if loaded.done || (loaded.version == 0 && !route.starts) {
            return Ok(Some(loaded));
        }
        let commands = loaded.state.handle(decoded);
        let mut after = loaded.state;
        after.apply(decoded);
        let step_id = derive(P::NAME, event.id, Purpose::Step, 0);
        let step = step::step_event(
            step_id,
            event.id,
            event.position,
            &after,
            route.stops,
            &context,
        )?;
        // The step goes to the store in one atomic append with the first
        // command's events; alone when that command wrote nothing (refused,
        // no events, or it ran before).
        // Invariant: one step per event: the instance must still be at the version it was read at.
        let step = (
            stream.clone(),
            ExpectedVersion::Exact(loaded.version),
            vec![step],
        );
        let mut first = None;
        let mut stepped = false;
        if let Some(command) = commands.first() {
            let id = derive(P::NAME, event.id, Purpose::Command, 0);
            let (ran, written) = self
                .send_along(command, &context, id, Some(step.clone()))
                .await?;
            first = Some(ran);
            stepped = written;
        }
        if !stepped {
            let (stream, expected, events) = step;
            store.append(&stream, expected, events).await?;
        }
        let recorded = self
            .send_all(
                &commands,
                &after,
                &BTreeMap::new(),
                event,
                stream,
                &context,
                first,
            )
            .await?;
        // A refusal record moved the stream past the step: read it again.
        Ok((!recorded).then(|| step::Instance {
            state: after,
            version: loaded.version.saturating_add(1),
            last_position: event.position,
            done: route.stops,
        }))
    }
}

impl<P: ProcessManager> ProcessHandler<P> {
    /// Sends `commands` (the first one's outcome already known when
    /// `first` is given), skipping those recorded as `refused`; records each
    /// new refusal, then sends what makes up for each refused command.
    #[allow(clippy::too_many_arguments)]
    async fn send_all(
        &self,
        commands: &[Command],
        after: &P,
        refused: &BTreeMap<u64, String>,
        event: &RecordedEvent,
        stream: &StreamId,
        context: &CommandContext,
        mut first: Option<Ran>,
    ) -> Result<bool, HandlerError> {
        let store = self.orchestrator.store();
        let mut recorded = false;
        for (index, command) in commands.iter().enumerate() {
            let index = index as u64;
            let command_id = derive(P::NAME, event.id, Purpose::Command, index);
            let reason = match refused.get(&index) {
                Some(reason) => reason.clone(),
                None => {
                    let ran = match first.take() {
                        Some(ran) if index == 0 => ran,
                        _ => self.send(command, context, command_id).await?,
                    };
                    let Ran::Refused(rejection) = ran else {
                        continue;
                    };
                    let reason = rejection.to_string();
                    let id = derive(P::NAME, event.id, Purpose::Refused, index);
                    let record = step::refused_event(id, event.id, index, &reason, context)?;
                    store
                        .append(stream, ExpectedVersion::Any, vec![record])
                        .await?;
                    recorded = true;
                    tracing::info!(process = P::NAME, %stream, command = ?command, %reason, "command refused; compensating");
                    reason
                }
            };
            for (j, compensation) in after.refused(command, &reason).iter().enumerate() {
                let id = derive(P::NAME, command_id, Purpose::Compensation, j as u64);
                if let Ran::Refused(rejection) = self.send(compensation, context, id).await? {
                    tracing::error!(process = P::NAME, %stream, command = ?compensation, error = %rejection, "a compensating command was refused");
                }
            }
        }
        Ok(recorded)
    }

    /// Sends `command` with id `id`, caused by the event of `context`.
    async fn send(
        &self,
        command: &Command,
        context: &CommandContext,
        id: disco_core::Uuid,
    ) -> Result<Ran, HandlerError> {
        Ok(self.send_along(command, context, id, None).await?.0)
    }

    /// [`Self::send`] with `along` appended atomically with the command's
    /// events; the flag says whether `along` was written.
    async fn send_along(
        &self,
        command: &Command,
        context: &CommandContext,
        id: disco_core::Uuid,
        along: Option<disco_core::AppendMany>,
    ) -> Result<(Ran, bool), HandlerError> {
        let mut context = context.clone();
        context.command_id = id;
        context.idempotent = true;
        Ok(command
            .run(self.orchestrator.clone(), context, along)
            .await?)
    }
}
