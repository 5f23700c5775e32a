//! The tables of a disco redb file, one per access path, and the format
//! version.
//!
//! Invariants (kept by the writer, in one write transaction per batch):
//! - `EVENTS[p]` is the event at position `p`; positions are assigned in
//!   commit order by the only writer and never reused;
//! - `STREAM_EVENTS[(s, v)] = p` for every stored event of stream `s` at
//!   version `v`; `EVENT_IDS[id] = p` for every stored event id;
//! - `STREAMS[s] = (version, state)` for every stream ever written or deleted
//!   (state 0 active, 1 soft-deleted, 2 hard-deleted);
//! - `META["head"]` is the head as of the last hard delete; the head is the
//!   larger of it and the last key of `EVENTS`;
//! - `TAGS[(t, p)]` exists for every tag `t` of the stored event at `p`, and
//!   `TYPES[(y, p)]` for the type `y` of every stored event at `p`.

use disco_core::{NewEvent, RecordedEvent, StreamId, Timestamp, Uuid};
use redb::TableDefinition;

/// The file format this library writes and reads.
pub const FORMAT_VERSION: u64 = 2;

/// A step that takes a file from the format before to the one it names.
pub(crate) type Upgrade = fn(&redb::WriteTransaction) -> disco_core::Result<()>;

/// The format upgrades, in order: (the format a file has after it, the step).
/// An open gives a file of an older format every step above its own, in one
/// write transaction that also records the new format (`open.rs`). Each
/// format change adds its step here, beside the tables it changes, and keeps
/// the fixture of the format before it (tests/fixtures).
pub(crate) const UPGRADES: &[(u64, Upgrade)] = &[(2, crate::upgrade::to_format_2)];

/// A stored event as format 2 lays it out: (stream id, version, event id,
/// event type, data, metadata, recorded_at in µs, tags as
/// [`disco_backend::stored_tags`] writes them). Only [`StoredEvent`] reads
/// or builds it by position.
pub(crate) type EventRow = (
    &'static str,
    u64,
    u128,
    &'static str,
    &'static [u8],
    &'static [u8],
    i64,
    &'static str,
);

/// The named view of an [`EventRow`]: the one place that knows the tuple's
/// order. A new stored field is a field here, its place in the tuple (a new
/// format with an upgrade step in `open.rs`), and the reads and the insert
/// that fill it.
pub(crate) struct StoredEvent<'a> {
    pub stream_id: &'a str,
    pub version: u64,
    pub id: u128,
    pub event_type: &'a str,
    pub data: &'a [u8],
    pub metadata: &'a [u8],
    pub recorded_at: i64,
    pub tags: &'a str,
}

impl<'a> StoredEvent<'a> {
    /// The view of a row read from [`EVENTS`].
    pub(crate) fn of(
        (stream_id, version, id, event_type, data, metadata, recorded_at, tags): (
            &'a str,
            u64,
            u128,
            &'a str,
            &'a [u8],
            &'a [u8],
            i64,
            &'a str,
        ),
    ) -> Self {
        StoredEvent {
            stream_id,
            version,
            id,
            event_type,
            data,
            metadata,
            recorded_at,
            tags,
        }
    }

    /// `event` as stored in stream `stream_id` at `version` with its tags
    /// stored as `tags`; `now` (µs) stamps an event without a time of its own.
    pub(crate) fn of_new(
        stream_id: &'a str,
        version: u64,
        event: &'a NewEvent,
        tags: &'a str,
        now: i64,
    ) -> Self {
        StoredEvent {
            stream_id,
            version,
            id: event.id.as_u128(),
            event_type: event.event_type.as_str(),
            data: event.data.as_slice(),
            metadata: event.metadata.as_slice(),
            recorded_at: event.recorded_at.map_or(now, |t| t.as_micros()),
            tags,
        }
    }

    /// The recorded event at `position` (its stream id checked by the
    /// caller).
    pub(crate) fn to_recorded(&self, position: u64, stream_id: StreamId) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::from_u128(self.id),
            stream_id,
            version: self.version,
            position,
            event_type: self.event_type.to_owned(),
            data: self.data.to_vec(),
            metadata: self.metadata.to_vec(),
            recorded_at: Timestamp::from_micros(self.recorded_at),
            tags: disco_backend::stored_tags::decode(self.tags),
        }
    }

    /// The row to insert into [`EVENTS`].
    #[allow(clippy::type_complexity)]
    pub(crate) fn row(
        &self,
    ) -> (
        &'a str,
        u64,
        u128,
        &'a str,
        &'a [u8],
        &'a [u8],
        i64,
        &'a str,
    ) {
        (
            self.stream_id,
            self.version,
            self.id,
            self.event_type,
            self.data,
            self.metadata,
            self.recorded_at,
            self.tags,
        )
    }
}

/// position -> event (format 2; format 1's table is `disco_events`, see
/// `upgrade.rs`)
pub(crate) const EVENTS: TableDefinition<u64, EventRow> = TableDefinition::new("disco_events_2");
/// (tag, position) -> (): the events carrying each tag
pub(crate) const TAGS: TableDefinition<(&str, u64), ()> = TableDefinition::new("disco_event_tags");
/// (event type, position) -> (): the events of each type
pub(crate) const TYPES: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("disco_event_types");
/// (stream id, version) -> position
pub(crate) const STREAM_EVENTS: TableDefinition<(&str, u64), u64> =
    TableDefinition::new("disco_stream_events");
/// event id -> position
pub(crate) const EVENT_IDS: TableDefinition<u128, u64> = TableDefinition::new("disco_event_ids");
/// stream id -> (version, state)
pub(crate) const STREAMS: TableDefinition<&str, (u64, u8)> = TableDefinition::new("disco_streams");
/// stream id -> (version, data)
pub(crate) const SNAPSHOTS: TableDefinition<&str, (u64, &[u8])> =
    TableDefinition::new("disco_snapshots");
/// consumer name -> position
pub(crate) const CHECKPOINTS: TableDefinition<&str, u64> =
    TableDefinition::new("disco_checkpoints");
/// "format_version", "head"
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("disco_meta");

pub(crate) use disco_backend::stream_state::{
    ACTIVE as STATE_ACTIVE, HARD_DELETED as STATE_HARD_DELETED, SOFT_DELETED as STATE_SOFT_DELETED,
};
