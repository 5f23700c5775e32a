//! [`ReferenceModel`]: the contract as plain data structures, with no
//! concurrency and no storage, written for obviousness rather than speed.
//! Positions here are the model's own (1, 2, 3, ... in commit order); the
//! harness maps a store's positions onto them.

use std::collections::BTreeMap;

use disco_core::{DeleteMode, ExpectedVersion, StreamState, Uuid};

/// How an operation failed, as far as the contract fixes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `WrongExpectedVersion` with the stream's actual version.
    WrongExpectedVersion {
        /// The version the stream was at.
        actual: u64,
    },
    /// `StreamDeleted`.
    StreamDeleted,
    /// `DuplicateEventId`.
    DuplicateEventId,
    /// `InvalidInput`.
    InvalidInput,
    /// `TooLarge`.
    TooLarge,
    /// `ConditionFailed` naming this (model) position.
    ConditionFailed {
        /// The first matching event after the condition's position.
        position: u64,
    },
    /// Any error the model never produces (`Unavailable`, `Backend`), with its text.
    Unexpected(String),
}

/// An event as the model returns it (no timestamp: that is the store's clock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEvent {
    /// Event id.
    pub id: Uuid,
    /// Stream id.
    pub stream: String,
    /// Version in the stream.
    pub version: u64,
    /// Position (in the model's numbering).
    pub position: u64,
    /// Type name.
    pub event_type: String,
    /// Data.
    pub data: Vec<u8>,
    /// Metadata.
    pub metadata: Vec<u8>,
    /// Tags.
    pub tags: Vec<String>,
}

/// An event the model is asked to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelNewEvent {
    /// Id.
    pub id: Uuid,
    /// Type name.
    pub event_type: String,
    /// Data.
    pub data: Vec<u8>,
    /// Metadata.
    pub metadata: Vec<u8>,
    /// Tags.
    pub tags: Vec<String>,
}

/// The result of one operation, comparable between model and store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An append's versions and positions.
    Appended {
        /// First version.
        first_version: u64,
        /// Last version.
        last_version: u64,
        /// First position.
        first_position: u64,
        /// Last position.
        last_position: u64,
    },
    /// Each part's result of an atomic append.
    AppendedAtomic(Vec<Outcome>),
    /// Events of a read.
    Events(Vec<ModelEvent>),
    /// A stream version or a head position.
    Number(u64),
    /// Streams of a listing.
    Streams(Vec<(String, u64, StreamState)>),
    /// A snapshot (version, data).
    Snapshot(Option<(u64, Vec<u8>)>),
    /// A checkpoint.
    Checkpoint(Option<u64>),
    /// Every checkpoint.
    Checkpoints(Vec<(String, u64)>),
    /// Success without a value.
    Done,
    /// A failure.
    Failed(Failure),
}

#[derive(Clone, Debug)]
struct Stored {
    event: ModelEvent,
    hard_deleted: bool,
}

#[derive(Clone, Debug, Default)]
struct Stream {
    version: u64,
    deleted: Option<DeleteMode>,
    snapshot: Option<(u64, Vec<u8>)>,
}

/// The reference model of an event store.
#[derive(Clone, Debug, Default)]
pub struct ReferenceModel {
    log: Vec<Stored>,
    streams: BTreeMap<String, Stream>,
    checkpoints: BTreeMap<String, u64>,
}

/// The input checks of an atomic append: at least one part, no empty
/// part, no id twice in a part or across parts, no stream twice.
fn atomic_input(parts: &[(String, ExpectedVersion, Vec<ModelNewEvent>)]) -> Option<Outcome> {
    if parts.is_empty() {
        return Some(Outcome::Failed(Failure::InvalidInput));
    }
    for (_, _, events) in parts {
        if events.is_empty() {
            return Some(Outcome::Failed(Failure::InvalidInput));
        }
        for (i, e) in events.iter().enumerate() {
            if events[..i].iter().any(|earlier| earlier.id == e.id) {
                return Some(Outcome::Failed(Failure::DuplicateEventId));
            }
        }
    }
    let mut streams: Vec<&str> = Vec::new();
    let mut ids = Vec::new();
    for (stream, _, events) in parts {
        if streams.contains(&stream.as_str()) {
            return Some(Outcome::Failed(Failure::InvalidInput));
        }
        streams.push(stream);
        for e in events {
            if ids.contains(&e.id) {
                return Some(Outcome::Failed(Failure::DuplicateEventId));
            }
            ids.push(e.id);
        }
    }
    None
}

