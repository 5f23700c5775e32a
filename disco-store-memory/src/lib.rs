//! # disco-store-memory
//!
//! A complete in-memory [`EventStore`]: every rule of the contract except
//! durability (rule 9). It is the store to put in unit tests, and the one the
//! CQRS layer's own tests use.
//!
//! [`MemoryStore`] is a cheap handle: clones share one store. Readers waiting
//! on [`EventStore::notifications`] wake as soon as an append commits.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> disco::Result<()> {
//! use disco::{EventStore, ExpectedVersion, NewEvent, StreamId};
//! use disco::memory::MemoryStore;
//!
//! let store = MemoryStore::new();
//! let other_handle = store.clone();
//! let stream = StreamId::new("wallet-1")?;
//! store
//!     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Opened", vec![])])
//!     .await?;
//! assert_eq!(other_handle.head_position().await?, 1);
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

mod state;
mod url;

pub use url::BACKEND;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use async_trait::async_trait;
use disco_backend::LocalLeases;
use disco_backend::Notifier;
use disco_core::lease::Lease;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, Checkpoint, DeleteMode, EventFilter, EventStore,
    ExpectedVersion, Limits, NewEvent, Notifications, Query, QueryRead, ReadDirection,
    RecordedEvent, Result, Snapshot, StreamId, StreamInfo,
};

use state::State;

/// The in-memory event store. Clones are handles to the same store.
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    state: RwLock<State>,
    notifier: Notifier,
    limits: Limits,
    leases: LocalLeases,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("head", &self.shared.notifier.head())
            .field("limits", &self.shared.limits)
            .finish()
    }
}

impl MemoryStore {
    /// An empty store with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// An empty store that enforces `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        MemoryStore {
            shared: Arc::new(Shared {
                state: RwLock::new(State::default()),
                notifier: Notifier::new(0),
                limits,
                leases: LocalLeases::default(),
            }),
        }
    }

    // A panic while a guard was held cannot leave the state half-written:
    // every mutation is decided first and applied without fallible steps. So a
    // poisoned lock still guards consistent data, and we keep going.
    // A closed store refuses every call: the check sits in the two doors to
    // the state.
    fn read(&self) -> Result<RwLockReadGuard<'_, State>> {
        if self.shared.notifier.is_closed() {
            return Err(disco_core::Error::Closed);
        }
        Ok(self
            .shared
            .state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, State>> {
        if self.shared.notifier.is_closed() {
            return Err(disco_core::Error::Closed);
        }
        Ok(self
            .shared
            .state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        self.shared.limits.check_append(&events)?;
        let (result, head) = {
            let mut state = self.write()?;
            let result = state.append(stream, expected, events)?;
            (result, state.head())
        };
        self.shared.notifier.notify(head);
        Ok(result)
    }

    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        self.shared.limits.check_atomic(&parts)?;
        let (results, head) = {
            let mut state = self.write()?;
            let results = state.append_atomic(parts)?;
            (results, state.head())
        };
        self.shared.notifier.notify(head);
        Ok(results)
    }

    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        self.shared.limits.check_append_if(&parts, condition)?;
        let (results, head) = {
            let mut state = self.write()?;
            let results = state.append_if(parts, condition)?;
            (results, state.head())
        };
        self.shared.notifier.notify(head);
        Ok(results)
    }

    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        query.check()?;
        self.read()?.read_query(query, after, limit)
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        self.read()?.read_stream(stream, from, direction, limit)
    }

    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>> {
        Ok(self.read()?.read_all(after, limit, filter))
    }

    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        Ok(self.read()?.read_all_backward(from, limit))
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        self.read()?.stream_version(stream)
    }

    async fn head_position(&self) -> Result<u64> {
        Ok(self.read()?.head())
    }

    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>> {
        Ok(self.read()?.list_streams(prefix, after, limit))
    }

    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        self.write()?.delete_stream(stream, expected, mode)
    }

    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()> {
        self.write()?.save_snapshot(stream, version, data)
    }

    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        self.read()?.load_snapshot(stream)
    }

    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()> {
        self.write()?.delete_snapshot(stream)
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        disco_backend::check_checkpoint_name(name)?;
        self.write()?.checkpoints.insert(name.to_owned(), position);
        Ok(())
    }

    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()> {
        disco_backend::check_checkpoint_name(name)?;
        self.shared.leases.fenced(name, token, || {
            self.write()?.checkpoints.insert(name.to_owned(), position);
            Ok(())
        })
    }

    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>> {
        disco_backend::check_checkpoint_name(name)?;
        Ok(self.read()?.checkpoints.get(name).copied())
    }

    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        Ok(self
            .read()?
            .checkpoints
            .iter()
            .map(|(name, &position)| Checkpoint {
                name: name.clone(),
                position,
            })
            .collect())
    }

    async fn try_lease(&self, name: &str, _ttl: Duration) -> Result<Option<Box<dyn Lease>>> {
        drop(self.read()?);
        self.shared.leases.try_lease(name)
    }

    async fn close(&self) -> Result<()> {
        self.shared.notifier.close();
        Ok(())
    }

    fn notifications(&self) -> Notifications {
        self.shared.notifier.subscribe()
    }

    fn limits(&self) -> Limits {
        self.shared.limits
    }
}
