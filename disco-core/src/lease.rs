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
//! - memory and redb (one process per store): [`LocalLeases`], a set in the
//!   store handle; a lease ends when its holder drops it.
//!
//! # Fencing
//!
//! Every acquisition of a name gets a [token](Lease::token) greater than every
//! earlier one of that name. A holder writes its checkpoint with
//! [`EventStore::save_checkpoint_fenced`](crate::EventStore::save_checkpoint_fenced),
//! and the store refuses the write with [`Error::Fenced`] once a newer token
//! was handed out. So a holder that lost its lease without noticing (paused,
//! cut off) can never overwrite the position of the one that took over.
//! [`Lease::is_held`] is the cheap local check a holder makes before each
//! unit of work: it turns false the moment the holder can know the lease is
//! gone (its PostgreSQL connection closed, its SQLite expiry passed).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::{Error, Result};

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

/// In-process leases for stores that only one process can open (memory,
/// redb). Clones share the same set.
///
/// ```
/// use disco_core::lease::LocalLeases;
/// let leases = LocalLeases::default();
/// let held = leases.try_acquire("projector").expect("free");
/// assert!(leases.try_acquire("projector").is_none());
/// drop(held);
/// assert!(leases.try_acquire("projector").is_some());
/// ```
#[derive(Clone, Debug, Default)]
pub struct LocalLeases {
    names: Arc<Mutex<HashMap<String, LocalName>>>,
}

/// One name's state: whether it is held, and the last token handed out.
#[derive(Debug, Default)]
struct LocalName {
    held: bool,
    token: u64,
}

impl LocalLeases {
    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, LocalName>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lease `name`, if nobody holds it.
    pub fn try_acquire(&self, name: &str) -> Option<LocalLease> {
        let mut names = self.names();
        let entry = names.entry(name.to_owned()).or_default();
        if entry.held {
            return None;
        }
        entry.held = true;
        entry.token += 1;
        Some(LocalLease {
            name: name.to_owned(),
            token: entry.token,
            leases: self.clone(),
        })
    }

    /// Runs `write` unless a token newer than `token` was handed out for
    /// `name`, in which case it fails with [`Error::Fenced`]. The check and
    /// the write happen under the leases' lock, so no acquisition can slip
    /// between them.
    pub fn fenced<T>(
        &self,
        name: &str,
        token: u64,
        write: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let names = self.names();
        let current = names.get(name).map_or(0, |n| n.token);
        // Invariant: a write with a token older than the newest acquisition never lands.
        if current > token {
            return Err(Error::Fenced {
                name: name.to_owned(),
                token,
                current,
            });
        }
        write()
    }

    /// [`LocalLeases::try_acquire`] as a store's
    /// [`try_lease`](crate::EventStore::try_lease) answers: the name checked,
    /// the lease boxed.
    pub fn try_lease(&self, name: &str) -> Result<Option<Box<dyn Lease>>> {
        crate::check_checkpoint_name(name)?;
        Ok(self
            .try_acquire(name)
            .map(|lease| Box::new(lease) as Box<dyn Lease>))
    }

    /// Whether `name` is held.
    pub fn is_held(&self, name: &str) -> bool {
        self.names().get(name).is_some_and(|n| n.held)
    }

    fn holds(&self, name: &str, token: u64) -> bool {
        self.names()
            .get(name)
            .is_some_and(|n| n.held && n.token == token)
    }

    fn remove(&self, name: &str, token: u64) {
        if let Some(entry) = self.names().get_mut(name) {
            if entry.token == token {
                entry.held = false;
            }
        }
    }
}

/// A lease from [`LocalLeases`]; it ends when dropped.
#[derive(Debug)]
pub struct LocalLease {
    name: String,
    token: u64,
    leases: LocalLeases,
}

impl Drop for LocalLease {
    fn drop(&mut self) {
        self.leases.remove(&self.name, self.token);
    }
}

#[async_trait]
impl Lease for LocalLease {
    fn name(&self) -> &str {
        &self.name
    }

    fn token(&self) -> u64 {
        self.token
    }

    fn is_held(&self) -> bool {
        self.leases.holds(&self.name, self.token)
    }

    async fn renew(&mut self) -> Result<bool> {
        Ok(self.leases.holds(&self.name, self.token))
    }

    async fn release(self: Box<Self>) -> Result<()> {
        drop(self);
        Ok(())
    }
}
