//! [`ProjectionError`]: what goes wrong in a projection, typed.

use disco_core::Uuid;

/// A projection's failure.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] disco_core::Error),
    /// The read-model database failed (or refused a statement).
    #[error("the read-model database failed: {0}")]
    ReadModel(String),
    /// An object of the read-model database that the projection would
    /// write is not disco's or the projection's; nothing was changed.
    #[error("{object} in the read-model database is not this projection's; nothing was changed")]
    Foreign {
        /// The table or view.
        object: String,
    },
    /// An event's payload did not decode into the projection's event type.
    #[error("event {event_id} at position {position} does not decode: {message}")]
    Decode {
        /// The event.
        event_id: Uuid,
        /// Its position.
        position: u64,
        /// What the decoder said.
        message: String,
    },
    /// The projection's handler failed on an event (or panicked).
    #[error("the handler failed on event {event_id} at position {position}: {message}")]
    Handler {
        /// The event.
        event_id: Uuid,
        /// Its position.
        position: u64,
        /// What the handler said.
        message: String,
    },
    /// Another runner claimed this generation of the projection since this
    /// one did; this runner's transaction was rolled back.
    #[error("projection {name} generation {generation} was claimed by another runner")]
    Fenced {
        /// The projection.
        name: String,
        /// The generation.
        generation: u32,
    },
    /// The generation was retired (a rebuilt one is live now).
    #[error("projection {name} generation {generation} is retired")]
    GenerationRetired {
        /// The projection.
        name: String,
        /// The generation.
        generation: u32,
    },
    /// A newer version of the projection is live: this one's code is old.
    #[error("projection {name} v{version} is retired: v{live_version} is live")]
    Retired {
        /// The projection.
        name: String,
        /// This runner's version.
        version: u32,
        /// The version that is live.
        live_version: u32,
    },
    /// The generation runs in `partitions` partitions, set after this
    /// runner started (or the runner is unpartitioned): the newer layout
    /// wins and this runner stops.
    #[error("projection {name} generation {generation} runs in {partitions} partitions, not as this runner asks")]
    Repartitioned {
        /// The projection.
        name: String,
        /// The generation.
        generation: u32,
        /// The count it runs in (0: unpartitioned).
        partitions: u32,
    },
    /// A name the projection declares cannot be used.
    #[error("invalid projection definition: {0}")]
    Invalid(String),
    /// No projection of this name exists in the read-model database.
    #[error("no projection named {0:?} in the read-model database")]
    Unknown(String),
}

impl ProjectionError {
    /// The handler's failure on `event`.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn handler(event: &disco_core::RecordedEvent, message: String) -> Self {
        ProjectionError::Handler {
            event_id: event.id,
            position: event.position,
            message,
        }
    }

    /// Whether the error is about one event (a decode or handler failure),
    /// which the error policy retries and may skip.
    pub fn event_id(&self) -> Option<Uuid> {
        match self {
            ProjectionError::Decode { event_id, .. }
            | ProjectionError::Handler { event_id, .. } => Some(*event_id),
            _ => None,
        }
    }
}
