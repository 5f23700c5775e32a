//! [`connect`]: a store from a URL.

use std::sync::Arc;

use disco_core::{Error, EventStore, Result};

/// Opens the store a URL names:
///
/// - `memory:` — a new, empty in-memory store;
/// - `sqlite:PATH` — a SQLite file (created if missing);
/// - `redb:PATH` — a redb file (created if missing);
/// - `postgres://USER@HOST:PORT/DB[?schema=NAME]` — a PostgreSQL schema
///   (`disco` by default), migrated if behind.
///
/// Each needs its Cargo feature; a URL of a store not compiled in, or one
/// that names no store, is [`Error::InvalidInput`] saying which.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
/// let store = disco::connect("memory:").await?;
/// assert_eq!(store.head_position().await?, 0);
/// assert!(disco::connect("mysql://nope").await.is_err());
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Arc<dyn EventStore>> {
    let (scheme, rest) = url.split_once(':').unwrap_or((url, ""));
    match scheme {
        "memory" => memory(rest),
        "sqlite" => sqlite(rest).await,
        "redb" => redb(rest).await,
        "postgres" | "postgresql" => postgres(url).await,
        _ => Err(Error::InvalidInput(format!(
            "{url:?} names no store; use memory:, sqlite:PATH, redb:PATH or postgres://USER@HOST:PORT/DB"
        ))),
    }
}

#[allow(dead_code)] // used only when a store's feature is off
fn not_compiled(feature: &str) -> Error {
    Error::InvalidInput(format!(
        "the {feature} store is not compiled in; enable the `{feature}` feature of disco (or `full`)"
    ))
}

#[allow(dead_code)] // used only when a file store's feature is on
fn needs_path(scheme: &str) -> Error {
    Error::InvalidInput(format!("{scheme}: needs a path, as in {scheme}:events.db"))
}

#[cfg(feature = "memory")]
fn memory(_: &str) -> Result<Arc<dyn EventStore>> {
    Ok(Arc::new(disco_store_memory::MemoryStore::new()))
}

#[cfg(not(feature = "memory"))]
fn memory(_: &str) -> Result<Arc<dyn EventStore>> {
    Err(not_compiled("memory"))
}

#[cfg(feature = "sqlite")]
async fn sqlite(path: &str) -> Result<Arc<dyn EventStore>> {
    if path.is_empty() {
        return Err(needs_path("sqlite"));
    }
    let options = disco_store_sqlite::SqliteOptions::default();
    Ok(Arc::new(
        disco_store_sqlite::SqliteStore::open(path, options).await?,
    ))
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite(path: &str) -> Result<Arc<dyn EventStore>> {
    let _ = path;
    Err(not_compiled("sqlite"))
}

#[cfg(feature = "redb")]
async fn redb(path: &str) -> Result<Arc<dyn EventStore>> {
    if path.is_empty() {
        return Err(needs_path("redb"));
    }
    let options = disco_store_redb::RedbOptions::default();
    Ok(Arc::new(
        disco_store_redb::RedbStore::open(path, options).await?,
    ))
}

#[cfg(not(feature = "redb"))]
async fn redb(path: &str) -> Result<Arc<dyn EventStore>> {
    let _ = path;
    Err(not_compiled("redb"))
}

/// Splits `?schema=NAME` (or `&schema=NAME`) off a PostgreSQL URL.
pub fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema)
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Arc<dyn EventStore>> {
    let (url, schema) = split_schema(url);
    let mut options = disco_store_postgres::PgOptions::default();
    if let Some(schema) = schema {
        options = options.schema(schema);
    }
    Ok(Arc::new(
        disco_store_postgres::PostgresStore::connect(&url, options).await?,
    ))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(url: &str) -> Result<Arc<dyn EventStore>> {
    let _ = split_schema(url);
    Err(not_compiled("postgres"))
}

#[cfg(test)]
mod tests {
    use super::split_schema;

    #[test]
    fn the_schema_parameter_is_split_off() {
        assert_eq!(
            split_schema("postgres://u@h/db?schema=app"),
            ("postgres://u@h/db".to_owned(), Some("app".to_owned()))
        );
        assert_eq!(
            split_schema("postgres://u@h/db?sslmode=disable&schema=app"),
            (
                "postgres://u@h/db?sslmode=disable".to_owned(),
                Some("app".to_owned())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), None)
        );
    }
}
