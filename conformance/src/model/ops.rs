//! The operations the model test generates, and their proptest strategy.

use proptest::collection::vec;
use proptest::prelude::*;

/// Stream ids the operations pick from (small, so operations collide).
pub const STREAMS: [&str; 4] = ["s-0", "s-1", "s-10", "t-0"];
/// Prefixes for listings and filters.
pub const PREFIXES: [&str; 4] = ["", "s-", "s-1", "x"];
/// Event types.
pub const TYPES: [&str; 3] = ["A", "B", "C"];
/// Tags (an event carries a subset, a query item asks for a subset).
pub const TAGS: [&str; 3] = ["t:a", "t:b", "t:c"];
/// Checkpoint names.
pub const CHECKPOINTS: [&str; 3] = ["alpha", "beta", "gamma"];
/// Read limits.
pub const LIMITS: [usize; 6] = [0, 1, 2, 3, 5, usize::MAX];

/// An expected version, some resolved against the model's state when run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `Any`.
    Any,
    /// `NoStream`.
    NoStream,
    /// `StreamExists`.
    StreamExists,
    /// `Exact(n)` with a fixed small n.
    Exact(u8),
    /// `Exact` of the stream's current version (usually passes).
    Current,
    /// `Exact` of one below the current version (a stale writer).
    Stale,
}

/// Which id an event gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdChoice {
    /// A new id.
    Fresh,
    /// An id used earlier in this sequence (index modulo their count).
    Reuse(u8),
}

/// One event of a generated append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// Its id.
    pub id: IdChoice,
    /// Index into [`TYPES`].
    pub event_type: u8,
    /// Data bytes.
    pub data: Vec<u8>,
    /// Metadata bytes.
    pub metadata: Vec<u8>,
    /// Which [`TAGS`] it carries (a bit each).
    pub tags: u8,
}

/// One item of a generated query: a type (index into [`TYPES`]) or any,
/// and the [`TAGS`] it asks for (a bit each).
pub type ItemSpec = (Option<u8>, u8);

/// One generated operation. Stream, prefix, type and name fields are indexes
/// into the constant lists above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Append (0 events tests the empty-append rule).
    Append {
        /// Stream index.
        stream: u8,
        /// Expected version.
        expected: Expect,
        /// The events.
        events: Vec<EventSpec>,
    },
    /// `append_atomic` of one to three parts.
    AppendAtomic {
        /// Each part: stream index, expected version, events.
        parts: Vec<(u8, Expect, Vec<EventSpec>)>,
    },
    /// Re-send an earlier atomic append of this sequence as it was sent.
    RetryAtomic {
        /// How many atomic appends back (modulo their count).
        back: u8,
    },
    /// Re-send an earlier append of this sequence (same stream and ids).
    Retry {
        /// How many appends back (modulo their count).
        back: u8,
        /// Expected version of the retry.
        expected: Expect,
    },
    /// `append_if`: an atomic append on a condition.
    AppendIf {
        /// Each part: stream index, expected version, events.
        parts: Vec<(u8, Expect, Vec<EventSpec>)>,
        /// The condition's query.
        items: Vec<ItemSpec>,
        /// The condition's model position (255 means the head).
        after: u8,
    },
    /// `read_query`.
    ReadQuery {
        /// The query.
        items: Vec<ItemSpec>,
        /// After this model position.
        after: u8,
        /// Index into [`LIMITS`].
        limit: u8,
    },
    /// `read_stream`.
    ReadStream {
        /// Stream index.
        stream: u8,
        /// Start version (255 means `u64::MAX`).
        from: u8,
        /// Backward or forward.
        backward: bool,
        /// Index into [`LIMITS`].
        limit: u8,
    },
    /// `read_all_filtered`.
    ReadAll {
        /// After this model position.
        after: u8,
        /// Index into [`LIMITS`].
        limit: u8,
        /// Filter by a type (index into [`TYPES`]).
        event_type: Option<u8>,
        /// Filter by a prefix (index into [`PREFIXES`]).
        prefix: Option<u8>,
        /// Filter by a stream partition: this index of 3.
        partition: Option<u8>,
    },
    /// `read_all_backward`.
    ReadAllBackward {
        /// From this model position (255 means `u64::MAX`: the head).
        from: u8,
        /// Index into [`LIMITS`].
        limit: u8,
    },
    /// `stream_version`.
    StreamVersion {
        /// Stream index.
        stream: u8,
    },
    /// `head_position`.
    Head,
    /// `list_streams`.
    ListStreams {
        /// Prefix index.
        prefix: u8,
        /// List after this stream (index), if any.
        after: Option<u8>,
        /// Index into [`LIMITS`].
        limit: u8,
    },
    /// `delete_stream`.
    Delete {
        /// Stream index.
        stream: u8,
        /// Expected version.
        expected: Expect,
        /// Hard or soft.
        hard: bool,
    },
    /// `save_snapshot` (version 7 means the current version).
    SaveSnapshot {
        /// Stream index.
        stream: u8,
        /// Version.
        version: u8,
        /// One data byte.
        data: u8,
    },
    /// `load_snapshot`.
    LoadSnapshot {
        /// Stream index.
        stream: u8,
    },
    /// `save_checkpoint`.
    SaveCheckpoint {
        /// Name index.
        name: u8,
        /// Position.
        position: u16,
    },
    /// `load_checkpoint`.
    LoadCheckpoint {
        /// Name index.
        name: u8,
    },
    /// `list_checkpoints`.
    ListCheckpoints,
}

