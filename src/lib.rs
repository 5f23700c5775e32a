#![doc = include_str!("lib.md")]
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

// The crate's own paths, as its users write them (the guide fixture's
// files are the lending example's, written against `disco::`).
extern crate self as disco;

#[doc(hidden)]
pub mod guide;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod read_models;
mod registry;

pub use disco_core::*;
pub use disco_runtime::{
    consumer, copy, counts, measured, Progressed, StreamSubscription, Subscription,
    SubscriptionOptions,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use read_models::{open_read_models, read_models_beside, ReadModelDb};
pub use registry::{backends, connect, drop_url, open_url};

/// The README's code blocks, compiled and run as doctests (the README is
/// the repository's front page; the crate's is `lib.md`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The guide's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideDoctests;

/// The attribute that implements disco's async traits (handlers,
/// projections), re-exported so an application needs no extra dependency.
pub use async_trait::async_trait;

/// The serde disco's signatures mention (aggregates, events, answers are
/// serde types). Its derives need `#[serde(crate = "disco::serde")]` when
/// the application does not depend on serde itself.
pub use serde;

/// The serde_json of command and query parameters (`serde_json::Value`).
pub use serde_json;

/// The CQRS layer: aggregates, the repository, the orchestrator,
/// given/when/then (the `disco-cqrs` crate).
#[doc(inline)]
pub use disco_cqrs as cqrs;

/// Projections: typed read models in the application's database, exactly
/// once, with read-your-writes and blue-green rebuilds (the
/// `disco-projections` crate; its SQLite and PostgreSQL adapters come with
/// the `sqlite` and `postgres` features).
#[doc(inline)]
pub use disco_projections as projections;

/// The kit for writing a store backend (the `disco-backend` crate); not
/// needed by application code.
#[doc(inline)]
pub use disco_backend as backend;

#[cfg(feature = "memory")]
#[doc(inline)]
pub use disco_store_memory as memory;

#[cfg(feature = "sqlite")]
#[doc(inline)]
pub use disco_store_sqlite as sqlite;

#[cfg(feature = "redb")]
#[doc(inline)]
pub use disco_store_redb as redb;

#[cfg(feature = "postgres")]
#[doc(inline)]
pub use disco_store_postgres as postgres;

#[cfg(feature = "nats")]
#[doc(inline)]
pub use disco_store_nats as nats;

/// Splits `?schema=NAME` off a PostgreSQL URL (see
/// `disco_store_postgres::split_schema`).
#[cfg(feature = "postgres")]
pub use disco_store_postgres::split_schema;
