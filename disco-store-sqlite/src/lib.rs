//! # disco-store-sqlite
//!
//! The SQLite [`EventStore`]: rusqlite with its bundled SQLite (no system
//! library needed), WAL mode, `synchronous=FULL` by default, one writer thread
//! that group-commits appends, and a small pool of read connections beside it.
//! Nothing blocks the tokio runtime: the writer is a thread of its own and
//! reads run on tokio's blocking pool.
//!
//! Several processes may open the same file. Positions are assigned inside
//! the write transaction, which holds SQLite's write lock, so position order
//! is commit order across processes too. A reader waiting on
//! [`EventStore::notifications`] wakes at once for commits of its own process
//! and within the poll interval (25 ms by default) for commits of others.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
//! use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use disco::sqlite::{SqliteOptions, SqliteStore};
//!
//! let path = std::env::temp_dir().join(format!("disco-doc-{}.db", uuid::Uuid::new_v4()));
//! let store = SqliteStore::open(&path, SqliteOptions::default()).await?;
//! let stream = StreamId::new("wallet-1")?;
//! store
//!     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Opened", vec![])])
//!     .await?;
//! assert_eq!(store.stream_version(&stream).await?, 1);
//! # drop(store);
//! # for suffix in ["", "-wal", "-shm"] { let _ = std::fs::remove_file(format!("{}{suffix}", path.display())); }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
// The lint gate: library code takes no shortcut that bad input could turn
// into a panic (unwrap, expect, panic, unchecked indexing or arithmetic);
// the few justified exceptions say why where they stand. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod errors;
mod event_row;
mod leases;
mod options;
mod partition_fn;
mod readers;
mod reads;
mod schema;
mod url;
mod watcher;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::group_commit::{Batching, GroupCommitWriter};
use disco_backend::{check_checkpoint_name, Notifier};
use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Checkpoint, DeleteMode, Error, EventFilter,
    EventStore, ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo,
};
use rusqlite::Connection;

pub use options::{SqliteOptions, Synchronous};
pub use schema::{drop_store, migration_checksums, Dropped, APPLICATION_ID, SCHEMA_VERSION};
pub use url::BACKEND;

use readers::ReaderPool;
use schema::Location;

/// A SQLite event store. Clones are handles to the same store (one writer
/// thread, one reader pool).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: GroupCommitWriter<Connection>,
    readers: Option<Arc<ReaderPool>>,
    notifier: Arc<Notifier>,
    limits: Limits,
    stop: Arc<AtomicBool>,
    path: Option<PathBuf>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer stops when its channel closes (with this struct); the
        // watcher polls this flag.
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("head", &self.inner.notifier.head())
            .finish()
    }
}

