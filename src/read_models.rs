//! [`ReadModelDb`]: a read-model database named by a URL, as the examples
//! and `disco projections` open it.

use serde::de::DeserializeOwned;

use disco_backend::registry::BoxFuture;

use disco_projections::sql::{
    DocumentProjection, Documents, Portable, Row, SqlProjection, SqlValue,
};
use disco_projections::{GenerationRow, PartitionRow, ProjectionError, Projector, Tables};

// The databases this build knows are listed here, in `each_database!` and
// in `OPENERS`: adding one is a variant, a line of that macro and an opener;
// every method dispatches through the macro.

/// A database holding projections' read models.
#[derive(Clone, Debug)]
pub enum ReadModelDb {
    /// A SQLite file (or an in-memory database).
    #[cfg(feature = "sqlite")]
    Sqlite(disco_projections::sqlite::SqliteReadModels),
    /// A PostgreSQL database (and schema).
    #[cfg(feature = "postgres")]
    Postgres(disco_projections::postgres::PgReadModels),
}

/// `$call` on the read-model handle of whichever database `$db` is: each
/// adapter's handle has the same inherent methods (`projection`, `query`,
/// `list`, `list_partitions`, `rebuild`, `drop_retired`).
macro_rules! each_database {
    ($db:expr, $models:ident => $call:expr) => {
        match $db {
            #[cfg(feature = "sqlite")]
            ReadModelDb::Sqlite($models) => $call,
            #[cfg(feature = "postgres")]
            ReadModelDb::Postgres($models) => $call,
        }
    };
}

/// Where an application keeps its read models when they live with the
/// store: the store's own SQLite file or PostgreSQL database (`memory:`:
/// a private in-memory one), and for a redb store a SQLite file beside it
/// (`PATH.read-models.db`), since redb holds no SQL tables; for a NATS
/// store, a SQLite file named after the store in the working directory
/// (`NAME.read-models.db`: a cluster holds no SQL tables either; point a
/// real deployment's read models at PostgreSQL).
///
/// ```
/// assert_eq!(disco::read_models_beside("redb:app.redb"), "sqlite:app.redb.read-models.db");
/// assert_eq!(disco::read_models_beside("sqlite:app.db"), "sqlite:app.db");
/// assert_eq!(
///     disco::read_models_beside("nats://127.0.0.1:4301?store=bank&replicas=3"),
///     "sqlite:bank.read-models.db"
/// );
/// ```
pub fn read_models_beside(store_url: &str) -> String {
    if let Some(path) = store_url.strip_prefix("redb:") {
        return format!("sqlite:{path}.read-models.db");
    }
    if store_url.starts_with("nats://") {
        let store = store_url
            .split_once('?')
            .map(|(_, query)| query)
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("store="))
            // Only a valid store name becomes a file name.
            .filter(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .unwrap_or("nats");
        return format!("sqlite:{store}.read-models.db");
    }
    store_url.to_owned()
}

/// Opens the read-model database at `url`:
///
/// - `sqlite:PATH`: the SQLite file (with `existing_only`, only if it
///   exists); the event store's own file works, beside the store's tables;
/// - `memory:`: a private in-memory SQLite database;
/// - `postgres://USER@HOST:PORT/DB[?schema=NAME]`: the database, in that
///   schema (created if missing, unless `existing_only`) or the default one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let models = disco::open_read_models("memory:", false).await.unwrap();
/// assert!(models.list().await.unwrap().is_empty());
/// assert!(disco::open_read_models("redb:x.redb", false).await.is_err());
/// # }
/// ```
pub async fn open_read_models(
    url: &str,
    existing_only: bool,
) -> Result<ReadModelDb, ProjectionError> {
    for opener in OPENERS {
        if let Some(opened) = opener(url, existing_only).await {
            return opened;
        }
    }
    Err(ProjectionError::Invalid(format!(
        "{url:?} names no read-model database this build knows: use sqlite:PATH, memory: or postgres://... (redb and memory event stores keep read models in one of those)"
    )))
}

/// What an opener returns: `None` when the URL is not its database's.
type Opened<'a> = BoxFuture<'a, Option<Result<ReadModelDb, ProjectionError>>>;

