//! The writes of the SQLite store. Appends arrive in batches from the shared
//! group-commit writer thread ([`disco_backend::group_commit`]), which owns the
//! only connection that writes; other writes run on it as jobs.
//!
//! A batch is written in one `BEGIN IMMEDIATE` transaction, each append inside
//! its own savepoint so a failing append fails alone. One commit (one fsync)
//! answers them all.
//!
//! Invariants:
//! - positions are `head + 1, head + 2, ...` where `head` is read inside the
//!   write transaction, which holds SQLite's write lock until commit; so
//!   positions are assigned in commit order, also across processes writing
//!   the same file;
//! - no caller hears `Ok` before the commit that holds its events returned;
//! - if the commit fails, every append of the batch gets the error.

use disco_backend::append_check::{
    check_delete, check_snapshot_version, decide_append, optimistic_first_version, AppendDecision,
    AppendView, Placement, StreamStatus,
};
use disco_backend::group_commit::{
    answer_atomic, answer_batch, atomic_batch, AppendRequest, BatchMode, BatchOutcome,
};
use disco_backend::query_plan::{answer_conflict, answer_conflict_one, parts_of};
use disco_backend::{EventLocation, Notifier};
use disco_core::{
    AppendCondition, AppendMany, AppendResult, DeleteMode, Error, ExpectedVersion, Result,
    StreamId, StreamState, Timestamp, Uuid,
};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use crate::errors::{db_error, sql_int, stored_u64};
use crate::event_row::EventRow;
use crate::reads;

const KEEP_HEAD: &str = include_str!("sql/keep_head.sql");
const LOCATE_EVENT: &str = include_str!("sql/locate_event.sql");
const INSERT_EVENT: &str = include_str!("sql/insert_event.sql");
const INSERT_TAG: &str = include_str!("sql/insert_tag.sql");
const DELETE_STREAM_TAGS: &str = include_str!("sql/delete_stream_tags.sql");
const UPSERT_STREAM: &str = include_str!("sql/upsert_stream.sql");
const DELETE_STREAM_EVENTS: &str = include_str!("sql/delete_stream_events.sql");
const DELETE_SNAPSHOT: &str = include_str!("sql/delete_snapshot.sql");
const SAVE_SNAPSHOT: &str = include_str!("sql/save_snapshot.sql");
const SAVE_CHECKPOINT: &str = include_str!("sql/save_checkpoint.sql");
const LEASE_GENERATION: &str = include_str!("sql/lease_generation.sql");
const SAVEPOINT: &str = "SAVEPOINT disco_append";
const RELEASE: &str = "RELEASE disco_append";
const ROLLBACK_TO: &str = "ROLLBACK TO disco_append";

/// Writes one batch and answers each of its appends.
pub(crate) fn commit_batch(conn: &mut Connection, batch: Vec<AppendRequest>, notifier: &Notifier) {
    let outcome = write_batch(conn, &batch, BatchMode::Independent);
    answer_batch(batch, outcome, notifier);
}

/// `append_atomic`: every part in one transaction, or none.
pub(crate) fn commit_atomic(
    conn: &mut Connection,
    parts: Vec<AppendMany>,
    notifier: &Notifier,
) -> Result<Vec<AppendResult>> {
    let batch = atomic_batch(parts);
    answer_atomic(write_batch(conn, &batch, BatchMode::AllOrNothing), notifier)
}

/// `append_if`: the condition checked in the write transaction, then every
/// part in it, or none.
pub(crate) fn commit_conditional(
    conn: &mut Connection,
    parts: Vec<AppendMany>,
    condition: &AppendCondition,
    notifier: &Notifier,
) -> Result<Vec<AppendResult>> {
    // The check runs under the write lock the batch then writes in.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let head = reads::head(&tx)?;
    let conflict = reads::first_match(&tx, condition, head)?;
    if let Some(conflict) = conflict {
        return answer_conflict(&mut TxView(&tx), parts_of(&parts), condition, conflict);
    }
    let batch = atomic_batch(parts);
    let outcome = write_batch_in(&tx, &batch, BatchMode::AllOrNothing, head)
        .and_then(|written| tx.commit().map_err(db_error).map(|()| written));
    answer_atomic(outcome, notifier)
}

/// Writes the batch in one transaction; returns each append's result and the
/// new head. In [`BatchMode::AllOrNothing`] the first refused append drops
/// the transaction, which rolls everything back.
fn write_batch(conn: &mut Connection, batch: &[AppendRequest], mode: BatchMode) -> BatchOutcome {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let head = reads::head(&tx)?;
    let written = write_batch_in(&tx, batch, mode, head)?;
    tx.commit().map_err(db_error)?;
    Ok(written)
}

