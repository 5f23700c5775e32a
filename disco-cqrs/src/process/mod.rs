//! Process managers: long-running reactions to events that dispatch
//! commands (a money transfer that debits one account, credits another and
//! makes up for a refusal).
//!
//! A [`ProcessManager`] says which events start, continue and stop an
//! instance ([`Route`], with the instance id taken from the event), folds
//! the events it has seen into its state, and decides the [`Command`]s to
//! dispatch. [`ProcessManagerConsumer`] runs it as a consumer (error
//! policy, lease, checkpoint) over an [`Orchestrator`](crate::Orchestrator).
//!
//! **Durable state.** Each instance has its own stream,
//! `"{NAME}-{instance}"`. Every event an instance reacts to appends one
//! step to it that holds the state after the event, so each step is the
//! instance's snapshot and loading an instance is one read of its last
//! step. A step of a stopping event marks the instance done; later events
//! for it are ignored.
//!
//! **Idempotent by construction.** The step's id is derived from (process
//! manager, event id); the `i`-th command's id from (process manager,
//! event id, `i`); the command's events' ids from the command's id
//! ([`event_id`](crate::event_id)). An event delivered again (after a
//! crash, before the checkpoint moved) finds its step stored (rule 6
//! answers the first append), decides the same commands from the state
//! before that step, and dispatches them with the same ids: each is a
//! no-op that answers its first outcome.
//!
//! **Refusals.** A refused command is recorded in the instance's stream
//! (with an id derived from the event and the command's index) before the
//! commands that make up for it ([`ProcessManager::refused`]) are
//! dispatched, so a redelivered event neither runs a refused command again
//! nor compensates twice. A failure that is not a refusal (the store, a
//! conflict that outlasted its retries) fails the event, which the
//! consumer's error policy retries.
//!
//! **Causation.** Every command carries the triggering event's id as its
//! causation, the event's correlation id and its custom metadata; the
//! events the command writes carry the same causation
//! ([`Metadata::causation_id`](crate::Metadata::causation_id)) and the
//! command's id ([`Metadata::command_id`](crate::Metadata::command_id)).

mod command;
mod consumer;
mod ids;
mod step;

pub use command::Command;
pub use consumer::ProcessManagerConsumer;

use serde::de::DeserializeOwned;
use serde::Serialize;

use disco_core::{EventFilter, RecordedEvent};

use crate::aggregate::Aggregate;
use crate::envelope::Envelope;
use crate::errors::CodecError;

/// What an event does to an instance of a process manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Starts the instance with this id (or continues it if it runs).
    Start(String),
    /// Continues the instance with this id; ignored if none runs.
    Continue(String),
    /// Handles the event, then ends the instance; ignored if none runs.
    Stop(String),
    /// Not for this process manager.
    Ignore,
}

/// A process manager: its state is the fold of the events it reacted to,
/// and it decides the commands each event calls for.
///
/// ```
/// use disco::cqrs::doc_fixture::{Added, Counter};
/// use disco::cqrs::process::{events_of, Command, ProcessManager, Route};
/// use disco::cqrs::{CodecError, Envelope};
///
/// /// Doubles every addition to a counter onto its "-double" counter.
/// #[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
/// struct Mirror { seen: u64 }
///
/// impl ProcessManager for Mirror {
///     const NAME: &'static str = "mirror";
///     type Event = Envelope<Added>;
///     fn decode(event: &disco::RecordedEvent) -> Option<Result<Envelope<Added>, CodecError>> {
///         // the counters' events, with the counter's id; not the doubles'
///         events_of::<Counter>(event).filter(|_| !event.stream_id.as_str().ends_with("-double"))
///     }
///     fn route(added: &Envelope<Added>) -> Route { Route::Start(added.aggregate_id.clone()) }
///     fn handle(&self, added: &Envelope<Added>) -> Vec<Command> {
///         let Added(n) = added.event;
///         vec![Command::to::<Counter>(format!("{}-double", added.aggregate_id), 2 * n)]
///     }
///     fn apply(&mut self, _: &Envelope<Added>) { self.seen += 1; }
/// }
/// ```
pub trait ProcessManager:
    Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// Its name: the consumer's name, and the prefix of its instances'
    /// streams (`"{NAME}-{instance}"`); distinct from every aggregate's.
    const NAME: &'static str;

    /// The events it reacts to (often an enum over several aggregates').
    type Event: Send + Sync;

    /// The event as [`Self::Event`], `None` for events it does not read
    /// (see [`events_of`]); a payload that does not decode is an error.
    fn decode(event: &RecordedEvent) -> Option<Result<Self::Event, CodecError>>;

    /// Which instance the event is for, and what it does to it.
    fn route(event: &Self::Event) -> Route;

    /// The commands `event` calls for, decided on the state before it.
    fn handle(&self, event: &Self::Event) -> Vec<Command>;

    /// Folds `event` into the state.
    fn apply(&mut self, event: &Self::Event);

    /// The commands that make up for `command`, refused for `reason` (the
    /// refusal's message, as recorded: a redelivered event decides the same
    /// compensation), on the state after the event that decided it. None
    /// by default.
    fn refused(&self, command: &Command, reason: &str) -> Vec<Command> {
        let _ = (command, reason);
        Vec::new()
    }

    /// Which events the consumer reads (every event by default; narrowing
    /// it by type saves decoding).
    fn filter() -> EventFilter {
        EventFilter::default()
    }
}

/// `event` decoded as an event of aggregate `A`, in an [`Envelope`] that
/// names the aggregate (`"account-7"` gives `aggregate_id` `"7"`), if it
/// belongs to one of `A`'s streams (`"{A::NAME}-..."`); `None` otherwise.
///
/// ```
/// use disco::cqrs::doc_fixture::{Added, Counter};
/// use disco::cqrs::process::events_of;
/// use disco::cqrs::{encode, CommandContext};
///
/// let new = encode(&Added(3), &CommandContext::new()).unwrap();
/// let stream = disco::StreamId::new("counter-7").unwrap();
/// let recorded = disco::RecordedEvent::recorded(new, stream, 1, 1, disco::Timestamp::from_micros(1));
/// let added = events_of::<Counter>(&recorded).unwrap().unwrap();
/// assert_eq!((added.aggregate_id.as_str(), added.event), ("7", Added(3)));
/// ```
pub fn events_of<A: Aggregate>(
    event: &RecordedEvent,
) -> Option<Result<Envelope<A::Event>, CodecError>> {
    let id = event.stream_id.as_str().strip_prefix(A::NAME)?;
    let id = id.strip_prefix('-')?;
    Some(Envelope::decode(event, id))
}
