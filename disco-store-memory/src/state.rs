//! The data of a memory store and the rules applied to it. Everything here is
//! synchronous and runs under the store's lock.
//!
//! Invariants:
//! - `events[p - 1]` holds the event at position `p`; `None` once hard-deleted.
//!   So positions are dense, ascending in commit order, and `head()` is
//!   `events.len()`.
//! - `streams[s].positions[v - 1]` is the position of version `v` of `s`, for
//!   every version of a stream that was not hard-deleted.
//! - `ids` maps the id of every stored (not hard-deleted) event to its position.
//! - `by_tag` and `by_type` list, ascending, the positions of every event
//!   with that tag or type (hard-deleted ones stay listed and are skipped).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use disco_backend::append_check::{
    check_delete, check_snapshot_version, decide_append, AppendDecision, AppendView, Placement,
    StreamStatus,
};
use disco_backend::query_plan::{
    answer_conflict, condition_plan, parts_of, run_sync, Fetch, QueryPlan, Source,
};
use disco_backend::EventLocation;
use disco_core::{
    AppendCondition, AppendMany, AppendResult, DeleteMode, Error, EventFilter, ExpectedVersion,
    NewEvent, Query, QueryRead, ReadDirection, RecordedEvent, Result, Snapshot, StreamId,
    StreamInfo, StreamState, Timestamp, Uuid,
};

#[derive(Default)]
pub(crate) struct State {
    events: Vec<Option<StoredEvent>>,
    streams: BTreeMap<StreamId, StreamEntry>,
    ids: HashMap<Uuid, u64>,
    event_types: HashSet<Arc<str>>,
    /// The positions of the events carrying each tag, ascending.
    by_tag: HashMap<Arc<str>, Vec<u64>>,
    /// The positions of the events of each type, ascending.
    by_type: HashMap<Arc<str>, Vec<u64>>,
    pub(crate) checkpoints: BTreeMap<String, u64>,
}

/// One event, kept compact: data and metadata share one allocation, the type
/// name is interned.
struct StoredEvent {
    id: Uuid,
    stream: StreamId,
    version: u64,
    event_type: Arc<str>,
    payload: Box<[u8]>,
    data_len: usize,
    recorded_at: Timestamp,
    tags: Box<[Arc<str>]>,
}

#[derive(Default)]
struct StreamEntry {
    version: u64,
    positions: Vec<u64>,
    deleted: Option<DeleteMode>,
    snapshot: Option<(u64, Vec<u8>)>,
}

impl StreamEntry {
    fn check_live(&self, stream: &StreamId) -> Result<()> {
        match self.deleted {
            Some(_) => Err(Error::StreamDeleted {
                stream: stream.clone(),
            }),
            None => Ok(()),
        }
    }
}

