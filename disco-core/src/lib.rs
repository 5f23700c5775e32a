//! # disco-core
//!
//! The contract of a disco event store: what a backend implements and what
//! an application calls. No database code and no runtime live here:
//!
//! - backends are separate crates (`disco-store-memory`, `-sqlite`, `-redb`,
//!   `-postgres`) that implement [`EventStore`], with the shared machinery of
//!   `disco-backend`, and the `disco-conformance` crate proves they keep it;
//! - subscriptions, consumers and `copy` are in `disco-runtime`, the CQRS
//!   layer in `disco-cqrs`; applications use all of them through the `disco`
//!   facade.
//!
//! Start with [`EventStore`]: its documentation states the rules.
#![deny(missing_docs)]
// The lint gate: library code takes no shortcut that bad input could turn
// into a panic (unwrap, expect, panic, unchecked indexing or arithmetic);
// the few justified exceptions say why where they stand. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod clock;
mod error;
mod event;
mod expected_version;
pub mod lease;
pub mod limits;
pub mod notifications;
pub mod progress;
pub mod query;
mod store;
mod stream_id;

pub use error::{Error, Result};
pub use event::{AppendResult, NewEvent, RecordedEvent, Timestamp};
pub use expected_version::ExpectedVersion;
pub use limits::{
    Limits, DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_TAGS_PER_EVENT, MAX_CHECKPOINT_NAME_LEN,
    MAX_EVENT_TYPE_LEN,
};
pub use notifications::Notifications;
pub use query::{AppendCondition, Query, QueryItem, QueryRead, MAX_TAG_LEN};
pub use store::{
    AppendMany, Checkpoint, DeleteMode, EventFilter, EventStore, ReadDirection, Snapshot,
    StreamInfo, StreamLoad, StreamPartition, StreamState,
};
pub use stream_id::{StreamId, MAX_STREAM_ID_LEN};
pub use uuid::Uuid;
