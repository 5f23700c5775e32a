//! The writer: one task per store handle that group-commits appends.
//!
//! It takes the appends waiting on its channel (up to `max_batch`; when the
//! previous batch showed k > 1 concurrent appenders it waits up to
//! `group_commit_delay` for k of them) and commits them together, however
//! many appends the batch holds, on a connection it keeps between batches.
//!
//! **The fast path: one round trip.** The writer remembers the version of
//! every stream it has seen (what it wrote, what it read). When every append
//! of a batch passes the shared `decide_append` on those remembered versions,
//! it calls `append_fast` (migrations/0002_append_fast.sql) in autocommit: under the
//! schema's write lock the function checks that each stream is still at the
//! remembered version, writes the events (positions after the head it reads
//! there) and the streams, sends `pg_notify` and commits. If a stream moved
//! (another process wrote it) or an event id is already stored, it writes
//! nothing and returns -1, and the batch takes the careful path. If the call
//! fails outright, the careful path runs on a fresh connection: should the
//! call have committed after all, its appends are found as already written
//! and answered with their results (rule 6).
//!
//! **The careful path: four round trips.**
//!
//! 1. `BEGIN`;
//! 2. `lock_and_read` (migrations/0001_init.sql): the schema's
//!    transaction-scoped advisory lock, then the head, the state of the
//!    batch's streams and where its event ids sit. One batch commits at a
//!    time across every process sharing the schema, so positions, assigned
//!    from the head read under the lock, are in commit order, and a reader
//!    paging by position can never skip a late commit;
//! 3. every append decided here by the shared `decide_append`, over that
//!    state plus the earlier appends of the batch (a failing append fails
//!    alone and writes nothing), then one statement writing every event and
//!    the streams and sending `pg_notify` (the head is not written: it is
//!    `max(position)`, see read_head.sql);
//! 4. `COMMIT`, which answers every append.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use disco_backend::append_check::{
    decide_append, AppendDecision, AppendView, Placement, StreamStatus,
};
use disco_backend::group_commit::{
    answer_atomic, answer_batch, AdaptiveBatch, AppendRequest, BatchMode, BatchOutcome, Batching,
};
use disco_backend::query_plan::{answer_conflict, answer_conflict_one};
use disco_backend::{EventLocation, Notifier};
use disco_core::{AppendCondition, AppendResult, Result, StreamId, StreamState};
use sqlx::pool::PoolConnection;
use sqlx::{Acquire, PgPool, Postgres, Row};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::errors::{db_error, sql_int, stored_u64};
use crate::event_row::{bind_event_columns, Columns};
use crate::reads;
use crate::sql::Statements;

pub(crate) struct WriterContext {
    pub pool: PgPool,
    pub statements: Arc<Statements>,
    pub write_lock: i64,
    pub channel: String,
    pub notifier: Arc<Notifier>,
    pub batching: Batching,
}

/// What the writer is asked to do.
pub(crate) enum Job {
    /// One append, committed with whatever else is waiting.
    Append(AppendRequest),
    /// An atomic append: its parts commit alone, all or none.
    Atomic(
        Vec<AppendRequest>,
        oneshot::Sender<Result<Vec<AppendResult>>>,
    ),
    /// A conditional append: an atomic append whose condition is checked
    /// under the write lock, in the transaction that writes it.
    Conditional(
        Vec<AppendRequest>,
        AppendCondition,
        oneshot::Sender<Result<Vec<AppendResult>>>,
    ),
}

/// The writer loop; returns when every sender is gone or `stop` is set (the
/// store was closed), releasing its connection.
pub(crate) async fn run(
    context: WriterContext,
    mut requests: mpsc::UnboundedReceiver<Job>,
    mut stop: watch::Receiver<bool>,
) {
    let mut adaptive = AdaptiveBatch::new(context.batching);
    let mut connection: Option<PoolConnection<Postgres>> = None;
    let mut known = KnownStreams::default();
    let mut pending: Option<Job> = None;
    loop {
        let job = match pending.take() {
            Some(job) => job,
            None => tokio::select! {
                job = requests.recv() => match job {
                    Some(job) => job,
                    None => return,
                },
                _ = stop.changed() => return,
            },
        };
        let first = match job {
            Job::Atomic(parts, reply) => {
                let outcome = commit_atomic(&context, &mut connection, &mut known, &parts).await;
                let _ = reply.send(outcome);
                continue;
            }
            Job::Conditional(parts, condition, reply) => {
                let outcome = write_on_a_connection(
                    &context,
                    &mut connection,
                    &mut known,
                    &parts,
                    Mode::Conditional(&condition),
                )
                .await;
                let _ = reply.send(answer_atomic(outcome, &context.notifier));
                continue;
            }
            Job::Append(request) => request,
        };
        let plan = adaptive.start();
        let mut batch = vec![first];
        while batch.len() < plan.max {
            let next = match requests.try_recv() {
                Ok(job) => job,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if !plan.should_wait(batch.len()) {
                        break;
                    }
                    let deadline = tokio::time::Instant::from_std(plan.deadline);
                    match tokio::time::timeout_at(deadline, requests.recv()).await {
                        Ok(Some(job)) => job,
                        _ => break,
                    }
                }
            };
            match next {
                Job::Append(request) => batch.push(request),
                atomic => {
                    // Kept for the next round: atomic appends commit alone.
                    pending = Some(atomic);
                    break;
                }
            }
        }
        adaptive.finish(batch.len());
        commit_batch(&context, &mut connection, &mut known, batch).await;
    }
}

