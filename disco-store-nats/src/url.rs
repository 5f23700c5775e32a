//! This backend's entry in the store registry: `nats://` URLs.
//!
//! `nats://HOST:PORT[,HOST:PORT...]?store=NAME[&replicas=N][&creds=PATH]
//! [&user=U&password=P | &token=T][&tls=true][&tls_ca=PEM][&timeout_ms=MS]
//! [&monitor=HOST:PORT,...][&ack_before_fsync=accept][&id_window_s=SECONDS]`; a user and
//! password may also stand before the first host (`nats://u:p@host:4222`).
//! `monitor` names the servers' HTTP monitoring endpoints, where the store
//! checks that they sync each write before acknowledging it.
//! An unknown or repeated parameter is refused with its name.

use std::sync::Arc;
use std::time::Duration;

use disco_backend::registry::{
    check_parameters, split_query, Backend, BoxFuture, Dropped, OpenMode, OpenOptions, Opened,
};
use disco_core::{Error, Result};

use crate::{NatsOptions, NatsStore};

/// The registry entry of the NATS JetStream store.
pub const BACKEND: Backend = Backend {
    name: "nats",
    schemes: &["nats"],
    form: "nats://HOST:PORT[,HOST:PORT...]?store=NAME[&replicas=N]",
    open,
    drop,
};

const PARAMETERS: &[&str] = &[
    "store",
    "replicas",
    "creds",
    "user",
    "password",
    "token",
    "tls",
    "tls_ca",
    "timeout_ms",
    "monitor",
    "ack_before_fsync",
    "id_window_s",
];

/// Parses a `nats://` URL into the servers and the options.
///
/// ```
/// use disco::nats::options_of_url;
/// let (servers, options) = options_of_url("nats://a:4301,b:4302?store=bank&replicas=3").unwrap();
/// assert_eq!(servers, vec!["nats://a:4301", "nats://b:4302"]);
/// assert_eq!((options.store.as_str(), options.replicas), ("bank", 3));
/// assert!(options_of_url("nats://a:4301?store=bank&replica=3").is_err());
/// let (_, options) = options_of_url("nats://a:4301?store=bank&id_window_s=86400").unwrap();
/// assert_eq!(options.id_window, Some(std::time::Duration::from_secs(86400)));
/// assert!(options_of_url("nats://a:4301?store=bank&id_window_s=0").is_err());
/// ```
pub fn options_of_url(url: &str) -> Result<(Vec<String>, NatsOptions)> {
    let rest = url
        .strip_prefix("nats://")
        .ok_or_else(|| Error::InvalidInput(format!("{url:?} is not a nats:// URL")))?;
    let (hosts, pairs) = split_query(rest);
    check_parameters("nats", &pairs, PARAMETERS)?;
    let value = |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let store = value("store")
        .ok_or_else(|| Error::InvalidInput("a nats:// URL names its store: ?store=NAME".into()))?;
    let mut options = NatsOptions::new(store)?;
    if let Some(replicas) = value("replicas") {
        let n: usize = replicas
            .parse()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| {
                Error::InvalidInput(format!("nats: replicas must be 1 to 5, not {replicas:?}"))
            })?;
        options = options.replicas(n);
    }
    if let Some(ms) = value("timeout_ms") {
        let ms: u64 = ms.parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
            Error::InvalidInput(format!(
                "nats: timeout_ms must be a positive whole number, not {ms:?}"
            ))
        })?;
        options = options.timeout(Duration::from_millis(ms));
    }
    options.creds = value("creds").map(str::to_owned);
    options.user = value("user").map(str::to_owned);
    options.password = value("password").map(str::to_owned);
    options.token = value("token").map(str::to_owned);
    options.tls = match value("tls") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Error::InvalidInput(format!(
                "nats: tls is true or false, not {other:?}"
            )))
        }
    };
    if let Some(secs) = value("id_window_s") {
        let secs: u64 = secs.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
            Error::InvalidInput(format!(
                "nats: id_window_s is a positive number of seconds, not {secs:?}"
            ))
        })?;
        options = options.id_window(Duration::from_secs(secs));
    }
    options.tls_ca = value("tls_ca").map(str::to_owned);
    if options.tls_ca.is_some() {
        options.tls = true;
    }
    options.monitor = value("monitor")
        .map(|m| {
            m.split(',')
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    options.accept_ack_before_fsync = match value("ack_before_fsync") {
        None | Some("refuse") => false,
        Some("accept") => true,
        Some(other) => {
            return Err(Error::InvalidInput(format!(
                "nats: ack_before_fsync is accept or refuse, not {other:?}"
            )))
        }
    };
    let servers: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("nats://{h}"))
        .collect();
    if servers.is_empty() {
        return Err(Error::InvalidInput(
            "a nats:// URL names at least one server: nats://HOST:PORT?store=NAME".into(),
        ));
    }
    if servers.iter().any(|s| s.contains(['\0', ' '])) {
        return Err(Error::InvalidInput(
            "a nats:// URL cannot carry spaces or NUL".into(),
        ));
    }
    Ok((servers, options))
}

fn open(url: &str, how: OpenOptions) -> BoxFuture<'_, Result<Opened>> {
    Box::pin(async move {
        let (servers, options) = options_of_url(url)?;
        let options = options.create_if_missing(how.mode == OpenMode::Create);
        let store = NatsStore::connect(&servers, options).await?;
        Ok(Opened {
            schema_version: Some(crate::FORMAT_VERSION),
            version_kind: "disco NATS format",
            schema: Some(store.store_name().to_owned()),
            store: Arc::new(store),
        })
    })
}

fn drop(url: &str) -> BoxFuture<'_, Result<Dropped>> {
    Box::pin(async move {
        let (servers, options) = options_of_url(url)?;
        NatsStore::drop_at(&servers, options).await?;
        Ok(Dropped {
            removed: "the store's JetStream streams".into(),
            kept: Vec::new(),
        })
    })
}
