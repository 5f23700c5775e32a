//! The bookkeeping transactions of the SQLite adapter.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use disco_core::Timestamp;

use super::db;
use crate::bookkeeping;
use crate::definition::physical;
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, GenerationState};
use crate::statements;

pub(crate) fn now() -> i64 {
    Timestamp::now().as_micros()
}

/// A write transaction that takes the write lock at once (so two runners
/// serialize on it rather than failing at their first write).
pub(crate) fn begin(conn: &mut Connection) -> Result<Transaction<'_>, ProjectionError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)
}

/// Creates the bookkeeping table if missing; refuses one that is not
/// disco's (other columns).
pub(crate) fn ensure(tx: &Transaction<'_>) -> Result<(), ProjectionError> {
    tx.execute(include_str!("bookkeeping.sql"), [])
        .map_err(db)?;
    tx.prepare(statements::CHECK_BOOKKEEPING.sqlite())
        .map(|_| ())
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projections".into(),
        })?;
    super::partitions::ensure(tx)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(GenerationRow, String)> {
    let tables: String = r.get(5)?;
    let state: String = r.get(3)?;
    Ok((
        GenerationRow {
            name: r.get(0)?,
            generation: r.get(1)?,
            version: r.get(2)?,
            state: GenerationState::Live,
            position: r.get::<_, i64>(4)? as u64,
            tables: tables
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            ready: r.get(6)?,
            token: r.get::<_, i64>(7)? as u64,
            updated_at: Timestamp::from_micros(r.get(8)?),
        },
        state,
    ))
}

fn collect(
    rows: impl Iterator<Item = rusqlite::Result<(GenerationRow, String)>>,
) -> Result<Vec<GenerationRow>, ProjectionError> {
    rows.map(|r| {
        let (mut row, state) = r.map_err(db)?;
        row.state = GenerationState::parse(&state)?;
        Ok(row)
    })
    .collect()
}

pub(crate) fn rows(
    tx: &Transaction<'_>,
    name: &str,
) -> Result<Vec<GenerationRow>, ProjectionError> {
    let mut stmt = tx.prepare_cached(statements::ROWS.sqlite()).map_err(db)?;
    let rows = stmt.query_map([name], row).map_err(db)?;
    collect(rows)
}

/// Whether a projection ever ran in this database.
pub(crate) fn has_bookkeeping(conn: &Connection) -> Result<bool, ProjectionError> {
    let exists: i64 = conn
        .query_row(include_str!("has_bookkeeping.sql"), [], |r| r.get(0))
        .map_err(db)?;
    Ok(exists > 0)
}

pub(crate) fn list_all(conn: &mut Connection) -> Result<Vec<GenerationRow>, ProjectionError> {
    if !has_bookkeeping(conn)? {
        return Ok(Vec::new());
    }
    let sql = if super::partitions::exists(conn)? {
        statements::ALL_ROWS_PARTITIONED.sqlite()
    } else {
        statements::ALL_ROWS.sqlite()
    };
    let mut stmt = conn.prepare(sql).map_err(|_| ProjectionError::Foreign {
        object: "table disco_projections".into(),
    })?;
    let rows = stmt.query_map([], row).map_err(db)?;
    collect(rows)
}

pub(crate) fn insert(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
    version: u32,
    state: GenerationState,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::INSERT_ROW.sqlite(),
        params![name, generation, version, state.as_str(), now()],
    )
    .map_err(db)?;
    Ok(())
}

pub(crate) fn set_state(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
    state: GenerationState,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::SET_STATE.sqlite(),
        params![name, generation, state.as_str(), now()],
    )
    .map_err(db)?;
    Ok(())
}

/// The row's position after checking the caller's claim on it.
pub(crate) fn lock(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
    claim: &str,
) -> Result<u64, ProjectionError> {
    let found: Option<(i64, Option<String>, String)> = tx
        .prepare_cached(include_str!("lock_row.sql"))
        .map_err(db)?
        .query_row(params![name, generation], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .map_err(db)?;
    let Some((position, holder, state)) = found else {
        return Err(ProjectionError::Invalid(format!(
            "projection {name} has no generation {generation}"
        )));
    };
    bookkeeping::check_writer(name, generation, holder.as_deref(), claim, &state)?;
    Ok(position as u64)
}

pub(crate) fn save_position(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
    position: u64,
) -> Result<(), ProjectionError> {
    tx.prepare_cached(statements::SAVE_POSITION.sqlite())
        .map_err(db)?
        .execute(params![name, generation, position as i64, now()])
        .map_err(db)?;
    Ok(())
}

/// Points the view of each of `tables` at `generation`'s table; a view
/// (or table) of that name that an earlier generation did not make is
/// someone else's, and is refused.
pub(crate) fn point_views(
    tx: &Transaction<'_>,
    rows: &[GenerationRow],
    tables: &[String],
    generation: u32,
) -> Result<(), ProjectionError> {
    for logical in tables {
        drop_view(tx, rows, logical)?;
        let sql = format!(
            "CREATE VIEW {logical} AS SELECT * FROM {}",
            physical(logical, generation)
        );
        tx.execute(&sql, []).map_err(db)?;
    }
    Ok(())
}

pub(crate) fn drop_view(
    tx: &Transaction<'_>,
    rows: &[GenerationRow],
    logical: &str,
) -> Result<(), ProjectionError> {
    let kind: Option<String> = tx
        .query_row(include_str!("object_kind.sql"), [logical], |r| r.get(0))
        .optional()
        .map_err(db)?;
    match kind.as_deref() {
        None => Ok(()),
        Some("view") if bookkeeping::view_is_ours(rows, logical) => {
            tx.execute(&format!("DROP VIEW {logical}"), [])
                .map_err(db)?;
            Ok(())
        }
        Some(kind) => Err(ProjectionError::Foreign {
            object: format!("{kind} {logical}"),
        }),
    }
}

pub(crate) fn drop_tables(
    tx: &Transaction<'_>,
    tables: &[String],
    generation: u32,
) -> Result<(), ProjectionError> {
    for logical in tables {
        let sql = format!("DROP TABLE IF EXISTS {}", physical(logical, generation));
        tx.execute(&sql, []).map_err(db)?;
    }
    Ok(())
}

pub(crate) fn request_rebuild(
    conn: &mut Connection,
    name: &str,
    version: Option<u32>,
) -> Result<u32, ProjectionError> {
    let tx = begin(conn)?;
    ensure(&tx)?;
    let rows = rows(&tx, name)?;
    let Some((generation, version, new)) = bookkeeping::rebuild(&rows, version) else {
        return Err(ProjectionError::Unknown(name.to_owned()));
    };
    if new {
        insert(&tx, name, generation, version, GenerationState::Building)?;
    }
    tx.commit().map_err(db)?;
    Ok(generation)
}

pub(crate) fn drop_retired(conn: &mut Connection, name: &str) -> Result<Vec<u32>, ProjectionError> {
    let tx = begin(conn)?;
    ensure(&tx)?;
    let mut dropped = Vec::new();
    for row in rows(&tx, name)? {
        if row.state == GenerationState::Retired {
            drop_tables(&tx, &row.tables, row.generation)?;
            tx.execute(
                statements::DELETE_ROW.sqlite(),
                params![name, row.generation],
            )
            .map_err(db)?;
            super::partitions::delete(&tx, name, row.generation)?;
            dropped.push(row.generation);
        }
    }
    tx.commit().map_err(db)?;
    Ok(dropped)
}