/// The streams' versions as this writer last saw them (bounded: forgotten
/// all at once when full, then learnt again).
#[derive(Default)]
struct KnownStreams {
    streams: HashMap<String, StreamStatus>,
}

impl KnownStreams {
    const CAPACITY: usize = 100_000;

    fn learn(&mut self, name: String, status: StreamStatus) {
        if self.streams.len() >= Self::CAPACITY && !self.streams.contains_key(&name) {
            self.streams.clear();
        }
        self.streams.insert(name, status);
    }
}

async fn commit_batch(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    known: &mut KnownStreams,
    batch: Vec<AppendRequest>,
) {
    let outcome = write(context, connection, known, &batch, BatchMode::Independent).await;
    answer_batch(batch, outcome, &context.notifier);
}

/// An atomic append: the fast path when every part would be written (the
/// one `append_fast` call writes all or nothing), else the careful path
/// with the first refused part rolling everything back.
async fn commit_atomic(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    known: &mut KnownStreams,
    parts: &[AppendRequest],
) -> Result<Vec<AppendResult>> {
    let outcome = write(context, connection, known, parts, BatchMode::AllOrNothing).await;
    answer_atomic(outcome, &context.notifier)
}

/// Writes a batch: the fast path when the remembered versions say every
/// append will be written, the careful path otherwise (or when the fast
/// one found a stream moved or failed outright).
async fn write(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    known: &mut KnownStreams,
    batch: &[AppendRequest],
    mode: BatchMode,
) -> BatchOutcome {
    match plan_fast(known, batch) {
        Some(plan) => match write_fast(context, connection, &plan).await {
            Ok(Some(head)) => {
                for (name, version) in plan.finals.0.iter().zip(&plan.finals.1) {
                    let status = StreamStatus {
                        version: *version as u64,
                        deleted: false,
                    };
                    known.learn(name.clone(), status);
                }
                Ok(plan.answer(head))
            }
            Ok(None) => {
                for name in &plan.checks.0 {
                    known.streams.remove(name);
                }
                write_on_a_connection(context, connection, known, batch, Mode::Plain(mode)).await
            }
            Err(error) => {
                tracing::debug!(%error, "fast append failed; taking the careful path");
                known.streams.clear();
                write_on_a_connection(context, connection, known, batch, Mode::Plain(mode)).await
            }
        },
        None => write_on_a_connection(context, connection, known, batch, Mode::Plain(mode)).await,
    }
}

/// A batch decided on the remembered versions, ready for `append_fast`.
struct FastPlan {
    /// Each stream of the batch and the version it is believed to be at.
    checks: (Vec<String>, Vec<i64>),
    columns: Columns,
    /// Each written stream's version after the batch.
    finals: (Vec<String>, Vec<i64>),
    /// Each append's result, positions counted from 0.
    results: Vec<AppendResult>,
    /// The conditions of the batch's conditional appends.
    conditions: ConditionRows,
}

/// The conditions of a batch as `append_fast` takes them: one row per
/// query item of each conditional append.
#[derive(Default)]
struct ConditionRows {
    /// The batch ordinal (1-based) of the append's first event.
    ords: Vec<i64>,
    afters: Vec<i64>,
    /// The item's first tag, the index it is read by; `None` without tags.
    tags: Vec<Option<String>>,
    /// All the item's tags, and its types, as tags are stored ('' for none).
    all_tags: Vec<String>,
    types: Vec<String>,
}

