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

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::Result;

/// A lease held through a store. Dropping it without [`Lease::release`] is
/// what a crash looks like: the lease ends as the store's kind of lease ends
/// when its holder dies (at once, or when it expires).
#[async_trait]
pub trait Lease: Send + Sync + fmt::Debug {
    /// The name leased.
    fn name(&self) -> &str;

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
    held: Arc<Mutex<HashSet<String>>>,
}

impl LocalLeases {
    /// The lease `name`, if nobody holds it.
    pub fn try_acquire(&self, name: &str) -> Option<LocalLease> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if !held.insert(name.to_owned()) {
            return None;
        }
        Some(LocalLease {
            name: name.to_owned(),
            leases: self.clone(),
        })
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
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(name)
    }

    fn remove(&self, name: &str) {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
    }
}

/// A lease from [`LocalLeases`]; it ends when dropped.
#[derive(Debug)]
pub struct LocalLease {
    name: String,
    leases: LocalLeases,
}

impl Drop for LocalLease {
    fn drop(&mut self) {
        self.leases.remove(&self.name);
    }
}

#[async_trait]
impl Lease for LocalLease {
    fn name(&self) -> &str {
        &self.name
    }

    async fn renew(&mut self) -> Result<bool> {
        Ok(self.leases.is_held(&self.name))
    }

    async fn release(self: Box<Self>) -> Result<()> {
        drop(self);
        Ok(())
    }
}
