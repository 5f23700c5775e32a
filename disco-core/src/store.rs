//! The [`EventStore`] trait and the small types of its calls.

use std::time::Duration;

use async_trait::async_trait;

use crate::lease::Lease;
use crate::{
    AppendCondition, AppendResult, ExpectedVersion, Limits, NewEvent, Notifications, Query,
    QueryRead, RecordedEvent, Result, StreamId,
};

/// The order of a stream read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadDirection {
    /// Versions ascending, starting at `from` (0 and 1 both mean the start).
    Forward,
    /// Versions descending, starting at `from` (`u64::MAX` means the end).
    Backward,
}

/// How a stream is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeleteMode {
    /// The stream refuses reads and appends; its events stay in `read_all`.
    Soft,
    /// The stream's events and snapshot are removed from every read, and their
    /// ids are free again; the stream id stays refused.
    Hard,
}

/// Whether a stream is live or deleted, as [`EventStore::list_streams`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamState {
    /// Accepts reads and appends.
    Active,
    /// Deleted with [`DeleteMode::Soft`].
    SoftDeleted,
    /// Deleted with [`DeleteMode::Hard`].
    HardDeleted,
}

/// One row of [`EventStore::list_streams`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// The stream.
    pub stream_id: StreamId,
    /// Its version (the version it had when deleted, for a deleted stream).
    pub version: u64,
    /// Live or deleted.
    pub state: StreamState,
}

/// A stream's snapshot: an aggregate's state as of `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream it summarises.
    pub stream_id: StreamId,
    /// The stream version it was taken at (1 ..= the stream's version).
    pub version: u64,
    /// The serialized state, byte for byte.
    pub data: Vec<u8>,
}

/// A stream as an aggregate loads it: its snapshot, if any, and the events
/// after it ([`EventStore::load_stream`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StreamLoad {
    /// The stream's snapshot, if one was saved.
    pub snapshot: Option<Snapshot>,
    /// The events after the snapshot's version (from version 1 without
    /// one), in version order, at most the limit asked for.
    pub events: Vec<RecordedEvent>,
}

/// A named consumer position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The consumer's name.
    pub name: String,
    /// The last position it has processed.
    pub position: u64,
}

/// Which events a global read returns. The default returns every event.
///
/// ```
/// use disco::EventFilter;
/// let f = EventFilter::default()
///     .with_stream_prefix("wallet-")
///     .with_event_types(["Deposited", "Withdrawn"]);
/// assert!(f.matches("wallet-7", "Deposited"));
/// assert!(!f.matches("order-7", "Deposited"));
/// assert!(!f.matches("wallet-7", "WalletCreated"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events of these types; every type when empty.
    pub event_types: Vec<String>,
    /// Only events of streams whose id starts with this.
    pub stream_prefix: Option<String>,
    /// Only events of streams in this partition (a partitioned consumer's
    /// share, read without the others' events).
    pub partition: Option<StreamPartition>,
}

/// The streams whose id hashes to `index` among `count` partitions: FNV-1a
/// of the id's bytes, the same in every process and every release.
///
/// ```
/// use disco::StreamPartition;
/// let p = StreamPartition::new(1, 4);
/// let of = StreamPartition::index_of("wallet-7", 4);
/// assert!(of < 4);
/// assert_eq!(p.contains("wallet-7"), of == 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamPartition {
    /// This partition, `0..count`.
    pub index: u32,
    /// How many partitions there are (at least 1).
    pub count: u32,
}

impl StreamPartition {
    /// Partition `index` of `count` (a count of 0 counts as 1).
    pub fn new(index: u32, count: u32) -> Self {
        StreamPartition {
            index,
            count: count.max(1),
        }
    }

    /// The partition of `key` among `count`.
    pub fn index_of(key: &str, count: u32) -> u32 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in key.as_bytes() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // The remainder is below `count`, a u32, so the cast keeps it whole.
        hash.checked_rem(u64::from(count.max(1))).unwrap_or(0) as u32
    }

    /// Whether the stream `stream` is in this partition.
    pub fn contains(&self, stream: &str) -> bool {
        Self::index_of(stream, self.count) == self.index
    }
}

