//! [`LocalLeases`]: in-process leases, with fencing tokens, for stores that
//! only one process can open (memory, redb).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use disco_core::lease::Lease;
use disco_core::{Error, Result};

/// In-process leases for stores that only one process can open (memory,
/// redb). Clones share the same set.
///
/// ```
/// use disco::backend::LocalLeases;
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
        // Tokens only grow: a name taken u64::MAX times is never granted
        // again rather than hand out a token twice.
        entry.token = entry.token.checked_add(1)?;
        entry.held = true;
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
    /// [`try_lease`](disco_core::EventStore::try_lease) answers: the name checked,
    /// the lease boxed.
    pub fn try_lease(&self, name: &str) -> Result<Option<Box<dyn Lease>>> {
        disco_core::limits::check_lease_name(name)?;
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
        // Invariant: a local lease is held for as long as it exists: no one
        // can take a held name, and only this lease's drop or release frees
        // its name. (A runner asks before every event: no lock here.)
        true
    }

    async fn renew(&mut self) -> Result<bool> {
        Ok(self.leases.holds(&self.name, self.token))
    }

    async fn release(self: Box<Self>) -> Result<()> {
        drop(self);
        Ok(())
    }
}
