//! The SQLite adapter: read models in a SQLite database (the event store's
//! own file, or any other), the handler in a `rusqlite::Transaction`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use disco::cqrs::doc_fixture::{Added, Counter};
//! use disco::projections::sqlite::{SqliteProjection, SqliteReadModels};
//! use disco::projections::{Envelope, HandlerError, Interest, Projection, Projector, Tables};
//!
//! struct Totals;
//!
//! impl Projection for Totals {
//!     type Event = Added;
//!     const NAME: &'static str = "totals";
//!     const TABLES: &'static [&'static str] = &["totals"];
//!     fn interest() -> Interest { Interest::aggregate::<Counter>() }
//! }
//!
//! impl SqliteProjection for Totals {
//!     fn setup(&self, tx: &rusqlite::Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
//!         let sql = format!("CREATE TABLE {} (id TEXT PRIMARY KEY, total INTEGER NOT NULL)", tables.name("totals"));
//!         tx.execute(&sql, [])?;
//!         Ok(())
//!     }
//!     fn apply(&self, tx: &rusqlite::Transaction<'_>, tables: &Tables, e: Envelope<Added>) -> Result<(), HandlerError> {
//!         let sql = format!(
//!             "INSERT INTO {} (id, total) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET total = total + ?2",
//!             tables.name("totals"));
//!         tx.execute(&sql, rusqlite::params![e.aggregate_id, e.event.0 as i64])?;
//!         Ok(())
//!     }
//! }
//!
//! let store = disco::connect("memory:").await?;
//! let read_models = SqliteReadModels::in_memory()?;
//! let handle = Projector::new(read_models.projection(Totals)).start(store.clone())?;
//! let app = disco::cqrs::Orchestrator::builder(store).aggregate::<Counter, _>(|r| r).build()?;
//! let done = app.execute::<Counter>("a", 5).await?;
//! handle.wait_for(done.position, std::time::Duration::from_secs(5)).await?;
//! let total: i64 = read_models
//!     .with_connection(|c| c.query_row("SELECT total FROM totals WHERE id = 'a'", [], |r| r.get(0)))
//!     .await?;
//! assert_eq!(total, 5);
//! # Ok(()) }
//! ```

mod portable;
mod projector;
mod txn;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction};

use crate::adapter::{self, Kind};
use crate::definition::Tables;
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, PartitionRow};
use crate::{HandlerError, Projection};
use disco_cqrs::Envelope;

pub use projector::SqliteProjector;
/// The rusqlite this adapter is built with (its `Transaction` is the
/// handler's).
pub use rusqlite;
use txn::SqliteTxn;

/// A projection into SQLite: how it creates its tables and applies one
/// event, inside the runner's transaction. Both run on a blocking thread.
pub trait SqliteProjection: Projection {
    /// Creates the generation's tables (named by `tables`) and their indexes.
    fn setup(&self, tx: &Transaction<'_>, tables: &Tables) -> Result<(), HandlerError>;

    /// Applies one event. An error rolls back the whole batch.
    fn apply(
        &self,
        tx: &Transaction<'_>,
        tables: &Tables,
        event: Envelope<Self::Event>,
    ) -> Result<(), HandlerError>;
}

/// A SQLite database holding read models: one connection, shared by the
/// projections that write and the queries that read through it.
#[derive(Clone, Debug)]
pub struct SqliteReadModels {
    conn: Arc<Mutex<Connection>>,
}

/// How long a write waits for another connection's write (the event
/// store's, when they share a file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl SqliteReadModels {
    /// Opens (creating if missing) the database at `path`, in WAL mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ProjectionError> {
        let conn = Connection::open(path.as_ref()).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        Self::from_connection(conn)
    }

    /// Opens the database at `path` only if it exists (for tools that only
    /// look).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, ProjectionError> {
        let path = path.as_ref();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            ProjectionError::ReadModel(format!("cannot open {}: {e}", path.display()))
        })?;
        Self::from_connection(conn)
    }

    /// A private in-memory database (gone when the last clone is dropped).
    pub fn in_memory() -> Result<Self, ProjectionError> {
        Self::from_connection(Connection::open_in_memory().map_err(db)?)
    }

    /// Uses `conn`.
    pub fn from_connection(conn: Connection) -> Result<Self, ProjectionError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        Ok(SqliteReadModels {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// `projection`, writing to this database; start it with
    /// [`Projector`](crate::Projector).
    pub fn projection<P: SqliteProjection>(&self, projection: P) -> SqliteProjector<P> {
        SqliteProjector::new(self.clone(), projection)
    }

    /// Runs the portable query `sql` (the SQL both databases share, `$1,
    /// $2, ...` for `args`) and reads every row.
    pub async fn query(
        &self,
        sql: &str,
        args: Vec<crate::sql::SqlValue>,
    ) -> Result<Vec<crate::sql::Row>, ProjectionError> {
        let sql = sql.to_owned();
        self.blocking(move |conn| {
            portable::query(conn, &sql, &args)
                .map_err(|e| ProjectionError::ReadModel(e.to_string()))
        })
        .await
    }

    /// Runs `f` on the connection on a blocking thread (queries read the
    /// views named as the projections' tables).
    pub async fn with_connection<T, F>(&self, f: F) -> Result<T, ProjectionError>
    where
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.blocking(move |conn| f(conn).map_err(db)).await
    }

    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, ProjectionError>
    where
        F: FnOnce(&mut Connection) -> Result<T, ProjectionError> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
        .map_err(|e| ProjectionError::ReadModel(format!("the database task failed: {e}")))?
    }

    /// Every generation of every projection in this database (none if no
    /// projection ever ran here; nothing is created).
    pub async fn list(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        self.blocking(|conn| {
            let tx = SqliteTxn::begin(conn, Kind::Read)?;
            adapter::finish(adapter::list_all(tx))?
        })
        .await
    }

    /// The partitions of every partitioned projection here (their current
    /// count, in each generation; nothing is created).
    pub async fn list_partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        self.blocking(|conn| {
            let tx = SqliteTxn::begin(conn, Kind::Read)?;
            adapter::finish(adapter::list_partitions(tx))?
        })
        .await
    }

    /// Starts a blue-green rebuild of projection `name` (its running
    /// runner builds the new generation); the new generation's number.
    pub async fn rebuild(&self, name: &str) -> Result<u32, ProjectionError> {
        let name = name.to_owned();
        self.blocking(move |conn| {
            // A tool's rebuild creates nothing where no projection ran.
            let tx = SqliteTxn::begin(conn, Kind::Bookkeeping)?;
            adapter::finish(adapter::request_rebuild(tx, &name, None))?
        })
        .await
    }

    /// Drops the tables and rows of `name`'s retired generations.
    pub async fn drop_retired(&self, name: &str) -> Result<Vec<u32>, ProjectionError> {
        let name = name.to_owned();
        self.blocking(move |conn| {
            // Nor does its drop.
            let tx = SqliteTxn::begin(conn, Kind::Bookkeeping)?;
            adapter::finish(adapter::drop_retired(tx, &name, true))?
        })
        .await
    }
}

pub(crate) fn db(error: rusqlite::Error) -> ProjectionError {
    ProjectionError::ReadModel(error.to_string())
}