fn passes(expected: ExpectedVersion, version: u64) -> bool {
    match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => version == 0,
        ExpectedVersion::StreamExists => version > 0,
        ExpectedVersion::Exact(v) => version == v,
    }
}

impl ReferenceModel {
    /// The stream's version, 0 when absent (deleted or not).
    pub fn version_of(&self, stream: &str) -> u64 {
        self.streams.get(stream).map_or(0, |s| s.version)
    }

    /// The model's head position.
    pub fn head(&self) -> u64 {
        self.log.len() as u64
    }

    fn live(&self) -> impl Iterator<Item = &ModelEvent> {
        self.log
            .iter()
            .filter(|s| !s.hard_deleted)
            .map(|s| &s.event)
    }

    fn deleted(&self, stream: &str) -> bool {
        self.streams
            .get(stream)
            .is_some_and(|s| s.deleted.is_some())
    }

    /// Appends, or says why not.
    pub fn append(
        &mut self,
        stream: &str,
        expected: ExpectedVersion,
        events: &[ModelNewEvent],
    ) -> Outcome {
        if events.is_empty() {
            return Outcome::Failed(Failure::InvalidInput);
        }
        for (i, e) in events.iter().enumerate() {
            if events[..i].iter().any(|earlier| earlier.id == e.id) {
                return Outcome::Failed(Failure::DuplicateEventId);
            }
        }
        if self.deleted(stream) {
            return Outcome::Failed(Failure::StreamDeleted);
        }
        let known: Vec<Option<&ModelEvent>> = events
            .iter()
            .map(|e| self.live().find(|stored| stored.id == e.id))
            .collect();
        if known.iter().any(Option::is_some) {
            return self.retry_result(stream, expected, &known);
        }
        let version = self.version_of(stream);
        if !passes(expected, version) {
            return Outcome::Failed(Failure::WrongExpectedVersion { actual: version });
        }
        let first_position = self.head() + 1;
        for (i, e) in events.iter().enumerate() {
            self.log.push(Stored {
                event: ModelEvent {
                    id: e.id,
                    stream: stream.to_owned(),
                    version: version + 1 + i as u64,
                    position: first_position + i as u64,
                    event_type: e.event_type.clone(),
                    data: e.data.clone(),
                    metadata: e.metadata.clone(),
                    tags: e.tags.clone(),
                },
                hard_deleted: false,
            });
        }
        let n = events.len() as u64;
        self.streams.entry(stream.to_owned()).or_default().version = version + n;
        Outcome::Appended {
            first_version: version + 1,
            last_version: version + n,
            first_position,
            last_position: first_position + n - 1,
        }
    }

    /// Appends every part or none: the input checks of every part, then
    /// each part as [`append`](ReferenceModel::append) decides it, on a copy
    /// kept only if every part passed.
    pub fn append_atomic(
        &mut self,
        parts: &[(String, ExpectedVersion, Vec<ModelNewEvent>)],
    ) -> Outcome {
        if let Some(refused) = atomic_input(parts) {
            return refused;
        }
        let mut copy = self.clone();
        let mut results = Vec::with_capacity(parts.len());
        for (stream, expected, events) in parts {
            match copy.append(stream, *expected, events) {
                failed @ Outcome::Failed(_) => return failed,
                appended => results.push(appended),
            }
        }
        *self = copy;
        Outcome::AppendedAtomic(results)
    }

