//! This backend's entry in the store registry: `postgres://` and
//! `postgresql://` URLs, with `?schema=NAME` choosing the schema.

use std::sync::Arc;

use disco_backend::registry::{
    check_parameters, split_query, Backend, BoxFuture, Dropped, OpenMode, OpenOptions, Opened,
};
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

/// The connection parameters the PostgreSQL driver (sqlx) understands in a
/// URL's query; `options[NAME]=VALUE` pairs are accepted beside them.
const CONNECT_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Refuses a query parameter that neither the driver nor disco knows
/// (the driver would ignore it: a `?schma=x` typo would open the store in
/// the default schema), or one given twice. `extra` are disco's own.
fn check_query(url: &str, extra: &[&str]) -> Result<()> {
    // The startup message carries these texts NUL-terminated: a NUL in one
    // would reach the server as a malformed packet, read as an outage.
    if url.contains('\0') || url.to_ascii_lowercase().contains("%00") {
        return Err(disco_core::Error::InvalidInput(
            "a PostgreSQL URL cannot carry a NUL character (\\0 or %00)".into(),
        ));
    }
    let (_, pairs) = split_query(url);
    let pairs: Vec<(&str, &str)> = pairs
        .into_iter()
        .filter(|(name, _)| !(name.starts_with("options[") && name.ends_with(']')))
        .collect();
    let known: Vec<&str> = CONNECT_PARAMETERS.iter().chain(extra).copied().collect();
    check_parameters("postgres", &pairs, &known)
}

/// [`check_query`] for a connection URL ([`PostgresStore::connect`]'s): the
/// driver's parameters only.
pub(crate) fn check_connect_parameters(url: &str) -> Result<()> {
    check_query(url, &[])
}

/// The connection URL and the options a store URL names.
fn options_of(url: &str) -> Result<(String, PgOptions)> {
    check_query(url, &["schema"])?;
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
