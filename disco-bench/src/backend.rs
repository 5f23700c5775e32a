//! Which backend a store URL names, how to make a fresh store of it for each
//! case, its raw baseline, and the targets this project holds it to.

use std::sync::Arc;

use disco_core::EventStore;
use disco_store_memory::MemoryStore;

use crate::baseline::memory::RawMemory;
use crate::target::{StoreTarget, Target};
use crate::workloads::Case;

/// A backend named by a store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `memory:`
    Memory,
}

/// A goal a case must meet on a backend.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(dead_code)] // MinRatio is the goal of the durable stores, which land next.
pub enum Goal {
    /// The store's rate must be at least this multiple of the raw rate.
    MinRatio(f64),
    /// The store's peak resident memory must stay under this many MiB.
    MaxPeakMib(f64),
}

impl Backend {
    /// Parses a store URL; says which schemes exist otherwise.
    pub fn parse(url: &str) -> Result<Backend, String> {
        match url.split_once(':') {
            Some(("memory", "")) => Ok(Backend::Memory),
            Some(("sqlite" | "redb" | "postgres" | "postgresql", _)) => Err(format!(
                "{url}: this backend is not built yet; disco-bench runs `memory:` for now"
            )),
            _ => Err(format!(
                "{url:?} is not a store URL; use memory:, sqlite:PATH, redb:PATH or postgres://..."
            )),
        }
    }

    /// The backend's name in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory => "memory",
        }
    }

    /// A fresh, empty store for one case.
    pub async fn fresh_store(&self) -> disco_core::Result<Arc<dyn Target>> {
        let store: Arc<dyn EventStore> = match self {
            Backend::Memory => Arc::new(MemoryStore::new()),
        };
        Ok(Arc::new(StoreTarget(store)))
    }

    /// A fresh raw baseline for one case.
    pub async fn fresh_raw(&self) -> disco_core::Result<Arc<dyn Target>> {
        Ok(match self {
            Backend::Memory => Arc::new(RawMemory::default()),
        })
    }

    /// The goal of `case` on this backend, if the project set one.
    pub fn goal(&self, case: Case) -> Option<Goal> {
        match (self, case) {
            (Backend::Memory, Case::Hold1M) => Some(Goal::MaxPeakMib(600.0)),
            _ => None,
        }
    }
}
