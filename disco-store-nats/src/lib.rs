//! # disco-store-nats
//!
//! The disco event store on NATS JetStream: one store is two JetStream
//! streams (events, and meta: checkpoints, snapshots, leases), replicated by
//! the cluster's Raft groups when created with `replicas` > 1. No home-made
//! replication: every check of the contract is made by the stream's leader
//! in the step that writes (expected subject sequences inside atomic
//! batches), so a check is never skipped and a refused write writes nothing.
//! The mapping, rule by rule, is in the crate's README.
//!
//! ```no_run
//! # async fn demo() -> disco::Result<()> {
//! use disco::nats::{NatsOptions, NatsStore};
//! let store = NatsStore::connect(
//!     &["nats://127.0.0.1:4301".to_owned()],
//!     NatsOptions::new("bank")?.replicas(3),
//! )
//! .await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
// The lint gate: library code takes no shortcut that bad input could turn
// into a panic (unwrap, expect, panic, unchecked indexing or arithmetic);
// the few justified exceptions say why where they stand. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod append;
mod codec;
mod delete;
mod durability;
mod group;
mod js;
mod leases;
mod meta;
mod names;
mod options;
mod reads;
mod state;
mod url;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::query_plan::QueryPlan;
use disco_backend::Notifier;
use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Checkpoint, DeleteMode, Error, EventFilter,
    EventStore, ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo,
};
use futures_util::StreamExt;
use serde_json::{json, Value};

pub use options::NatsOptions;
pub use url::{options_of_url, BACKEND};

use js::{Js, Refused};
use names::Names;

/// The version of the layout this crate writes (streams, subjects,
/// payloads), recorded in each stream's metadata.
pub const FORMAT_VERSION: u64 = 1;

/// How often a write is tried again on fresh state when other writers keep
/// moving what it checks (an expected sequence that failed).
const ROUNDS: usize = 64;

/// The oldest server that keeps every check: atomic batches (2.12) with
/// per-message expected subject sequences.
const NEEDED: (u64, u64) = (2, 12);

/// A disco event store on NATS JetStream. Cheap to clone.
#[derive(Clone)]
pub struct NatsStore {
    inner: Arc<Inner>,
}

struct Inner {
    js: Js,
    names: Names,
    notifier: Arc<Notifier>,
    limits: Limits,
    closed: AtomicBool,
    /// The highest sequence of the events stream this process has seen.
    seen: Arc<AtomicU64>,
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Appends waiting to leave together as one batch.
    grouper: Arc<group::Grouper>,
    /// The streams' states as this handle last saw them.
    known: state::Known,
    /// How long an event id stays claimed; `None`: forever.
    id_window: Option<Duration>,
}

impl std::fmt::Debug for NatsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsStore")
            .field("stream", &self.inner.names.events)
            .field("head", &self.inner.notifier.head())
            .finish()
    }
}

/// The highest sequence seen per events stream, shared by every handle in
/// the process, so a handle reads what another one wrote.
fn seen_of(stream: &str) -> Arc<AtomicU64> {
    static SEEN: OnceLock<Mutex<HashMap<String, Arc<AtomicU64>>>> = OnceLock::new();
    let map = SEEN.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(stream.to_owned()).or_default().clone()
}

/// Where the servers are, as errors say it: `nats://a:4222,b:4222`.
fn location_of(servers: &[String]) -> String {
    let hosts: Vec<&str> = servers
        .iter()
        .map(|s| s.trim_start_matches("nats://"))
        .collect();
    format!("nats://{}", hosts.join(","))
}

/// The server version needed, as errors say it.
fn needed() -> String {
    format!("server version {}.{} or newer", NEEDED.0, NEEDED.1)
}