/// One opener per read-model database of this build, tried in turn.
const OPENERS: &[for<'a> fn(&'a str, bool) -> Opened<'a>] = &[
    #[cfg(feature = "sqlite")]
    |url, existing_only| Box::pin(async move { open_sqlite(url, existing_only) }),
    #[cfg(feature = "postgres")]
    |url, existing_only| Box::pin(open_postgres(url, existing_only)),
];

/// `memory:` or `sqlite:PATH`.
#[cfg(feature = "sqlite")]
fn open_sqlite(url: &str, existing_only: bool) -> Option<Result<ReadModelDb, ProjectionError>> {
    use disco_projections::sqlite::SqliteReadModels;
    let models = if url == "memory:" {
        SqliteReadModels::in_memory()
    } else {
        let path = url.strip_prefix("sqlite:")?;
        let path = path.strip_prefix("//").unwrap_or(path);
        if existing_only {
            SqliteReadModels::open_existing(path)
        } else {
            SqliteReadModels::open(path)
        }
    };
    Some(models.map(ReadModelDb::Sqlite))
}

/// `postgres://...` or `postgresql://...`, with an optional `?schema=`.
#[cfg(feature = "postgres")]
async fn open_postgres(
    url: &str,
    existing_only: bool,
) -> Option<Result<ReadModelDb, ProjectionError>> {
    use disco_projections::postgres::PgReadModels;
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return None;
    }
    let (base, schema) = disco_store_postgres::split_schema(url);
    let models = if existing_only {
        PgReadModels::connect_existing(&base, schema.as_deref()).await
    } else {
        PgReadModels::connect(&base, schema.as_deref()).await
    };
    Some(models.map(ReadModelDb::Postgres))
}

impl ReadModelDb {
    /// Every generation of every projection here.
    pub async fn list(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        each_database!(self, models => models.list().await)
    }

