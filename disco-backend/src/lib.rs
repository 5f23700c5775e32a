//! # disco-backend
//!
//! The kit for writing a disco store backend: not for application code.
//! A backend implements [`disco_core::EventStore`]; this crate holds the
//! decisions and machinery the four stores of this workspace share, so a
//! fifth gets them right by calling them instead of restating them:
//!
//! - [`append_check`]: the rule 2/6/8 decisions of one append (expected
//!   version, idempotent retries, deleted streams) over an
//!   [`append_check::AppendView`] of what the store holds;
//! - [`group_commit`]: the single writer thread with group commit of the
//!   embedded durable stores, and the send-all-then-await helper of
//!   `append_many`;
//! - [`LocalLeases`]: in-process leases with fencing tokens, for stores only
//!   one process opens;
//! - [`stream_state`]: the stored codes of stream states;
//! - [`stored_int`]: the conversions between the contract's `u64`s and the
//!   `i64`s databases store;
//! - [`Notifier`]: the sending side of [`disco_core::Notifications`];
//! - [`registry`]: the entry by which a backend declares its URL schemes;
//! - [`migrations`]: a `build.rs` helper that embeds `migrations/*.sql`;
//! - [`partition_reads`]: a stream-partition filter for stores whose query
//!   cannot hash stream ids;
//! - [`query_plan`]: query reads and append conditions answered from a
//!   store's tag and type indexes;
//! - [`stored_tags`]: an event's tags as one stored text.
//!
//! How to add a backend is written down in the repository's
//! `docs/writing-a-backend.md`.
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

pub mod append_check;
pub mod checksum;
pub mod event_columns;
pub mod group_commit;
mod local_leases;
pub mod migrations;
pub mod partition_reads;
pub mod query_plan;
pub mod registry;
pub mod stored_int;
pub mod stored_tags;
pub mod stream_state;

pub use append_check::EventLocation;
pub use disco_core::limits::{check_checkpoint_name, check_event_type, check_lease_name};
pub use disco_core::notifications::Notifier;
pub use local_leases::{LocalLease, LocalLeases};
