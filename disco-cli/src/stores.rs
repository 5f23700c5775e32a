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

/// An open store and its concrete handle.
pub enum Opened {
    Memory(MemoryStore),
    Sqlite(SqliteStore),
    Redb(RedbStore),
    Postgres(PostgresStore),
}

impl Opened {
    /// Opens `location`. `create`: make a missing file store; otherwise a
    /// missing file is an error (so a typo does not create a store).
    /// `migrate`: bring a PostgreSQL schema up to date.
    pub async fn open(location: &Location, create: bool, migrate: bool) -> Result<Opened, Failure> {
        if !create && !location.may_exist() {
            return Err(Failure::new(
                code::USAGE,
                format!("there is no store at {location:?}; `disco init` creates one"),
            ));
        }
        Ok(match location {
            Location::Memory => Opened::Memory(MemoryStore::new()),
            Location::Sqlite(path) => {
                Opened::Sqlite(SqliteStore::open(path, SqliteOptions::default()).await?)
            }
            Location::Redb(path) => {
                Opened::Redb(RedbStore::open(path, RedbOptions::default()).await?)
            }
            Location::Postgres { url, schema } => {
                let options = PgOptions::default()
                    .schema(schema.clone())
                    .allow_hard_delete(true)
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

    /// The schema version as stored, with what kind of version it is.
    pub async fn schema_version(&self) -> Result<String, Failure> {
        Ok(match self {
            Opened::Memory(_) => "none (memory)".to_owned(),
            Opened::Sqlite(s) => format!("{} (SQLite user_version)", s.schema_version().await?),
            Opened::Redb(_) => format!("{} (redb format)", disco::redb::FORMAT_VERSION),
            Opened::Postgres(s) => format!("{} (schema {})", s.schema_version().await?, s.schema()),
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
