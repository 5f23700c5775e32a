//! The partition rows of the PostgreSQL adapter
//! (`disco_projection_partitions`): made, claimed, locked and moved in the
//! bookkeeping transactions.

use sqlx::{PgPool, Row};

use disco_core::Timestamp;

use super::txn::now;
use super::{db, PgTransaction};
use crate::bookkeeping::{self, Layout};
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, PartitionClaim, PartitionRow, PartitionSlot};
use crate::statements;

/// Creates the partition table if missing; refuses one that is not
/// disco's (other columns). Runs under the bookkeeping lock.
pub(crate) async fn ensure(tx: &mut PgTransaction) -> Result<(), ProjectionError> {
    sqlx::query(include_str!("partitions.sql"))
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    sqlx::query(statements::CHECK_PARTITIONS.postgres())
        .execute(&mut **tx)
        .await
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projection_partitions".into(),
        })?;
    Ok(())
}

/// Whether the partition table exists (a read: nothing is created).
pub(crate) async fn exists(pool: &PgPool) -> Result<bool, ProjectionError> {
    sqlx::query_scalar(include_str!("has_partitions.sql"))
        .fetch_one(pool)
        .await
        .map_err(db)
}

fn row(r: &sqlx::postgres::PgRow) -> Result<PartitionRow, ProjectionError> {
    Ok(PartitionRow {
        name: r.try_get(0).map_err(db)?,
        generation: r.try_get::<i32, _>(1).map_err(db)? as u32,
        slot: PartitionSlot {
            count: r.try_get::<i32, _>(2).map_err(db)? as u32,
            index: r.try_get::<i32, _>(3).map_err(db)? as u32,
        },
        position: r.try_get::<i64, _>(4).map_err(db)? as u64,
        current: r.try_get(5).map_err(db)?,
        previous: r.try_get::<i32, _>(6).map_err(db)? as u32,
        created_at: Timestamp::from_micros(r.try_get(7).map_err(db)?),
        updated_at: Timestamp::from_micros(r.try_get(8).map_err(db)?),
    })
}

async fn rows(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
) -> Result<Vec<PartitionRow>, ProjectionError> {
    let rows = sqlx::query(statements::PARTITION_ROWS.postgres())
        .bind(name)
        .bind(generation as i32)
        .fetch_all(&mut **tx)
        .await
        .map_err(db)?;
    rows.iter().map(row).collect()
}

