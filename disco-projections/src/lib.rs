//! # disco-projections
//!
//! Read models in the application's own database, kept by the events of a
//! disco store:
//!
//! - **typed**: a [`Projection`] declares its events ([`Interest`]: an
//!   aggregate type, a stream prefix, event types) and receives each one
//!   decoded, in an [`Envelope`] (aggregate id, stream, version, position,
//!   time, correlation and causation);
//! - **exactly once**: each batch of events and the projection's position
//!   are written in one transaction of the read-model database (the
//!   `disco_projections` table lives beside the application's tables), and
//!   an event at or below the stored position is never applied again, so
//!   a crash, a redelivery, a reset or a second runner cannot apply an event
//!   twice; a runner that was replaced is fenced off by its claim;
//! - **batched**: catching up applies up to
//!   [`ProjectionOptions::batch_size`] events per transaction; live, each
//!   batch is what has arrived;
//! - **read-your-writes**: the handle's [`ProjectionHandle::wait_for`] (and
//!   the orchestrator's strong consistency) waits until the read model holds
//!   a position; a filtered projection's position follows the head;
//! - **blue-green rebuilds**: queries read views named as the tables; a
//!   new version (or [`ProjectionHandle::rebuild`], or `disco projections
//!   rebuild`) builds a new generation into its own tables, then the views
//!   switch in one transaction;
//! - **partitioned**: [`Projector::partitioned`] splits a projection by a
//!   key over processes, each partition exactly once with its own position
//!   ([`partitioned`]).
//!
//! The adapters: `sqlite` (the handler gets a `rusqlite::Transaction`) and
//! `postgres` (a `sqlx::Transaction`), each behind the Cargo feature of that
//! name. The event store can be any backend.
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

// The generation bookkeeping both database read models share: its
// decisions, and the transactions that carry them out.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod adapter;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod bookkeeping;
mod definition;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod envelope;
mod error;
mod handle;
mod interest;
mod options;
pub mod partitioned;
mod projector;
pub mod read_model;
mod runner;
pub mod sql;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod statements;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use definition::{Projection, Tables, MAX_TABLE_NAME_LEN};
pub use disco_cqrs::Envelope;
pub use error::ProjectionError;
pub use handle::{ProjectionExit, ProjectionHandle, ProjectionState, ProjectionStatus};
pub use interest::Interest;
pub use options::ProjectionOptions;
pub use partitioned::{
    PartitionedProjectionHandle, PartitionedProjector, ProjectionPartitionStatus,
};
pub use projector::Projector;
pub use read_model::{
    GenerationRow, GenerationState, Inherited, PartitionClaim, PartitionRow, PartitionSlot, Plan,
    ReadModel,
};

/// What a projection's handler fails with: any error, kept as its message.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
