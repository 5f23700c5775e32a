//! [`ProcessManagerConsumer`]: runs a process manager as a consumer, and
//! the handler that takes each event through an instance's step, its
//! commands and their refusals.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use disco_core::{ExpectedVersion, RecordedEvent, StreamId};
use disco_runtime::consumer::{
    Consumer, ConsumerHandle, ConsumerOptions, ErrorPolicy, Handler, HandlerError,
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

    /// Starts the runner (a standby while another process holds the lease).
    pub fn start(self, orchestrator: Arc<Orchestrator>) -> disco_core::Result<ConsumerHandle> {
        let store = orchestrator.store().clone();
        Consumer::new(
            P::NAME,
            ProcessHandler::<P> {
                orchestrator,
                process: PhantomData,
            },
        )
        .options(self.options)
        .start(store)
    }
}

/// The consumer's handler for `P`.
pub(crate) struct ProcessHandler<P> {
    pub(crate) orchestrator: Arc<Orchestrator>,
    pub(crate) process: PhantomData<fn() -> P>,
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
        let store = self.orchestrator.store().clone();
        let loaded = step::load::<P>(&*store, &stream).await?;
        // An event whose step is the last one may be delivered again (a
        // crash before its commands were all sent): it goes on below.
        let again = loaded.last_trigger == Some(event.id);
        if !again && (loaded.done || (loaded.version == 0 && !starts)) {
            return Ok(());
        }
        let context = CommandContext::caused_by_event(event);
        let mut after = loaded.state.clone();
        after.apply(&decoded);
        let step_id = derive(P::NAME, event.id, Purpose::Step, 0);
        let step = step::step_event(step_id, event.id, &after, stops, &context)?;
        // Invariant: one step per event: a step stored before answers this append as a retry (rule 6) and writes nothing.
        let written = store
            .append(&stream, ExpectedVersion::Any, vec![step])
            .await?;
        let (before, after, refused) = if written.last_version > loaded.version {
            (loaded.state, after, Default::default())
        } else {
            // Delivered again: decide from the state before the stored step.
            let (before, after) =
                step::around::<P>(&*store, &stream, written.first_version).await?;
            let refused = step::refusals(&*store, &stream, written.first_version, event.id).await?;
            (before, after, refused)
        };
        let commands = before.handle(&decoded);
        for (index, command) in commands.iter().enumerate() {
            let index = index as u64;
            let command_id = derive(P::NAME, event.id, Purpose::Command, index);
            let reason = match refused.get(&index) {
                Some(reason) => reason.clone(),
                None => match self.send(command, &context, command_id).await? {
                    Ran::Done => continue,
                    Ran::Refused(rejection) => {
                        let reason = rejection.to_string();
                        let id = derive(P::NAME, event.id, Purpose::Refused, index);
                        let record = step::refused_event(id, event.id, index, &reason, &context)?;
                        store
                            .append(&stream, ExpectedVersion::Any, vec![record])
                            .await?;
                        tracing::info!(process = P::NAME, %instance, command = ?command, %reason, "command refused; compensating");
                        reason
                    }
                },
            };
            for (j, compensation) in after.refused(command, &reason).iter().enumerate() {
                let id = derive(P::NAME, command_id, Purpose::Compensation, j as u64);
                if let Ran::Refused(rejection) = self.send(compensation, &context, id).await? {
                    tracing::error!(process = P::NAME, %instance, command = ?compensation, error = %rejection, "a compensating command was refused");
                }
            }
        }
        Ok(())
    }
}

impl<P: ProcessManager> ProcessHandler<P> {
    /// Sends `command` with id `id`, caused by the event of `context`.
    async fn send(
        &self,
        command: &Command,
        context: &CommandContext,
        id: disco_core::Uuid,
    ) -> Result<Ran, HandlerError> {
        let mut context = context.clone();
        context.command_id = id;
        context.idempotent = true;
        Ok(command.run(self.orchestrator.clone(), context).await?)
    }
}