impl ConditionRows {
    fn push(&mut self, first_ord: u64, condition: &AppendCondition) {
        for item in &condition.fail_if_events_match.items {
            self.ords.push(sql_int(first_ord));
            self.afters.push(sql_int(condition.after));
            self.tags.push(item.tags.first().cloned());
            self.all_tags
                .push(disco_backend::stored_tags::encode(&item.tags));
            self.types
                .push(disco_backend::stored_tags::encode(&item.types));
        }
    }
}

impl FastPlan {
    fn answer(&self, head: u64) -> (Vec<Result<AppendResult>>, u64) {
        let results = self
            .results
            .iter()
            .map(|r| {
                Ok(AppendResult {
                    first_position: r.first_position.saturating_add(head),
                    last_position: r.last_position.saturating_add(head),
                    ..*r
                })
            })
            .collect();
        (results, head.saturating_add(self.columns.ids.len() as u64))
    }
}

/// Decides the batch on the remembered versions; `None` unless every
/// append would be written (a refusal or a retry needs the careful path's
/// facts).
fn plan_fast(known: &KnownStreams, batch: &[AppendRequest]) -> Option<FastPlan> {
    let mut view = BatchView {
        known: Some(known),
        ..BatchView::default()
    };
    // What each stream is believed to be at before the batch.
    let mut checks: BTreeMap<String, i64> = BTreeMap::new();
    for request in batch {
        if !checks.contains_key(request.stream.as_str()) {
            let believed = view.stream_status(&request.stream).ok()?;
            checks.insert(
                request.stream.as_str().to_owned(),
                sql_int(believed.version),
            );
        }
    }
    let decided = decide_batch(&mut view, batch, 0, &[]);
    if !decided.all_written {
        return None;
    }
    let results = decided
        .results
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .ok()?;
    // The conditions are checked by the function, under the write lock.
    let mut conditions = ConditionRows::default();
    for (request, result) in batch.iter().zip(&results) {
        if let Some(condition) = &request.condition {
            conditions.push(result.first_position, condition);
        }
    }
    Some(FastPlan {
        checks: checks.into_iter().unzip(),
        columns: decided.columns,
        finals: decided.finals,
        results,
        conditions,
    })
}

/// Runs `append_fast`: `Some(head before the batch)` when it committed,
/// `None` when a stream moved or an id is taken (nothing written). An error
/// leaves it unknown whether the call committed; the connection is dropped.
async fn write_fast(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    plan: &FastPlan,
) -> Result<Option<u64>> {
    let mut conn = match connection.take() {
        Some(conn) => conn,
        None => context.pool.acquire().await.map_err(db_error)?,
    };
    let query = sqlx::query_scalar(context.statements.append_fast.clone())
        .bind(context.write_lock)
        .bind(&plan.checks.0)
        .bind(&plan.checks.1);
    let head: std::result::Result<i64, sqlx::Error> = bind_event_columns!(query, plan.columns)
        .bind(&plan.finals.0)
        .bind(&plan.finals.1)
        .bind(&context.channel)
        .bind(&plan.columns.tags)
        .bind(&plan.columns.tag_index.0)
        .bind(&plan.columns.tag_index.1)
        .bind(&plan.conditions.ords)
        .bind(&plan.conditions.afters)
        .bind(&plan.conditions.tags)
        .bind(&plan.conditions.all_tags)
        .bind(&plan.conditions.types)
        .fetch_one(&mut *conn)
        .await;
    match head {
        Ok(head) => {
            *connection = Some(conn);
            Ok((head >= 0).then_some(head as u64))
        }
        Err(error) => {
            conn.close_on_drop();
            Err(db_error(error))
        }
    }
}

/// How the careful path writes a batch.
#[derive(Clone, Copy)]
enum Mode<'c> {
    /// As a group commit or an atomic append.
    Plain(BatchMode),
    /// All or nothing, on a condition checked under the write lock.
    Conditional(&'c AppendCondition),
}

impl Mode<'_> {
    fn batch_mode(self) -> BatchMode {
        match self {
            Mode::Plain(mode) => mode,
            Mode::Conditional(_) => BatchMode::AllOrNothing,
        }
    }
}