fn version_of(text: &str) -> (u64, u64) {
    let mut parts = text.trim_start_matches('v').split('.');
    let mut next = || {
        parts
            .next()
            .and_then(|p| p.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    };
    (next(), next())
}

async fn client(servers: &[String], options: &NatsOptions) -> Result<async_nats::Client> {
    let mut connect = async_nats::ConnectOptions::new()
        .connection_timeout(options.timeout)
        .request_timeout(Some(options.timeout))
        // A server that stops answering without closing the connection (a
        // paused or cut-off node) is left after two missed pings, for
        // another of the list: the client's default waits minutes.
        .ping_interval(
            (options.timeout.checked_div(4).unwrap_or_default()).max(Duration::from_millis(250)),
        )
        .require_tls(options.tls);
    if !options.discover_servers {
        connect = connect.ignore_discovered_servers();
    }
    if let Some(ca) = &options.tls_ca {
        if !std::path::Path::new(ca).is_file() {
            return Err(Error::InvalidInput(format!(
                "nats: the tls_ca file {ca} does not exist"
            )));
        }
        connect = connect.add_root_certificates(ca.into());
    }
    if let Some(path) = &options.creds {
        connect = connect.credentials_file(path).await.map_err(|e| {
            Error::InvalidInput(format!(
                "nats: cannot read the credentials file {path}: {e}"
            ))
        })?;
    }
    if let (Some(user), Some(password)) = (&options.user, &options.password) {
        connect = connect.user_and_password(user.clone(), password.clone());
    }
    if let Some(token) = &options.token {
        connect = connect.token(token.clone());
    }
    let addresses: Vec<async_nats::ServerAddr> = servers
        .iter()
        .map(|s| {
            s.parse().map_err(|e| {
                Error::InvalidInput(format!("nats: {s:?} is not a server address: {e}"))
            })
        })
        .collect::<Result<_>>()?;
    let where_ = location_of(servers);
    connect.connect(addresses).await.map_err(|e| {
        use async_nats::ConnectErrorKind as Kind;
        match e.kind() {
            Kind::Authentication | Kind::AuthorizationViolation => {
                Error::Unauthorized(format!("NATS at {where_}: {e}"))
            }
            Kind::ServerParse => Error::InvalidInput(format!("NATS at {where_}: {e}")),
            Kind::TimedOut => Error::Unavailable(format!(
                "NATS at {where_} did not answer within {:?}",
                options.timeout
            )),
            _ if e.to_string().contains("refused") => Error::Unavailable(format!(
                "NATS at {where_} refused the connection: nothing listens there (is the server running, on that port?)"
            )),
            _ => Error::Unavailable(format!("NATS at {where_} cannot be reached: {e}")),
        }
    })
}

/// The stream configurations of a store, as disco creates them.
fn configs(names: &Names, options: &NatsOptions) -> [Value; 2] {
    let common = |name: &str, subjects: Vec<String>, per_subject: i64| {
        json!({
            "name": name,
            "subjects": subjects,
            "retention": "limits",
            "storage": "file",
            "num_replicas": options.replicas,
            "discard": "old",
            "max_msgs_per_subject": per_subject,
            "allow_direct": true,
            "allow_atomic": true,
            "allow_msg_ttl": true,
            "allow_rollup_hdrs": true,
            "metadata": { "disco": FORMAT_VERSION.to_string() },
        })
    };
    [
        common(
            &names.events,
            vec![
                names.event_streams(),
                names.claims_subjects(),
                names.guard(),
            ],
            -1,
        ),
        common(&names.meta, vec![names.meta_subjects()], 1),
    ]
}

impl NatsStore {
    /// Connects to the servers and opens the store `options.store`,
    /// creating its streams if missing and allowed. Refused with a typed
    /// error: a server older than 2.12 ([`Error::UnsupportedServer`]), a
    /// stream of that name that disco did not make ([`Error::Foreign`]), a
    /// missing store that may not be created ([`Error::NoStore`]), wrong
    /// credentials ([`Error::Unauthorized`]), servers that cannot be reached
    /// ([`Error::Unavailable`], saying which way). Nothing is created then.
    pub async fn connect(servers: &[String], options: NatsOptions) -> Result<Self> {
        let client = client(servers, &options).await?;
        let js = Js {
            client: client.clone(),
            timeout: options.timeout,
        };
        let location = location_of(servers);
        let found = client.server_info().version;
        if version_of(&found) < NEEDED {
            return Err(Error::UnsupportedServer {
                location,
                found: format!("server version {found}"),
                needed: needed(),
            });
        }
        durability::check(
            &options.monitor,
            options.accept_ack_before_fsync,
            options.timeout,
            &location,
        )
        .await?;
        let names = Names::new(&options.store)?;
        for config in configs(&names, &options) {
            open_stream(&js, &location, config, options.create_if_missing).await?;
        }
        let max_payload = client.server_info().max_payload;
        let limits = Limits::default()
            .with_max_event_size(max_payload.saturating_sub(1024).max(1))
            .with_max_events_per_append(js::MAX_BATCH / 2);
        let store = NatsStore {
            inner: Arc::new(Inner {
                js,
                seen: seen_of(&names.events),
                names,
                notifier: Arc::new(Notifier::new(0)),
                limits,
                closed: AtomicBool::new(false),
                watcher: Mutex::new(None),
                grouper: Arc::default(),
                known: state::Known::default(),
                id_window: options.id_window,
            }),
        };
        let (head, _) = store.head_and_last().await?;
        store.inner.notifier.notify(head);
        store.watch().await?;
        Ok(store)
    }

    /// Removes the store's streams (everything of it); refuses a store
    /// that is not there or not disco's.
    pub async fn drop_at(servers: &[String], options: NatsOptions) -> Result<()> {
        let client = client(servers, &options).await?;
        let js = Js {
            client,
            timeout: options.timeout,
        };
        let names = Names::new(&options.store)?;
        let location = location_of(servers);
        for name in [&names.events, &names.meta] {
            match js.api(&format!("STREAM.INFO.{name}"), json!({})).await? {
                Ok(info) => check_ours(&location, name, &info)?,
                Err(_) => {
                    return Err(Error::NoStore {
                        location: format!("{location} store {}", options.store),
                    })
                }
            }
        }
        for name in [&names.events, &names.meta] {
            js.api(&format!("STREAM.DELETE.{name}"), json!({}))
                .await?
                .map_err(|r| Error::Backend(format!("NATS: deleting {name} was refused: {r:?}")))?;
        }
        Ok(())
    }

    /// The store's name.
    pub fn store_name(&self) -> &str {
        self.inner
            .names
            .events
            .strip_prefix("DISCO_E_")
            .unwrap_or(&self.inner.names.events)
    }

    pub(crate) fn js(&self) -> &Js {
        &self.inner.js
    }

    pub(crate) fn names(&self) -> &Names {
        &self.inner.names
    }

    pub(crate) fn grouper(&self) -> &Arc<group::Grouper> {
        &self.inner.grouper
    }

    pub(crate) fn id_window(&self) -> Option<Duration> {
        self.inner.id_window
    }

    pub(crate) fn known(&self) -> &state::Known {
        &self.inner.known
    }

    /// Records that the events stream has reached `seq`.
    pub(crate) fn saw(&self, seq: u64) {
        self.inner.seen.fetch_max(seq, Ordering::AcqRel);
    }

    pub(crate) fn seen(&self) -> u64 {
        self.inner.seen.load(Ordering::Acquire)
    }

    /// Tells waiting readers the head moved to `head`.
    pub(crate) fn announce(&self, head: u64) {
        self.inner.notifier.notify(head);
    }

    fn live(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Follows other writers: every message on a stream's subject wakes a
    /// read of the head (coalesced), and the head is read every second in
    /// any case.
    async fn watch(&self) -> Result<()> {
        let mut messages = self
            .inner
            .js
            .client
            .subscribe(self.inner.names.event_streams())
            .await
            .map_err(|e| js::unavailable("subscribe", e))?;
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            loop {
                let woke = tokio::time::timeout(Duration::from_secs(1), messages.next()).await;
                if matches!(woke, Ok(None)) {
                    return;
                }
                // Coalesce a burst: take what is already waiting.
                while let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(1), messages.next()).await
                {
                }
                let Some(inner) = weak.upgrade() else { return };
                let store = NatsStore { inner };
                if store.live().is_err() {
                    return;
                }
                if let Ok((head, _)) = store.head_and_last().await {
                    store.announce(head);
                }
            }
        });
        *self.inner.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        Ok(())
    }
}

