//! This backend's entry in the store registry: `redb:PATH` URLs.

use std::sync::Arc;

use disco_backend::registry::{
    file_path, Backend, BoxFuture, Dropped, OpenMode, OpenOptions, Opened,
};
use disco_core::{Error, Result};

use crate::{RedbOptions, RedbStore, FORMAT_VERSION};

/// The registry entry of the redb store.
pub const BACKEND: Backend = Backend {
    name: "redb",
    schemes: &["redb"],
    form: "redb:PATH",
    open,
    drop,
};

fn open(url: &str, how: OpenOptions) -> BoxFuture<'_, Result<Opened>> {
    Box::pin(async move {
        let path = file_path(url)?;
        // Invariant: only an open allowed to create makes a file.
        if how.mode != OpenMode::Create && !path.exists() {
            return Err(Error::NoStore {
                location: format!("redb:{}", path.display()),
            });
        }
        let store = RedbStore::open(&path, RedbOptions::default()).await?;
        Ok(Opened {
            schema_version: Some(FORMAT_VERSION),
            version_kind: "redb format",
            schema: None,
            store: Arc::new(store),
        })
    })
}

fn drop(url: &str) -> BoxFuture<'_, Result<Dropped>> {
    Box::pin(async move {
        let path = file_path(url)?;
        if !path.exists() {
            return Err(Error::NoStore {
                location: format!("redb:{}", path.display()),
            });
        }
        // Opening refuses a file that is not a disco store; a disco redb
        // file holds nothing else, so all of it goes.
        RedbStore::open(&path, RedbOptions::default())
            .await?
            .close()
            .await?;
        std::fs::remove_file(&path)
            .map_err(|e| Error::Backend(format!("cannot remove {}: {e}", path.display())))?;
        Ok(Dropped {
            removed: "the file".into(),
            kept: Vec::new(),
        })
    })
}
