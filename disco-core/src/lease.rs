//! Leases: how a store lets exactly one consumer runner per name be active
//! across every process that shares it.
//!
//! A runner asks its store for the lease of its consumer's name with
//! [`EventStore::try_lease`](crate::EventStore::try_lease). The holder
//! [renews](Lease::renew) it well within its time to live and stops handling
//! events as soon as a renewal says it was lost. How a lease ends when its
//! holder dies depends on the store:
//!
//! - PostgreSQL: a session advisory lock on a connection of its own; the
//!   server drops the lock the moment the connection closes.
//! - SQLite: a row with an owner and an expiry; a dead holder stops renewing,
//!   and another may take the row once it expired.
//! - memory and redb (one process per store): `disco_backend::LocalLeases`,
//!   a set in the store handle; a lease ends when its holder drops it.
//!
//! # Fencing
//!
//! Every acquisition of a name gets a [token](Lease::token) greater than every
//! earlier one of that name. A holder writes its checkpoint with
//! [`EventStore::save_checkpoint_fenced`](crate::EventStore::save_checkpoint_fenced),
//! and the store refuses the write with [`Error::Fenced`](crate::Error::Fenced) once a newer token
//! was handed out. So a holder that lost its lease without noticing (paused,
//! cut off) can never overwrite the position of the one that took over.
//! [`Lease::is_held`] is the cheap local check a holder makes before each
//! unit of work: it turns false the moment the holder can know the lease is
//! gone (its PostgreSQL connection closed, its SQLite expiry passed).

use std::fmt;

use async_trait::async_trait;

use crate::Result;

/// A lease held through a store. Dropping it without [`Lease::release`] is
/// what a crash looks like: the lease ends as the store's kind of lease ends
/// when its holder dies (at once, or when it expires).
#[async_trait]
pub trait Lease: Send + Sync + fmt::Debug {
    /// The name leased.
    fn name(&self) -> &str;

    /// The fencing token of this acquisition: greater than the token of every
    /// earlier acquisition of the same name in the same store.
    fn token(&self) -> u64;

    /// Whether the lease may still be held, as far as this holder can tell
    /// without a round trip: false once it is known lost (the connection
    /// holding it closed, the expiry passed by the local clock). A holder
    /// checks it before each unit of work; `true` is not a guarantee, which
    /// is what the fencing token is for.
    fn is_held(&self) -> bool;

    /// Confirms the lease is still held and extends it where it expires.
    /// `Ok(false)` means it was lost: another holder may be active now.
    async fn renew(&mut self) -> Result<bool>;

    /// Gives the lease up, so a waiting runner may take it at once.
    async fn release(self: Box<Self>) -> Result<()>;
}
