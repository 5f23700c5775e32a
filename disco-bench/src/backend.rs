//! Which backend a store URL names, how to make a fresh store of it and a
//! fresh raw baseline for each case, and the goals this project holds it to.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use disco_core::EventStore;
use disco_store_memory::MemoryStore;
use disco_store_redb::{RedbOptions, RedbStore};
use disco_store_sqlite::{SqliteOptions, SqliteStore};

use crate::baseline::memory::RawMemory;
use crate::baseline::redb::RawRedb;
use crate::baseline::sqlite::RawSqlite;
use crate::target::{StoreTarget, Target};
use crate::workloads::Case;

/// A backend named by a store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `memory:`
    Memory,
    /// `sqlite:PATH`: each case uses fresh files named after PATH.
    Sqlite(PathBuf),
    /// `redb:PATH`: each case uses fresh files named after PATH.
    Redb(PathBuf),
}

/// A goal a case must meet on a backend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Goal {
    /// The store's rate must be at least this multiple of the raw rate.
    MinRatio(f64),
    /// The store's peak resident memory must stay under this many MiB.
    MaxPeakMib(f64),
}

/// One side of a case (the store or the baseline), with the files it made;
/// they are removed when it drops.
pub struct Side {
    /// What the workload runs on.
    pub target: Arc<dyn Target>,
    files: Vec<PathBuf>,
}

impl Drop for Side {
    fn drop(&mut self) {
        remove_database(&self.files);
    }
}

fn remove_database(files: &[PathBuf]) {
    for file in files {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
}

fn side_file(base: &Path, case: Case, side: &str) -> PathBuf {
    let name = base.file_name().map_or_else(
        || "disco-bench".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    base.with_file_name(format!("{name}-{}-{side}.db", case.name()))
}

impl Backend {
    /// Parses a store URL; says which schemes exist otherwise.
    pub fn parse(url: &str) -> Result<Backend, String> {
        match url.split_once(':') {
            Some(("memory", "")) => Ok(Backend::Memory),
            Some(("sqlite", "")) => Err("sqlite: needs a path, as in sqlite:/tmp/bench.db".into()),
            Some(("sqlite", path)) => Ok(Backend::Sqlite(PathBuf::from(path))),
            Some(("redb", "")) => Err("redb: needs a path, as in redb:/tmp/bench.redb".into()),
            Some(("redb", path)) => Ok(Backend::Redb(PathBuf::from(path))),
            Some(("postgres" | "postgresql", _)) => Err(format!(
                "{url}: this backend is not built yet; disco-bench runs memory:, sqlite:PATH and redb:PATH for now"
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
            Backend::Sqlite(_) => "sqlite",
            Backend::Redb(_) => "redb",
        }
    }

    /// The cases run when none is named.
    pub fn default_cases(&self) -> Vec<Case> {
        match self {
            Backend::Memory => Case::ALL.to_vec(),
            // hold-1m measures the memory store's footprint.
            Backend::Sqlite(_) | Backend::Redb(_) => Case::ALL
                .into_iter()
                .filter(|c| *c != Case::Hold1M)
                .collect(),
        }
    }

    /// A fresh, empty store for `case`.
    pub async fn fresh_store(&self, case: Case) -> disco_core::Result<Side> {
        let (store, files): (Arc<dyn EventStore>, Vec<PathBuf>) = match self {
            Backend::Memory => (Arc::new(MemoryStore::new()), vec![]),
            Backend::Sqlite(base) => {
                let file = side_file(base, case, "store");
                remove_database(std::slice::from_ref(&file));
                let store = SqliteStore::open(&file, SqliteOptions::default()).await?;
                (Arc::new(store), vec![file])
            }
            Backend::Redb(base) => {
                let file = side_file(base, case, "store");
                remove_database(std::slice::from_ref(&file));
                let store = RedbStore::open(&file, RedbOptions::default()).await?;
                (Arc::new(store), vec![file])
            }
        };
        Ok(Side {
            target: Arc::new(StoreTarget(store)),
            files,
        })
    }

    /// A fresh raw baseline for `case`.
    pub async fn fresh_raw(&self, case: Case) -> disco_core::Result<Side> {
        Ok(match self {
            Backend::Memory => Side {
                target: Arc::new(RawMemory::default()),
                files: vec![],
            },
            Backend::Sqlite(base) => {
                let file = side_file(base, case, "raw");
                remove_database(std::slice::from_ref(&file));
                Side {
                    target: Arc::new(RawSqlite::open(&file)?),
                    files: vec![file],
                }
            }
            Backend::Redb(base) => {
                let file = side_file(base, case, "raw");
                remove_database(std::slice::from_ref(&file));
                Side {
                    target: Arc::new(RawRedb::open(&file)?),
                    files: vec![file],
                }
            }
        })
    }

    /// The goal of `case` on this backend, if the project set one.
    pub fn goal(&self, case: Case) -> Option<Goal> {
        match (self, case) {
            (Backend::Memory, Case::Hold1M) => Some(Goal::MaxPeakMib(600.0)),
            (Backend::Sqlite(_) | Backend::Redb(_), Case::Append8x1) => Some(Goal::MinRatio(5.0)),
            (Backend::Sqlite(_) | Backend::Redb(_), Case::Append1x100 | Case::ReadAll1000) => {
                Some(Goal::MinRatio(0.7))
            }
            _ => None,
        }
    }
}
