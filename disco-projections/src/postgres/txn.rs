//! The bookkeeping transactions of the PostgreSQL adapter.

use sqlx::{PgPool, Row};

use disco_core::Timestamp;

use super::{db, PgTransaction};
use crate::bookkeeping;
use crate::definition::physical;
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, GenerationState};
use crate::statements;

pub(crate) fn now() -> i64 {
    Timestamp::now().as_micros()
}

/// A bookkeeping transaction: it creates the table if missing (refusing one
/// that is not disco's) and holds the schema's bookkeeping lock, so two
/// runners' plans, claims and switches take turns.
pub(crate) async fn begin(pool: &PgPool) -> Result<PgTransaction, ProjectionError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query(include_str!("serialize.sql"))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query(include_str!("bookkeeping.sql"))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query(statements::CHECK_BOOKKEEPING.postgres())
        .execute(&mut *tx)
        .await
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projections".into(),
        })?;
    super::partitions::ensure(&mut tx).await?;
    Ok(tx)
}

fn row(r: &sqlx::postgres::PgRow) -> Result<GenerationRow, ProjectionError> {
    let get = |e: sqlx::Error| db(e);
    let tables: String = r.try_get(5).map_err(get)?;
    let state: String = r.try_get(3).map_err(get)?;
    Ok(GenerationRow {
        name: r.try_get(0).map_err(get)?,
        generation: r.try_get::<i32, _>(1).map_err(get)? as u32,
        version: r.try_get::<i32, _>(2).map_err(get)? as u32,
        state: GenerationState::parse(&state)?,
        position: r.try_get::<i64, _>(4).map_err(get)? as u64,
        tables: tables
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        ready: r.try_get(6).map_err(get)?,
        token: r.try_get::<i64, _>(7).map_err(get)? as u64,
        updated_at: Timestamp::from_micros(r.try_get(8).map_err(get)?),
    })
}

pub(crate) async fn rows(
    tx: &mut PgTransaction,
    name: &str,
) -> Result<Vec<GenerationRow>, ProjectionError> {
    let rows = sqlx::query(statements::ROWS.postgres())
        .bind(name)
        .fetch_all(&mut **tx)
        .await
        .map_err(db)?;
    rows.iter().map(row).collect()
}

/// Whether a projection ever ran in this schema.
pub(crate) async fn has_bookkeeping(pool: &PgPool) -> Result<bool, ProjectionError> {
    sqlx::query_scalar(include_str!("has_bookkeeping.sql"))
        .fetch_one(pool)
        .await
        .map_err(db)
}

pub(crate) async fn list_all(pool: &PgPool) -> Result<Vec<GenerationRow>, ProjectionError> {
    if !has_bookkeeping(pool).await? {
        return Ok(Vec::new());
    }
    let sql = if super::partitions::exists(pool).await? {
        statements::ALL_ROWS_PARTITIONED.postgres()
    } else {
        statements::ALL_ROWS.postgres()
    };
    let rows = sqlx::query(sql)
        .fetch_all(pool)
        .await
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projections".into(),
        })?;
    rows.iter().map(row).collect()
}

pub(crate) async fn insert(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
    version: u32,
    state: GenerationState,
) -> Result<(), ProjectionError> {
    sqlx::query(statements::INSERT_ROW.postgres())
        .bind(name)
        .bind(generation as i32)
        .bind(version as i32)
        .bind(state.as_str())
        .bind(now())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn set_state(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
    state: GenerationState,
) -> Result<(), ProjectionError> {
    sqlx::query(statements::SET_STATE.postgres())
        .bind(name)
        .bind(generation as i32)
        .bind(state.as_str())
        .bind(now())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Locks the row and checks the caller's claim on it; its position.
pub(crate) async fn lock(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
    claim: &str,
) -> Result<u64, ProjectionError> {
    let found = sqlx::query(include_str!("lock_row.sql"))
        .bind(name)
        .bind(generation as i32)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
    let Some(found) = found else {
        return Err(ProjectionError::Invalid(format!(
            "projection {name} has no generation {generation}"
        )));
    };
    let position: i64 = found.try_get(0).map_err(db)?;
    let holder: Option<String> = found.try_get(1).map_err(db)?;
    let state: String = found.try_get(2).map_err(db)?;
    bookkeeping::check_writer(name, generation, holder.as_deref(), claim, &state)?;
    Ok(position as u64)
}

pub(crate) async fn save_position(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
    position: u64,
) -> Result<(), ProjectionError> {
    sqlx::query(statements::SAVE_POSITION.postgres())
        .bind(name)
        .bind(generation as i32)
        .bind(position as i64)
        .bind(now())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Runs DDL built from checked identifiers (see `check_identifier`).
pub(crate) async fn execute(tx: &mut PgTransaction, sql: &str) -> Result<(), ProjectionError> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Points the view of each of `tables` at `generation`'s table; a view
/// (or table) of that name that an earlier generation did not make is
/// someone else's, and is refused.
pub(crate) async fn point_views(
    tx: &mut PgTransaction,
    rows: &[GenerationRow],
    tables: &[String],
    generation: u32,
) -> Result<(), ProjectionError> {
    for logical in tables {
        drop_view(tx, rows, logical).await?;
        let sql = format!(
            "CREATE VIEW {logical} AS SELECT * FROM {}",
            physical(logical, generation)
        );
        execute(tx, &sql).await?;
    }
    Ok(())
}

pub(crate) async fn drop_view(
    tx: &mut PgTransaction,
    rows: &[GenerationRow],
    logical: &str,
) -> Result<(), ProjectionError> {
    let kind: Option<String> = sqlx::query_scalar(include_str!("object_kind.sql"))
        .bind(logical)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
    match kind.as_deref() {
        None => Ok(()),
        Some("v") if bookkeeping::view_is_ours(rows, logical) => {
            execute(tx, &format!("DROP VIEW {logical}")).await
        }
        Some(kind) => Err(ProjectionError::Foreign {
            object: format!("relation {logical} (kind {kind})"),
        }),
    }
}

pub(crate) async fn drop_tables(
    tx: &mut PgTransaction,
    tables: &[String],
    generation: u32,
) -> Result<(), ProjectionError> {
    for logical in tables {
        let sql = format!("DROP TABLE IF EXISTS {}", physical(logical, generation));
        execute(tx, &sql).await?;
    }
    Ok(())
}

pub(crate) async fn request_rebuild(
    pool: &PgPool,
    name: &str,
    version: Option<u32>,
) -> Result<u32, ProjectionError> {
    let mut tx = begin(pool).await?;
    let rows = rows(&mut tx, name).await?;
    let Some((generation, version, new)) = bookkeeping::rebuild(&rows, version) else {
        return Err(ProjectionError::Unknown(name.to_owned()));
    };
    if new {
        insert(
            &mut tx,
            name,
            generation,
            version,
            GenerationState::Building,
        )
        .await?;
    }
    tx.commit().await.map_err(db)?;
    Ok(generation)
}

pub(crate) async fn drop_retired(pool: &PgPool, name: &str) -> Result<Vec<u32>, ProjectionError> {
    let mut tx = begin(pool).await?;
    let mut dropped = Vec::new();
    for row in rows(&mut tx, name).await? {
        if row.state == GenerationState::Retired {
            drop_tables(&mut tx, &row.tables, row.generation).await?;
            sqlx::query(statements::DELETE_ROW.postgres())
                .bind(name)
                .bind(row.generation as i32)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            super::partitions::delete(&mut tx, name, row.generation).await?;
            dropped.push(row.generation);
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(dropped)
}
