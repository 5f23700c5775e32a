//! The lending example's domain, loan flow and read models, compiled into
//! the crate so the guide's code blocks (`docs/guide.md`, run as doctests)
//! need one hidden `use` line for the chapters before theirs. Not part of
//! the API.
#![allow(
    missing_docs,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[path = "../examples/lending/catalog.rs"]
pub mod catalog;
#[path = "../examples/lending/domain.rs"]
pub mod domain;
#[path = "../examples/lending/flow.rs"]
pub mod flow;
