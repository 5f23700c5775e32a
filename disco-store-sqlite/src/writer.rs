//! The writer thread: the only connection that writes. It runs group commit
//! for appends and, in order with them, every other write.
//!
//! Group commit: the thread blocks for the first command, then drains what is
//! already waiting (up to `max_batch` appends, stopping at the first command
//! that is not an append so order is kept), and writes the appends in one
//! `BEGIN IMMEDIATE` transaction, each inside its own savepoint so a failing
//! append fails alone. One commit (one fsync) answers them all.
//!
//! Invariants:
//! - positions are `head + 1, head + 2, ...` where `head` is read from
//!   `disco_meta` inside the write transaction, which holds SQLite's write
//!   lock until commit; so positions are assigned in commit order, also
//!   across processes writing the same file;
//! - no caller hears `Ok` before the commit that holds its events returned;
//! - if the commit fails, every append of the batch gets the error.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use disco_core::append_check::{
    check_delete, check_snapshot_version, decide_append, AppendDecision, AppendView, StreamStatus,
};
use disco_core::{
    AppendResult, DeleteMode, Error, EventLocation, ExpectedVersion, NewEvent, Notifier, Result,
    StreamId, StreamState, Timestamp, Uuid,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use crate::errors::{db_error, sql_int, stored_u64};
use crate::reads;

const WRITE_HEAD: &str = include_str!("sql/write_head.sql");
const LOCATE_EVENT: &str = include_str!("sql/locate_event.sql");
const INSERT_EVENT: &str = include_str!("sql/insert_event.sql");
const UPSERT_STREAM: &str = include_str!("sql/upsert_stream.sql");
const DELETE_STREAM_EVENTS: &str = include_str!("sql/delete_stream_events.sql");
const DELETE_SNAPSHOT: &str = include_str!("sql/delete_snapshot.sql");
const SAVE_SNAPSHOT: &str = include_str!("sql/save_snapshot.sql");
const SAVE_CHECKPOINT: &str = include_str!("sql/save_checkpoint.sql");

/// A job run on the writer's connection, in order with the appends.
pub(crate) type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// What callers send to the writer.
pub(crate) enum Command {
    /// An append, answered after the commit that holds it.
    Append(AppendRequest),
    /// Any other work on the writer's connection.
    Run(Job),
}

pub(crate) struct AppendRequest {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub reply: oneshot::Sender<Result<AppendResult>>,
}

/// The writer loop; returns when every sender is gone.
pub(crate) fn run(
    mut conn: Connection,
    commands: Receiver<Command>,
    notifier: Arc<Notifier>,
    max_batch: usize,
) {
    let mut pending: Option<Command> = None;
    loop {
        let first = match pending.take() {
            Some(command) => command,
            None => match commands.recv() {
                Ok(command) => command,
                Err(_) => return,
            },
        };
        match first {
            Command::Run(job) => job(&mut conn),
            Command::Append(request) => {
                let mut batch = vec![request];
                while batch.len() < max_batch {
                    match commands.try_recv() {
                        Ok(Command::Append(request)) => batch.push(request),
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                    }
                }
                commit_batch(&mut conn, batch, &notifier);
            }
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<AppendRequest>, notifier: &Notifier) {
    let size = batch.len();
    match write_batch(conn, &batch) {
        Ok((results, head)) => {
            notifier.notify(head);
            tracing::trace!(appends = size, head, "group commit");
            for (request, result) in batch.into_iter().zip(results) {
                let _ = request.reply.send(result);
            }
        }
        Err(error) => {
            tracing::warn!(appends = size, %error, "group commit failed");
            for request in batch {
                let _ = request.reply.send(Err(error.clone()));
            }
        }
    }
}

/// Writes the batch in one transaction; returns each append's result and the
/// new head.
fn write_batch(
    conn: &mut Connection,
    batch: &[AppendRequest],
) -> Result<(Vec<Result<AppendResult>>, u64)> {
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let mut head = reads::head(&tx)?;
    let now = Timestamp::now();
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        let savepoint = tx.savepoint().map_err(db_error)?;
        match append_one(&savepoint, request, head, now) {
            Ok((result, new_head)) => {
                savepoint.commit().map_err(db_error)?;
                head = new_head;
                results.push(Ok(result));
            }
            // Dropping the savepoint rolls back what this append wrote.
            Err(error) => results.push(Err(error)),
        }
    }
    tx.prepare_cached(WRITE_HEAD)
        .and_then(|mut st| st.execute([sql_int(head)]))
        .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
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

fn append_one(
    conn: &Connection,
    request: &AppendRequest,
    head: u64,
    now: Timestamp,
) -> Result<(AppendResult, u64)> {
    let first_version = match decide_append(
        &mut TxView(conn),
        &request.stream,
        request.expected,
        &request.events,
    )? {
        AppendDecision::AlreadyWritten(result) => return Ok((result, head)),
        AppendDecision::Write { first_version } => first_version,
    };
    let mut insert = conn.prepare_cached(INSERT_EVENT).map_err(db_error)?;
    for (offset, event) in request.events.iter().enumerate() {
        insert
            .execute(params![
                sql_int(head + 1 + offset as u64),
                request.stream.as_str(),
                sql_int(first_version + offset as u64),
                &event.id.as_bytes()[..],
                event.event_type,
                event.data,
                event.metadata,
                now.as_micros(),
            ])
            .map_err(db_error)?;
    }
    let count = request.events.len() as u64;
    let last_version = first_version + count - 1;
    upsert_stream(conn, &request.stream, last_version, StreamState::Active)?;
    Ok((
        AppendResult {
            first_version,
            last_version,
            first_position: head + 1,
            last_position: head + count,
        },
        head + count,
    ))
}

fn upsert_stream(
    conn: &Connection,
    stream: &StreamId,
    version: u64,
    state: StreamState,
) -> Result<()> {
    let code = match state {
        StreamState::Active => 0,
        StreamState::SoftDeleted => 1,
        StreamState::HardDeleted => 2,
    };
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
        let (version, current) = match reads::stream_row(tx, stream)? {
            None => (0, None),
            Some((version, StreamState::Active)) => (version, None),
            Some((version, StreamState::SoftDeleted)) => (version, Some(DeleteMode::Soft)),
            Some((version, StreamState::HardDeleted)) => (version, Some(DeleteMode::Hard)),
        };
        check_delete(stream, current, version, expected, mode)?;
        let state = match mode {
            DeleteMode::Soft => StreamState::SoftDeleted,
            DeleteMode::Hard => {
                for sql in [DELETE_STREAM_EVENTS, DELETE_SNAPSHOT] {
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

/// `save_checkpoint`; stored as the `i64` with the same bits.
pub(crate) fn save_checkpoint(conn: &mut Connection, name: &str, position: u64) -> Result<()> {
    in_transaction(conn, |tx| {
        tx.prepare_cached(SAVE_CHECKPOINT)
            .and_then(|mut st| st.execute(params![name, position as i64]))
            .map(|_| ())
            .map_err(db_error)
    })
}