    /// The partitions of every partitioned projection here.
    pub async fn partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        each_database!(self, models => models.list_partitions().await)
    }

    /// Starts a blue-green rebuild of projection `name`; the new generation.
    pub async fn rebuild(&self, name: &str) -> Result<u32, ProjectionError> {
        each_database!(self, models => models.rebuild(name).await)
    }

    /// Drops the tables of `name`'s retired generations; their numbers.
    pub async fn drop_retired(&self, name: &str) -> Result<Vec<u32>, ProjectionError> {
        each_database!(self, models => models.drop_retired(name).await)
    }

    /// `projection`, written once for every database ([`SqlProjection`]),
    /// on this one: start it with [`Projector::start`] (or partition it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use disco::cqrs::doc_fixture::{Added, Counter};
    /// use disco::projections::sql::{SqlProjection, Statements};
    /// use disco::projections::{args, Envelope, HandlerError, Interest, Projection};
    ///
    /// struct Totals;
    /// impl Projection for Totals {
    ///     type Event = Added;
    ///     const NAME: &'static str = "totals";
    ///     const TABLES: &'static [&'static str] = &["totals"];
    ///     fn interest() -> Interest { Interest::aggregate::<Counter>() }
    /// }
    /// impl SqlProjection for Totals {
    ///     fn setup(&self, sql: &mut Statements) {
    ///         sql.run("CREATE TABLE {totals} (id TEXT PRIMARY KEY, total BIGINT NOT NULL)", args![]);
    ///     }
    ///     fn apply(&self, e: Envelope<Added>, sql: &mut Statements) -> Result<(), HandlerError> {
    ///         sql.run(
    ///             "INSERT INTO {totals} (id, total) VALUES ($1, $2)
    ///              ON CONFLICT (id) DO UPDATE SET total = {totals}.total + excluded.total",
    ///             args![e.aggregate_id, e.event.0],
    ///         );
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let store = disco::connect("memory:").await?;
    /// let models = disco::open_read_models("memory:", false).await?; // or postgres://...
    /// let totals = models.projection(Totals).start(store.clone())?;
    /// let app = disco::cqrs::Orchestrator::builder(store).aggregate::<Counter, _>(|r| r).build()?;
    /// let done = app.execute::<Counter>("a", 5).await?;
    /// totals.wait_for(done.position, std::time::Duration::from_secs(5)).await?;
    /// let total: Option<i64> = models
    ///     .query_scalar("SELECT total FROM totals WHERE id = $1", args!["a"])
    ///     .await?;
    /// assert_eq!(total, Some(5));
    /// # Ok(()) }
    /// ```
    pub fn projection<P: SqlProjection>(&self, projection: P) -> Projector {
        each_database!(self, models => Projector::new(models.projection(Portable(projection))))
    }

    /// `projection`, a document per key ([`DocumentProjection`]), on this
    /// database: start it with [`Projector::start`]; read its documents
    /// with [`ReadModelDb::document`] and [`ReadModelDb::document_page`].
    pub fn document_projection<P: DocumentProjection>(&self, projection: P) -> Projector {
        each_database!(self, models => Projector::new(models.projection(Documents(projection))))
    }

    /// Runs the query `sql`, in the SQL SQLite and PostgreSQL share, with
    /// `$1, $2, ...` for `args` ([`args!`](disco_projections::args)); every
    /// row. Queries read the views named as the projections' tables.
    pub async fn query_rows(
        &self,
        sql: &str,
        args: Vec<SqlValue>,
    ) -> Result<Vec<Row>, ProjectionError> {
        each_database!(self, models => models.query(sql, args).await)
    }

    /// [`ReadModelDb::query_rows`], each row as a `T` (its columns by name).
    pub async fn query<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: Vec<SqlValue>,
    ) -> Result<Vec<T>, ProjectionError> {
        self.query_rows(sql, args)
            .await?
            .iter()
            .map(Row::decode)
            .collect()
    }

    /// The first row of [`ReadModelDb::query_rows`] as a `T`, if there is one.
    pub async fn query_one<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: Vec<SqlValue>,
    ) -> Result<Option<T>, ProjectionError> {
        self.query_rows(sql, args)
            .await?
            .first()
            .map(Row::decode)
            .transpose()
    }

    /// The first column of the first row of [`ReadModelDb::query_rows`] as
    /// a `T`; `None` when there is no row or it is NULL.
    pub async fn query_scalar<T: DeserializeOwned>(
        &self,
        sql: &str,
        args: Vec<SqlValue>,
    ) -> Result<Option<T>, ProjectionError> {
        match self.query_rows(sql, args).await?.first() {
            Some(row) => row.first(),
            None => Ok(None),
        }
    }

    /// The document with `key` of the document projection keeping `table`.
    pub async fn document<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
    ) -> Result<Option<T>, ProjectionError> {
        // Invariant: only a plain identifier is put in the SQL text.
        Tables::new(0, &[table])?;
        let text: Option<String> = self
            .query_scalar(
                &format!("SELECT document FROM {table} WHERE id = $1"),
                vec![SqlValue::from(key)],
            )
            .await?;
        text.map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| {
                ProjectionError::ReadModel(format!("a document in {table} does not decode: {e}"))
            })
    }

    /// Up to `limit` documents of `table` in key order, after the key
    /// `after` (keyset paging: pass the last key of a page for the next).
    pub async fn document_page<T: DeserializeOwned>(
        &self,
        table: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, T)>, ProjectionError> {
        // Invariant: only a plain identifier is put in the SQL text.
        Tables::new(0, &[table])?;
        let rows = self
            .query_rows(
                &format!("SELECT id, document FROM {table} WHERE id > $1 ORDER BY id LIMIT $2"),
                vec![SqlValue::from(after.unwrap_or("")), SqlValue::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let (Some(SqlValue::Text(key)), Some(SqlValue::Text(text))) =
                    (row.get("id"), row.get("document"))
                else {
                    return Err(ProjectionError::ReadModel(format!(
                        "{table} is not a document table"
                    )));
                };
                let document = serde_json::from_str(text).map_err(|e| {
                    ProjectionError::ReadModel(format!(
                        "a document in {table} does not decode: {e}"
                    ))
                })?;
                Ok((key.clone(), document))
            })
            .collect()
    }
}
