//! # disco-store-redb
//!
//! The redb [`EventStore`]: one file, held by one process, with tables keyed
//! for each access path (events by position; stream and version to position;
//! event id to position; stream state; snapshots; checkpoints) and a format
//! version. Commits use redb's default durability (immediate: durable when
//! `commit` returns). One writer thread group-commits appends; reads use
//! their own read transactions on tokio's blocking pool and never wait for
//! the writer.
//!
//! redb lets one process open a file: opening one that another process holds
//! fails at once with [`Error::Unavailable`]. Within a process, clones of a
//! [`RedbStore`] share it. Readers waiting on [`EventStore::notifications`]
//! wake as soon as a commit returns.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
//! use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use disco::redb::{RedbOptions, RedbStore};
//!
//! let path = std::env::temp_dir().join(format!("disco-doc-{}.redb", disco::Uuid::new_v4()));
//! let store = RedbStore::open(&path, RedbOptions::default()).await?;
//! let stream = StreamId::new("wallet-1")?;
//! store
//!     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Opened", vec![])])
//!     .await?;
//! assert_eq!(store.stream_version(&stream).await?, 1);
//! # drop(store);
//! # let _ = std::fs::remove_file(&path);
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
mod open;
mod options;
mod reads;
mod tables;
mod upgrade;
mod url;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::group_commit::{Batching, GroupCommitWriter};
use disco_backend::LocalLeases;
use disco_backend::{check_checkpoint_name, Notifier};
use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Checkpoint, DeleteMode, Error, EventFilter,
    EventStore, ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo,
};
use redb::{ReadTransaction, ReadableDatabase};

pub use options::RedbOptions;
pub use tables::FORMAT_VERSION;
pub use url::BACKEND;

use errors::db_error;
use writes::WriterState;

/// A redb event store. Clones are handles to the same store.
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<crate::open::Db>,
    writer: GroupCommitWriter<WriterState>,
    notifier: Arc<Notifier>,
    limits: Limits,
    path: PathBuf,
    /// A redb file is open in one process at a time, so consumer leases are
    /// in-process.
    leases: LocalLeases,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.inner.path)
            .field("head", &self.inner.notifier.head())
            .finish()
    }
}

impl RedbStore {
    /// Opens the store in the file at `path`, creating it if missing. A file
    /// that is not a redb database, is damaged, belongs to another
    /// application or holds a format from a newer disco is refused with
    /// [`Error::Backend`]; a file another process has open gives
    /// [`Error::Unavailable`] at once.
    pub async fn open(path: impl AsRef<Path>, options: RedbOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (db, head) = {
            let (path, options) = (path.clone(), options.clone());
            tokio::task::spawn_blocking(move || open::open(&path, &options))
                .await
                .map_err(|e| Error::Backend(format!("opening the database failed: {e}")))??
        };
        let db = Arc::new(db);
        let notifier = Arc::new(Notifier::new(head));
        let writer = {
            let notifier = notifier.clone();
            let batching = Batching {
                max_batch: options.max_batch.max(1),
                delay: options.group_commit_delay,
            };
            let state = WriterState {
                db: db.clone(),
                head,
                quick_repair: options.quick_repair,
            };
            GroupCommitWriter::spawn("disco-redb-writer", state, batching, move |state, batch| {
                writes::commit_batch(state, batch, &notifier)
            })?
        };
        Ok(RedbStore {
            inner: Arc::new(Inner {
                db,
                writer,
                notifier,
                limits: options.limits,
                path,
                leases: LocalLeases::default(),
            }),
        })
    }

    /// Closes this handle. If it is the last one, waits until the writer has
    /// finished and the file is released, so the file can be opened again at
    /// once (by this process or another). Dropping the last handle releases
    /// the file too, a moment later.
    pub async fn close(self) -> Result<()> {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => {
                let Inner { db, writer, .. } = inner;
                drop(db);
                writer.close().await
            }
            Err(_) => Ok(()),
        }
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Refuses every call once the store was closed.
    fn live(&self) -> Result<()> {
        if self.inner.notifier.is_closed() {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Runs `read` in a fresh read transaction on the blocking pool.
    async fn read<T, F>(&self, read: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T> + Send + 'static,
    {
        self.live()?;
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || read(&db.begin_read().map_err(db_error)?))
            .await
            .map_err(|e| Error::Backend(format!("a read failed: {e}")))?
    }
}

#[async_trait]
impl EventStore for RedbStore {
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
        self.inner
            .writer
            .run(move |state| writes::commit_atomic(state, parts, &notifier))
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
            .append_if(parts, condition.clone(), move |state, parts, condition| {
                writes::commit_conditional(state, parts, condition, &notifier)
            })
            .await
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        query.check()?;
        let query = query.clone();
        self.read(move |t| reads::read_query(t, &query, after, limit))
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
        self.read(move |t| reads::read_stream(t, &stream, from, direction, limit))
            .await
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        let filter = filter.clone();
        self.read(move |t| reads::read_all(t, after, limit, &filter))
            .await
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.read(move |t| reads::read_all_backward(t, from, limit))
            .await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        let stream = stream.clone();
        self.read(move |t| reads::stream_version(t, &stream)).await
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
        self.read(move |t| reads::list_streams(t, &prefix, after.as_ref(), limit))
            .await
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        self.live()?;
        let stream = stream.clone();
        self.inner
            .writer
            .run(move |state| writes::delete_stream(state, &stream, expected, mode))
            .await
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        self.live()?;
        let stream = stream.clone();
        self.inner
            .writer
            .run(move |state| writes::save_snapshot(state, &stream, version, &data))
            .await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let stream = stream.clone();
        self.read(move |t| reads::load_snapshot(t, &stream)).await
    }

    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()> {
        self.live()?;
        let stream = stream.clone();
        self.inner
            .writer
            .run(move |state| writes::delete_snapshot(state, &stream))
            .await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.live()?;
        check_checkpoint_name(name)?;
        let name = name.to_owned();
        self.inner
            .writer
            .run(move |state| writes::save_checkpoint(state, &name, position))
            .await
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        self.live()?;
        check_checkpoint_name(name)?;
        let (name, leases) = (name.to_owned(), self.inner.leases.clone());
        // The check runs on the writer thread under the leases' lock, so no
        // acquisition slips between it and the write.
        self.inner
            .writer
            .run(move |state| {
                leases.fenced(&name, token, || {
                    writes::save_checkpoint(state, &name, position)
                })
            })
            .await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        check_checkpoint_name(name)?;
        let name = name.to_owned();
        self.read(move |t| reads::load_checkpoint(t, &name)).await
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.read(reads::list_checkpoints).await
    }

    async fn try_lease(&self, name: &str, _ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        self.live()?;
        self.inner.leases.try_lease(name)
    }

    /// Refuses every later call; the file is released when the last handle
    /// is dropped or closed with [`RedbStore::close`].
    async fn close(&self) -> Result<()> {
        self.inner.notifier.close();
        Ok(())
    }

    fn notifications(&self) -> Notifications {
        self.inner.notifier.subscribe()
    }

    fn limits(&self) -> Limits {
        self.inner.limits
    }
}
