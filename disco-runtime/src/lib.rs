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

pub mod catch_panic;
pub mod consumer;
pub mod copy;
mod stream_subscription;
mod subscription;

pub use stream_subscription::StreamSubscription;
pub use subscription::{Progressed, Subscription, SubscriptionOptions};
