//! Every write, on the writer thread. A group-commit batch is one write
//! transaction committed with redb's default (immediate, durable) commit.
//!
//! Each append is fully decided (rule 2, 6, 8 via the shared
//! `decide_append`, reading the transaction, which already holds the earlier
//! appends of the batch) before it writes anything, so a failing check fails
//! that append alone. Only a storage error while writing fails the whole
//! batch, which is then rolled back and every caller gets the error.

use std::sync::Arc;

use disco_backend::append_check::{
    check_delete, check_snapshot_version, decide_append, AppendDecision, AppendView, Placement,
    StreamStatus,
};
use disco_backend::group_commit::{
    answer_atomic, answer_batch, atomic_batch, AppendRequest, BatchMode, BatchOutcome,
};
use disco_backend::query_plan::{answer_conflict, answer_conflict_one, parts_of};
use disco_backend::{EventLocation, Notifier};
use disco_core::{
    AppendCondition, AppendMany, AppendResult, DeleteMode, ExpectedVersion, Result, StreamId,
    StreamState, Timestamp, Uuid,
};
use redb::{ReadableTable, Table, WriteTransaction};

use crate::errors::db_error;
use crate::reads;
use crate::tables::*;

type EventsTable<'t> = Table<'t, u64, EventRow>;

/// What the writer thread owns.
pub(crate) struct WriterState {
    pub db: Arc<crate::open::Db>,
    /// The head; only this thread moves it.
    pub head: u64,
    /// Whether commits record the allocator state ([`RedbOptions::quick_repair`](crate::RedbOptions::quick_repair)).
    pub quick_repair: bool,
}

/// Writes one batch and answers each of its appends.
pub(crate) fn commit_batch(
    state: &mut WriterState,
    batch: Vec<AppendRequest>,
    notifier: &Notifier,
) {
    let outcome = write_batch(state, &batch, BatchMode::Independent);
    if let Ok((_, head)) = &outcome {
        state.head = *head;
    }
    answer_batch(batch, outcome, notifier);
}

/// `append_atomic`: every part in one write transaction, or none.
pub(crate) fn commit_atomic(
    state: &mut WriterState,
    parts: Vec<AppendMany>,
    notifier: &Notifier,
) -> Result<Vec<AppendResult>> {
    let batch = atomic_batch(parts);
    let outcome = write_batch(state, &batch, BatchMode::AllOrNothing);
    if let Ok((_, head)) = &outcome {
        state.head = *head;
    }
    answer_atomic(outcome, notifier)
}

/// `append_if`: the condition checked in the write transaction the parts
/// are then written in, or nothing written.
pub(crate) fn commit_conditional(
    state: &mut WriterState,
    parts: Vec<AppendMany>,
    condition: &AppendCondition,
    notifier: &Notifier,
) -> Result<Vec<AppendResult>> {
    let txn = crate::open::begin_write(&state.db, state.quick_repair)?;
    {
        let (events, tags, types) = (
            txn.open_table(EVENTS).map_err(db_error)?,
            txn.open_table(TAGS).map_err(db_error)?,
            txn.open_table(TYPES).map_err(db_error)?,
        );
        let tables = reads::QueryTables {
            events: &events,
            tags: &tags,
            types: &types,
        };
        let conflict = tables.first_match(condition, state.head)?;
        if let Some(conflict) = conflict {
            let streams = txn.open_table(STREAMS).map_err(db_error)?;
            let ids = txn.open_table(EVENT_IDS).map_err(db_error)?;
            let mut view = TableView {
                streams: &streams,
                ids: &ids,
                events: &events,
            };
            return answer_conflict(&mut view, parts_of(&parts), condition, conflict);
        }
    }
    let batch = atomic_batch(parts);
    let outcome = write_batch_in(&txn, state.head, &batch, BatchMode::AllOrNothing)
        .and_then(|written| txn.commit().map_err(db_error).map(|()| written));
    if let Ok((_, head)) = &outcome {
        state.head = *head;
    }
    answer_atomic(outcome, notifier)
}

struct TableView<'a, 't> {
    streams: &'a Table<'t, &'static str, (u64, u8)>,
    ids: &'a Table<'t, u128, u64>,
    events: &'a EventsTable<'t>,
}

