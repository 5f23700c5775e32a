//! The redb store of disco: **not built yet** (issue 4).
//!
//! This crate holds a place in the workspace so the facade's `redb` feature
//! and the layout exist; it exports nothing, so nothing can mistake it for a
//! working store.
#![deny(missing_docs)]
