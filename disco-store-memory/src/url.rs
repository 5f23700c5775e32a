//! This backend's entry in the store registry: the `memory:` URL.

use std::sync::Arc;

use disco_backend::registry::{Backend, BoxFuture, Dropped, OpenOptions, Opened};
use disco_core::{Error, Result};

use crate::MemoryStore;

/// The registry entry of the memory store: every open is a new, empty store.
pub const BACKEND: Backend = Backend {
    name: "memory",
    schemes: &["memory"],
    form: "memory:",
    open,
    drop,
};

/// Refuses anything after `memory:`: a memory store has no location and
/// no options, so a path or a parameter there is a mistake (a URL meant for
/// another store, a typo), not something to ignore.
fn check(url: &str) -> Result<()> {
    match url.strip_prefix("memory:") {
        Some("") => Ok(()),
        Some(rest) => Err(Error::InvalidInput(format!(
            "memory: takes no path or parameters, and this URL has {rest:?} after it; a memory store is written \"memory:\""
        ))),
        None => Err(Error::InvalidInput(format!(
            "{url:?} is not a memory: URL"
        ))),
    }
}

fn open(url: &str, _how: OpenOptions) -> BoxFuture<'_, Result<Opened>> {
    Box::pin(async move {
        check(url)?;
        Ok(Opened {
            store: Arc::new(MemoryStore::new()),
            schema_version: None,
            version_kind: "memory",
            schema: None,
        })
    })
}

fn drop(url: &str) -> BoxFuture<'_, Result<Dropped>> {
    Box::pin(async move {
        check(url)?;
        Ok(Dropped {
            removed: "nothing (a memory store ends with its process)".into(),
            kept: Vec::new(),
        })
    })
}