impl SqliteStore {
    /// Opens the store in the file at `path`, creating the file and the schema
    /// if missing (unless [`SqliteOptions::create_if_missing`] is off). A file
    /// that is not a SQLite database, belongs to another application, or
    /// holds other tables (unless [`SqliteOptions::share_database`]) is
    /// refused with [`Error::Foreign`]; a schema from a newer disco (or an
    /// older one with [`SqliteOptions::migrate`] off) with
    /// [`Error::IncompatibleSchema`]; each is left byte for byte as it was.
    /// A file locked by another process for longer than the busy timeout
    /// gives [`Error::Unavailable`]. The full table is in the crate's README.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        Self::start(Location::File(path.as_ref().to_path_buf()), options).await
    }

    /// Opens a store in a private in-memory database (gone when the last
    /// handle drops). Reads share the writer's connection.
    pub async fn open_in_memory(options: SqliteOptions) -> Result<Self> {
        Self::start(Location::Memory, options).await
    }

    async fn start(location: Location, options: SqliteOptions) -> Result<Self> {
        let opened = {
            let (location, options) = (location.clone(), options.clone());
            tokio::task::spawn_blocking(move || {
                let conn = schema::open_writer(&location, &options)?;
                let head = reads::head(&conn)?;
                Ok::<_, Error>((conn, head))
            })
            .await
            .map_err(|e| Error::Backend(format!("opening the database failed: {e}")))??
        };
        let (conn, head) = opened;
        let notifier = Arc::new(Notifier::new(head));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let notifier = notifier.clone();
            let batching = Batching {
                max_batch: options.max_batch.max(1),
                delay: options.group_commit_delay,
            };
            GroupCommitWriter::spawn("disco-sqlite-writer", conn, batching, move |conn, batch| {
                writer::commit_batch(conn, batch, &notifier)
            })?
        };
        let (readers, path) = match location {
            Location::Memory => (None, None),
            Location::File(path) => {
                watcher::spawn(
                    path.clone(),
                    options.clone(),
                    notifier.clone(),
                    stop.clone(),
                )
                .map_err(|e| Error::Backend(format!("cannot start the watcher thread: {e}")))?;
                (
                    Some(Arc::new(ReaderPool::new(path.clone(), options.clone()))),
                    Some(path),
                )
            }
        };
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer,
                readers,
                notifier,
                limits: options.limits,
                stop,
                path,
            }),
        })
    }

    /// The schema version of the file (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<i64> {
        self.read(|c| {
            c.query_row("PRAGMA user_version", [], |row| row.get(0))
                .map_err(errors::db_error)
        })
        .await
    }

    /// The file this store lives in; `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Refuses every call once the store was closed.
    fn live(&self) -> Result<()> {
        if self.inner.notifier.is_closed() {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Runs `job` on the writer's connection, in order with appends.
    pub(crate) async fn write<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.live()?;
        self.inner.writer.run(job).await
    }

    /// Runs `read` on a read connection (the writer's for in-memory stores).
    async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.live()?;
        match &self.inner.readers {
            Some(pool) => pool.run(read).await,
            None => self.write(move |conn| read(conn)).await,
        }
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.live()?;
        self.inner.limits.check_append(&events)?;
        self.inner.writer.append(stream, expected, events).await
    }

    async fn append_many(&self, appends: Vec<AppendMany>) -> Vec<Result<AppendResult>> {
        if let Err(error) = self.live() {
            return appends.iter().map(|_| Err(error.clone())).collect();
        }
        let limits = self.inner.limits;
        self.inner
            .writer
            .append_many(appends, |events| limits.check_append(events))
            .await
    }

    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        self.live()?;
        self.inner.limits.check_atomic(&parts)?;
        let notifier = self.inner.notifier.clone();
        self.write(move |conn| writer::commit_atomic(conn, parts, &notifier))
            .await
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.live()?;
        self.inner.limits.check_append_if(&parts, condition)?;
        let notifier = self.inner.notifier.clone();
        self.inner
            .writer
            .append_if(parts, condition.clone(), move |conn, parts, condition| {
                writer::commit_conditional(conn, parts, condition, &notifier)
            })
            .await
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        query.check()?;
        let query = query.clone();
        self.read(move |c| reads::read_query(c, &query, after, limit))
            .await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let stream = stream.clone();
        self.read(move |c| reads::read_stream(c, &stream, from, direction, limit))
            .await
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        let filter = filter.clone();
        self.read(move |c| reads::read_all(c, after, limit, &filter))
            .await
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.read(move |c| reads::read_all_backward(c, from, limit))
            .await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        let stream = stream.clone();
        self.read(move |c| reads::live_version(c, &stream)).await
    }

    async fn head_position(&self) -> Result<u64> {
        self.read(reads::head).await
    }

    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        let (prefix, after) = (prefix.to_owned(), after.cloned());
        self.read(move |c| reads::list_streams(c, &prefix, after.as_ref(), limit))
            .await
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        let stream = stream.clone();
        self.write(move |c| writer::delete_stream(c, &stream, expected, mode))
            .await
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        let stream = stream.clone();
        self.write(move |c| writer::save_snapshot(c, &stream, version, &data))
            .await
    }

    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()> {
        let stream = stream.clone();
        self.write(move |c| writer::delete_snapshot(c, &stream))
            .await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let stream = stream.clone();
        self.read(move |c| reads::load_snapshot(c, &stream)).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        check_checkpoint_name(name)?;
        let name = name.to_owned();
        self.write(move |c| writer::save_checkpoint(c, &name, position, None))
            .await
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        check_checkpoint_name(name)?;
        let name = name.to_owned();
        self.write(move |c| writer::save_checkpoint(c, &name, position, Some(token)))
            .await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        check_checkpoint_name(name)?;
        let name = name.to_owned();
        self.read(move |c| reads::load_checkpoint(c, &name)).await
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.read(reads::list_checkpoints).await
    }

    async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        disco_backend::check_lease_name(name)?;
        let lease = leases::SqliteLease::take(self, name, ttl).await?;
        Ok(lease.map(|lease| Box::new(lease) as Box<dyn Lease>))
    }

    fn notifications(&self) -> Notifications {
        self.inner.notifier.subscribe()
    }

    /// Refuses every later call and stops the cross-process watcher; the
    /// writer thread and the file's connections end when the last handle is
    /// dropped.
    async fn close(&self) -> Result<()> {
        self.inner.notifier.close();
        self.inner.stop.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn limits(&self) -> Limits {
        self.inner.limits
    }
}