impl AppendView for TableView<'_, '_> {
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus> {
        Ok(match reads::stream_row(self.streams, stream)? {
            None => StreamStatus::default(),
            Some((version, state)) => StreamStatus {
                version,
                deleted: state != StreamState::Active,
            },
        })
    }

    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
        ids.iter()
            .map(|id| reads::locate(self.ids, self.events, *id))
            .collect()
    }
}

/// Writes the batch in one transaction. In [`BatchMode::AllOrNothing`] the
/// first refused append drops the transaction, which aborts it.
fn write_batch(state: &WriterState, batch: &[AppendRequest], mode: BatchMode) -> BatchOutcome {
    let txn = crate::open::begin_write(&state.db, state.quick_repair)?;
    let written = write_batch_in(&txn, state.head, batch, mode)?;
    txn.commit().map_err(db_error)?;
    Ok(written)
}

/// Writes the batch in the open write transaction `txn`, whose head is `head`.
fn write_batch_in(
    txn: &WriteTransaction,
    mut head: u64,
    batch: &[AppendRequest],
    mode: BatchMode,
) -> BatchOutcome {
    let mut results = Vec::with_capacity(batch.len());
    {
        let mut events = txn.open_table(EVENTS).map_err(db_error)?;
        let mut index = txn.open_table(STREAM_EVENTS).map_err(db_error)?;
        let mut ids = txn.open_table(EVENT_IDS).map_err(db_error)?;
        let mut streams = txn.open_table(STREAMS).map_err(db_error)?;
        let mut tags = txn.open_table(TAGS).map_err(db_error)?;
        let mut types = txn.open_table(TYPES).map_err(db_error)?;
        let now = Timestamp::now().as_micros();
        for request in batch {
            if let Some(condition) = &request.condition {
                // Checked on the transaction, which holds the appends of
                // the batch before this one.
                let tables = reads::QueryTables {
                    events: &events,
                    tags: &tags,
                    types: &types,
                };
                let refused = match tables.first_match(condition, head) {
                    Err(e) => Some(Err(e)),
                    Ok(None) => None,
                    Ok(Some(conflict)) => {
                        let mut view = TableView {
                            streams: &streams,
                            ids: &ids,
                            events: &events,
                        };
                        Some(answer_conflict_one(&mut view, request, condition, conflict))
                    }
                };
                match refused {
                    None => {}
                    Some(Err(e)) if mode == BatchMode::AllOrNothing => return Err(e),
                    Some(outcome) => {
                        results.push(outcome);
                        continue;
                    }
                }
            }
            let decision = decide_append(
                &mut TableView {
                    streams: &streams,
                    ids: &ids,
                    events: &events,
                },
                &request.stream,
                request.expected,
                &request.events,
            );
            let first_version = match decision {
                Err(e) if mode == BatchMode::AllOrNothing => return Err(e),
                Err(e) => {
                    results.push(Err(e));
                    continue;
                }
                Ok(AppendDecision::AlreadyWritten(result)) => {
                    results.push(Ok(result));
                    continue;
                }
                Ok(AppendDecision::Write { first_version }) => first_version,
            };
            let s = request.stream.as_str();
            let placement = Placement::new(head, first_version, request.events.len())?;
            for (offset, event) in request.events.iter().enumerate() {
                let (position, version) = placement.at(offset);
                let stored_tags = disco_backend::stored_tags::encode(&event.tags);
                events
                    .insert(
                        position,
                        StoredEvent::of_new(s, version, event, &stored_tags, now).row(),
                    )
                    .map_err(db_error)?;
                types
                    .insert((event.event_type.as_str(), position), ())
                    .map_err(db_error)?;
                for tag in &event.tags {
                    tags.insert((tag.as_str(), position), ())
                        .map_err(db_error)?;
                }
                index.insert((s, version), position).map_err(db_error)?;
                ids.insert(event.id.as_u128(), position).map_err(db_error)?;
            }
            let result = placement.result();
            streams
                .insert(s, (result.last_version, STATE_ACTIVE))
                .map_err(db_error)?;
            results.push(Ok(result));
            head = placement.head_after();
        }
    }
    Ok((results, head))
}