/// Refuses a stream that disco did not make (no `disco` metadata).
fn check_ours(location: &str, name: &str, info: &Value) -> Result<()> {
    let ours = info
        .pointer("/config/metadata/disco")
        .and_then(Value::as_str)
        .is_some();
    if ours {
        Ok(())
    } else {
        Err(Error::Foreign {
            location: location.to_owned(),
            objects: vec![format!("JetStream stream {name}")],
        })
    }
}

/// Opens (or creates) one of the store's streams and checks the server kept
/// every option asked for: a server that drops one (an older release does,
/// silently) would skip the checks the store relies on.
async fn open_stream(js: &Js, location: &str, config: Value, create: bool) -> Result<()> {
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let info = match js.api(&format!("STREAM.INFO.{name}"), json!({})).await? {
        Ok(info) => {
            check_ours(location, &name, &info)?;
            info
        }
        // 10059: stream not found.
        Err(Refused::Other(10059, _)) if create => {
            match js
                .api(&format!("STREAM.CREATE.{name}"), config.clone())
                .await?
            {
                Ok(info) => info,
                // Made by another process meanwhile.
                Err(Refused::Other(10058, _)) => js
                    .api(&format!("STREAM.INFO.{name}"), json!({}))
                    .await?
                    .map_err(|r| Error::Backend(format!("NATS: {name}: {r:?}")))?,
                Err(Refused::Other(code, description)) => {
                    return Err(Error::Backend(format!(
                        "NATS refused to create the stream {name} ({code}): {description}"
                    )))
                }
                Err(refused) => return Err(Error::Backend(format!("NATS: {name}: {refused:?}"))),
            }
        }
        Err(Refused::Other(10059, _)) => {
            return Err(Error::NoStore {
                location: format!("{location} stream {name}"),
            })
        }
        Err(Refused::Other(code, description)) => {
            return Err(Error::Unavailable(format!(
                "NATS: the stream {name} cannot be looked up ({code}): {description}"
            )))
        }
        Err(refused) => return Err(Error::Backend(format!("NATS: {name}: {refused:?}"))),
    };
    for option in [
        "allow_atomic",
        "allow_msg_ttl",
        "allow_direct",
        "allow_rollup_hdrs",
    ] {
        let kept = info
            .pointer(&format!("/config/{option}"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !kept {
            return Err(Error::UnsupportedServer {
                location: location.to_owned(),
                found: format!("a server that does not keep the stream option {option}"),
                needed: needed(),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl EventStore for NatsStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.live()?;
        self.inner.limits.check_append(&events)?;
        let mut results = self
            .append_parts(vec![(stream.clone(), expected, events)], None)
            .await?;
        results
            .pop()
            .ok_or_else(|| Error::Backend("NATS: an append without a result".into()))
    }

    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        self.live()?;
        self.inner.limits.check_atomic(&parts)?;
        self.append_parts(parts, None).await
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.live()?;
        self.inner.limits.check_append_if(&parts, condition)?;
        self.append_parts(parts, Some(condition)).await
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        self.live()?;
        query.check()?;
        let (head, _) = self.head_and_last().await?;
        self.run_plan(QueryPlan::new(query, after, limit, head))
            .await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.live()?;
        self.read_stream_events(stream, from, direction, limit)
            .await
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        self.live()?;
        self.read_all_events(after, limit, filter).await
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.live()?;
        self.read_all_events_backward(from, limit).await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        self.live()?;
        let state = self.state(stream).await?;
        if state.deleted.is_some() {
            return Err(Error::StreamDeleted {
                stream: stream.clone(),
            });
        }
        Ok(state.version)
    }

    async fn head_position(&self) -> Result<u64> {
        self.live()?;
        Ok(self.head_and_last().await?.0)
    }

    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        self.live()?;
        self.stream_list(prefix, after, limit).await
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        self.live()?;
        self.delete(stream, expected, mode).await
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        self.live()?;
        self.snapshot_save(stream, version, data).await
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.live()?;
        self.snapshot_load(stream).await
    }

    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()> {
        self.live()?;
        self.snapshot_delete(stream).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.live()?;
        disco_backend::check_checkpoint_name(name)?;
        self.checkpoint_save(name, position, None).await
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        self.live()?;
        disco_backend::check_checkpoint_name(name)?;
        self.checkpoint_save(name, position, Some(token)).await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        self.live()?;
        disco_backend::check_checkpoint_name(name)?;
        self.checkpoint_load(name).await
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        self.live()?;
        self.checkpoint_list().await
    }

    async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        self.live()?;
        disco_backend::check_lease_name(name)?;
        let lease = leases::NatsLease::take(self, name, ttl).await?;
        Ok(lease.map(|lease| Box::new(lease) as Box<dyn Lease>))
    }

    fn notifications(&self) -> Notifications {
        self.inner.notifier.subscribe()
    }

    async fn close(&self) -> Result<()> {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.notifier.close();
        if let Some(task) = self
            .inner
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            task.abort();
        }
        Ok(())
    }

    fn limits(&self) -> Limits {
        self.inner.limits
    }
}
