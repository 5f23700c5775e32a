//! # disco-store-postgres
//!
//! The PostgreSQL [`EventStore`], the one to scale out on: many application
//! processes on many machines share one database, each with its own store
//! handle.
//!
//! - Every object lives in one configurable schema ([`PgOptions::schema`],
//!   `disco` by default), so one database holds several independent stores.
//! - Versioned migrations, embedded from `migrations/*.sql`;
//!   [`PostgresStore::migrate`] applies the pending ones in one transaction
//!   under an advisory lock, and a schema newer than this library is refused.
//! - Appends go through one group-commit writer task per handle. Its
//!   transaction takes one transaction-scoped advisory lock per schema, so
//!   positions are assigned in commit order across processes and a reader
//!   paging by position never skips a late commit; it sends `pg_notify` in the
//!   same transaction.
//! - Readers wake through LISTEN on a dedicated connection, with a catch-up
//!   read on every reconnect and a poll fallback.
//! - Event ids, stream ids and payloads always travel as bind parameters; the
//!   schema name, the one identifier in the SQL, is validated and quoted.
//!
//! ```no_run
//! # async fn demo() -> disco::Result<()> {
//! use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use disco::postgres::{PgOptions, PostgresStore};
//!
//! let store = PostgresStore::connect(
//!     "postgres://postgres@127.0.0.1:5432/app",
//!     PgOptions::default().schema("wallets"),
//! )
//! .await?;
//! let stream = StreamId::new("wallet-1")?;
//! store
//!     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Opened", vec![])])
//!     .await?;
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
mod listener;
mod migrate;
mod options;
mod reads;
mod sql;
mod url;
mod writer;
mod writes;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::group_commit::{append_in_order, atomic_batch, AppendRequest};
use disco_backend::{check_checkpoint_name, Notifier};
use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Checkpoint, DeleteMode, Error, EventFilter,
    EventStore, ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo, StreamLoad,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};

pub use migrate::Dropped;
pub use options::{check_schema_name, PgOptions};
pub use sql::{migration_checksums, LATEST_SCHEMA_VERSION};
pub use url::{split_schema, BACKEND};

use sql::{channel, lock_key, Statements};

/// A PostgreSQL event store. Clones share one pool, one writer and one
/// listener.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    statements: Arc<Statements>,
    writer: mpsc::UnboundedSender<writer::Job>,
    notifier: Arc<Notifier>,
    options: PgOptions,
    connect: PgConnectOptions,
    write_lock: i64,
    // Sending on it, or dropping it, stops the listener and the poller.
    stop: watch::Sender<bool>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.options.schema)
            .field("head", &self.inner.notifier.head())
            .finish()
    }
}

fn writer_gone() -> Error {
    Error::Unavailable("the store's writer task has stopped".into())
}

