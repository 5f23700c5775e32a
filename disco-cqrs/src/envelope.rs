//! [`Envelope`]: a decoded event with where and when it was recorded.

use disco_core::{RecordedEvent, StreamId, Timestamp, Uuid};

use crate::aggregate::{decode, DomainEvent, Metadata};
use crate::errors::CodecError;

/// One event as a projection or a process manager receives it: decoded
/// into its domain type (upcast if it was written in an older shape), with
/// the aggregate it belongs to and where and when it was recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<E> {
    /// The decoded event.
    pub event: E,
    /// The event's id.
    pub id: Uuid,
    /// Its stored type name.
    pub event_type: String,
    /// The stream it belongs to.
    pub stream: StreamId,
    /// The aggregate's id: the stream id without the aggregate's prefix
    /// (`"wallet-7"` gives `"7"` for wallets).
    pub aggregate_id: String,
    /// Its version in the stream.
    pub version: u64,
    /// Its position in the store.
    pub position: u64,
    /// When the store recorded it.
    pub recorded_at: Timestamp,
    /// The CQRS metadata (schema version, correlation, causation), when
    /// the event was written by the CQRS layer.
    pub metadata: Option<Metadata>,
}

impl<E> Envelope<E> {
    /// The conversation the event belongs to, when it has CQRS metadata.
    pub fn correlation_id(&self) -> Option<Uuid> {
        self.metadata.as_ref().map(|m| m.correlation_id)
    }

    /// What caused the event (a command's id), when it has CQRS metadata.
    pub fn causation_id(&self) -> Option<Uuid> {
        self.metadata.as_ref().map(|m| m.causation_id)
    }
}

impl<E: DomainEvent> Envelope<E> {
    /// Decodes `event` ([`decode`](crate::decode)) as an event of the
    /// aggregate with id `aggregate_id`.
    pub fn decode(event: &RecordedEvent, aggregate_id: &str) -> Result<Self, CodecError> {
        let (domain, metadata) = decode::<E>(event)?;
        Ok(Envelope {
            event: domain,
            id: event.id,
            event_type: event.event_type.clone(),
            stream: event.stream_id.clone(),
            aggregate_id: aggregate_id.to_owned(),
            version: event.version,
            position: event.position,
            recorded_at: event.recorded_at,
            metadata,
        })
    }
}
