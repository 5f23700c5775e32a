//! # disco-cqrs
//!
//! The CQRS layer: aggregates, a repository that loads and saves them, and
//! an orchestrator that dispatches named commands and queries with JSON
//! parameters. Built on [`EventStore`](disco_core::EventStore) alone.
//!
//! - [`Aggregate`] and [`DomainEvent`]: the domain, with stable event type
//!   names, schema versions and upcasters; [`Metadata`] carries correlation
//!   and causation ids from command to events.
//! - [`Repository`]: snapshot plus later events, a bounded cache of hot
//!   aggregates, `Exact(version)` appends with bounded retries on conflict.
//! - [`Decision`]: a rule across aggregates (a course's seats, an email
//!   used once) decided on the events a query matches and appended on the
//!   condition that none came in since: no saga, no lock table.
//! - [`Orchestrator`]: `commands()`, `queries()`, `dispatch`,
//!   `dispatch_async`, `query`, and the typed `execute`.
//! - [`testing`]: given / when / then.
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

mod aggregate;
mod checks;
mod consistency;
pub mod decision;
mod decode_fields;
#[doc(hidden)]
pub mod doc_fixture;
mod envelope;
mod errors;
mod field_errors;
mod orchestrator;
mod params;
pub mod process;
mod repository;
mod routes;
mod suggest;
pub mod testing;

pub use aggregate::{
    decode, encode, encode_nth, event_id, Aggregate, CommandContext, DomainEvent, Metadata,
};
pub use checks::{no_such, Checks, Lookup};
pub use consistency::DispatchOptions;
pub use decision::{Decision, DecisionRoutes};
pub use decode_fields::{decode_fields, UNKNOWN_FIELD};
pub use envelope::Envelope;
pub use errors::{BuildError, CodecError, LoadError, Rejection};
pub use field_errors::FieldErrors;
pub use orchestrator::{
    DispatchError, Dispatched, Orchestrator, OrchestratorBuilder, Pending, Target,
};
pub use params::Params;
pub use repository::{ExecuteError, Executed, Repository};
pub use routes::AggregateRoutes;
pub use suggest::Unknown;