impl StoredEvent {
    fn to_recorded(&self, position: u64) -> RecordedEvent {
        let (data, metadata) = self.payload.split_at(self.data_len);
        RecordedEvent {
            id: self.id,
            stream_id: self.stream.clone(),
            version: self.version,
            position,
            event_type: self.event_type.to_string(),
            data: data.to_vec(),
            metadata: metadata.to_vec(),
            recorded_at: self.recorded_at,
            tags: self.tags.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl AppendView for State {
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus> {
        Ok(self
            .streams
            .get(stream)
            .map(|entry| StreamStatus {
                version: entry.version,
                deleted: entry.deleted.is_some(),
            })
            .unwrap_or_default())
    }

    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
        Ok(ids
            .iter()
            .map(|id| {
                let position = *self.ids.get(id)?;
                let event = self.event_at(position)?;
                Some(EventLocation {
                    id: *id,
                    stream_id: event.stream.clone(),
                    version: event.version,
                    position,
                })
            })
            .collect())
    }
}

impl State {
    pub(crate) fn head(&self) -> u64 {
        self.events.len() as u64
    }

    fn event_at(&self, position: u64) -> Option<&StoredEvent> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.events.get(index)?.as_ref()
    }

    fn intern(&mut self, event_type: String) -> Arc<str> {
        if let Some(interned) = self.event_types.get(event_type.as_str()) {
            return interned.clone();
        }
        let interned: Arc<str> = Arc::from(event_type);
        self.event_types.insert(interned.clone());
        interned
    }

    /// Appends already-validated `events` (see `Limits::check_append`).
    pub(crate) fn append(
        &mut self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        let first_version = match decide_append(self, stream, expected, &events)? {
            AppendDecision::AlreadyWritten(result) => return Ok(result),
            AppendDecision::Write { first_version } => first_version,
        };
        let recorded_at = Timestamp::now();
        let placement = Placement::new(self.head(), first_version, events.len())?;
        let mut positions = Vec::with_capacity(events.len());
        for (offset, event) in events.into_iter().enumerate() {
            let (position, version) = placement.at(offset);
            let data_len = event.data.len();
            // One exact allocation for both: no growth slack, no realloc.
            let mut payload = Vec::with_capacity(data_len.saturating_add(event.metadata.len()));
            payload.extend_from_slice(&event.data);
            payload.extend_from_slice(&event.metadata);
            let event_type = self.intern(event.event_type);
            self.by_type
                .entry(event_type.clone())
                .or_default()
                .push(position);
            let tags: Box<[Arc<str>]> = event.tags.into_iter().map(|t| self.intern(t)).collect();
            for tag in tags.iter() {
                self.by_tag.entry(tag.clone()).or_default().push(position);
            }
            self.ids.insert(event.id, position);
            self.events.push(Some(StoredEvent {
                id: event.id,
                stream: stream.clone(),
                version,
                event_type,
                payload: payload.into_boxed_slice(),
                data_len,
                recorded_at: event.recorded_at.unwrap_or(recorded_at),
                tags,
            }));
            positions.push(position);
        }
        let entry = self.streams.entry(stream.clone()).or_default();
        entry.positions.extend(positions);
        let result = placement.result();
        entry.version = result.last_version;
        Ok(result)
    }

    /// Appends every part or none (parts already checked by
    /// `Limits::check_atomic`). Every part is decided before any is written:
    /// the parts name distinct streams and distinct ids, so writing one part
    /// cannot change another's decision.
    pub(crate) fn append_atomic(&mut self, parts: Vec<AppendMany>) -> Result<Vec<AppendResult>> {
        for (stream, expected, events) in &parts {
            decide_append(self, stream, *expected, events)?;
        }
        parts
            .into_iter()
            .map(|(stream, expected, events)| self.append(&stream, expected, events))
            .collect()
    }

    /// Appends every part or none on `condition` (see `EventStore::append_if`).
    pub(crate) fn append_if(
        &mut self,
        parts: Vec<AppendMany>,
        condition: &AppendCondition,
    ) -> Result<Vec<AppendResult>> {
        let plan = condition_plan(condition, self.head());
        let conflict = run_sync(plan, |fetch| Ok(self.fetch(fetch)))?
            .events
            .first()
            .map(|e| e.position);
        if let Some(conflict) = conflict {
            return answer_conflict(self, parts_of(&parts), condition, conflict);
        }
        self.append_atomic(parts)
    }

    /// A query read (see `EventStore::read_query`).
    pub(crate) fn read_query(&self, query: &Query, after: u64, limit: usize) -> Result<QueryRead> {
        run_sync(QueryPlan::new(query, after, limit, self.head()), |fetch| {
            Ok(self.fetch(fetch))
        })
    }

    /// One chunk of a query plan, from the indexes.
    fn fetch(&self, fetch: &Fetch) -> Vec<RecordedEvent> {
        let positions: &[u64] = match &fetch.source {
            Source::All => return self.read_all(fetch.after, fetch.limit, &EventFilter::default()),
            Source::Tag(tag) => self.by_tag.get(tag.as_str()).map_or(&[], Vec::as_slice),
            Source::Type(t) => self.by_type.get(t.as_str()).map_or(&[], Vec::as_slice),
        };
        let start = positions.partition_point(|p| *p <= fetch.after);
        positions
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|p| **p <= fetch.until)
            // Hard-deleted events leave their positions in the index.
            .filter_map(|p| Some(self.event_at(*p)?.to_recorded(*p)))
            .take(fetch.limit)
            .collect()
    }

