//! The store registry: the one list of the backends compiled in, and the
//! calls that open or drop a store by URL through it.

use std::sync::Arc;

use disco_runtime::measured::Measured;

use disco_backend::registry::{find, Backend, Dropped, OpenOptions, Opened};
use disco_core::{EventStore, Result};

/// Every backend compiled into this program, by Cargo feature. A new backend
/// is one line here (and its feature in the manifest).
// Each push is gated by its own feature, which a vec![] literal cannot say.
#[allow(clippy::vec_init_then_push)]
pub fn backends() -> Vec<Backend> {
    let mut backends = Vec::new();
    #[cfg(feature = "memory")]
    backends.push(disco_store_memory::BACKEND);
    #[cfg(feature = "sqlite")]
    backends.push(disco_store_sqlite::BACKEND);
    #[cfg(feature = "redb")]
    backends.push(disco_store_redb::BACKEND);
    #[cfg(feature = "postgres")]
    backends.push(disco_store_postgres::BACKEND);
    #[cfg(feature = "nats")]
    backends.push(disco_store_nats::BACKEND);
    backends
}

/// Opens the store a URL names, with the default options: a missing store
/// is created, an older schema migrated, and data disco does not own is
/// refused ([`Error::Foreign`](disco_core::Error::Foreign)).
///
/// - `memory:` — a new, empty in-memory store;
/// - `sqlite:PATH` — a SQLite file;
/// - `redb:PATH` — a redb file;
/// - `postgres://USER@HOST:PORT/DB[?schema=NAME]` — a PostgreSQL schema
///   (`disco` by default);
/// - `nats://HOST:PORT[,HOST:PORT...]?store=NAME[&replicas=N]` — a store on
///   a NATS JetStream cluster.
///
/// Each needs its Cargo feature; a URL of a store not compiled in, or one
/// that names no store, is [`Error::InvalidInput`](disco_core::Error::InvalidInput)
/// saying which URLs there are.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
/// let store = disco::connect("memory:").await?;
/// assert_eq!(store.head_position().await?, 0);
/// assert!(disco::connect("mysql://nope").await.is_err());
/// # Ok(()) }
/// ```
pub async fn connect(url: &str) -> Result<Arc<dyn EventStore>> {
    let store = open_url(url, OpenOptions::default()).await?.store;
    Ok(Arc::new(Measured::new(store, system_of(url))))
}

/// The kind of store `url` names, as its appends are reported
/// (`db.system.name`, after OpenTelemetry's names where there is one).
fn system_of(url: &str) -> &'static str {
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    match scheme {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgresql",
        "redb" => "redb",
        "nats" => "nats",
        "memory" => "memory",
        _ => "other",
    }
}

/// Opens the store a URL names as `options` allow (create, migrate, or use
/// it as it is), with what tools show about it (its schema version).
pub async fn open_url(url: &str, options: OpenOptions) -> Result<Opened> {
    let backends = backends();
    let backend = find(&backends, url)?;
    (backend.open)(url, options).await
}

/// Drops the store a URL names: exactly disco's objects, nothing else. A
/// place without a store is refused and left as it was.
pub async fn drop_url(url: &str) -> Result<Dropped> {
    let backends = backends();
    let backend = find(&backends, url)?;
    (backend.drop)(url).await
}