/// Writes the batch inside the open write transaction `tx`, whose head is
/// `head`.
fn write_batch_in(
    tx: &Connection,
    batch: &[AppendRequest],
    mode: BatchMode,
    mut head: u64,
) -> BatchOutcome {
    let now = Timestamp::now();
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        execute(tx, SAVEPOINT)?;
        let outcome = match &request.condition {
            None => append_one(tx, request, head, now),
            Some(condition) => append_if_one(tx, request, condition, head, now),
        };
        match outcome {
            Ok((result, new_head)) => {
                execute(tx, RELEASE)?;
                head = new_head;
                results.push(Ok(result));
            }
            Err(error) if mode == BatchMode::AllOrNothing => return Err(error),
            Err(error) => {
                execute(tx, ROLLBACK_TO)?;
                execute(tx, RELEASE)?;
                results.push(Err(error));
            }
        }
    }
    Ok((results, head))
}

/// The transaction as the shared append decision sees it.
struct TxView<'a>(&'a Connection);

impl AppendView for TxView<'_> {
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus> {
        Ok(match reads::stream_row(self.0, stream)? {
            None => StreamStatus::default(),
            Some((version, state)) => StreamStatus {
                version,
                deleted: state != StreamState::Active,
            },
        })
    }

    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
        let mut st = self.0.prepare_cached(LOCATE_EVENT).map_err(db_error)?;
        ids.iter()
            .map(|id| {
                let row = st
                    .query_row([&id.as_bytes()[..]], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .optional()
                    .map_err(db_error)?;
                row.map(|(stream, version, position)| {
                    Ok(EventLocation {
                        id: *id,
                        stream_id: StreamId::new(&stream).map_err(|e| {
                            Error::Backend(format!("corrupt stream id in the database: {e}"))
                        })?,
                        version: stored_u64(version, "event version")?,
                        position: stored_u64(position, "event position")?,
                    })
                })
                .transpose()
            })
            .collect()
    }
}

fn execute(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql)
        .and_then(|mut st| st.execute([]))
        .map(|_| ())
        .map_err(db_error)
}

/// Writes one conditional append inside the batch's savepoint: its
/// condition checked on the transaction, which holds the appends of the
/// batch before it.
fn append_if_one(
    conn: &Connection,
    request: &AppendRequest,
    condition: &AppendCondition,
    head: u64,
    now: Timestamp,
) -> Result<(AppendResult, u64)> {
    if let Some(conflict) = reads::first_match(conn, condition, head)? {
        let original = answer_conflict_one(&mut TxView(conn), request, condition, conflict)?;
        return Ok((original, head));
    }
    append_one(conn, request, head, now)
}

/// Writes one append inside the batch's savepoint. The happy path checks the
/// stream and the expected version, then inserts and lets the unique index
/// on event ids catch a stored id; only then, or when the expected version
/// fails, does it look the ids up for the full rule-6 decision.
fn append_one(
    conn: &Connection,
    request: &AppendRequest,
    head: u64,
    now: Timestamp,
) -> Result<(AppendResult, u64)> {
    let mut view = TxView(conn);
    if let Some(first_version) =
        optimistic_first_version(&mut view, &request.stream, request.expected)?
    {
        let placement = Placement::new(head, first_version, request.events.len())?;
        match insert_events(conn, request, &placement, now) {
            Ok(written) => return Ok(written),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                // A stored id: undo the partial insert, then decide in full.
                execute(conn, ROLLBACK_TO)?;
                match decide_append(
                    &mut view,
                    &request.stream,
                    request.expected,
                    &request.events,
                )? {
                    AppendDecision::AlreadyWritten(result) => return Ok((result, head)),
                    AppendDecision::Write { .. } => return Err(db_error(e)),
                }
            }
            Err(e) => return Err(db_error(e)),
        }
    }
    match decide_append(
        &mut view,
        &request.stream,
        request.expected,
        &request.events,
    )? {
        AppendDecision::AlreadyWritten(result) => Ok((result, head)),
        AppendDecision::Write { first_version } => {
            let placement = Placement::new(head, first_version, request.events.len())?;
            insert_events(conn, request, &placement, now).map_err(db_error)
        }
    }
}