    /// An atomic append on a condition: the atomic input checks first;
    /// then, unless every part is a retry of an append already written, a
    /// live event matching `query` after `after` refuses it, naming the
    /// first; then the parts as [`append_atomic`](ReferenceModel::append_atomic)
    /// decides them.
    pub fn append_if(
        &mut self,
        parts: &[(String, ExpectedVersion, Vec<ModelNewEvent>)],
        query: &disco_core::Query,
        after: u64,
    ) -> Outcome {
        if let Some(refused) = atomic_input(parts) {
            return refused;
        }
        let conflict = self
            .live()
            .find(|e| e.position > after && query.matches(&e.event_type, &e.tags))
            .map(|e| e.position);
        match conflict {
            Some(position) if !self.all_retries(parts) => {
                Outcome::Failed(Failure::ConditionFailed { position })
            }
            _ => self.append_atomic(parts),
        }
    }

    /// Whether every part's events are stored already, as a retry would
    /// find them.
    fn all_retries(&self, parts: &[(String, ExpectedVersion, Vec<ModelNewEvent>)]) -> bool {
        !parts.is_empty()
            && parts.iter().all(|(stream, expected, events)| {
                let known: Vec<Option<&ModelEvent>> = events
                    .iter()
                    .map(|e| self.live().find(|stored| stored.id == e.id))
                    .collect();
                !events.is_empty()
                    && known.iter().all(Option::is_some)
                    && matches!(
                        self.retry_result(stream, *expected, &known),
                        Outcome::Appended { .. }
                    )
            })
    }

    /// Up to `limit` live events matching `query` after `after`.
    pub fn read_query(&self, query: &disco_core::Query, after: u64, limit: usize) -> Outcome {
        Outcome::Events(
            self.live()
                .filter(|e| e.position > after && query.matches(&e.event_type, &e.tags))
                .take(limit)
                .cloned()
                .collect(),
        )
    }

    fn retry_result(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        known: &[Option<&ModelEvent>],
    ) -> Outcome {
        let duplicate = Outcome::Failed(Failure::DuplicateEventId);
        let Some(found) = known.iter().copied().collect::<Option<Vec<&ModelEvent>>>() else {
            return duplicate;
        };
        let first = found[0];
        let last = found[found.len() - 1];
        let is_run = found
            .iter()
            .enumerate()
            .all(|(i, e)| e.stream == stream && e.version == first.version + i as u64);
        let expected_ok = match expected {
            ExpectedVersion::Any | ExpectedVersion::StreamExists => true,
            ExpectedVersion::NoStream => first.version == 1,
            ExpectedVersion::Exact(v) => v + 1 == first.version,
        };
        if is_run && expected_ok {
            Outcome::Appended {
                first_version: first.version,
                last_version: last.version,
                first_position: first.position,
                last_position: last.position,
            }
        } else {
            duplicate
        }
    }

    /// Reads a stream.
    pub fn read_stream(&self, stream: &str, from: u64, backward: bool, limit: usize) -> Outcome {
        if self.deleted(stream) {
            return Outcome::Failed(Failure::StreamDeleted);
        }
        let mut events: Vec<ModelEvent> = self
            .live()
            .filter(|e| e.stream == stream)
            .filter(|e| {
                if backward {
                    e.version <= from
                } else {
                    e.version >= from
                }
            })
            .cloned()
            .collect();
        if backward {
            events.reverse();
        }
        events.truncate(limit);
        Outcome::Events(events)
    }

    /// Reads the global log.
    pub fn read_all(
        &self,
        after: u64,
        limit: usize,
        types: &[String],
        prefix: Option<&str>,
        partition: Option<disco_core::StreamPartition>,
    ) -> Outcome {
        Outcome::Events(
            self.live()
                .filter(|e| e.position > after)
                .filter(|e| types.is_empty() || types.contains(&e.event_type))
                .filter(|e| prefix.is_none_or(|p| e.stream.starts_with(p)))
                .filter(|e| partition.is_none_or(|p| p.contains(&e.stream)))
                .take(limit)
                .cloned()
                .collect(),
        )
    }