/// Runs the batch on the kept connection, or a fresh one. A kept connection
/// may have died while idle (a restart, a terminated backend): if its `BEGIN`
/// fails, nothing of the batch ran, so it is tried once more on a fresh one.
async fn write_on_a_connection(
    context: &WriterContext,
    connection: &mut Option<PoolConnection<Postgres>>,
    known: &mut KnownStreams,
    batch: &[AppendRequest],
    mode: Mode<'_>,
) -> BatchOutcome {
    let mut kept = connection.take();
    loop {
        let reused = kept.is_some();
        let mut conn = match kept.take() {
            Some(conn) => conn,
            None => context.pool.acquire().await.map_err(db_error)?,
        };
        let result = match attempt(context, &mut conn, known, batch, mode).await {
            Attempt::BeginFailed(e) => {
                conn.close_on_drop();
                if reused {
                    continue;
                }
                return Err(db_error(e));
            }
            Attempt::Done(result) => result,
        };
        if result.is_ok() {
            *connection = Some(conn);
        } else {
            // The connection may be broken or mid-transaction: never reuse it.
            conn.close_on_drop();
        }
        return result;
    }
}

/// The batch's view of the database: on the careful path, what
/// `lock_and_read` returned; on the fast path, the remembered versions
/// (`known`; a stream not remembered is believed absent). Either way updated
/// with each append the batch decides to write.
#[derive(Default)]
struct BatchView<'a> {
    known: Option<&'a KnownStreams>,
    streams: HashMap<String, StreamStatus>,
    located: HashMap<Uuid, EventLocation>,
}

impl AppendView for BatchView<'_> {
    fn stream_status(&mut self, stream: &StreamId) -> Result<StreamStatus> {
        let name = stream.as_str();
        Ok(self
            .streams
            .get(name)
            .or_else(|| self.known.and_then(|k| k.streams.get(name)))
            .copied()
            .unwrap_or_default())
    }

    fn locate_events(&mut self, ids: &[Uuid]) -> Result<Vec<Option<EventLocation>>> {
        Ok(ids.iter().map(|id| self.located.get(id).cloned()).collect())
    }
}

/// A batch decided append by append.
struct Decided {
    columns: Columns,
    /// Each written stream's version after the batch, one row per stream
    /// (an upsert may not touch a row twice).
    finals: (Vec<String>, Vec<i64>),
    /// Each append's result, in batch order.
    results: Vec<Result<AppendResult>>,
    /// The head after the batch.
    head: u64,
    /// Whether every append is to be written (none refused, none a retry).
    all_written: bool,
}

