//! Opening a store from its URL, keeping the concrete handle for what the
//! contract does not cover (schema versions, dropping).

use std::path::PathBuf;
use std::sync::Arc;

use disco::memory::MemoryStore;
use disco::postgres::{PgOptions, PostgresStore};
use disco::redb::{RedbOptions, RedbStore};
use disco::sqlite::{SqliteOptions, SqliteStore};
use disco::EventStore;

use crate::failure::{code, Failure};

/// What a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Memory,
    Sqlite(PathBuf),
    Redb(PathBuf),
    Postgres { url: String, schema: String },
}

impl Location {
    /// Parses `memory:`, `sqlite:PATH`, `redb:PATH` or
    /// `postgres://...[?schema=NAME]`.
    pub fn parse(url: &str) -> Result<Location, Failure> {
        let bad = |why: &str| {
            Failure::new(
                code::USAGE,
                format!("{url:?} is not a store URL: {why}; use memory:, sqlite:PATH, redb:PATH or postgres://USER@HOST:PORT/DB[?schema=NAME]"),
            )
        };
        let (scheme, rest) = url.split_once(':').ok_or_else(|| bad("no scheme"))?;
        match scheme {
            "memory" => Ok(Location::Memory),
            "sqlite" | "redb" if rest.is_empty() => Err(bad("the path is missing")),
            "sqlite" => Ok(Location::Sqlite(PathBuf::from(rest))),
            "redb" => Ok(Location::Redb(PathBuf::from(rest))),
            "postgres" | "postgresql" => {
                let (url, schema) = disco::split_schema(url);
                let schema = schema.unwrap_or_else(|| PgOptions::default().schema);
                disco::postgres::check_schema_name(&schema).map_err(|e| bad(&e.to_string()))?;
                Ok(Location::Postgres { url, schema })
            }
            other => Err(bad(&format!("unknown store kind {other:?}"))),
        }
    }

    /// Whether the store exists already (files), or may (servers, memory).
    pub fn may_exist(&self) -> bool {
        match self {
            Location::Sqlite(path) | Location::Redb(path) => path.exists(),
            _ => true,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Memory => write!(f, "memory:"),
            Location::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Location::Redb(path) => write!(f, "redb:{}", path.display()),
            Location::Postgres { schema, .. } => write!(f, "PostgreSQL schema {schema}"),
        }
    }
}

/// What a command may do to the store it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Create a missing store and migrate an old one (`init`, `copy --to`).
    Create,
    /// Migrate an existing store; never create one (`migrate`).
    Migrate,
    /// Use the store as it is: nothing created, nothing migrated. Read-only
    /// commands write nothing either; `checkpoints reset` writes only the
    /// checkpoint.
    Existing,
}

/// An open store and its concrete handle.
pub enum Opened {
    Memory(MemoryStore),
    Sqlite(SqliteStore),
    Redb(RedbStore),
    Postgres(PostgresStore),
}

impl Opened {
    /// Opens `location` as `mode` allows. A store that is missing (and may
    /// not be created), foreign or of another schema version is refused
    /// before anything is written.
    pub async fn open(location: &Location, mode: Mode) -> Result<Opened, Failure> {
        if mode != Mode::Create && !location.may_exist() {
            return Err(Failure::new(
                code::NO_STORE,
                format!("there is no store at {location}; `disco init` creates one"),
            ));
        }
        let create = mode == Mode::Create;
        let migrate = mode != Mode::Existing;
        Ok(match location {
            Location::Memory => Opened::Memory(MemoryStore::new()),
            Location::Sqlite(path) => {
                let options = SqliteOptions::default()
                    .create_if_missing(create)
                    .migrate(migrate);
                Opened::Sqlite(SqliteStore::open(path, options).await?)
            }
            Location::Redb(path) => {
                Opened::Redb(RedbStore::open(path, RedbOptions::default()).await?)
            }
            Location::Postgres { url, schema } => {
                let options = PgOptions::default()
                    .schema(schema.clone())
                    .allow_hard_delete(true)
                    .create_if_missing(create)
                    .migrate_on_connect(migrate);
                Opened::Postgres(PostgresStore::connect(url, options).await?)
            }
        })
    }

    /// The store behind the contract.
    pub fn store(&self) -> Arc<dyn EventStore> {
        match self {
            Opened::Memory(s) => Arc::new(s.clone()),
            Opened::Sqlite(s) => Arc::new(s.clone()),
            Opened::Redb(s) => Arc::new(s.clone()),
            Opened::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// The schema version as stored (`None` for memory), and what kind of
    /// version it is.
    pub async fn schema_version(&self) -> Result<(Option<u64>, &'static str), Failure> {
        Ok(match self {
            Opened::Memory(_) => (None, "memory"),
            Opened::Sqlite(s) => (
                Some(s.schema_version().await?.max(0) as u64),
                "SQLite user_version",
            ),
            Opened::Redb(_) => (Some(disco::redb::FORMAT_VERSION), "redb format"),
            Opened::Postgres(s) => (
                Some(s.schema_version().await?.max(0) as u64),
                "PostgreSQL migrations",
            ),
        })
    }

    /// The PostgreSQL schema, if the store lives in one.
    pub fn schema(&self) -> Option<&str> {
        match self {
            Opened::Postgres(s) => Some(s.schema()),
            _ => None,
        }
    }

    /// The schema version as a person reads it.
    pub async fn schema_version_text(&self) -> Result<String, Failure> {
        let (version, kind) = self.schema_version().await?;
        Ok(match (version, self.schema()) {
            (None, _) => format!("none ({kind})"),
            (Some(v), Some(schema)) => format!("{v} ({kind}, schema {schema})"),
            (Some(v), None) => format!("{v} ({kind})"),
        })
    }

    /// Ends background work (writers, listeners) before the process exits.
    pub async fn close(self) {
        match self {
            Opened::Postgres(s) => s.close().await,
            Opened::Redb(s) => {
                let _ = s.close().await;
            }
            Opened::Memory(_) | Opened::Sqlite(_) => {}
        }
    }
}
