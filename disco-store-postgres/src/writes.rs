//! Deletes, snapshots and checkpoints. Deletes and snapshots take the
//! schema's write lock, so they are ordered with the writers' batches of
//! every process.

use disco_backend::append_check::{check_delete, check_snapshot_version};
use disco_core::{DeleteMode, Error, ExpectedVersion, Result, StreamId};
use sqlx::PgPool;

use crate::errors::{db_error, sql_int, stored_u64};

/// A transaction holding the schema's write lock, so what it does is ordered
/// with the writers' batches of every process.
async fn locked(
    pool: &PgPool,
    st: &Statements,
    write_lock: i64,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    sqlx::query(st.advisory_lock.clone())
        .bind(write_lock)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    Ok(tx)
}
use crate::reads;
use crate::sql::Statements;

pub(crate) async fn delete_stream(
    pool: &PgPool,
    st: &Statements,
    write_lock: i64,
    stream: &StreamId,
    expected: ExpectedVersion,
    mode: DeleteMode,
    allow_hard: bool,
) -> Result<()> {
    if mode == DeleteMode::Hard && !allow_hard {
        return Err(Error::InvalidInput(
            "hard deletes are disabled for this store; enable them with PgOptions::allow_hard_delete".into(),
        ));
    }
    let mut tx = locked(pool, st, write_lock).await?;
    let (version, current) =
        disco_backend::stream_state::for_delete(reads::stream_row(&mut *tx, st, stream).await?);
    check_delete(stream, current, version, expected, mode)?;
    if mode == DeleteMode::Hard {
        {
            sqlx::query(st.keep_head.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            for sql in [
                &st.delete_stream_tags,
                &st.delete_stream_events,
                &st.delete_snapshot,
            ] {
                sqlx::query(sql.clone())
                    .bind(stream.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
        }
    }
    let state = i16::from(disco_backend::stream_state::deleted_code(mode));
    sqlx::query(st.upsert_stream_state.clone())
        .bind(stream.as_str())
        .bind(sql_int(version))
        .bind(state)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

pub(crate) async fn save_snapshot(
    pool: &PgPool,
    st: &Statements,
    write_lock: i64,
    stream: &StreamId,
    version: u64,
    data: Vec<u8>,
) -> Result<()> {
    let mut tx = locked(pool, st, write_lock).await?;
    check_snapshot_version(
        stream,
        version,
        reads::live_version(&mut *tx, st, stream).await?,
    )?;
    sqlx::query(st.save_snapshot.clone())
        .bind(stream.as_str())
        .bind(sql_int(version))
        .bind(data)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

/// Deletes the stream's snapshot; refused for a deleted stream.
pub(crate) async fn delete_snapshot(
    pool: &PgPool,
    st: &Statements,
    write_lock: i64,
    stream: &StreamId,
) -> Result<()> {
    let mut tx = locked(pool, st, write_lock).await?;
    reads::live_version(&mut *tx, st, stream).await?;
    sqlx::query(st.delete_snapshot.clone())
        .bind(stream.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

/// Stored as the `bigint` with the same bits, so every `u64` round-trips.
pub(crate) async fn save_checkpoint(
    pool: &PgPool,
    st: &Statements,
    name: &str,
    position: u64,
) -> Result<()> {
    sqlx::query(st.save_checkpoint.clone())
        .bind(name)
        .bind(position as i64)
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(db_error)
}

/// `save_checkpoint_fenced`: one statement that checks the lease's
/// generation under a row lock and writes only if `token` is not older.
pub(crate) async fn save_checkpoint_fenced(
    pool: &PgPool,
    st: &Statements,
    name: &str,
    position: u64,
    token: u64,
) -> Result<()> {
    let (current, written): (Option<i64>, bool) = sqlx::query_as(st.save_checkpoint_fenced.clone())
        .bind(name)
        .bind(position as i64)
        .bind(sql_int(token))
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    if written {
        return Ok(());
    }
    Err(Error::Fenced {
        name: name.to_owned(),
        token,
        current: current.map_or(Ok(0), |g| stored_u64(g, "lease generation"))?,
    })
}