fn expect() -> impl Strategy<Value = Expect> {
    prop_oneof![
        2 => Just(Expect::Any),
        1 => Just(Expect::NoStream),
        1 => Just(Expect::StreamExists),
        1 => (0u8..6).prop_map(Expect::Exact),
        4 => Just(Expect::Current),
        1 => Just(Expect::Stale),
    ]
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    (
        prop_oneof![4 => Just(IdChoice::Fresh), 1 => any::<u8>().prop_map(IdChoice::Reuse)],
        0u8..3,
        vec(any::<u8>(), 0..6),
        vec(any::<u8>(), 0..3),
        prop_oneof![2 => Just(0u8), 3 => 1u8..8],
    )
        .prop_map(|(id, event_type, data, metadata, tags)| EventSpec {
            id,
            event_type,
            data,
            metadata,
            tags,
        })
}

fn items() -> impl Strategy<Value = Vec<ItemSpec>> {
    vec((proptest::option::of(0u8..3), 0u8..8), 0..3)
}

fn stream() -> impl Strategy<Value = u8> {
    0u8..STREAMS.len() as u8
}

fn limit() -> impl Strategy<Value = u8> {
    0u8..LIMITS.len() as u8
}

/// One operation, weighted towards appends so streams grow.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (stream(), expect(), vec(event_spec(), 0..5))
            .prop_map(|(stream, expected, events)| Op::Append { stream, expected, events }),
        3 => (any::<u8>(), expect()).prop_map(|(back, expected)| Op::Retry { back, expected }),
        4 => vec((stream(), expect(), vec(event_spec(), 0..4)), 1..4)
            .prop_map(|parts| Op::AppendAtomic { parts }),
        1 => any::<u8>().prop_map(|back| Op::RetryAtomic { back }),
        4 => (vec((stream(), expect(), vec(event_spec(), 1..3)), 1..3), items(), prop_oneof![0u8..30, Just(255u8)])
            .prop_map(|(parts, items, after)| Op::AppendIf { parts, items, after }),
        3 => (items(), 0u8..30, limit())
            .prop_map(|(items, after, limit)| Op::ReadQuery { items, after, limit }),
        3 => (stream(), prop_oneof![0u8..8, Just(255u8)], any::<bool>(), limit())
            .prop_map(|(stream, from, backward, limit)| Op::ReadStream { stream, from, backward, limit }),
        3 => (0u8..40, limit(), proptest::option::of(0u8..3), proptest::option::of(0u8..4), proptest::option::of(0u8..3))
            .prop_map(|(after, limit, event_type, prefix, partition)| Op::ReadAll { after, limit, event_type, prefix, partition }),
        2 => (prop_oneof![0u8..40, Just(255u8)], limit())
            .prop_map(|(from, limit)| Op::ReadAllBackward { from, limit }),
        1 => stream().prop_map(|stream| Op::StreamVersion { stream }),
        1 => Just(Op::Head),
        1 => (0u8..4, proptest::option::of(stream()), limit())
            .prop_map(|(prefix, after, limit)| Op::ListStreams { prefix, after, limit }),
        1 => (stream(), expect(), any::<bool>())
            .prop_map(|(stream, expected, hard)| Op::Delete { stream, expected, hard }),
        2 => (stream(), 0u8..8, any::<u8>())
            .prop_map(|(stream, version, data)| Op::SaveSnapshot { stream, version, data }),
        1 => stream().prop_map(|stream| Op::LoadSnapshot { stream }),
        1 => (0u8..3, any::<u16>()).prop_map(|(name, position)| Op::SaveCheckpoint { name, position }),
        1 => (0u8..3).prop_map(|name| Op::LoadCheckpoint { name }),
        1 => Just(Op::ListCheckpoints),
    ]
}

/// A sequence of 1 to `max_len` operations.
pub fn sequence(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    vec(op(), 1..=max_len)
}
