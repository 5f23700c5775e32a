//! This backend's entry in the store registry: `sqlite:PATH` URLs.

use std::sync::Arc;

use disco_backend::registry::{
    file_path, Backend, BoxFuture, Dropped, OpenMode, OpenOptions, Opened,
};
use disco_core::Result;

use crate::{SqliteOptions, SqliteStore};

/// The registry entry of the SQLite store.
pub const BACKEND: Backend = Backend {
    name: "sqlite",
    schemes: &["sqlite"],
    form: "sqlite:PATH",
    open,
    drop,
};

fn open(url: &str, how: OpenOptions) -> BoxFuture<'_, Result<Opened>> {
    Box::pin(async move {
        let path = file_path(url)?;
        let options = SqliteOptions::default()
            .create_if_missing(how.mode == OpenMode::Create)
            .migrate(how.mode != OpenMode::Existing);
        let store = SqliteStore::open(&path, options).await?;
        let version = store.schema_version().await?;
        Ok(Opened {
            schema_version: Some(version.max(0) as u64),
            version_kind: "SQLite user_version",
            schema: None,
            store: Arc::new(store),
        })
    })
}

fn drop(url: &str) -> BoxFuture<'_, Result<Dropped>> {
    Box::pin(async move {
        let path = file_path(url)?;
        let dropped = tokio::task::spawn_blocking(move || crate::drop_store(&path))
            .await
            .map_err(|e| disco_core::Error::Backend(format!("dropping failed: {e}")))??;
        Ok(match dropped {
            crate::Dropped::File => Dropped {
                removed: "disco's tables and the file".into(),
                kept: Vec::new(),
            },
            crate::Dropped::Tables { kept } => Dropped {
                removed: "disco's tables".into(),
                kept,
            },
        })
    })
}
