//! What every request shares: the store and the read-model database
//! (opened existing-only, on first use, again after a failed open), the
//! CSRF token, and what the background tasks keep (head samples, counts,
//! heartbeats seen, the story index).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use disco::backend::registry::{OpenMode, OpenOptions, Opened};
use disco::counts::Counts;
use disco::{EventStore, ReadModelDb, Timestamp};
use tokio::sync::Mutex as AsyncMutex;

use crate::config::{redact, ConsoleConfig};
use crate::story_index::StoryIndex;

/// Head samples kept: one every [`SAMPLE_EVERY`], ten minutes' worth.
pub(crate) const SAMPLES: usize = 300;
/// How often the head is sampled.
pub(crate) const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// A store that could not be opened, or failed: what a page says.
#[derive(Clone, Debug)]
pub(crate) struct Unavailable(pub String);

impl From<disco::Error> for Unavailable {
    fn from(error: disco::Error) -> Self {
        Unavailable(error.to_string())
    }
}

impl From<disco::projections::ProjectionError> for Unavailable {
    fn from(error: disco::projections::ProjectionError) -> Self {
        Unavailable(error.to_string())
    }
}

/// The console's shared state.
pub(crate) struct State {
    pub config: ConsoleConfig,
    /// The store's URL as shown (no secrets).
    pub shown_url: String,
    /// The token forms carry to prove they came from a console page.
    pub csrf: String,
    opened: AsyncMutex<Option<Arc<Opened>>>,
    models: AsyncMutex<Option<Arc<ReadModelDb>>>,
    /// (when, head) every [`SAMPLE_EVERY`], oldest first.
    pub samples: Mutex<VecDeque<(Instant, u64)>>,
    /// The last counts and when they were taken.
    pub counts: Mutex<Option<(Counts, Timestamp)>>,
    /// Each member checkpoint's heartbeat and when the console saw it move.
    pub heartbeats: Mutex<HashMap<String, (u64, Instant)>>,
    /// Event ids and correlation ids to positions, kept live.
    pub index: StoryIndex,
}

/// Locks `mutex`; a panic elsewhere while it was held leaves plain data
/// that is still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub fn new(config: ConsoleConfig) -> Self {
        State {
            shown_url: redact(&config.store_url),
            csrf: uuid::Uuid::new_v4().simple().to_string(),
            config,
            opened: AsyncMutex::new(None),
            models: AsyncMutex::new(None),
            samples: Mutex::new(VecDeque::with_capacity(SAMPLES)),
            counts: Mutex::new(None),
            heartbeats: Mutex::new(HashMap::new()),
            index: StoryIndex::default(),
        }
    }

    /// The open store, opening it (existing-only) if it is not yet.
    pub async fn opened(&self) -> Result<Arc<Opened>, Unavailable> {
        let mut slot = self.opened.lock().await;
        if let Some(opened) = slot.as_ref() {
            return Ok(opened.clone());
        }
        let options = OpenOptions {
            mode: OpenMode::Existing,
            allow_hard_delete: false,
        };
        let opened = Arc::new(disco::open_url(&self.config.store_url, options).await?);
        *slot = Some(opened.clone());
        Ok(opened)
    }

    /// The store behind the contract.
    pub async fn store(&self) -> Result<Arc<dyn EventStore>, Unavailable> {
        Ok(self.opened().await?.store.clone())
    }

    /// The read-model database's URL.
    pub fn models_url(&self) -> String {
        self.config
            .read_models_url
            .clone()
            .unwrap_or_else(|| disco::read_models_beside(&self.config.store_url))
    }

    /// The read-model database, opened existing-only on first use.
    pub async fn models(&self) -> Result<Arc<ReadModelDb>, Unavailable> {
        let mut slot = self.models.lock().await;
        if let Some(models) = slot.as_ref() {
            return Ok(models.clone());
        }
        let url = self.models_url();
        if url == "memory:" {
            return Err(Unavailable(
                "a memory store keeps no read models: start the console with --read-models".into(),
            ));
        }
        let models = Arc::new(disco::open_read_models(&url, true).await?);
        *slot = Some(models.clone());
        Ok(models)
    }

    /// Closes the store (its writers and listeners) when the console ends.
    pub async fn close(&self) {
        if let Some(opened) = self.opened.lock().await.take() {
            let _ = opened.store.close().await;
        }
    }
}
