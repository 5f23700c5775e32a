//! [`Envelope`]: a decoded event with where and when it was recorded.

use disco_core::{RecordedEvent, StreamId, Timestamp, Uuid};
use disco_cqrs::{decode, DomainEvent, Metadata};

use crate::error::ProjectionError;
use crate::interest::Interest;

/// One event as a projection receives it: decoded into the projection's
/// event type (upcast if it was written in an older shape), with its
/// envelope.
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
    /// (`"wallet-7"` gives `"7"` for an interest in wallets).
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
    /// Decodes `event` for a projection with `interest`; a payload that does
    /// not decode is [`ProjectionError::Decode`].
    pub fn decode(event: &RecordedEvent, interest: &Interest) -> Result<Self, ProjectionError> {
        let (domain, metadata) = decode::<E>(event).map_err(|error| ProjectionError::Decode {
            event_id: event.id,
            position: event.position,
            message: error.to_string(),
        })?;
        Ok(Envelope {
            event: domain,
            id: event.id,
            event_type: event.event_type.clone(),
            stream: event.stream_id.clone(),
            aggregate_id: interest.aggregate_id(event.stream_id.as_str()).to_owned(),
            version: event.version,
            position: event.position,
            recorded_at: event.recorded_at,
            metadata,
        })
    }
}
