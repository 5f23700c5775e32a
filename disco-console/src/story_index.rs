//! The story index: which events belong to a conversation (a correlation
//! id) and where an event id sits, kept live by the console from the
//! store's global log.
//!
//! The index lives in the console's memory, so the console writes nothing
//! anywhere (it opens stores existing-only) and works on every store, the
//! ones without a read-model database included. It holds only events with
//! disco's CQRS metadata: about 50 bytes each (1M events: ~50 MB); at
//! start it reads the log once (a 1M-event SQLite store: a few seconds),
//! and the story page says when it has not caught up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use disco::{RecordedEvent, Subscription, SubscriptionOptions, Uuid};
use serde::Deserialize;

use crate::state::State;

/// The ids of disco's metadata the index needs (the rest is ignored).
#[derive(Deserialize)]
struct Ids {
    correlation_id: Uuid,
}

#[derive(Default)]
struct Maps {
    /// Event id to position.
    by_id: HashMap<Uuid, u64>,
    /// Correlation id to the positions of its events, ascending.
    by_correlation: HashMap<Uuid, Vec<u64>>,
}

/// Event ids and correlation ids to positions.
#[derive(Default)]
pub(crate) struct StoryIndex {
    maps: RwLock<Maps>,
    /// Every event up to this position is indexed.
    position: AtomicU64,
}

impl StoryIndex {
    /// The position the index has read up to.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    /// The position of the event with `id`, if it has disco's metadata.
    pub fn position_of(&self, id: Uuid) -> Option<u64> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        maps.by_id.get(&id).copied()
    }

    /// The positions of the events of conversation `correlation`.
    pub fn conversation(&self, correlation: Uuid) -> Vec<u64> {
        let maps = self.maps.read().unwrap_or_else(|p| p.into_inner());
        maps.by_correlation
            .get(&correlation)
            .cloned()
            .unwrap_or_default()
    }

    /// Adds `events` (in position order) and moves the indexed position.
    fn add(&self, events: &[RecordedEvent]) {
        let Some(last) = events.last() else {
            return;
        };
        {
            let mut maps = self.maps.write().unwrap_or_else(|p| p.into_inner());
            for event in events {
                // Only disco's metadata is a JSON object; anything else is
                // not part of a story.
                if event.metadata.first() != Some(&b'{') {
                    continue;
                }
                let Ok(ids) = serde_json::from_slice::<Ids>(&event.metadata) else {
                    continue;
                };
                maps.by_id.insert(event.id, event.position);
                maps.by_correlation
                    .entry(ids.correlation_id)
                    .or_default()
                    .push(event.position);
            }
        }
        self.position.store(last.position, Ordering::Release);
    }
}

/// Keeps `state.index` up to date, from position 0, until the console
/// ends; waits and starts again (where it was) when the store fails.
pub(crate) async fn keep(state: Arc<State>) {
    loop {
        let store = match state.store().await {
            Ok(store) => store,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let options = SubscriptionOptions::default()
            .after(state.index.position())
            .page_size(2000)
            .poll_interval(Duration::from_millis(100));
        let mut feed = Subscription::start(store, options);
        let mut batch = Vec::with_capacity(256);
        loop {
            let Some(item) = feed.next().await else { break };
            match item {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
            // Take what is already buffered without waiting, then index it
            // under one lock.
            while batch.len() < 4096 {
                match feed.try_next() {
                    Some(event) => batch.push(event),
                    None => break,
                }
            }
            state.index.add(&batch);
            batch.clear();
        }
        state.index.add(&batch);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
