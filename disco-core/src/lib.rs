//! # disco-core
//!
//! The contract of a disco event store and everything built on the contract
//! alone. No database code lives here: backends are separate crates
//! (`disco-store-memory`, `-sqlite`, `-redb`, `-postgres`) that implement
//! [`EventStore`], and the `disco-conformance` crate proves they keep it.
//!
//! Start with [`EventStore`]: its documentation states the rules.
#![deny(missing_docs)]

pub mod append_check;
pub mod consumer;
pub mod copy;
pub mod cqrs;
mod error;
mod event;
mod expected_version;
pub mod group_commit;
pub mod lease;
mod limits;
mod notifications;
mod store;
pub mod stored_int;
mod stream_id;
mod subscription;

pub use error::{Error, Result};
pub use event::{AppendResult, NewEvent, RecordedEvent, Timestamp};
pub use expected_version::ExpectedVersion;
pub use limits::{
    check_checkpoint_name, check_event_type, Limits, DEFAULT_MAX_EVENT_SIZE,
    MAX_CHECKPOINT_NAME_LEN, MAX_EVENT_TYPE_LEN,
};
pub use notifications::{Notifications, Notifier};
pub use store::{
    AppendMany, Checkpoint, DeleteMode, EventFilter, EventLocation, EventStore, ReadDirection,
    Snapshot, StreamInfo, StreamState,
};
pub use stream_id::{StreamId, MAX_STREAM_ID_LEN};
pub use subscription::{Subscription, SubscriptionOptions};
pub use uuid::Uuid;
