//! [`Repository`]: loads aggregates (snapshot plus later events), keeps hot
//! ones in a bounded cache, and executes commands with optimistic
//! concurrency.
//!
//! Invariants:
//! - commands on one aggregate run one at a time within a repository (a
//!   per-aggregate async lock), so handles of one process never race each
//!   other; across processes, `Exact(version)` makes the store refuse the
//!   loser, which reloads and runs its command again (up to
//!   `max_attempts`), then gets [`ExecuteError::Conflict`];
//! - a cached state is trusted for appends (a stale one is caught by
//!   `Exact`), but never for a refusal: before a command is refused on a
//!   cached state, the stream is checked for newer events;
//! - a snapshot is taken when a command's events cross a multiple of
//!   [`Aggregate::SNAPSHOT_EVERY`]; failing to save one only logs;
//! - **new ids are guessed, never trusted**: while most uncached ids a
//!   repository meets turn out to be new (the guess starts on; an existing
//!   one takes four new ones to make up for), a command on an uncached id
//!   runs on the empty state without a read and appends at `Exact(0)`, so a
//!   new aggregate costs one round trip. Only events are trusted that way (the
//!   store checks the version); a refusal, a no-op or a conflict reads the
//!   stream (snapshot and all) and decides again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::Instrument;

use crate::aggregate::{decode, encode, encode_nth, event_id, Aggregate, CommandContext};
use crate::errors::{CodecError, LoadError};
use disco_core::{Error, EventStore, ExpectedVersion, ReadDirection, StreamId};

/// Events per read when an aggregate is loaded.
const PAGE: usize = 1000;

/// Why a command did not run.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E: std::error::Error + 'static> {
    /// The aggregate refused it.
    #[error("rejected: {0}")]
    Rejected(#[source] E),
    /// Concurrent writers kept changing the aggregate; it gave up after
    /// this many attempts.
    #[error("conflict: {stream} kept changing under {attempts} attempts")]
    Conflict {
        /// The aggregate's stream.
        stream: String,
        /// Attempts made.
        attempts: u32,
    },
    /// An event or the state did not encode or decode: a fault of the
    /// domain types, not of the store.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The store failed (or the id makes no valid stream id).
    #[error(transparent)]
    Store(#[from] Error),
}

impl<E: std::error::Error + 'static> From<LoadError> for ExecuteError<E> {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Codec(e) => ExecuteError::Codec(e),
            LoadError::Store(e) => ExecuteError::Store(e),
        }
    }
}

/// What an executed command gives back.
#[derive(Debug, Clone)]
pub struct Executed<A> {
    /// The aggregate's id.
    pub id: String,
    /// Its version after the command.
    pub version: u64,
    /// The global position of the command's last event (0 when it wrote
    /// none): wait for a read model to reach it to read your own write.
    pub position: u64,
    /// Its state after the command.
    pub state: A,
    /// How many events the command wrote.
    pub events: usize,
}

struct Entry<A> {
    /// (state, version); `None` until loaded.
    loaded: tokio::sync::Mutex<Option<(A, u64)>>,
    last_used: AtomicU64,
}

/// Whether uncached ids are likely new: a score that hits raise by one
/// and misses lower by four, so the guess holds while at least about four
/// in five uncached ids are new.
#[derive(Debug)]
struct NewIds {
    score: AtomicU32,
}

impl NewIds {
    const MAX: u32 = 16;
    const ON: u32 = 12;
    const MISS: u32 = 4;

    fn guess(&self) -> bool {
        self.score.load(Ordering::Relaxed) >= Self::ON
    }

    fn hit(&self) {
        let _ = self
            .score
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_add(1).min(Self::MAX))
            });
    }

    fn miss(&self) {
        let _ = self
            .score
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_sub(Self::MISS))
            });
    }
}

/// Loads and saves aggregates of type `A` in a store.
pub struct Repository<A: Aggregate> {
    store: Arc<dyn EventStore>,
    cache: Mutex<HashMap<String, Arc<Entry<A>>>>,
    capacity: usize,
    max_attempts: u32,
    clock: AtomicU64,
    /// `None`: never guess that an uncached id is new.
    new_ids: Option<NewIds>,
}

