//! The PostgreSQL adapter: read models in a PostgreSQL database (the event
//! store's own, or any other), the handler in a `sqlx::Transaction`.
//!
//! The read models live in one schema (the connection's `search_path`,
//! `public` by default, or the schema given to
//! [`PgReadModels::connect`]): the application's tables, the views queries
//! read, and disco's `disco_projections` bookkeeping table.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> Result<(), Box<dyn std::error::Error>> {
//! use disco::cqrs::doc_fixture::{Added, Counter};
//! use disco::projections::postgres::{PgProjection, PgReadModels, PgTransaction};
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
//! #[disco::async_trait]
//! impl PgProjection for Totals {
//!     async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
//!         let sql = format!("CREATE TABLE {} (id TEXT PRIMARY KEY, total BIGINT NOT NULL)", tables.name("totals"));
//!         sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **tx).await?;
//!         Ok(())
//!     }
//!     async fn apply(&self, tx: &mut PgTransaction, tables: &Tables, e: Envelope<Added>) -> Result<(), HandlerError> {
//!         let sql = format!(
//!             "INSERT INTO {} (id, total) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET total = {0}.total + $2",
//!             tables.name("totals"));
//!         sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&e.aggregate_id).bind(e.event.0 as i64).execute(&mut **tx).await?;
//!         Ok(())
//!     }
//! }
//!
//! let read_models = PgReadModels::connect("postgres://postgres@127.0.0.1:5432/test", None).await?;
//! let handle = Projector::new(read_models.projection(Totals)).start(store)?;
//! # Ok(()) }
//! ```

mod portable;
mod projector;
mod txn;

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::adapter::{self, Kind};
use crate::definition::Tables;
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, PartitionRow};
use crate::{HandlerError, Projection};
use disco_cqrs::Envelope;

pub use projector::PgProjector;
/// The sqlx this adapter is built with (its `Transaction` is the handler's).
pub use sqlx;
use txn::{PgRead, PgTxn};

/// The transaction a PostgreSQL projection writes in.
pub type PgTransaction = sqlx::Transaction<'static, sqlx::Postgres>;

/// A projection into PostgreSQL: how it creates its tables and applies one
/// event, inside the runner's transaction.
#[async_trait]
pub trait PgProjection: Projection {
    /// Creates the generation's tables (named by `tables`) and their indexes.
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError>;

    /// Applies one event. An error rolls back the whole batch.
    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        event: Envelope<Self::Event>,
    ) -> Result<(), HandlerError>;
}

/// A PostgreSQL database (and schema) holding read models.
#[derive(Clone, Debug)]
pub struct PgReadModels {
    pool: PgPool,
}

impl PgReadModels {
    /// Connects to `url`; with `schema`, the read models live there (it is
    /// created if missing), else in the connection's default schema.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, ProjectionError> {
        let (pool, schema) = Self::open_pool(url, schema).await?;
        if let Some(schema) = schema {
            // The schema name was checked to be a plain identifier.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .execute(&pool)
            .await
            .map_err(db)?;
        }
        Ok(PgReadModels { pool })
    }

    async fn open_pool<'a>(
        url: &str,
        schema: Option<&'a str>,
    ) -> Result<(PgPool, Option<&'a str>), ProjectionError> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| ProjectionError::Invalid(format!("{url:?} is not a PostgreSQL URL: {e}")))?
            .application_name("disco:read-models");
        if let Some(schema) = schema {
            crate::definition::check_identifier("schema", schema)?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok((pool, schema))
    }

    /// Connects to `url` only if `schema` (or the default one) exists; for
    /// tools that only look.
    pub async fn connect_existing(
        url: &str,
        schema: Option<&str>,
    ) -> Result<Self, ProjectionError> {
        let (pool, _) = Self::open_pool(url, schema).await?;
        if let Some(schema) = schema {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                    .bind(schema)
                    .fetch_one(&pool)
                    .await
                    .map_err(db)?;
            if !exists {
                return Err(ProjectionError::ReadModel(format!(
                    "there is no schema {schema} in the database"
                )));
            }
        }
        Ok(PgReadModels { pool })
    }

    /// Uses `pool` (its connections' `search_path` decides the schema).
    pub fn new(pool: PgPool) -> Self {
        PgReadModels { pool }
    }

    /// The pool, for queries (they read the views named as the tables).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs the portable query `sql` (the SQL both databases share, `$1,
    /// $2, ...` for `args`) and reads every row.
    pub async fn query(
        &self,
        sql: &str,
        args: Vec<crate::sql::SqlValue>,
    ) -> Result<Vec<crate::sql::Row>, ProjectionError> {
        portable::query(&self.pool, sql, &args)
            .await
            .map_err(|e| ProjectionError::ReadModel(e.to_string()))
    }

    /// `projection`, writing to this database; start it with
    /// [`Projector`](crate::Projector).
    pub fn projection<P: PgProjection>(&self, projection: P) -> PgProjector<P> {
        PgProjector::new(self.clone(), projection)
    }

    /// Every generation of every projection here (none if no projection
    /// ever ran here; nothing is created).
    pub async fn list(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        adapter::list_all(PgRead::begin(&self.pool).await?).await
    }

    /// The partitions of every partitioned projection here (their current
    /// count, in each generation; nothing is created).
    pub async fn list_partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        adapter::list_partitions(PgRead::begin(&self.pool).await?).await
    }

    /// Starts a blue-green rebuild of projection `name` (its running runner
    /// builds the new generation); the new generation's number.
    pub async fn rebuild(&self, name: &str) -> Result<u32, ProjectionError> {
        // A tool's rebuild creates nothing where no projection ran.
        let tx = PgTxn::begin(&self.pool, Kind::Bookkeeping).await?;
        adapter::request_rebuild(tx, name, None).await
    }

    /// Drops the tables and rows of `name`'s retired generations.
    pub async fn drop_retired(&self, name: &str) -> Result<Vec<u32>, ProjectionError> {
        // Nor does its drop.
        let tx = PgTxn::begin(&self.pool, Kind::Bookkeeping).await?;
        adapter::drop_retired(tx, name, true).await
    }
}

pub(crate) fn db(error: sqlx::Error) -> ProjectionError {
    ProjectionError::ReadModel(error.to_string())
}