    /// Up to `limit` live events at or below `from`, newest first.
    pub fn read_all_backward(&self, from: u64, limit: usize) -> Outcome {
        let mut events: Vec<ModelEvent> = self
            .live()
            .filter(|e| e.position <= from)
            .cloned()
            .collect();
        events.reverse();
        events.truncate(limit);
        Outcome::Events(events)
    }

    /// A stream's version.
    pub fn stream_version(&self, stream: &str) -> Outcome {
        if self.deleted(stream) {
            Outcome::Failed(Failure::StreamDeleted)
        } else {
            Outcome::Number(self.version_of(stream))
        }
    }

    /// Lists streams.
    pub fn list_streams(&self, prefix: &str, after: Option<&str>, limit: usize) -> Outcome {
        Outcome::Streams(
            self.streams
                .iter()
                .filter(|(id, _)| id.starts_with(prefix))
                .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a))
                .take(limit)
                .map(|(id, s)| {
                    let state = match s.deleted {
                        None => StreamState::Active,
                        Some(DeleteMode::Soft) => StreamState::SoftDeleted,
                        Some(DeleteMode::Hard) => StreamState::HardDeleted,
                    };
                    (id.clone(), s.version, state)
                })
                .collect(),
        )
    }

    /// Deletes a stream.
    pub fn delete(&mut self, stream: &str, expected: ExpectedVersion, mode: DeleteMode) -> Outcome {
        let current = self.streams.get(stream).and_then(|s| s.deleted);
        match (current, mode) {
            (Some(DeleteMode::Hard), _) | (Some(DeleteMode::Soft), DeleteMode::Soft) => {
                return Outcome::Failed(Failure::StreamDeleted)
            }
            _ => {}
        }
        let version = self.version_of(stream);
        if !passes(expected, version) {
            return Outcome::Failed(Failure::WrongExpectedVersion { actual: version });
        }
        let entry = self.streams.entry(stream.to_owned()).or_default();
        entry.deleted = Some(mode);
        if mode == DeleteMode::Hard {
            entry.snapshot = None;
            for stored in &mut self.log {
                if stored.event.stream == stream {
                    stored.hard_deleted = true;
                }
            }
        }
        Outcome::Done
    }

    /// Saves a snapshot.
    pub fn save_snapshot(&mut self, stream: &str, version: u64, data: &[u8]) -> Outcome {
        if self.deleted(stream) {
            return Outcome::Failed(Failure::StreamDeleted);
        }
        if version == 0 || version > self.version_of(stream) {
            return Outcome::Failed(Failure::InvalidInput);
        }
        let entry = self.streams.entry(stream.to_owned()).or_default();
        if entry.snapshot.as_ref().is_none_or(|(v, _)| *v <= version) {
            entry.snapshot = Some((version, data.to_vec()));
        }
        Outcome::Done
    }

    /// Loads a snapshot.
    pub fn load_snapshot(&self, stream: &str) -> Outcome {
        if self.deleted(stream) {
            return Outcome::Failed(Failure::StreamDeleted);
        }
        Outcome::Snapshot(self.streams.get(stream).and_then(|s| s.snapshot.clone()))
    }

    /// Saves a checkpoint.
    pub fn save_checkpoint(&mut self, name: &str, position: u64) -> Outcome {
        self.checkpoints.insert(name.to_owned(), position);
        Outcome::Done
    }

    /// Loads a checkpoint.
    pub fn load_checkpoint(&self, name: &str) -> Outcome {
        Outcome::Checkpoint(self.checkpoints.get(name).copied())
    }

    /// Lists checkpoints.
    pub fn list_checkpoints(&self) -> Outcome {
        Outcome::Checkpoints(
            self.checkpoints
                .iter()
                .map(|(n, p)| (n.clone(), *p))
                .collect(),
        )
    }
}