impl<A: Aggregate> std::fmt::Debug for Repository<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("aggregate", &A::NAME)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<A: Aggregate + Clone> Repository<A> {
    /// A repository on `store` caching up to 1000 aggregates and trying a
    /// command up to 5 times.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Repository {
            store,
            cache: Mutex::new(HashMap::new()),
            capacity: 1000,
            max_attempts: 5,
            clock: AtomicU64::new(0),
            new_ids: Some(NewIds {
                score: AtomicU32::new(NewIds::ON),
            }),
        }
    }

    /// Whether a command on an uncached id may run on the empty state
    /// first, while most uncached ids turn out new (on by default; see the
    /// module docs). Off, every uncached id is read before its command.
    pub fn guess_new_ids(mut self, on: bool) -> Self {
        self.new_ids = on.then(|| NewIds {
            score: AtomicU32::new(NewIds::ON),
        });
        self
    }

    /// Keeps up to `aggregates` hot aggregates (0: no cache).
    pub fn cache_capacity(mut self, aggregates: usize) -> Self {
        self.capacity = aggregates;
        self
    }

    /// Tries a command up to `attempts` times on conflicts (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// The stream of aggregate `id`.
    pub fn stream_of(id: &str) -> Result<StreamId, Error> {
        StreamId::new(format!("{}-{id}", A::NAME))
    }

    fn entry(&self, id: &str) -> Arc<Entry<A>> {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = cache.get(id) {
            entry.last_used.store(now, Ordering::Relaxed);
            return entry.clone();
        }
        if cache.len() >= self.capacity.max(1) {
            // Evict the least recently used entry nobody is using.
            let victim = cache
                .iter()
                .filter(|(_, e)| Arc::strong_count(e) == 1)
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            if let Some(victim) = victim {
                cache.remove(&victim);
            }
        }
        let entry = Arc::new(Entry {
            loaded: tokio::sync::Mutex::new(None),
            last_used: AtomicU64::new(now),
        });
        if self.capacity > 0 {
            cache.insert(id.to_owned(), entry.clone());
        }
        entry
    }

    /// The aggregate `id` as stored now (its default state at version 0 if
    /// it has no events).
    pub async fn load(&self, id: &str) -> Result<(A, u64), LoadError> {
        let stream = Self::stream_of(id)?;
        let entry = self.entry(id);
        let mut loaded = entry.loaded.lock().await;
        let (state, version) = match loaded.take() {
            Some((state, version)) => self.catch_up(&stream, state, version).await?,
            None => self.load_fresh(&stream).await?,
        };
        *loaded = Some((state.clone(), version));
        Ok((state, version))
    }

    /// Snapshot (if any) plus every later event: one
    /// [`EventStore::load_stream`] (one round trip where the store can),
    /// then further pages of a long tail.
    async fn load_fresh(&self, stream: &StreamId) -> Result<(A, u64), LoadError> {
        let span = tracing::debug_span!("load", stream = %stream);
        async {
            let loaded = self.store.load_stream(stream, PAGE).await?;
            let (mut state, mut version) = match loaded.snapshot {
                Some(snapshot) => match serde_json::from_slice::<A>(&snapshot.data) {
                    Ok(state) => (state, snapshot.version),
                    Err(error) => {
                        tracing::warn!(%stream, %error, "snapshot does not decode; replaying the stream");
                        return self.catch_up(stream, A::default(), 0).await;
                    }
                },
                None => (A::default(), 0),
            };
            for event in &loaded.events {
                let (domain, _) = decode::<A::Event>(event)?;
                state.apply(&domain);
                version = event.version;
            }
            if loaded.events.len() < PAGE {
                return Ok((state, version));
            }
            self.catch_up(stream, state, version).await
        }
        .instrument(span)
        .await
    }

    /// Applies the events after `version`.
    async fn catch_up(
        &self,
        stream: &StreamId,
        mut state: A,
        mut version: u64,
    ) -> Result<(A, u64), LoadError> {
        loop {
            let events = self
                .store
                .read_stream(
                    stream,
                    version.saturating_add(1),
                    ReadDirection::Forward,
                    PAGE,
                )
                .await?;
            for event in &events {
                let (domain, _) = decode::<A::Event>(event)?;
                state.apply(&domain);
                version = event.version;
            }
            if events.len() < PAGE {
                return Ok((state, version));
            }
        }
    }

    /// [`Repository::execute`] for an aggregate the caller knows to be new
    /// (an id it has just made, as the orchestrator does for
    /// `Target::New`): the command runs on the empty state without reading
    /// the store, and its events are appended at `Exact(0)`. Nothing is
    /// trusted that the store does not check: if the stream exists after all,
    /// the append fails its expected version and the command runs again on
    /// the stream as read, and a refusal is confirmed on a fresh read, as for
    /// any cached state.
    pub async fn execute_new(
        &self,
        id: &str,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        Self::stream_of(id)?;
        {
            let entry = self.entry(id);
            let mut loaded = entry.loaded.lock().await;
            if loaded.is_none() {
                *loaded = Some((A::default(), 0));
            }
        }
        self.execute(id, command, context).await
    }

    /// Runs `command` on aggregate `id` and appends its events with
    /// `Exact(version)`; on a conflict, reloads and runs it again.
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<Executed<A>, ExecuteError<A::Error>> {
        self.execute_along(id, command, context, None)
            .await
            .map(|(done, _)| done)
    }

    /// [`Repository::execute`], appending `along` (another stream's part)
    /// in one atomic append with the command's events
    /// ([`EventStore::append_atomic`]); the flag says whether `along` was
    /// written (not when the command wrote nothing, ran before, or was
    /// refused). A refused `along` fails the call with its store error.
    pub(crate) async fn execute_along(
        &self,
        id: &str,
        command: A::Command,
        context: &CommandContext,
        along: Option<disco_core::AppendMany>,
    ) -> Result<(Executed<A>, bool), ExecuteError<A::Error>> {
        let stream = Self::stream_of(id)?;
        let entry = self.entry(id);
        let mut loaded = entry.loaded.lock().await;
        let mut attempts: u32 = 0;
        let mut fresh = false;
        // Guessed new: the empty state, trusted only for events the store
        // accepts at `Exact(0)`.
        let mut guessed = false;
        if loaded.is_none() && self.new_ids.as_ref().is_some_and(NewIds::guess) {
            *loaded = Some((A::default(), 0));
            guessed = true;
        }
        let guessed_at_first = guessed;
        loop {
            attempts = attempts.saturating_add(1);
            let (state, version) = match loaded.take() {
                Some(cached) if !fresh => cached,
                Some((state, version)) => self.catch_up(&stream, state, version).await?,
                None => {
                    fresh = true;
                    let (state, version) = self.load_fresh(&stream).await?;
                    // What a guess would have met: a new stream, or not
                    // (a guess made counts its own outcome).
                    if let (Some(new_ids), false) = (&self.new_ids, guessed_at_first) {
                        match version {
                            0 => new_ids.hit(),
                            _ => new_ids.miss(),
                        }
                    }
                    (state, version)
                }
            };
            let decided = {
                let _span = tracing::debug_span!("handle", aggregate = A::NAME, id).entered();
                state.handle(command.clone())
            };
            if guessed && !matches!(&decided, Ok(events) if !events.is_empty()) {
                // A refusal or a no-op on the guessed empty state says
                // nothing: read the stream and decide on it.
                guessed = false;
                attempts = attempts.saturating_sub(1);
                continue;
            }
            let events = match decided {
                Ok(events) => events,
                Err(refusal) if fresh => {
                    // Refused on the stream as stored: unless this very
                    // command already ran (sent again), and this is its
                    // first outcome's aftermath.
                    if context.idempotent {
                        if let Some(first) =
                            self.first_outcome(&stream, id, context, &state).await?
                        {
                            *loaded = Some((state, version));
                            return Ok((first, false));
                        }
                    }
                    *loaded = Some((state, version));
                    return Err(ExecuteError::Rejected(refusal));
                }
                Err(_) => {
                    // Refused on a cached state: check it is current.
                    *loaded = Some((state, version));
                    fresh = true;
                    attempts = attempts.saturating_sub(1);
                    continue;
                }
            };
            if events.is_empty() {
                *loaded = Some((state.clone(), version));
                let done = Executed {
                    id: id.to_owned(),
                    version,
                    position: 0,
                    state,
                    events: 0,
                };
                return Ok((done, false));
            }
            let encoded = events
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    if context.idempotent {
                        encode_nth(e, context, i)
                    } else {
                        encode(e, context)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            let span = tracing::debug_span!("append", stream = %stream, events = events.len());
            let appended = match &along {
                None => {
                    self.store
                        .append(&stream, ExpectedVersion::Exact(version), encoded)
                        .instrument(span)
                        .await
                }
                Some(part) => {
                    let parts = vec![
                        (stream.clone(), ExpectedVersion::Exact(version), encoded),
                        part.clone(),
                    ];
                    self.store
                        .append_atomic(parts)
                        .instrument(span)
                        .await
                        .and_then(|results| {
                            results.into_iter().next().ok_or_else(|| {
                                Error::Backend("an atomic append answered no result".into())
                            })
                        })
                }
            };
            match appended {
                Ok(result) => {
                    if guessed {
                        if let Some(new_ids) = &self.new_ids {
                            new_ids.hit();
                        }
                    }
                    let mut state = state;
                    for event in &events {
                        state.apply(event);
                    }
                    self.maybe_snapshot(&stream, &state, version, result.last_version)
                        .await;
                    *loaded = Some((state.clone(), result.last_version));
                    let done = Executed {
                        id: id.to_owned(),
                        version: result.last_version,
                        position: result.last_position,
                        state,
                        events: events.len(),
                    };
                    return Ok((done, along.is_some()));
                }
                Err(Error::WrongExpectedVersion {
                    stream: conflicted, ..
                }) if conflicted == stream && guessed => {
                    // Not new after all: read it (snapshot and all).
                    if let Some(new_ids) = &self.new_ids {
                        new_ids.miss();
                    }
                    guessed = false;
                    attempts = attempts.saturating_sub(1);
                    tracing::debug!(%stream, "guessed new, but it exists; reading it");
                }
                Err(Error::WrongExpectedVersion {
                    stream: conflicted, ..
                }) if conflicted == stream => {
                    *loaded = Some((state, version));
                    fresh = true;
                    if attempts >= self.max_attempts {
                        return Err(ExecuteError::Conflict {
                            stream: stream.to_string(),
                            attempts,
                        });
                    }
                    tracing::debug!(%stream, attempts, "conflict; reloading");
                }
                Err(error @ Error::DuplicateEventId { .. }) if context.idempotent => {
                    // The command's derived ids are stored: it ran before
                    // (sent again with its id). Nothing was written now.
                    *loaded = None;
                    let (state, current) = self.load_fresh(&stream).await?;
                    let first = self.first_outcome(&stream, id, context, &state).await?;
                    *loaded = Some((state, current));
                    return first.map(|done| (done, false)).ok_or_else(|| error.into());
                }
                Err(error) => {
                    // The cached state may be stale in ways we cannot tell.
                    *loaded = None;
                    return Err(error.into());
                }
            }
        }
    }

    /// The outcome of `context`'s command if it already ran on `stream`:
    /// its events (found by their derived ids among the stream's last
    /// [`PAGE`] events) give the version and position it reached; the state
    /// is the aggregate's now.
    async fn first_outcome(
        &self,
        stream: &StreamId,
        id: &str,
        context: &CommandContext,
        state: &A,
    ) -> Result<Option<Executed<A>>, LoadError> {
        let recent = self
            .store
            .read_stream(stream, u64::MAX, ReadDirection::Backward, PAGE)
            .await?;
        let first_id = event_id(context.command_id, 0);
        let Some(at) = recent.iter().position(|e| e.id == first_id) else {
            return Ok(None);
        };
        // The run of the command's events: newest first, so the run ends
        // at `at` and goes back towards the newer events.
        let Some(mut last) = recent.get(at) else {
            return Ok(None);
        };
        let mut count = 1;
        for newer in recent.iter().take(at).rev() {
            if newer.id != event_id(context.command_id, count) {
                break;
            }
            last = newer;
            count = count.saturating_add(1);
        }
        tracing::info!(%stream, command_id = %context.command_id, "command sent again: answering its first outcome");
        Ok(Some(Executed {
            id: id.to_owned(),
            version: last.version,
            position: last.position,
            state: state.clone(),
            events: count,
        }))
    }

    async fn maybe_snapshot(&self, stream: &StreamId, state: &A, before: u64, after: u64) {
        let every = A::SNAPSHOT_EVERY;
        if before.checked_div(every) == after.checked_div(every) {
            return;
        }
        let saved = match serde_json::to_vec(state) {
            Ok(data) => self.store.save_snapshot(stream, after, data).await,
            Err(e) => Err(Error::InvalidInput(format!(
                "the state does not serialize: {e}"
            ))),
        };
        if let Err(error) = saved {
            tracing::warn!(%stream, %error, "saving a snapshot failed");
        }
    }
}