fn in_transaction<T>(
    state: &WriterState,
    f: impl FnOnce(&WriteTransaction) -> Result<T>,
) -> Result<T> {
    let txn = crate::open::begin_write(&state.db, state.quick_repair)?;
    let value = f(&txn)?;
    txn.commit().map_err(db_error)?;
    Ok(value)
}

/// `delete_stream` (rule 8).
pub(crate) fn delete_stream(
    state: &mut WriterState,
    stream: &StreamId,
    expected: ExpectedVersion,
    mode: DeleteMode,
) -> Result<()> {
    let head = state.head;
    in_transaction(state, |txn| {
        let mut streams = txn.open_table(STREAMS).map_err(db_error)?;
        let (version, current) =
            disco_backend::stream_state::for_delete(reads::stream_row(&streams, stream)?);
        check_delete(stream, current, version, expected, mode)?;
        let code = match mode {
            DeleteMode::Soft => STATE_SOFT_DELETED,
            DeleteMode::Hard => {
                remove_events(txn, stream)?;
                txn.open_table(SNAPSHOTS)
                    .map_err(db_error)?
                    .remove(stream.as_str())
                    .map_err(db_error)?;
                // Removing the newest events must not lower the head.
                txn.open_table(META)
                    .map_err(db_error)?
                    .insert("head", head)
                    .map_err(db_error)?;
                STATE_HARD_DELETED
            }
        };
        streams
            .insert(stream.as_str(), (version, code))
            .map_err(db_error)?;
        Ok(())
    })
}

fn remove_events(txn: &WriteTransaction, stream: &StreamId) -> Result<()> {
    let s = stream.as_str();
    let mut index = txn.open_table(STREAM_EVENTS).map_err(db_error)?;
    let mut events = txn.open_table(EVENTS).map_err(db_error)?;
    let mut ids = txn.open_table(EVENT_IDS).map_err(db_error)?;
    let mut tags = txn.open_table(TAGS).map_err(db_error)?;
    let mut types = txn.open_table(TYPES).map_err(db_error)?;
    let mut positions = Vec::new();
    for entry in index
        .extract_from_if((s, 0)..=(s, u64::MAX), |_, _| true)
        .map_err(db_error)?
    {
        let (_, position) = entry.map_err(db_error)?;
        positions.push(position.value());
    }
    for position in positions {
        if let Some(row) = events.remove(position).map_err(db_error)? {
            let row = StoredEvent::of(row.value());
            ids.remove(row.id).map_err(db_error)?;
            types.remove((row.event_type, position)).map_err(db_error)?;
            for tag in disco_backend::stored_tags::decode(row.tags) {
                tags.remove((tag.as_str(), position)).map_err(db_error)?;
            }
        }
    }
    Ok(())
}

/// `save_snapshot`: the newest version wins.
pub(crate) fn save_snapshot(
    state: &mut WriterState,
    stream: &StreamId,
    version: u64,
    data: &[u8],
) -> Result<()> {
    in_transaction(state, |txn| {
        let streams = txn.open_table(STREAMS).map_err(db_error)?;
        check_snapshot_version(stream, version, reads::live_version(&streams, stream)?)?;
        let mut snapshots = txn.open_table(SNAPSHOTS).map_err(db_error)?;
        let kept = snapshots
            .get(stream.as_str())
            .map_err(db_error)?
            .map(|g| g.value().0);
        if kept.is_none_or(|kept| kept <= version) {
            snapshots
                .insert(stream.as_str(), (version, data))
                .map_err(db_error)?;
        }
        Ok(())
    })
}

/// `delete_snapshot`: refused for a deleted stream.
pub(crate) fn delete_snapshot(state: &mut WriterState, stream: &StreamId) -> Result<()> {
    in_transaction(state, |txn| {
        let streams = txn.open_table(STREAMS).map_err(db_error)?;
        reads::live_version(&streams, stream)?;
        txn.open_table(SNAPSHOTS)
            .map_err(db_error)?
            .remove(stream.as_str())
            .map_err(db_error)?;
        Ok(())
    })
}

/// `save_checkpoint`.
pub(crate) fn save_checkpoint(state: &mut WriterState, name: &str, position: u64) -> Result<()> {
    in_transaction(state, |txn| {
        txn.open_table(CHECKPOINTS)
            .map_err(db_error)?
            .insert(name, position)
            .map_err(db_error)?;
        Ok(())
    })
}