/// The current partition rows of every projection here.
pub(crate) async fn all(pool: &PgPool) -> Result<Vec<PartitionRow>, ProjectionError> {
    if !exists(pool).await? {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(statements::ALL_PARTITIONS.postgres())
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(row).collect()
}

/// The count `generation` runs in, if it is partitioned.
pub(crate) async fn current_count(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
) -> Result<Option<u32>, ProjectionError> {
    let count: Option<i32> = sqlx::query_scalar(statements::CURRENT_COUNT.postgres())
        .bind(name)
        .bind(generation as i32)
        .fetch_one(&mut **tx)
        .await
        .map_err(db)?;
    Ok(count.map(|c| c as u32))
}

/// Claims `slot` of `generation`, making or replacing the generation's
/// partition rows as [`bookkeeping::layout`] says. Runs under the
/// bookkeeping lock.
pub(crate) async fn claim(
    tx: &mut PgTransaction,
    generation: &GenerationRow,
    slot: PartitionSlot,
    claim: &str,
    token: u64,
    started: Timestamp,
) -> Result<PartitionClaim, ProjectionError> {
    let name = generation.name.as_str();
    let number = generation.generation;
    let existing = rows(tx, name, number).await?;
    match bookkeeping::layout(&existing, generation.position, slot, started) {
        Err(partitions) => {
            return Err(ProjectionError::Repartitioned {
                name: name.to_owned(),
                generation: number,
                partitions,
            })
        }
        Ok(Layout::Claim) => {}
        Ok(Layout::Make { start, previous }) => {
            tracing::info!(
                projection = name,
                generation = number,
                partitions = slot.count,
                previous,
                start,
                "making the partitions of a generation"
            );
            let at = now();
            sqlx::query(statements::KEEP_PARTITIONS_OF.postgres())
                .bind(name)
                .bind(number as i32)
                .bind(previous as i32)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
            // Locks the old rows: an old partition's batch in flight
            // commits first, and its position is then the one inherited.
            sqlx::query(statements::SUPERSEDE_PARTITIONS.postgres())
                .bind(name)
                .bind(number as i32)
                .bind(previous as i32)
                .bind(at)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
            let start = match previous {
                0 => start,
                _ => lowest(&rows(tx, name, number).await?, previous).unwrap_or(start),
            };
            for index in 0..slot.count {
                sqlx::query(statements::INSERT_PARTITION.postgres())
                    .bind(name)
                    .bind(number as i32)
                    .bind(slot.count as i32)
                    .bind(index as i32)
                    .bind(start as i64)
                    .bind(previous as i32)
                    .bind(at)
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
            }
            // Invariant: an unpartitioned runner of a partitioned generation cannot write (its claim is gone).
            sqlx::query(statements::UNCLAIM.postgres())
                .bind(name)
                .bind(number as i32)
                .bind(at)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
        }
    }
    sqlx::query(statements::CLAIM_PARTITION.postgres())
        .bind(name)
        .bind(number as i32)
        .bind(slot.count as i32)
        .bind(slot.index as i32)
        .bind(claim)
        .bind(token as i64)
        .bind(now())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    let rows = rows(tx, name, number).await?;
    let own = rows
        .iter()
        .find(|r| r.current && r.slot == slot)
        .ok_or_else(|| {
            ProjectionError::ReadModel(format!(
                "projection {name} generation {number} lost partition {} of {}",
                slot.index, slot.count
            ))
        })?;
    Ok(PartitionClaim {
        position: own.position,
        inherited: bookkeeping::inherited(&rows, own),
    })
}

/// The lowest position of the rows of `count`.
fn lowest(rows: &[PartitionRow], count: u32) -> Option<u64> {
    rows.iter()
        .filter(|r| r.slot.count == count)
        .map(|r| r.position)
        .min()
}

/// Locks the partition's row and checks the caller's claim on it; its
/// position.
pub(crate) async fn lock(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
    slot: PartitionSlot,
    claim: &str,
) -> Result<u64, ProjectionError> {
    let found = sqlx::query(include_str!("lock_partition.sql"))
        .bind(name)
        .bind(generation as i32)
        .bind(slot.count as i32)
        .bind(slot.index as i32)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?;
    let Some(found) = found else {
        return Err(ProjectionError::Invalid(format!(
            "projection {name} generation {generation} has no partition {} of {}",
            slot.index, slot.count
        )));
    };
    let position: i64 = found.try_get(0).map_err(db)?;
    let holder: Option<String> = found.try_get(1).map_err(db)?;
    let current: bool = found.try_get(2).map_err(db)?;
    let state: String = found.try_get(3).map_err(db)?;
    // Invariant: only the current count's partitions write (the others' rows are frozen).
    if !current {
        return Err(ProjectionError::Repartitioned {
            name: name.to_owned(),
            generation,
            partitions: current_count(tx, name, generation).await?.unwrap_or(0),
        });
    }
    bookkeeping::check_writer(name, generation, holder.as_deref(), claim, &state)?;
    Ok(position as u64)
}

pub(crate) async fn save(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
    slot: PartitionSlot,
    position: u64,
) -> Result<(), ProjectionError> {
    sqlx::query(statements::SAVE_PARTITION.postgres())
        .bind(name)
        .bind(generation as i32)
        .bind(slot.count as i32)
        .bind(slot.index as i32)
        .bind(position as i64)
        .bind(now())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

/// Whether every partition of generation `to` has reached its counterpart
/// in generation `from` ([`bookkeeping::partitions_caught_up`]).
pub(crate) async fn caught_up(
    tx: &mut PgTransaction,
    name: &str,
    from: u32,
    to: u32,
) -> Result<bool, ProjectionError> {
    let mut current = Vec::new();
    for generation in [from, to] {
        let rows: Vec<PartitionRow> = rows(tx, name, generation)
            .await?
            .into_iter()
            .filter(|r| r.current)
            .collect();
        current.push(rows);
    }
    let (live, building) = match current.as_slice() {
        [live, building] => (live, building),
        _ => return Ok(false),
    };
    Ok(bookkeeping::partitions_caught_up(live, building))
}

/// Deletes the partition rows of `generation`.
pub(crate) async fn delete(
    tx: &mut PgTransaction,
    name: &str,
    generation: u32,
) -> Result<(), ProjectionError> {
    sqlx::query(statements::DELETE_PARTITIONS.postgres())
        .bind(name)
        .bind(generation as i32)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}
