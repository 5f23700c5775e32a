//! [`Partition`]: which events one partition of a partitioned consumer
//! handles: those whose key (the stream id unless told otherwise) hashes to
//! its index.

use std::fmt;
use std::sync::Arc;

use disco_core::{RecordedEvent, StreamPartition};

/// What an event's partition is chosen by: the stream id by default.
pub type KeyFn = Arc<dyn Fn(&RecordedEvent) -> String + Send + Sync>;

/// One partition of `count`: the events whose key hashes to `index`.
///
/// ```
/// use disco::consumer::Partition;
/// let p = Partition::new(1, 4);
/// let q = Partition::new(1, 4);
/// // The same key always lands in the same partition, in every process.
/// assert_eq!(Partition::of_key("wallet-7", 4), Partition::of_key("wallet-7", 4));
/// assert!(Partition::of_key("wallet-7", 4) < 4);
/// # let _ = (p, q);
/// ```
#[derive(Clone)]
pub struct Partition {
    /// This partition's index, `0..count`.
    pub index: u32,
    /// How many partitions there are.
    pub count: u32,
    key: Option<KeyFn>,
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("index", &self.index)
            .field("count", &self.count)
            .field("custom_key", &self.key.is_some())
            .finish()
    }
}

impl Partition {
    /// Partition `index` of `count`, keyed by stream id.
    pub fn new(index: u32, count: u32) -> Self {
        Partition {
            index,
            count: count.max(1),
            key: None,
        }
    }

    /// Keyed by `key` instead of the stream id (events with one key are
    /// handled in order; a key should not span streams whose relative
    /// order matters otherwise).
    pub fn keyed_by(mut self, key: KeyFn) -> Self {
        self.key = Some(key);
        self
    }

    /// The partition of `key` among `count`: FNV-1a of its bytes, so every
    /// process and every release agrees (the stores' partition filter,
    /// [`StreamPartition`], hashes stream ids the same way).
    pub fn of_key(key: &str, count: u32) -> u32 {
        StreamPartition::index_of(key, count)
    }

    /// What a store can filter by itself: the partition of stream ids,
    /// unless a key function decides.
    pub fn by_stream(&self) -> Option<StreamPartition> {
        self.key
            .is_none()
            .then(|| StreamPartition::new(self.index, self.count))
    }

    /// The key of `event`.
    pub fn key_of(&self, event: &RecordedEvent) -> String {
        match &self.key {
            Some(key) => key(event),
            None => event.stream_id.as_str().to_owned(),
        }
    }

    /// Whether `event` belongs to this partition.
    pub fn owns(&self, event: &RecordedEvent) -> bool {
        let index = match &self.key {
            Some(key) => Self::of_key(&key(event), self.count),
            None => Self::of_key(event.stream_id.as_str(), self.count),
        };
        index == self.index
    }
}
