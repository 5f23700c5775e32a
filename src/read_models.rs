//! [`ReadModelDb`]: a read-model database named by a URL, as the examples
//! and `disco projections` open it.

use disco_projections::{GenerationRow, PartitionRow, ProjectionError};

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
    #[cfg(feature = "sqlite")]
    {
        if url == "memory:" {
            return Ok(ReadModelDb::Sqlite(
                disco_projections::sqlite::SqliteReadModels::in_memory()?,
            ));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let models = if existing_only {
                disco_projections::sqlite::SqliteReadModels::open_existing(path)?
            } else {
                disco_projections::sqlite::SqliteReadModels::open(path)?
            };
            return Ok(ReadModelDb::Sqlite(models));
        }
    }
    #[cfg(feature = "postgres")]
    {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (base, schema) = disco_store_postgres::split_schema(url);
            let models = if existing_only {
                disco_projections::postgres::PgReadModels::connect_existing(
                    &base,
                    schema.as_deref(),
                )
                .await?
            } else {
                disco_projections::postgres::PgReadModels::connect(&base, schema.as_deref()).await?
            };
            return Ok(ReadModelDb::Postgres(models));
        }
    }
    Err(ProjectionError::Invalid(format!(
        "{url:?} names no read-model database this build knows: use sqlite:PATH, memory: or postgres://... (redb and memory event stores keep read models in one of those)"
    )))
}

impl ReadModelDb {
    /// Every generation of every projection here.
    pub async fn list(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        match self {
            #[cfg(feature = "sqlite")]
            ReadModelDb::Sqlite(models) => models.list().await,
            #[cfg(feature = "postgres")]
            ReadModelDb::Postgres(models) => models.list().await,
        }
    }

    /// The partitions of every partitioned projection here.
    pub async fn partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        match self {
            #[cfg(feature = "sqlite")]
            ReadModelDb::Sqlite(models) => models.list_partitions().await,
            #[cfg(feature = "postgres")]
            ReadModelDb::Postgres(models) => models.list_partitions().await,
        }
    }

    /// Starts a blue-green rebuild of projection `name`; the new generation.
    pub async fn rebuild(&self, name: &str) -> Result<u32, ProjectionError> {
        match self {
            #[cfg(feature = "sqlite")]
            ReadModelDb::Sqlite(models) => models.rebuild(name).await,
            #[cfg(feature = "postgres")]
            ReadModelDb::Postgres(models) => models.rebuild(name).await,
        }
    }

    /// Drops the tables of `name`'s retired generations; their numbers.
    pub async fn drop_retired(&self, name: &str) -> Result<Vec<u32>, ProjectionError> {
        match self {
            #[cfg(feature = "sqlite")]
            ReadModelDb::Sqlite(models) => models.drop_retired(name).await,
            #[cfg(feature = "postgres")]
            ReadModelDb::Postgres(models) => models.drop_retired(name).await,
        }
    }
}