/// Opens a pool as `options` say, within the connect timeout. One
/// connection is made first, alone, so that what went wrong is said at
/// once and as it is (a refused port, wrong credentials, a missing
/// database); the pool would retry those until its timeout and then
/// report only the timeout.
async fn open_pool(
    url: &str,
    options: &PgOptions,
    size: u32,
) -> Result<(PgPool, PgConnectOptions)> {
    url::check_connect_parameters(url)?;
    let connect = PgConnectOptions::from_str(url)
        .map_err(|e| Error::InvalidInput(format!("{url:?} is not a PostgreSQL URL: {e}")))?
        .application_name(&format!("disco:{}", options.schema));
    let target = format!(
        "{}:{}/{}",
        connect.get_host(),
        connect.get_port(),
        connect.get_database().unwrap_or("")
    );
    let timed_out = || {
        Error::Unavailable(format!(
            "PostgreSQL at {target} did not answer within {:?}",
            options.connect_timeout
        ))
    };
    let first = tokio::time::timeout(
        options.connect_timeout,
        sqlx::ConnectOptions::connect(&connect),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| errors::connect_error(e, &target))?;
    sqlx::Connection::close_hard(first).await.ok();
    let pool = tokio::time::timeout(
        options.connect_timeout,
        PgPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone()),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| errors::connect_error(e, &target))?;
    Ok((pool, connect))
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`).
    /// Creates the store if the schema has none, and applies pending
    /// migrations, as [`PgOptions::create_if_missing`],
    /// [`PgOptions::migrate_on_connect`] and [`PgOptions::share_schema`]
    /// allow (the table is in the crate's README): a schema holding other
    /// objects is refused with [`Error::Foreign`], one without a store that
    /// may not be created with [`Error::NoStore`], a version this library
    /// cannot use as it is with [`Error::IncompatibleSchema`]; nothing is
    /// written then. A URL parameter neither disco nor the driver knows is
    /// [`Error::InvalidInput`] naming it. What the first connection meets is
    /// said as it is: a refused port, an unreachable or unknown host, or no
    /// answer within [`PgOptions::connect_timeout`] is
    /// [`Error::Unavailable`] (the message says which), wrong credentials
    /// [`Error::Unauthorized`], a database that does not exist
    /// [`Error::NoStore`].
    pub async fn connect(url: &str, options: PgOptions) -> Result<Self> {
        let statements = Arc::new(Statements::for_schema(&options.schema)?);
        let (pool, connect) = open_pool(url, &options, options.pool_size.max(2)).await?;
        let schema = options.schema.clone();
        let allowed = migrate::Allowed {
            create: options.create_if_missing,
            migrate: options.migrate_on_connect,
            share_schema: options.share_schema,
        };
        if let Err(error) = migrate::open(&pool, &statements, &schema, allowed).await {
            pool.close().await;
            return Err(error);
        }
        let head = reads::head(&pool, &statements).await?;
        let notifier = Arc::new(Notifier::new(head));
        let write_lock = lock_key(&schema, "write");
        let (stop, stopped) = watch::channel(false);
        let (writer, requests) = mpsc::unbounded_channel();
        let context = writer::WriterContext {
            pool: pool.clone(),
            statements: statements.clone(),
            write_lock,
            channel: channel(&schema),
            notifier: notifier.clone(),
            batching: disco_backend::group_commit::Batching {
                max_batch: options.max_batch,
                delay: options.group_commit_delay,
            },
        };
        tokio::spawn(writer::run(context, requests, stopped.clone()));
        listener::spawn(
            pool.clone(),
            statements.clone(),
            channel(&schema),
            notifier.clone(),
            options.poll_interval,
            stopped,
        );
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool,
                statements,
                writer,
                notifier,
                options,
                connect,
                write_lock,
                stop,
            }),
        })
    }

    /// Applies the pending migrations (safe from several processes at once);
    /// returns the schema version.
    pub async fn migrate(&self) -> Result<i32> {
        let allowed = migrate::Allowed {
            create: true,
            migrate: true,
            share_schema: self.inner.options.share_schema,
        };
        migrate::open(
            &self.inner.pool,
            &self.inner.statements,
            &self.inner.options.schema,
            allowed,
        )
        .await
    }

    /// The schema version in the database.
    pub async fn schema_version(&self) -> Result<i32> {
        migrate::schema_version(
            &self.inner.pool,
            &self.inner.statements,
            &self.inner.options.schema,
        )
        .await
    }

    /// Drops the store: exactly disco's objects in its schema (tables,
    /// functions, the migrations table), then the schema itself if disco
    /// created it and nothing else is left in it. Objects of the application
    /// in the same schema stay. There is no undo.
    pub async fn drop_schema(&self) -> Result<Dropped> {
        migrate::drop_store(
            &self.inner.pool,
            &self.inner.statements,
            &self.inner.options.schema,
        )
        .await
    }

    /// [`PostgresStore::drop_schema`] without opening the store (so a store
    /// of an older version can be dropped too): connects, drops, closes. A
    /// schema without a store is refused with [`Error::NoStore`], or
    /// [`Error::Foreign`] listing what is in it, and left as it was.
    pub async fn drop_at(url: &str, options: &PgOptions) -> Result<Dropped> {
        let statements = Statements::for_schema(&options.schema)?;
        let (pool, _) = open_pool(url, options, 1).await?;
        let dropped = migrate::drop_store(&pool, &statements, &options.schema).await;
        pool.close().await;
        dropped
    }

    /// The store's schema.
    pub fn schema(&self) -> &str {
        &self.inner.options.schema
    }

    /// The connection pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Stops the writer and the listener and closes the pool: every
    /// connection of this store ends, calls made afterwards fail with
    /// [`Error::Closed`], and live subscriptions end with it.
    pub async fn close(&self) {
        self.inner.notifier.close();
        let _ = self.inner.stop.send(true);
        self.inner.pool.close().await;
    }

    /// Refuses every call once the store was closed.
    fn live(&self) -> Result<()> {
        if self.inner.notifier.is_closed() {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// The writer is gone: because the store was closed, or (an outage of
    /// the task) for now.
    fn writer_gone(&self) -> Error {
        if self.inner.notifier.is_closed() {
            Error::Closed
        } else {
            writer_gone()
        }
    }
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.live()?;
        self.inner.options.limits.check_append(&events)?;
        let (request, answer) = AppendRequest::new(stream.clone(), expected, events);
        self.inner
            .writer
            .send(writer::Job::Append(request))
            .map_err(|_| self.writer_gone())?;
        answer.await.map_err(|_| self.writer_gone())?
    }

    async fn append_many(&self, appends: Vec<AppendMany>) -> Vec<Result<AppendResult>> {
        if let Err(error) = self.live() {
            return appends.iter().map(|_| Err(error.clone())).collect();
        }
        let limits = self.inner.options.limits;
        append_in_order(
            appends,
            |events| limits.check_append(events),
            |request| {
                self.inner
                    .writer
                    .send(writer::Job::Append(request))
                    .map_err(|_| self.writer_gone())
            },
            || self.writer_gone(),
        )
        .await
    }

    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        self.live()?;
        self.inner.options.limits.check_atomic(&parts)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner
            .writer
            .send(writer::Job::Atomic(atomic_batch(parts), reply))
            .map_err(|_| self.writer_gone())?;
        answer.await.map_err(|_| self.writer_gone())?
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.live()?;
        self.inner
            .options
            .limits
            .check_append_if(&parts, condition)?;
        let mut parts = parts;
        if parts.len() == 1 {
            if let Some((stream, expected, events)) = parts.pop() {
                // One part: it joins a group commit like any append.
                let (request, answer) =
                    AppendRequest::conditional(stream, expected, events, condition.clone());
                self.inner
                    .writer
                    .send(writer::Job::Append(request))
                    .map_err(|_| self.writer_gone())?;
                return answer
                    .await
                    .map_err(|_| self.writer_gone())?
                    .map(|result| vec![result]);
            }
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner
            .writer
            .send(writer::Job::Conditional(
                atomic_batch(parts),
                condition.clone(),
                reply,
            ))
            .map_err(|_| self.writer_gone())?;
        answer.await.map_err(|_| self.writer_gone())?
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        self.live()?;
        query.check()?;
        reads::read_query(
            &self.inner.pool,
            &self.inner.statements,
            query,
            after,
            limit,
        )
        .await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        reads::read_stream(
            &self.inner.pool,
            &self.inner.statements,
            stream,
            from,
            direction,
            limit,
        )
        .await
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        reads::read_all(
            &self.inner.pool,
            &self.inner.statements,
            after,
            limit,
            filter,
        )
        .await
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        reads::read_all_backward(&self.inner.pool, &self.inner.statements, from, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        reads::live_version(&self.inner.pool, &self.inner.statements, stream).await
    }

    async fn head_position(&self) -> Result<u64> {
        reads::head(&self.inner.pool, &self.inner.statements).await
    }

    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        reads::list_streams(
            &self.inner.pool,
            &self.inner.statements,
            prefix,
            after,
            limit,
        )
        .await
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        writes::delete_stream(
            &self.inner.pool,
            &self.inner.statements,
            self.inner.write_lock,
            stream,
            expected,
            mode,
            self.inner.options.allow_hard_delete,
        )
        .await
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        writes::save_snapshot(
            &self.inner.pool,
            &self.inner.statements,
            self.inner.write_lock,
            stream,
            version,
            data,
        )
        .await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        reads::load_snapshot(&self.inner.pool, &self.inner.statements, stream).await
    }

    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()> {
        writes::delete_snapshot(
            &self.inner.pool,
            &self.inner.statements,
            self.inner.write_lock,
            stream,
        )
        .await
    }

    async fn load_stream(&self, stream: &StreamId, limit: usize) -> Result<StreamLoad> {
        reads::load_stream(&self.inner.pool, &self.inner.statements, stream, limit).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        check_checkpoint_name(name)?;
        writes::save_checkpoint(&self.inner.pool, &self.inner.statements, name, position).await
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        check_checkpoint_name(name)?;
        writes::save_checkpoint_fenced(
            &self.inner.pool,
            &self.inner.statements,
            name,
            position,
            token,
        )
        .await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        check_checkpoint_name(name)?;
        reads::load_checkpoint(&self.inner.pool, &self.inner.statements, name).await
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        reads::list_checkpoints(&self.inner.pool, &self.inner.statements).await
    }

    async fn try_lease(&self, name: &str, _ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        self.live()?;
        disco_backend::check_lease_name(name)?;
        let lease = leases::PgLease::take(
            &self.inner.connect,
            self.inner.options.connect_timeout,
            &self.inner.statements,
            &self.inner.options.schema,
            name,
        )
        .await?;
        Ok(lease.map(|lease| Box::new(lease) as Box<dyn Lease>))
    }

    fn notifications(&self) -> Notifications {
        self.inner.notifier.subscribe()
    }

    async fn close(&self) -> Result<()> {
        PostgresStore::close(self).await;
        Ok(())
    }

    fn limits(&self) -> Limits {
        self.inner.options.limits
    }
}
