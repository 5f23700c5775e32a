//! # disco
//!
//! CQRS and event sourcing for Rust, with one event store contract over
//! PostgreSQL, SQLite, redb and memory. This crate is a facade: it re-exports
//! [`disco_core`] and the stores its Cargo features enable.
//!
//! | feature    | store                          |
//! |------------|--------------------------------|
//! | `memory`   | [`memory::MemoryStore`] (default) |
//! | `sqlite`   | `disco-store-sqlite` (default) |
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

mod connect;

pub use connect::{connect, split_schema};
pub use disco_core::*;

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
