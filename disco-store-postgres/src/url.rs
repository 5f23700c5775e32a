//! This backend's entry in the store registry: `postgres://` and
//! `postgresql://` URLs, with `?schema=NAME` choosing the schema.

use std::sync::Arc;

use disco_backend::registry::{Backend, BoxFuture, Dropped, OpenMode, OpenOptions, Opened};
use disco_core::Result;

use crate::{migrate, PgOptions, PostgresStore};

/// The registry entry of the PostgreSQL store.
pub const BACKEND: Backend = Backend {
    name: "postgres",
    schemes: &["postgres", "postgresql"],
    form: "postgres://USER@HOST:PORT/DB[?schema=NAME]",
    open,
    drop,
};

/// Splits `?schema=NAME` (or `&schema=NAME`) off a PostgreSQL URL.
///
/// ```
/// use disco::postgres::split_schema;
/// assert_eq!(
///     split_schema("postgres://u@h/db?sslmode=disable&schema=app"),
///     ("postgres://u@h/db?sslmode=disable".to_owned(), Some("app".to_owned()))
/// );
/// assert_eq!(split_schema("postgres://u@h/db"), ("postgres://u@h/db".to_owned(), None));
/// ```
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

/// The connection URL and the options a store URL names.
fn options_of(url: &str) -> Result<(String, PgOptions)> {
    let (url, schema) = split_schema(url);
    let mut options = PgOptions::default();
    if let Some(schema) = schema {
        crate::check_schema_name(&schema)?;
        options = options.schema(schema);
    }
    Ok((url, options))
}

fn open(url: &str, how: OpenOptions) -> BoxFuture<'_, Result<Opened>> {
    Box::pin(async move {
        let (url, options) = options_of(url)?;
        let options = options
            .allow_hard_delete(how.allow_hard_delete)
            .create_if_missing(how.mode == OpenMode::Create)
            .migrate_on_connect(how.mode != OpenMode::Existing);
        let store = PostgresStore::connect(&url, options).await?;
        let version = store.schema_version().await?;
        Ok(Opened {
            schema_version: Some(version.max(0) as u64),
            version_kind: "PostgreSQL migrations",
            schema: Some(store.schema().to_owned()),
            store: Arc::new(store),
        })
    })
}

fn drop(url: &str) -> BoxFuture<'_, Result<Dropped>> {
    Box::pin(async move {
        let (url, options) = options_of(url)?;
        Ok(match PostgresStore::drop_at(&url, &options).await? {
            migrate::Dropped::Schema => Dropped {
                removed: "disco's objects and the schema".into(),
                kept: Vec::new(),
            },
            migrate::Dropped::Objects { kept } => Dropped {
                removed: "disco's objects".into(),
                kept,
            },
        })
    })
}
