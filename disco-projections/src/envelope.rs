//! Decoding an event into an [`Envelope`] for a projection.

use disco_core::RecordedEvent;
use disco_cqrs::{DomainEvent, Envelope};

use crate::error::ProjectionError;
use crate::interest::Interest;

/// Decodes `event` for a projection with `interest`; a payload that does
/// not decode is [`ProjectionError::Decode`].
pub(crate) fn decode<E: DomainEvent>(
    event: &RecordedEvent,
    interest: &Interest,
) -> Result<Envelope<E>, ProjectionError> {
    let aggregate_id = interest.aggregate_id(event.stream_id.as_str());
    Envelope::decode(event, aggregate_id).map_err(|error| ProjectionError::Decode {
        event_id: event.id,
        position: event.position,
        message: error.to_string(),
    })
}
