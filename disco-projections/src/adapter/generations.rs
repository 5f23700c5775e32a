//! The generation rows (`disco_projections`) and the views over a
//! generation's tables: made, read, locked and moved in a transaction of
//! any read-model database.

use super::values::{self, arg, generation_row, now, wide};
use super::{partitions, Txn};
use crate::bookkeeping;
use crate::definition::physical;
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, GenerationState};
use crate::statements;

/// Creates the bookkeeping tables if missing; refuses ones that are not
/// disco's (other columns).
pub(crate) async fn ensure<T: Txn>(tx: &mut T) -> Result<(), ProjectionError> {
    tx.execute(T::OWN.bookkeeping_table, &[]).await?;
    tx.query(statements::CHECK_BOOKKEEPING, &[])
        .await
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projections".into(),
        })?;
    partitions::ensure(tx).await
}

/// Whether the first column of `sql`'s first row says yes (a count above 0
/// or `true`).
pub(crate) async fn yes<T: Txn>(tx: &mut T, sql: &str) -> Result<bool, ProjectionError> {
    let rows = tx.query(sql, &[]).await?;
    match rows.first() {
        Some(row) => values::flag(row, 0),
        None => Ok(false),
    }
}

/// Whether a projection ever ran in this database.
pub(crate) async fn has_bookkeeping<T: Txn>(tx: &mut T) -> Result<bool, ProjectionError> {
    yes(tx, T::OWN.has_bookkeeping).await
}

/// The generation rows of projection `name`.
pub(crate) async fn rows<T: Txn>(
    tx: &mut T,
    name: &str,
) -> Result<Vec<GenerationRow>, ProjectionError> {
    let rows = tx.query(statements::ROWS, &[name.into()]).await?;
    rows.iter().map(generation_row).collect()
}

/// Every generation row of every projection here (none if no projection
/// ever ran here: nothing is created), in a `Kind::Read` transaction.
pub(crate) async fn list_all<T: Txn>(mut tx: T) -> Result<Vec<GenerationRow>, ProjectionError> {
    if !has_bookkeeping(&mut tx).await? {
        return Ok(Vec::new());
    }
    let sql = if partitions::exists(&mut tx).await? {
        statements::ALL_ROWS_PARTITIONED
    } else {
        statements::ALL_ROWS
    };
    let rows = tx
        .query(sql, &[])
        .await
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projections".into(),
        })?;
    let rows = rows.iter().map(generation_row).collect();
    tx.commit().await?;
    rows
}

pub(crate) async fn insert<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
    version: u32,
    state: GenerationState,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::INSERT_ROW,
        &[
            name.into(),
            arg(generation),
            arg(version),
            state.as_str().into(),
            now(),
        ],
    )
    .await
}

pub(crate) async fn set_state<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
    state: GenerationState,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::SET_STATE,
        &[name.into(), arg(generation), state.as_str().into(), now()],
    )
    .await
}

/// The row's position after checking the caller's claim on it (the row
/// locked, where the database locks rows).
pub(crate) async fn lock<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
    claim: &str,
) -> Result<u64, ProjectionError> {
    let rows = tx
        .query(T::OWN.lock_row, &[name.into(), arg(generation)])
        .await?;
    let Some(row) = rows.first() else {
        return Err(ProjectionError::Invalid(format!(
            "projection {name} has no generation {generation}"
        )));
    };
    let position = values::large(row, 0)?;
    let holder = values::optional_text(row, 1)?;
    let state = values::text(row, 2)?;
    bookkeeping::check_writer(name, generation, holder.as_deref(), claim, &state)?;
    Ok(position)
}

pub(crate) async fn save_position<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
    position: u64,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::SAVE_POSITION,
        &[name.into(), arg(generation), wide(position), now()],
    )
    .await
}

/// Points the view of each of `tables` at `generation`'s table; a view
/// (or table) of that name that an earlier generation did not make is
/// someone else's, and is refused.
pub(crate) async fn point_views<T: Txn>(
    tx: &mut T,
    rows: &[GenerationRow],
    tables: &[String],
    generation: u32,
) -> Result<(), ProjectionError> {
    for logical in tables {
        drop_view(tx, rows, logical).await?;
        // The names were checked to be plain identifiers (`Tables::new`).
        let sql = format!(
            "CREATE VIEW {logical} AS SELECT * FROM {}",
            physical(logical, generation)
        );
        tx.execute(&sql, &[]).await?;
    }
    Ok(())
}

pub(crate) async fn drop_view<T: Txn>(
    tx: &mut T,
    rows: &[GenerationRow],
    logical: &str,
) -> Result<(), ProjectionError> {
    let found = tx.query(T::OWN.object_kind, &[logical.into()]).await?;
    let Some(row) = found.first() else {
        return Ok(());
    };
    let kind = values::text(row, 0)?;
    // Invariant: only a view an earlier generation of this projection made is dropped.
    if kind == "view" && bookkeeping::view_is_ours(rows, logical) {
        tx.execute(&format!("DROP VIEW {logical}"), &[]).await
    } else {
        Err(ProjectionError::Foreign {
            object: format!("{kind} {logical}"),
        })
    }
}

pub(crate) async fn drop_tables<T: Txn>(
    tx: &mut T,
    tables: &[String],
    generation: u32,
) -> Result<(), ProjectionError> {
    for logical in tables {
        let sql = format!("DROP TABLE IF EXISTS {}", physical(logical, generation));
        tx.execute(&sql, &[]).await?;
    }
    Ok(())
}

/// Starts a rebuild of `name` (see [`bookkeeping::rebuild`]) in a
/// `Kind::Bookkeeping` transaction; the generation it builds. With no
/// `version` (a tool's rebuild), a database where no projection ran is
/// refused before anything is created.
pub(crate) async fn request_rebuild<T: Txn>(
    mut tx: T,
    name: &str,
    version: Option<u32>,
) -> Result<u32, ProjectionError> {
    if version.is_none() && !has_bookkeeping(&mut tx).await? {
        return Err(ProjectionError::Unknown(name.to_owned()));
    }
    ensure(&mut tx).await?;
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
    tx.commit().await?;
    Ok(generation)
}

/// Drops the tables and rows of `name`'s retired generations, in a
/// `Kind::Bookkeeping` transaction; their numbers. With `tool` set, a
/// database where no projection ran is refused before anything is created.
pub(crate) async fn drop_retired<T: Txn>(
    mut tx: T,
    name: &str,
    tool: bool,
) -> Result<Vec<u32>, ProjectionError> {
    if tool && !has_bookkeeping(&mut tx).await? {
        return Err(ProjectionError::Unknown(name.to_owned()));
    }
    ensure(&mut tx).await?;
    let mut dropped = Vec::new();
    for row in rows(&mut tx, name).await? {
        if row.state == GenerationState::Retired {
            drop_tables(&mut tx, &row.tables, row.generation).await?;
            tx.execute(statements::DELETE_ROW, &[name.into(), arg(row.generation)])
                .await?;
            partitions::delete(&mut tx, name, row.generation).await?;
            dropped.push(row.generation);
        }
    }
    tx.commit().await?;
    Ok(dropped)
}