    pub(crate) fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        direction: ReadDirection,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let Some(entry) = self.streams.get(stream) else {
            return Ok(Vec::new());
        };
        entry.check_live(stream)?;
        let versions: Box<dyn Iterator<Item = u64>> = match direction {
            ReadDirection::Forward => Box::new(from.max(1)..=entry.version),
            ReadDirection::Backward => Box::new((1..=from.min(entry.version)).rev()),
        };
        Ok(versions
            .take(limit)
            .filter_map(|version| {
                let index = usize::try_from(version.checked_sub(1)?).ok()?;
                let position = *entry.positions.get(index)?;
                Some(self.event_at(position)?.to_recorded(position))
            })
            .collect())
    }

    pub(crate) fn read_all(
        &self,
        after: u64,
        limit: usize,
        filter: &EventFilter,
    ) -> Vec<RecordedEvent> {
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        self.events
            .iter()
            .skip(start)
            .zip((start as u64).saturating_add(1)..)
            .filter_map(|(slot, position)| Some((slot.as_ref()?, position)))
            .filter(|(event, _)| filter.matches(event.stream.as_str(), &event.event_type))
            .take(limit)
            .map(|(event, position)| event.to_recorded(position))
            .collect()
    }

    pub(crate) fn read_all_backward(&self, from: u64, limit: usize) -> Vec<RecordedEvent> {
        let end = usize::try_from(from)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        self.events
            .iter()
            .take(end)
            .enumerate()
            .rev()
            .filter_map(|(index, slot)| Some((slot.as_ref()?, (index as u64).saturating_add(1))))
            .take(limit)
            .map(|(event, position)| event.to_recorded(position))
            .collect()
    }

    pub(crate) fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        match self.streams.get(stream) {
            None => Ok(0),
            Some(entry) => entry.check_live(stream).map(|()| entry.version),
        }
    }

    pub(crate) fn list_streams(
        &self,
        prefix: &str,
        after: Option<&StreamId>,
        limit: usize,
    ) -> Vec<StreamInfo> {
        let lower = match after {
            Some(after) if after.as_str() >= prefix => Bound::Excluded(after.as_str()),
            _ => Bound::Included(prefix),
        };
        self.streams
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(id, _)| id.as_str().starts_with(prefix))
            .take(limit)
            .map(|(id, entry)| StreamInfo {
                stream_id: id.clone(),
                version: entry.version,
                state: match entry.deleted {
                    None => StreamState::Active,
                    Some(DeleteMode::Soft) => StreamState::SoftDeleted,
                    Some(DeleteMode::Hard) => StreamState::HardDeleted,
                },
            })
            .collect()
    }

    pub(crate) fn delete_stream(
        &mut self,
        stream: &StreamId,
        expected: ExpectedVersion,
        mode: DeleteMode,
    ) -> Result<()> {
        let (current, version) = self
            .streams
            .get(stream)
            .map_or((None, 0), |entry| (entry.deleted, entry.version));
        check_delete(stream, current, version, expected, mode)?;
        let entry = self.streams.entry(stream.clone()).or_default();
        entry.deleted = Some(mode);
        if mode == DeleteMode::Hard {
            entry.snapshot = None;
            for position in std::mem::take(&mut entry.positions) {
                let Some(index) = position
                    .checked_sub(1)
                    .and_then(|p| usize::try_from(p).ok())
                else {
                    continue;
                };
                if let Some(event) = self.events.get_mut(index).and_then(Option::take) {
                    self.ids.remove(&event.id);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn save_snapshot(
        &mut self,
        stream: &StreamId,
        version: u64,
        data: Vec<u8>,
    ) -> Result<()> {
        check_snapshot_version(stream, version, self.stream_version(stream)?)?;
        let entry = self.streams.entry(stream.clone()).or_default();
        if entry
            .snapshot
            .as_ref()
            .is_none_or(|(kept, _)| *kept <= version)
        {
            entry.snapshot = Some((version, data));
        }
        Ok(())
    }

    pub(crate) fn delete_snapshot(&mut self, stream: &StreamId) -> Result<()> {
        if let Some(entry) = self.streams.get_mut(stream) {
            entry.check_live(stream)?;
            entry.snapshot = None;
        }
        Ok(())
    }

    pub(crate) fn load_snapshot(&self, stream: &StreamId) -> Result<Option<Snapshot>> {
        let Some(entry) = self.streams.get(stream) else {
            return Ok(None);
        };
        entry.check_live(stream)?;
        Ok(entry.snapshot.as_ref().map(|(version, data)| Snapshot {
            stream_id: stream.clone(),
            version: *version,
            data: data.clone(),
        }))
    }
}
