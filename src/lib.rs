//! # disco
//!
//! CQRS and event sourcing for Rust, with one event store contract over
//! PostgreSQL, SQLite, redb and memory. This crate is a facade: it re-exports
//! [`disco_core`] and the stores its Cargo features enable.
//!
//! | feature    | store                          |
//! |------------|--------------------------------|
//! | `memory`   | [`memory::MemoryStore`] (default) |
//! | `sqlite`   | `disco-store-sqlite`           |
//! | `redb`     | `disco-store-redb`             |
//! | `postgres` | `disco-store-postgres`         |
//! | `full`     | all of them                    |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
//! use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! let store = disco::memory::MemoryStore::new();
//! let stream = StreamId::new("wallet-1")?;
//! store.append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Opened", vec![])]).await?;
//! assert_eq!(store.stream_version(&stream).await?, 1);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub use disco_core::*;

/// The in-memory store (feature `memory`).
#[cfg(feature = "memory")]
pub mod memory {
    pub use disco_store_memory::*;
}

/// The SQLite store (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub mod sqlite {
    pub use disco_store_sqlite::*;
}

/// The redb store (feature `redb`).
#[cfg(feature = "redb")]
pub mod redb {
    pub use disco_store_redb::*;
}

/// The PostgreSQL store (feature `postgres`).
#[cfg(feature = "postgres")]
pub mod postgres {
    pub use disco_store_postgres::*;
}