fn insert_events(
    conn: &Connection,
    request: &AppendRequest,
    placement: &Placement,
    now: Timestamp,
) -> rusqlite::Result<(AppendResult, u64)> {
    let mut insert = conn.prepare_cached(INSERT_EVENT)?;
    for (offset, event) in request.events.iter().enumerate() {
        EventRow::insert(
            &mut insert,
            &request.stream,
            placement.at(offset),
            event,
            now,
        )?;
        if !event.tags.is_empty() {
            let mut tag_insert = conn.prepare_cached(INSERT_TAG)?;
            let (position, _) = placement.at(offset);
            for tag in &event.tags {
                tag_insert.execute(params![tag, sql_int(position)])?;
            }
        }
    }
    let result = placement.result();
    conn.prepare_cached(UPSERT_STREAM)?.execute(params![
        request.stream.as_str(),
        sql_int(result.last_version),
        0
    ])?;
    Ok((result, placement.head_after()))
}

fn upsert_stream(
    conn: &Connection,
    stream: &StreamId,
    version: u64,
    state: StreamState,
) -> Result<()> {
    let code = disco_backend::stream_state::code(state);
    conn.prepare_cached(UPSERT_STREAM)
        .and_then(|mut st| st.execute(params![stream.as_str(), sql_int(version), code]))
        .map(|_| ())
        .map_err(db_error)
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits if it succeeded.
fn in_transaction<T>(conn: &mut Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let value = f(&tx)?;
    tx.commit().map_err(db_error)?;
    Ok(value)
}

/// `delete_stream` (rule 8).
pub(crate) fn delete_stream(
    conn: &mut Connection,
    stream: &StreamId,
    expected: ExpectedVersion,
    mode: DeleteMode,
) -> Result<()> {
    in_transaction(conn, |tx| {
        let (version, current) =
            disco_backend::stream_state::for_delete(reads::stream_row(tx, stream)?);
        check_delete(stream, current, version, expected, mode)?;
        let state = match mode {
            DeleteMode::Soft => StreamState::SoftDeleted,
            DeleteMode::Hard => {
                execute(tx, KEEP_HEAD)?;
                for sql in [DELETE_STREAM_TAGS, DELETE_STREAM_EVENTS, DELETE_SNAPSHOT] {
                    tx.prepare_cached(sql)
                        .and_then(|mut st| st.execute([stream.as_str()]))
                        .map_err(db_error)?;
                }
                StreamState::HardDeleted
            }
        };
        upsert_stream(tx, stream, version, state)
    })
}

/// `save_snapshot`: the newest version wins (enforced by the SQL).
pub(crate) fn save_snapshot(
    conn: &mut Connection,
    stream: &StreamId,
    version: u64,
    data: &[u8],
) -> Result<()> {
    in_transaction(conn, |tx| {
        check_snapshot_version(stream, version, reads::live_version(tx, stream)?)?;
        tx.prepare_cached(SAVE_SNAPSHOT)
            .and_then(|mut st| st.execute(params![stream.as_str(), sql_int(version), data]))
            .map(|_| ())
            .map_err(db_error)
    })
}

/// `delete_snapshot`: refused for a deleted stream.
pub(crate) fn delete_snapshot(conn: &mut Connection, stream: &StreamId) -> Result<()> {
    in_transaction(conn, |tx| {
        reads::live_version(tx, stream)?;
        tx.prepare_cached(DELETE_SNAPSHOT)
            .and_then(|mut st| st.execute(params![stream.as_str()]))
            .map(|_| ())
            .map_err(db_error)
    })
}

/// `save_checkpoint`; stored as the `i64` with the same bits. With a
/// `token`, the write is fenced: refused if the lease `name` has a newer
/// generation, checked in the same transaction (which holds SQLite's write
/// lock, so no acquisition can slip in between).
pub(crate) fn save_checkpoint(
    conn: &mut Connection,
    name: &str,
    position: u64,
    token: Option<u64>,
) -> Result<()> {
    in_transaction(conn, |tx| {
        if let Some(token) = token {
            let current: Option<i64> = tx
                .prepare_cached(LEASE_GENERATION)
                .and_then(|mut st| st.query_row(params![name], |row| row.get(0)).optional())
                .map_err(db_error)?;
            let current = current.map_or(Ok(0), |g| stored_u64(g, "lease generation"))?;
            // Invariant: a checkpoint write with a token older than the newest acquisition never lands.
            if current > token {
                return Err(Error::Fenced {
                    name: name.to_owned(),
                    token,
                    current,
                });
            }
        }
        tx.prepare_cached(SAVE_CHECKPOINT)
            .and_then(|mut st| st.execute(params![name, position as i64]))
            .map(|_| ())
            .map_err(db_error)
    })
}
