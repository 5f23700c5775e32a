//! The bookkeeping written once for every read-model database.
//!
//! What a projection's runner asks of its read model (plans, claims,
//! batches, switches, resets, partitions) is decided here, once, as
//! transactions over two small traits a database implements:
//! - [`Txn`]: one open transaction that runs a statement with `$N`
//!   parameters, reads rows as [`Row`]s, and commits; plus the few
//!   statements of the database's own dialect ([`OwnSql`]);
//! - [`Handler`]: the projection's own code (its tables and one event),
//!   called in that transaction.
//!
//! An adapter (SQLite's, PostgreSQL's) opens the transaction of each
//! [`Kind`] and runs [`ops::run`] in it; [`Adapter`] is all it implements
//! for the runner, which gets [`ReadModel`](crate::ReadModel) from here.

mod generations;
mod ops;
mod partitions;
mod read_model;
mod values;

use std::future::Future;

use async_trait::async_trait;

use disco_cqrs::Envelope;

use crate::definition::Tables;
use crate::error::ProjectionError;
use crate::interest::Interest;
use crate::read_model::{GenerationRow, PartitionRow};
use crate::sql::{Row, SqlValue};
use crate::{HandlerError, Projection};

pub(crate) use generations::{drop_retired, list_all, request_rebuild};
pub(crate) use ops::run;
pub use ops::{Done, Op};
pub(crate) use partitions::list_all as list_partitions;
pub use private::Adapter;

/// What a transaction is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Plans, claims, switches, resets, rebuilds: the bookkeeping tables
    /// are made if missing (and checked to be disco's), and bookkeeping
    /// transactions of the database take turns.
    Bookkeeping,
    /// A batch of events: the tables exist (its generation was claimed).
    Batch,
    /// A read of the bookkeeping: nothing is created or locked (SQLite's
    /// reads; PostgreSQL reads outside a transaction).
    #[cfg(feature = "sqlite")]
    Read,
}

/// The statements a database writes in its own dialect (the rest are in
/// `statements/`, shared).
#[derive(Debug)]
pub(crate) struct OwnSql {
    /// Creates `disco_projections` if missing.
    pub bookkeeping_table: &'static str,
    /// Creates `disco_projection_partitions` if missing.
    pub partitions_table: &'static str,
    /// Whether `disco_projections` exists: one row, one count or boolean.
    pub has_bookkeeping: &'static str,
    /// Whether `disco_projection_partitions` exists, likewise.
    pub has_partitions: &'static str,
    /// Reads (and locks, where the database locks rows) a generation's
    /// position, claim and state: `$1` name, `$2` generation.
    pub lock_row: &'static str,
    /// Reads (and locks) a partition's position, claim, whether its count is
    /// current, and its generation's state: `$1` name, `$2` generation,
    /// `$3` count, `$4` index.
    pub lock_partition: &'static str,
    /// Locks every generation row of `$1` before a partition's switch reads
    /// them (waiting for the batches in flight), where rows lock.
    pub lock_generations: Option<&'static str>,
    /// The kind of the object named `$1` in the read models' namespace:
    /// `view`, `table` or another word; no row when there is none.
    pub object_kind: &'static str,
}

/// One open transaction of a read-model database.
///
/// Its futures may be polled on a blocking thread by [`finish`] (SQLite's
/// never wait); the runner's futures over a database whose futures are
/// `Send` are `Send` too.
pub(crate) trait Txn: Sized {
    /// This database's own statements.
    const OWN: &'static OwnSql;

    /// Runs `sql` with `args` bound to `$1, $2, ...`.
    fn execute(
        &mut self,
        sql: &str,
        args: &[SqlValue],
    ) -> impl Future<Output = Result<(), ProjectionError>>;

    /// Runs the query `sql` and reads every row.
    fn query(
        &mut self,
        sql: &str,
        args: &[SqlValue],
    ) -> impl Future<Output = Result<Vec<Row>, ProjectionError>>;

    /// Commits.
    fn commit(self) -> impl Future<Output = Result<(), ProjectionError>>;
}

/// A projection's own code, run in a transaction `T` of its database.
pub(crate) trait Handler<T: Txn> {
    /// The projection (its name, version, tables and events).
    type Projection: Projection;

    /// What it reads (how an event's aggregate id is found).
    fn interest(&self) -> &Interest;

    /// Creates the generation's tables (named by `tables`).
    fn setup(&self, tx: &mut T, tables: &Tables) -> impl Future<Output = Result<(), HandlerError>>;

    /// Applies one event.
    fn apply(
        &self,
        tx: &mut T,
        tables: &Tables,
        event: Envelope<<Self::Projection as Projection>::Event>,
    ) -> impl Future<Output = Result<(), HandlerError>>;
}

mod private {
    use super::*;

    /// A projection bound to its read-model database: what an adapter gives
    /// the runner. Every [`ReadModel`](crate::ReadModel) method is one
    /// transaction of this, decided in one place for every database.
    #[async_trait]
    pub trait Adapter: Send + Sync + 'static {
        /// The projection (its name and version).
        type Projection: Projection;
        /// What the projection reads.
        fn interest(&self) -> &Interest;
        /// Opens a transaction of `op`'s kind, runs [`ops::run`] in it with
        /// the projection's handler, and gives its answer.
        async fn transact(&self, op: Op) -> Result<Done, ProjectionError>;
        /// Every generation row of the database (a read).
        async fn all_generations(&self) -> Result<Vec<GenerationRow>, ProjectionError>;
        /// Every current partition row of the database (a read).
        async fn all_partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError>;
    }
}

/// Runs `future`, which never waits, to its end on this thread: how a
/// SQLite transaction's steps, synchronous under an async signature, run on
/// the blocking thread that holds the connection.
#[cfg(feature = "sqlite")]
pub(crate) fn finish<F: Future>(future: F) -> Result<F::Output, ProjectionError> {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Never;
    impl Wake for Never {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Never));
    let mut future = std::pin::pin!(future);
    // Invariant: a future run here is polled once and must be ready (its
    // steps do not wait), so nothing is left half done on this thread.
    match future.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err(ProjectionError::ReadModel(
            "a read-model step waited where it cannot (on the database's blocking thread)".into(),
        )),
    }
}
