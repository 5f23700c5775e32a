//! The example-based cases, one async function each, grouped by contract rule.
//! Each takes a fresh, empty store and panics if the store breaks a rule.

mod atomic;
mod concurrency;
mod consumers;
mod dcb;
mod deletion;
mod expected_version;
mod idempotency;
mod input;
mod lifecycle;
mod listing;
mod notifications;
mod ordering;
mod parking;
mod partitions;
mod payload;
mod reads;
mod snapshots_checkpoints;
mod subscriptions;

pub use atomic::*;
pub use concurrency::*;
pub use consumers::*;
pub use dcb::*;
pub use deletion::*;
pub use expected_version::*;
pub use idempotency::*;
pub use input::*;
pub use lifecycle::*;
pub use listing::*;
pub use notifications::*;
pub use ordering::*;
pub use parking::*;
pub use partitions::*;
pub use payload::*;
pub use reads::*;
pub use snapshots_checkpoints::*;
pub use subscriptions::*;
