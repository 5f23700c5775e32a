//! The sqlite store of disco: **not built yet** (issue 3).
//!
//! This crate holds a place in the workspace so the facade's `sqlite` feature
//! and the layout exist; it exports nothing, so nothing can mistake it for a
//! working store.
#![deny(missing_docs)]
