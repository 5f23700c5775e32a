//! Opening a store from its URL through the facade's registry
//! (`disco::open_url`), keeping what tools show about it.

use std::sync::Arc;

use disco::backend::registry::{OpenOptions, Opened};
use disco::EventStore;

use crate::failure::Failure;

/// What a command may do to the store it opens: create (`init`, `copy
/// --to`), migrate (`migrate`), or use it as it is (every other command;
/// read-only ones write nothing).
pub use disco::backend::registry::OpenMode as Mode;

/// An open store and what `status` shows about it.
pub struct Store {
    opened: Opened,
}

impl Store {
    /// Opens `url` as `mode` allows. A store that is missing (and may not be
    /// created), foreign or of another schema version is refused before
    /// anything is written. Hard deletes are allowed, so `copy` can carry
    /// them over.
    pub async fn open(url: &str, mode: Mode) -> Result<Store, Failure> {
        let options = OpenOptions {
            mode,
            allow_hard_delete: true,
        };
        Ok(Store {
            opened: disco::open_url(url, options).await?,
        })
    }

    /// The store behind the contract.
    pub fn store(&self) -> Arc<dyn EventStore> {
        self.opened.store.clone()
    }

    /// The schema version as stored (`None` for memory).
    pub fn schema_version(&self) -> Option<u64> {
        self.opened.schema_version
    }

    /// The PostgreSQL schema, if the store lives in one.
    pub fn schema(&self) -> Option<&str> {
        self.opened.schema.as_deref()
    }

    /// The schema version as a person reads it.
    pub fn schema_version_text(&self) -> String {
        let kind = self.opened.version_kind;
        match (self.opened.schema_version, self.schema()) {
            (None, _) => format!("none ({kind})"),
            (Some(v), Some(schema)) => format!("{v} ({kind}, schema {schema})"),
            (Some(v), None) => format!("{v} ({kind})"),
        }
    }

    /// Ends background work (writers, listeners) before the process exits.
    pub async fn close(self) {
        if let Err(error) = self.opened.store.close().await {
            eprintln!("disco: closing the store: {error}");
        }
    }
}
