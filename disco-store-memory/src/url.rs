//! This backend's entry in the store registry: the `memory:` URL.

use std::sync::Arc;

use disco_backend::registry::{Backend, BoxFuture, Dropped, OpenOptions, Opened};
use disco_core::Result;

use crate::MemoryStore;

/// The registry entry of the memory store: every open is a new, empty store.
pub const BACKEND: Backend = Backend {
    name: "memory",
    schemes: &["memory"],
    form: "memory:",
    open,
    drop,
};

fn open(_url: &str, _how: OpenOptions) -> BoxFuture<'_, Result<Opened>> {
    Box::pin(async move {
        Ok(Opened {
            store: Arc::new(MemoryStore::new()),
            schema_version: None,
            version_kind: "memory",
            schema: None,
        })
    })
}

fn drop(_url: &str) -> BoxFuture<'_, Result<Dropped>> {
    Box::pin(async move {
        Ok(Dropped {
            removed: "nothing (a memory store ends with its process)".into(),
            kept: Vec::new(),
        })
    })
}
