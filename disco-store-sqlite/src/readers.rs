//! A small pool of read connections. Each read runs on tokio's blocking pool,
//! so SQLite never blocks the async runtime; a semaphore bounds the number of
//! connections.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use disco_core::{Error, Result};
use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::options::SqliteOptions;
use crate::schema;

pub(crate) struct ReaderPool {
    path: PathBuf,
    options: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReaderPool {
    pub(crate) fn new(path: PathBuf, options: SqliteOptions) -> Self {
        let permits = Arc::new(Semaphore::new(
            options.readers.clamp(1, Semaphore::MAX_PERMITS),
        ));
        ReaderPool {
            path,
            options,
            idle: Mutex::new(Vec::new()),
            permits,
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
    }

    fn give_back(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(conn);
    }

    /// Runs `read` on a pooled connection (opening one if none is idle).
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Unavailable("the store is closing".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = match pool.take_idle() {
                Some(conn) => conn,
                None => schema::open_reader(&pool.path, &pool.options)?,
            };
            let result = read(&conn);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(|e| Error::Backend(format!("a read task failed: {e}")))?
    }
}
