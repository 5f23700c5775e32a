//! [`Aggregate`] and [`DomainEvent`]: the domain side of the CQRS layer, and
//! how its events are stored (JSON data, JSON metadata with the schema
//! version and the correlation and causation ids).

use std::collections::BTreeMap;

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

    /// The tags [queries](disco_core::Query) find this event by
    /// (`"course:c1"`, `"email:ada@example.com"`): what a
    /// [`Decision`](crate::Decision)'s query reads. None by default.
    fn tags(&self) -> Vec<String> {
        Vec::new()
    }

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
    /// What caused the event: the command's own cause (the event a process
    /// manager reacted to, or the command that caused it), or the command's
    /// id when nothing did (a command from outside).
    pub causation_id: Uuid,
    /// The id of the command that wrote the event (absent in events written
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<Uuid>,
    /// The application's own metadata (a user id, a request id), as the
    /// command's [`CommandContext::metadata`] carried it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, String>,
}

/// The id of the `index`-th event a command writes: derived from the
/// command's id, so a command sent again writes the same ids and the store's
/// idempotency (rule 6) recognises it.
///
/// ```
/// use disco::cqrs::event_id;
/// let command = disco::Uuid::now_v7();
/// assert_eq!(event_id(command, 0), event_id(command, 0));
/// assert_ne!(event_id(command, 0), event_id(command, 1));
/// assert_ne!(event_id(command, 0), command);
/// ```
pub fn event_id(command_id: Uuid, index: usize) -> Uuid {
    let mut bytes = *command_id.as_bytes();
    let tail = u64::from_be_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ]);
    let mixed = tail.wrapping_add(
        (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    bytes[8..].copy_from_slice(&mixed.to_be_bytes());
    // A version-8 (custom) UUID with the RFC 4122 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// Where a command comes from: its id, the correlation id it carries (its
/// own id when it starts a new conversation), what caused it, and the
/// application's metadata stored with every event it writes.
///
/// A caller that chooses the command id (a request id) makes the command
/// idempotent: dispatched again with the same id, it writes nothing and
/// returns the first outcome.
///
/// ```
/// use disco::cqrs::CommandContext;
/// let first = CommandContext::new().with_metadata("user_id", "u-7");
/// let caused = first.caused();
/// assert_eq!(caused.correlation_id, first.correlation_id);
/// assert_eq!(caused.causation_id, Some(first.command_id));
/// assert_eq!(caused.metadata["user_id"], "u-7");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandContext {
    /// This command's id.
    pub command_id: Uuid,
    /// The conversation's id.
    pub correlation_id: Uuid,
    /// The command or event that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// The application's metadata (user id, request id), stored with every
    /// event the command writes.
    pub metadata: BTreeMap<String, String>,
    /// Whether the command's event ids derive from its id ([`event_id`]),
    /// so that the command sent again writes nothing and answers its first
    /// outcome: set by [`CommandContext::with_id`] (a caller-chosen id).
    pub idempotent: bool,
}

impl Default for CommandContext {
    fn default() -> Self {
        Self::new()
    }
}

impl CommandContext {
    /// A new command that starts its own conversation.
    pub fn new() -> Self {
        CommandContext {
            idempotent: false,
            ..Self::with_id(Uuid::now_v7())
        }
    }

    /// A command whose id the caller chose (a request id: sending it again
    /// is a no-op), starting its own conversation.
    pub fn with_id(command_id: Uuid) -> Self {
        CommandContext {
            command_id,
            correlation_id: command_id,
            causation_id: None,
            metadata: BTreeMap::new(),
            idempotent: true,
        }
    }

    /// This context in the conversation `correlation_id`, caused by
    /// `causation_id`.
    pub fn within(mut self, correlation_id: Uuid, causation_id: Option<Uuid>) -> Self {
        self.correlation_id = correlation_id;
        self.causation_id = causation_id;
        self
    }

    /// Adds `key = value` to the metadata stored with the command's events.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// A new command caused by this one, in the same conversation, with the
    /// same metadata.
    pub fn caused(&self) -> Self {
        CommandContext {
            command_id: Uuid::now_v7(),
            correlation_id: self.correlation_id,
            causation_id: Some(self.command_id),
            metadata: self.metadata.clone(),
            idempotent: false,
        }
    }

    /// A new command caused by a stored event (a process manager's): the
    /// event's id as causation, its conversation and metadata carried on.
    pub fn caused_by_event(event: &RecordedEvent) -> Self {
        let stored = serde_json::from_slice::<Metadata>(&event.metadata).ok();
        CommandContext {
            command_id: Uuid::now_v7(),
            correlation_id: stored.as_ref().map_or(event.id, |m| m.correlation_id),
            causation_id: Some(event.id),
            metadata: stored.map(|m| m.custom).unwrap_or_default(),
            idempotent: false,
        }
    }
}

/// Encodes the `index`-th event of the command `context` names, with the id
/// [`event_id`] derives (what the repository writes).
pub fn encode_nth<E: DomainEvent>(
    event: &E,
    context: &CommandContext,
    index: usize,
) -> Result<NewEvent, CodecError> {
    Ok(encode(event, context)?.with_id(event_id(context.command_id, index)))
}

/// Encodes an event for the store under `context`.
pub fn encode<E: DomainEvent>(event: &E, context: &CommandContext) -> Result<NewEvent, CodecError> {
    let data = serde_json::to_vec(event)
        .map_err(|e| CodecError(format!("the event does not serialize: {e}")))?;
    let metadata = Metadata {
        schema_version: E::SCHEMA_VERSION,
        correlation_id: context.correlation_id,
        causation_id: context.causation_id.unwrap_or(context.command_id),
        command_id: Some(context.command_id),
        custom: context.metadata.clone(),
    };
    let metadata = serde_json::to_vec(&metadata)
        .map_err(|e| CodecError(format!("the metadata does not serialize: {e}")))?;
    Ok(NewEvent::new(event.event_type(), data)
        .with_metadata(metadata)
        .with_tags(event.tags()))
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