impl EventFilter {
    /// Only events of these types.
    pub fn with_event_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.event_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Only events of streams whose id starts with `prefix`.
    pub fn with_stream_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.stream_prefix = Some(prefix.into());
        self
    }

    /// Only events of streams in `partition`.
    pub fn with_partition(mut self, partition: StreamPartition) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Whether this filter lets nothing out (every event matches).
    pub fn is_empty(&self) -> bool {
        self.event_types.is_empty() && self.stream_prefix.is_none() && self.partition.is_none()
    }

    /// This filter without its partition (what a store's query applies when
    /// the partition is checked on the rows it returns).
    pub fn without_partition(&self) -> EventFilter {
        EventFilter {
            partition: None,
            ..self.clone()
        }
    }

    /// Whether an event of `event_type` in `stream` passes the filter.
    pub fn matches(&self, stream: &str, event_type: &str) -> bool {
        (self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type))
            && self
                .stream_prefix
                .as_deref()
                .is_none_or(|p| stream.starts_with(p))
            && self.partition.is_none_or(|p| p.contains(stream))
    }
}

/// An event store: the contract every disco backend keeps.
///
/// The trait is object safe; applications usually hold an `Arc<dyn EventStore>`.
/// The conformance suite (crate `disco-conformance`) checks each rule below
/// on every backend, by example and against a reference model.
///
/// # The contract
///
/// 1. **Versions.** A stream's first event has version 1, then 2, 3, ... with
///    no holes. A stream with no events is at version 0.
/// 2. **Expected version.** [`ExpectedVersion::Any`] always passes; `NoStream`
///    passes only if the stream has no events; `StreamExists` only if it has;
///    `Exact(n)` only if its version is `n` (`Exact(0)` is `NoStream`). A failed
///    check returns [`Error::WrongExpectedVersion`](crate::Error::WrongExpectedVersion)
///    with the expected and the actual version, and writes nothing.
/// 3. **Atomicity.** An append writes all of its events or none. Empty appends
///    and invalid input are rejected with a typed error.
/// 4. **Global order.** Every event has a position > 0, unique in the store,
///    increasing within an append in batch order. Position order is commit
///    order: once any reader has seen position `p`, no event with a smaller
///    position can appear later. Holes are allowed (a hard delete makes them);
///    late arrivals are not.
/// 5. **Reads.** `read_all` returns events with position > `after`, ascending,
///    at most `limit`. `read_stream` honours direction, `from` and `limit`; an
///    absent stream reads empty. Data and metadata come back byte for byte.
/// 6. **Idempotency.** Event ids are unique in the store. Re-sending an append
///    whose ids already sit, in the same order, as a run in that stream returns
///    the original result and writes nothing, when the expected version is
///    `Any`, `StreamExists`, or the version just before that run. Any other
///    reuse of an id is [`Error::DuplicateEventId`](crate::Error::DuplicateEventId).
///    A client that lost the answer to a committed append can retry safely.
/// 7. **Concurrency.** Of several appends racing on one stream with the same
///    `Exact(v)`, exactly one succeeds. Appends to different streams never block
///    each other's correctness, and all land exactly once.
/// 8. **Deletion.** A soft-deleted stream refuses reads and appends
///    ([`Error::StreamDeleted`](crate::Error::StreamDeleted)); its events stay in
///    `read_all`. A hard delete removes its events and snapshot from every read;
///    the id stays refused.
/// 9. **Durability.** An append that returned `Ok` survives a `kill -9` of the
///    process (SQLite, redb, PostgreSQL at default settings; not the memory store).
/// 10. **Errors are typed** ([`Error`](crate::Error)): `WrongExpectedVersion`,
///     `StreamDeleted`, `DuplicateEventId`, `InvalidInput`, `TooLarge`,
///     `Unavailable` (retryable), `Backend`, `Closed`, `Fenced`. No panics on
///     any input.
///
/// Precedence, where several rules apply to one append: input checks
/// (`InvalidInput`, `TooLarge`, an id twice in the batch) come first, then
/// `StreamDeleted`, then the id checks of rule 6, then the expected version.
///
/// # Example
///
/// ```
/// # async fn demo(store: std::sync::Arc<dyn disco::EventStore>) -> disco::Result<()> {
/// use disco::{ExpectedVersion, NewEvent, ReadDirection, StreamId};
/// let stream = StreamId::new("wallet-1")?;
/// let written = store
///     .append(&stream, ExpectedVersion::NoStream, vec![NewEvent::new("Opened", vec![])])
///     .await?;
/// assert_eq!(written.last_version, 1);
/// let events = store.read_stream(&stream, 1, ReadDirection::Forward, 100).await?;
/// assert_eq!(events.len(), 1);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream` atomically if `expected` passes (rules 1–3, 6, 7).
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult>;

    /// Appends each `(stream, expected, events)` in the order given, as one
    /// caller appending them one after another would: positions follow that
    /// order, and each append succeeds or fails alone (a failure does not
    /// stop the ones after it). Results come back in the same order. Stores
    /// with a group-commit writer hand them over at once, so they commit
    /// together: this is the bulk path (imports, `disco copy`). The default
    /// runs them one by one.
    async fn append_many(&self, appends: Vec<AppendMany>) -> Vec<Result<AppendResult>> {
        let mut results = Vec::with_capacity(appends.len());
        for (stream, expected, events) in appends {
            results.push(self.append(&stream, expected, events).await);
        }
        results
    }

    /// Appends every part or none: one transaction across streams.
    ///
    /// Each part is decided as [`append`](EventStore::append) decides an
    /// append (rules 2, 3, 6 and 8, with the same precedence), against the
    /// store as it was before this call; if any part is refused, nothing is
    /// written and the error of the first refused part is returned (it names
    /// its stream). Otherwise every part commits together: positions follow
    /// the parts' order, contiguous, and each part's result comes back in
    /// that order. A part whose events were already written (rule 6) answers
    /// its original result and writes nothing, so re-sending the whole call
    /// after a lost answer is safe. Input checks
    /// ([`Limits::check_atomic`](crate::Limits::check_atomic)) come first:
    /// at least one part, no empty part, no stream in two parts, no id twice.
    ///
    /// [`append_many`](EventStore::append_many) stays what it was: each of its
    /// appends succeeds or fails alone.
    async fn append_atomic(&self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>>;

    /// Appends every part or none, as [`append_atomic`](EventStore::append_atomic)
    /// does, on `condition`: no event matching its query may have a position
    /// after its `after` (a decision read with
    /// [`read_query`](EventStore::read_query) sets `after` to the position
    /// its read was consistent at). The check and the write are one atomic
    /// step: no event lands between them.
    ///
    /// Input checks come first (the parts' as `append_atomic`'s, then
    /// [`Query::check`]). A call whose parts were all written already
    /// (rule 6: a retry after a lost answer) answers their original results
    /// without checking the condition (its own events would break it).
    /// Otherwise a matching event after `after` refuses the whole call with
    /// [`Error::ConditionFailed`](crate::Error::ConditionFailed), naming the
    /// first such event's position; then each part is decided as
    /// `append_atomic` decides it.
    async fn append_if(
        &self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>>;

    /// Up to `limit` events matching `query` with position > `after`,
    /// ascending by position, and the position the read is consistent at
    /// ([`QueryRead::consistent_at`]). The memory, SQLite, redb and
    /// PostgreSQL stores answer from indexes of their events by tag and by
    /// type, so the cost follows the matches, not the size of the store (the
    /// NATS store reads its log after `after`). Events of hard-deleted
    /// streams are gone;
    /// those of soft-deleted streams are read, as `read_all` reads them.
    async fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead>;

    /// Up to `limit` events of `stream`, starting at version `from` and going in
    /// `direction`. An absent stream reads empty; a deleted one is refused.
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>>;

    /// Up to `limit` events that pass `filter`, with position > `after`,
    /// ascending by position.
    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Result<Vec<RecordedEvent>>;

    /// Up to `limit` events with position <= `from`, newest first: the global
    /// log read backward from a position (`u64::MAX`: from the head). Holes
    /// left by hard deletes are skipped, as forward reads skip them.
    async fn read_all_backward(&self, from: u64, limit: usize) -> Result<Vec<RecordedEvent>>;

    /// Up to `limit` events with position > `after`, ascending by position.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>> {
        self.read_all_filtered(after, limit, &EventFilter::default())
            .await
    }

    /// The stream's version: 0 when it has no events. A deleted stream is refused.
    async fn stream_version(&self, stream: &StreamId) -> Result<u64>;

    /// The highest position ever committed (hard deletes do not lower it);
    /// 0 for an empty store.
    async fn head_position(&self) -> Result<u64>;

    /// Up to `limit` streams whose id starts with `prefix` and sorts after
    /// `after` (byte order), in byte order, deleted ones included.
    async fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Result<Vec<StreamInfo>>;

    /// Deletes `stream` if `expected` passes (rule 8). Deleting a stream that has
    /// no events marks its id as deleted. A soft-deleted stream may be deleted
    /// again hard; a hard-deleted one refuses everything.
    async fn delete_stream(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()>;

    /// Keeps `data` as the stream's snapshot at `version` (1 ..= the stream's
    /// version), unless the stored one has a newer version: the newest wins.
    async fn save_snapshot(&self, stream: &StreamId, version: u64, data: Vec<u8>) -> Result<()>;

    /// The stream's snapshot, if one was saved.
    async fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>>;

    /// Deletes the stream's snapshot (loads then replay the stream from its
    /// first event). Nothing to delete is fine; a deleted stream is refused.
    async fn delete_snapshot(&self, stream: &StreamId) -> Result<()>;

    /// What an aggregate loads: the stream's snapshot and up to `limit`
    /// events after it, as [`load_snapshot`](EventStore::load_snapshot)
    /// then [`read_stream`](EventStore::read_stream) forward from the
    /// snapshot's version + 1 would give them. An absent stream loads empty;
    /// a deleted one is refused. A backend may answer it in one round trip
    /// (PostgreSQL does).
    async fn load_stream(&self, stream: &StreamId, limit: usize) -> Result<StreamLoad> {
        let snapshot = self.load_snapshot(stream).await?;
        let from = snapshot.as_ref().map_or(0, |s| s.version).saturating_add(1);
        let events = self
            .read_stream(stream, from, ReadDirection::Forward, limit)
            .await?;
        Ok(StreamLoad { snapshot, events })
    }

    /// Sets the consumer checkpoint `name` to `position` (it may move back: a reset).
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()>;

    /// Sets the checkpoint `name` to `position` on behalf of the holder of
    /// the lease `name` whose [token](crate::lease::Lease::token) is `token`.
    /// Refused with [`Error::Fenced`](crate::Error::Fenced), writing nothing,
    /// once a newer token was handed out for `name`: the writer lost its
    /// lease. The check and the write are one atomic step.
    async fn save_checkpoint_fenced(&self, name: &str, position: u64, token: u64) -> Result<()>;

    /// The checkpoint `name`, if one was saved.
    async fn load_checkpoint(&self, name: &str) -> Result<Option<u64>>;

    /// Every checkpoint, by name.
    async fn list_checkpoints(&self) -> Result<Vec<Checkpoint>>;

    /// Takes the lease `name` (a consumer's name, checked as a checkpoint
    /// name) if no live holder has it, for at least `ttl` unless renewed;
    /// `None` if another holder has it. See [`crate::lease`] for how each
    /// kind of store ends the lease of a holder that died.
    async fn try_lease(&self, name: &str, ttl: Duration) -> Result<Option<Box<dyn Lease>>>;

    /// A handle that wakes its owner when the head position may have moved.
    fn notifications(&self) -> Notifications;

    /// Closes the store: background work (writers, listeners) ends, and every
    /// later call through any handle of it fails with
    /// [`Error::Closed`](crate::Error::Closed), which is not retryable, so live
    /// subscriptions and consumers end with it. Closing twice is harmless.
    async fn close(&self) -> Result<()>;

    /// The input limits this store enforces.
    fn limits(&self) -> Limits;
}

/// One append of [`EventStore::append_many`].
pub type AppendMany = (StreamId, ExpectedVersion, Vec<NewEvent>);
