//! [`Aggregate`] and [`DomainEvent`]: the domain side of the CQRS layer, and
//! how its events are stored (JSON data, JSON metadata with the schema
//! version and the correlation and causation ids).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use disco_core::{NewEvent, RecordedEvent, Uuid};

use crate::errors::CodecError;

/// A consistency boundary: its state is the fold of its events, and it
/// decides a command's events from that state alone.
///
/// ```
/// use disco::cqrs::{Aggregate, DomainEvent};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Counter { value: u64 }
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// enum CounterEvent { Added(u64) }
///
/// impl DomainEvent for CounterEvent {
///     fn event_type(&self) -> &'static str { "Added" }
/// }
///
/// #[derive(Debug, PartialEq, thiserror::Error)]
/// #[error("too big")]
/// struct TooBig;
///
/// impl Aggregate for Counter {
///     const NAME: &'static str = "counter";
///     type Command = u64;
///     type Event = CounterEvent;
///     type Error = TooBig;
///     fn handle(&self, n: u64) -> Result<Vec<CounterEvent>, TooBig> {
///         if self.value + n > 100 { return Err(TooBig); }
///         Ok(vec![CounterEvent::Added(n)])
///     }
///     fn apply(&mut self, CounterEvent::Added(n): &CounterEvent) { self.value += n; }
/// }
/// ```
pub trait Aggregate: Default + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The aggregate's name; its streams are `"{NAME}-{id}"`.
    const NAME: &'static str;
    /// Take a snapshot every this many events (0: never).
    const SNAPSHOT_EVERY: u64 = 0;
    /// What it is asked to do. `Clone`, because a command that met a
    /// concurrent write runs again on the fresher state.
    type Command: Clone + Send + Sync + 'static;
    /// What it records.
    type Event: DomainEvent;
    /// Why it refuses a command.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Decides the events of `command`, or refuses it.
    fn handle(&self, command: Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Folds one event into the state.
    fn apply(&mut self, event: &Self::Event);
}

/// An event type of an aggregate: a serde type with a stable name per kind
/// of event and a schema version, and the upcaster that reads older shapes.
pub trait DomainEvent: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The version of the shape written now. Bump it when the shape
    /// changes, and teach [`DomainEvent::upcast`] the old one.
    const SCHEMA_VERSION: u32 = 1;

    /// The stable name of this event's kind, stored as its event type.
    fn event_type(&self) -> &'static str;

    /// Turns a stored payload of `event_type` written at `version` (older
    /// than [`DomainEvent::SCHEMA_VERSION`]) into the current shape. The
    /// default keeps it as it is.
    fn upcast(
        event_type: &str,
        version: u32,
        payload: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let _ = (event_type, version);
        Ok(payload)
    }
}

/// The metadata stored with every event the CQRS layer writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The payload's schema version.
    pub schema_version: u32,
    /// The id shared by everything one request caused.
    pub correlation_id: Uuid,
    /// The id of the command that caused the event.
    pub causation_id: Uuid,
}

/// Where a command comes from: its id, and the correlation id it carries
/// (its own id when it starts a new conversation).
///
/// ```
/// use disco::cqrs::CommandContext;
/// let first = CommandContext::new();
/// let caused = first.caused();
/// assert_eq!(caused.correlation_id, first.correlation_id);
/// assert_eq!(caused.causation_id, Some(first.command_id));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandContext {
    /// This command's id.
    pub command_id: Uuid,
    /// The conversation's id.
    pub correlation_id: Uuid,
    /// The command or event that caused this one, if any.
    pub causation_id: Option<Uuid>,
}

impl Default for CommandContext {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandContext {
    /// A new command that starts its own conversation.
    pub fn new() -> Self {
        let id = Uuid::now_v7();
        CommandContext {
            command_id: id,
            correlation_id: id,
            causation_id: None,
        }
    }

    /// A new command caused by this one, in the same conversation.
    pub fn caused(&self) -> Self {
        CommandContext {
            command_id: Uuid::now_v7(),
            correlation_id: self.correlation_id,
            causation_id: Some(self.command_id),
        }
    }

    /// A new command caused by a stored event (a process manager's).
    pub fn caused_by_event(event: &RecordedEvent) -> Self {
        let correlation = serde_json::from_slice::<Metadata>(&event.metadata)
            .map(|m| m.correlation_id)
            .unwrap_or(event.id);
        CommandContext {
            command_id: Uuid::now_v7(),
            correlation_id: correlation,
            causation_id: Some(event.id),
        }
    }
}

/// Encodes an event for the store under `context`.
pub fn encode<E: DomainEvent>(event: &E, context: &CommandContext) -> Result<NewEvent, CodecError> {
    let data = serde_json::to_vec(event)
        .map_err(|e| CodecError(format!("the event does not serialize: {e}")))?;
    let metadata = Metadata {
        schema_version: E::SCHEMA_VERSION,
        correlation_id: context.correlation_id,
        causation_id: context.command_id,
    };
    let metadata = serde_json::to_vec(&metadata)
        .map_err(|e| CodecError(format!("the metadata does not serialize: {e}")))?;
    Ok(NewEvent::new(event.event_type(), data).with_metadata(metadata))
}

/// Decodes a stored event, upcasting older payloads; also gives its metadata
/// when it has disco's.
pub fn decode<E: DomainEvent>(event: &RecordedEvent) -> Result<(E, Option<Metadata>), CodecError> {
    let metadata = serde_json::from_slice::<Metadata>(&event.metadata).ok();
    let version = metadata.as_ref().map_or(1, |m| m.schema_version);
    let undecodable = |e: String| {
        CodecError(format!(
            "event {} ({} v{version} at {} of {}) does not decode: {e}",
            event.id, event.event_type, event.version, event.stream_id
        ))
    };
    let domain = if version < E::SCHEMA_VERSION {
        let payload: serde_json::Value =
            serde_json::from_slice(&event.data).map_err(|e| undecodable(e.to_string()))?;
        let current = E::upcast(&event.event_type, version, payload).map_err(undecodable)?;
        serde_json::from_value(current).map_err(|e| undecodable(e.to_string()))?
    } else {
        serde_json::from_slice(&event.data).map_err(|e| undecodable(e.to_string()))?
    };
    Ok((domain, metadata))
}