/// Decides each append of `batch` by the shared `decide_append` over
/// `view`, recording each one to be written in the view (so later appends
/// of the batch see it) with positions after `head`. A conditional append
/// is refused when an event matching its query is stored after its
/// position (`stored[i]`, the first such position read under the write
/// lock, for the `i`th append; none when `stored` is empty) or is one the
/// batch writes before it.
fn decide_batch(
    view: &mut BatchView<'_>,
    batch: &[AppendRequest],
    mut head: u64,
    stored: &[Option<u64>],
) -> Decided {
    let mut columns = Columns::default();
    let mut finals: BTreeMap<String, i64> = BTreeMap::new();
    let mut results = Vec::with_capacity(batch.len());
    let mut all_written = true;
    for (index, request) in batch.iter().enumerate() {
        if let Some(condition) = &request.condition {
            let stored = stored.get(index).copied().flatten();
            let conflict = match (stored, columns.first_match(condition)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(conflict) = conflict {
                all_written = false;
                results.push(answer_conflict_one(view, request, condition, conflict));
                continue;
            }
        }
        let first_version =
            match decide_append(view, &request.stream, request.expected, &request.events) {
                Err(e) => {
                    all_written = false;
                    results.push(Err(e));
                    continue;
                }
                Ok(AppendDecision::AlreadyWritten(result)) => {
                    all_written = false;
                    results.push(Ok(result));
                    continue;
                }
                Ok(AppendDecision::Write { first_version }) => first_version,
            };
        let placement = match Placement::new(head, first_version, request.events.len()) {
            Ok(placement) => placement,
            Err(e) => {
                all_written = false;
                results.push(Err(e));
                continue;
            }
        };
        for (offset, event) in request.events.iter().enumerate() {
            let (position, version) = placement.at(offset);
            columns.push(&request.stream, version, position, event);
            view.located.insert(
                event.id,
                EventLocation {
                    id: event.id,
                    stream_id: request.stream.clone(),
                    version,
                    position,
                },
            );
        }
        let result = placement.result();
        let last_version = result.last_version;
        let name = request.stream.as_str().to_owned();
        view.streams.insert(
            name.clone(),
            StreamStatus {
                version: last_version,
                deleted: false,
            },
        );
        finals.insert(name, sql_int(last_version));
        results.push(Ok(result));
        head = placement.head_after();
    }
    Decided {
        columns,
        finals: finals.into_iter().unzip(),
        results,
        head,
        all_written,
    }
}

enum Attempt {
    BeginFailed(sqlx::Error),
    Done(BatchOutcome),
}

async fn attempt(
    context: &WriterContext,
    conn: &mut PoolConnection<Postgres>,
    known: &mut KnownStreams,
    batch: &[AppendRequest],
    mode: Mode<'_>,
) -> Attempt {
    match conn.begin().await {
        Err(e) => Attempt::BeginFailed(e),
        Ok(tx) => Attempt::Done(write_batch(context, tx, known, batch, mode).await),
    }
}

async fn write_batch(
    context: &WriterContext,
    mut tx: sqlx::Transaction<'_, Postgres>,
    known: &mut KnownStreams,
    batch: &[AppendRequest],
    mode: Mode<'_>,
) -> BatchOutcome {
    let st = &context.statements;
    let names: Vec<String> = batch.iter().map(|r| r.stream.as_str().to_owned()).collect();
    let ids: Vec<Uuid> = batch
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.id))
        .collect();
    let rows = sqlx::query(st.lock_and_read.clone())
        .bind(context.write_lock)
        .bind(&names)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
    let mut start_head = None;
    let mut view = BatchView::default();
    for row in rows {
        let kind: i16 = row.try_get(0).map_err(db_error)?;
        let version = |row: &sqlx::postgres::PgRow| -> Result<u64> {
            stored_u64(row.try_get::<i64, _>(2).map_err(db_error)?, "version")
        };
        match kind {
            0 => start_head = Some(stored_u64(row.try_get(5).map_err(db_error)?, "head")?),
            1 => {
                let name: String = row.try_get(1).map_err(db_error)?;
                let deleted = reads::state_of(row.try_get::<i16, _>(3).map_err(db_error)?)?
                    != StreamState::Active;
                view.streams.insert(
                    name,
                    StreamStatus {
                        version: version(&row)?,
                        deleted,
                    },
                );
            }
            _ => {
                let id: Uuid = row.try_get(4).map_err(db_error)?;
                let location = EventLocation {
                    id,
                    stream_id: reads::stream_id(row.try_get(1).map_err(db_error)?)?,
                    version: version(&row)?,
                    position: stored_u64(row.try_get(5).map_err(db_error)?, "position")?,
                };
                view.located.insert(id, location);
            }
        }
    }
    let start_head =
        start_head.ok_or_else(|| disco_core::Error::Backend("the head row is missing".into()))?;
    // Each conditional append's first stored conflict, read under the lock.
    let mut stored = Vec::with_capacity(batch.len());
    for request in batch {
        stored.push(match &request.condition {
            Some(condition) => reads::first_match(&mut tx, st, condition, start_head).await?,
            None => None,
        });
    }
    if let Mode::Conditional(condition) = mode {
        // Under the write lock: no batch commits between this check and ours.
        if let Some(conflict) = reads::first_match(&mut tx, st, condition, start_head).await? {
            let parts = batch
                .iter()
                .map(|r| (&r.stream, r.expected, r.events.as_slice()));
            // Either way nothing is written: a retry's answer, or the refusal.
            let answer = answer_conflict(&mut view, parts, condition, conflict);
            tx.rollback().await.map_err(db_error)?;
            return answer.map(|original| (original.into_iter().map(Ok).collect(), start_head));
        }
    }

    let Decided {
        columns,
        finals,
        results,
        head,
        ..
    } = decide_batch(&mut view, batch, start_head, &stored);
    if mode.batch_mode() == BatchMode::AllOrNothing {
        if let Some(Err(refused)) = results.iter().find(|r| r.is_err()) {
            let refused = refused.clone();
            tx.rollback().await.map_err(db_error)?;
            return Err(refused);
        }
    }

    if head > start_head {
        let (names, versions) = &finals;
        let query = sqlx::query(st.write_batch.clone()).bind(&columns.positions);
        bind_event_columns!(query, columns)
            .bind(names)
            .bind(versions)
            .bind(sql_int(head))
            .bind(&context.channel)
            .bind(&columns.tags)
            .bind(&columns.tag_index.0)
            .bind(&columns.tag_index.1)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    // What this batch learnt: every stream it read or wrote (absent ones at
    // version 0).
    for request in batch {
        let name = request.stream.as_str();
        let status = view.streams.get(name).copied().unwrap_or_default();
        known.learn(name.to_owned(), status);
    }
    Ok((results, head))
}
