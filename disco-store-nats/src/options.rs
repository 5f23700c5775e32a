//! [`NatsOptions`]: how a NATS store connects and what it creates.

use std::time::Duration;

use disco_core::Result;

use crate::names::check_store_name;

/// Options of [`NatsStore::connect`](crate::NatsStore::connect).
///
/// ```
/// use disco::nats::NatsOptions;
/// let options = NatsOptions::new("bank").unwrap().replicas(3);
/// assert_eq!(options.replicas, 3);
/// assert!(NatsOptions::new("no.dots").is_err());
/// ```
#[derive(Clone, Debug)]
pub struct NatsOptions {
    /// The store's name: its JetStream streams are `DISCO_E_{store}` and
    /// `DISCO_M_{store}`, its subjects `disco.{store}.>`.
    pub store: String,
    /// Replicas of each stream when the store is created (1 by default; 3
    /// survives the loss of a node).
    pub replicas: usize,
    /// How long a request may take before it is `Unavailable` (5 s).
    pub timeout: Duration,
    /// Whether a missing store may be created (true by default).
    pub create_if_missing: bool,
    /// A credentials file.
    pub creds: Option<String>,
    /// A user (with `password`).
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<String>,
    /// An authentication token.
    pub token: Option<String>,
    /// Whether TLS is required.
    pub tls: bool,
    /// A PEM file of root certificates to trust for TLS (a private CA).
    pub tls_ca: Option<String>,
    /// The servers' HTTP monitoring endpoints (`HOST:PORT`), where the
    /// store checks that each syncs a write to disk before acknowledging
    /// it; empty: it cannot check, and warns.
    pub monitor: Vec<String>,
    /// Whether a server that acknowledges before fsync is accepted (with a
    /// warning) rather than refused.
    pub accept_ack_before_fsync: bool,
    /// How long an event id stays claimed (refused to another event, and a
    /// retry of its append answered with the first result); `None`, the
    /// default: forever, as the contract says. A window bounds the servers'
    /// memory (one index entry per claimed id, about 200 bytes per replica)
    /// at the cost of the contract's "no time window": a retry sent after
    /// the window is written again.
    pub id_window: Option<Duration>,
    /// Whether the client also uses the servers the cluster announces
    /// (true by default); false keeps it on the servers listed (for
    /// clusters whose announced addresses a client cannot reach).
    pub discover_servers: bool,
}

impl NatsOptions {
    /// Options for the store `name`.
    pub fn new(store: &str) -> Result<Self> {
        check_store_name(store)?;
        Ok(NatsOptions {
            store: store.to_owned(),
            replicas: 1,
            timeout: Duration::from_secs(5),
            create_if_missing: true,
            creds: None,
            user: None,
            password: None,
            token: None,
            tls: false,
            tls_ca: None,
            monitor: Vec::new(),
            accept_ack_before_fsync: false,
            discover_servers: true,
            id_window: None,
        })
    }

    /// Sets the replicas of a store this creates.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.clamp(1, 5);
        self
    }

    /// Sets the request timeout (5 s by default). A request that reaches
    /// nobody (a stream leader just elected, or not yet known to the server
    /// this client talks to) is tried again for up to 2 s, or this timeout
    /// if shorter, before it is reported as [`disco_core::Error::Unavailable`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks at `connect` that the servers behind these HTTP monitoring
    /// endpoints (`HOST:PORT`) sync each write before acknowledging it.
    pub fn monitor(mut self, endpoints: &[&str]) -> Self {
        self.monitor = endpoints.iter().map(|e| (*e).to_owned()).collect();
        self
    }

    /// Accepts servers that acknowledge writes before they are on disk (a
    /// power loss can then lose acknowledged appends); warns instead of
    /// refusing.
    pub fn accept_ack_before_fsync(mut self, accept: bool) -> Self {
        self.accept_ack_before_fsync = accept;
        self
    }

    /// Sets whether the client also uses the servers the cluster announces.
    pub fn discover_servers(mut self, discover: bool) -> Self {
        self.discover_servers = discover;
        self
    }

    /// Keeps event ids claimed for `window` only (see
    /// [`NatsOptions::id_window`]); at least one second.
    pub fn id_window(mut self, window: Duration) -> Self {
        self.id_window = Some(window.max(Duration::from_secs(1)));
        self
    }

    /// Sets whether a missing store may be created.
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }
}
