//! # disco-runtime
//!
//! What runs on a disco store, built on the [`EventStore`](disco_core::EventStore)
//! trait alone, so every backend has it:
//!
//! - [`Subscription`]: catch-up then live reading of the global log, paged,
//!   bounded, woken by the store's notifications; [`StreamSubscription`]:
//!   the same for one stream from a version;
//! - [`consumer`]: named consumers with checkpoints, error policies and one
//!   active runner per name (fenced leases);
//! - [`copy`]: copying a whole store into another, resumable and verified.
//!
//! Projections (the `disco-projections` crate) run on these subscriptions;
//! process managers and partitioned consumers belong here too.
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

pub mod catch_panic;
pub mod consumer;
pub mod copy;
pub mod counts;
pub mod measured;
mod stream_subscription;
mod subscription;

pub use stream_subscription::StreamSubscription;
pub use subscription::{Progressed, Subscription, SubscriptionOptions};
