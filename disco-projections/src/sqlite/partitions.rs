//! The partition rows of the SQLite adapter (`disco_projection_partitions`):
//! made, claimed, locked and moved in the bookkeeping transactions.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use disco_core::Timestamp;

use super::db;
use super::txn::now;
use crate::bookkeeping::{self, Layout};
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, PartitionClaim, PartitionRow, PartitionSlot};
use crate::statements;

/// Creates the partition table if missing; refuses one that is not
/// disco's (other columns).
pub(crate) fn ensure(tx: &Transaction<'_>) -> Result<(), ProjectionError> {
    tx.execute(include_str!("partitions.sql"), []).map_err(db)?;
    tx.prepare(statements::CHECK_PARTITIONS.sqlite())
        .map(|_| ())
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projection_partitions".into(),
        })
}

/// Whether the partition table exists (a read: nothing is created).
pub(crate) fn exists(conn: &Connection) -> Result<bool, ProjectionError> {
    let exists: i64 = conn
        .query_row(include_str!("has_partitions.sql"), [], |r| r.get(0))
        .map_err(db)?;
    Ok(exists > 0)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartitionRow> {
    Ok(PartitionRow {
        name: r.get(0)?,
        generation: r.get(1)?,
        slot: PartitionSlot {
            count: r.get(2)?,
            index: r.get(3)?,
        },
        position: r.get::<_, i64>(4)? as u64,
        current: r.get(5)?,
        previous: r.get(6)?,
        created_at: Timestamp::from_micros(r.get(7)?),
        updated_at: Timestamp::from_micros(r.get(8)?),
    })
}

fn rows(
    conn: &Connection,
    name: &str,
    generation: u32,
) -> Result<Vec<PartitionRow>, ProjectionError> {
    let mut stmt = conn
        .prepare_cached(statements::PARTITION_ROWS.sqlite())
        .map_err(db)?;
    let rows = stmt.query_map(params![name, generation], row).map_err(db)?;
    rows.map(|r| r.map_err(db)).collect()
}

/// The current partition rows of every projection here.
pub(crate) fn all(conn: &mut Connection) -> Result<Vec<PartitionRow>, ProjectionError> {
    if !exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare(statements::ALL_PARTITIONS.sqlite())
        .map_err(db)?;
    let rows = stmt.query_map([], row).map_err(db)?;
    rows.map(|r| r.map_err(db)).collect()
}

/// The count `generation` runs in, if it is partitioned.
pub(crate) fn current_count(
    conn: &Connection,
    name: &str,
    generation: u32,
) -> Result<Option<u32>, ProjectionError> {
    conn.query_row(
        statements::CURRENT_COUNT.sqlite(),
        params![name, generation],
        |r| r.get(0),
    )
    .map_err(db)
}

/// Claims `slot` of `generation` (its row `generation` among `rows`),
/// making or replacing the generation's partition rows as
/// [`bookkeeping::layout`] says.
pub(crate) fn claim(
    tx: &Transaction<'_>,
    generation: &GenerationRow,
    slot: PartitionSlot,
    claim: &str,
    token: u64,
    started: Timestamp,
) -> Result<PartitionClaim, ProjectionError> {
    let name = generation.name.as_str();
    let number = generation.generation;
    let existing = rows(tx, name, number)?;
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
            tx.execute(
                statements::KEEP_PARTITIONS_OF.sqlite(),
                params![name, number, previous],
            )
            .map_err(db)?;
            tx.execute(
                statements::SUPERSEDE_PARTITIONS.sqlite(),
                params![name, number, previous, at],
            )
            .map_err(db)?;
            for index in 0..slot.count {
                tx.execute(
                    statements::INSERT_PARTITION.sqlite(),
                    params![name, number, slot.count, index, start as i64, previous, at],
                )
                .map_err(db)?;
            }
            // Invariant: an unpartitioned runner of a partitioned generation cannot write (its claim is gone).
            tx.execute(statements::UNCLAIM.sqlite(), params![name, number, at])
                .map_err(db)?;
        }
    }
    tx.execute(
        statements::CLAIM_PARTITION.sqlite(),
        params![
            name,
            number,
            slot.count,
            slot.index,
            claim,
            token as i64,
            now()
        ],
    )
    .map_err(db)?;
    let rows = rows(tx, name, number)?;
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

/// The partition's position after checking the caller's claim on it.
pub(crate) fn lock(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
    slot: PartitionSlot,
    claim: &str,
) -> Result<u64, ProjectionError> {
    let found: Option<(i64, Option<String>, bool, String)> = tx
        .prepare_cached(include_str!("lock_partition.sql"))
        .map_err(db)?
        .query_row(params![name, generation, slot.count, slot.index], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()
        .map_err(db)?;
    let Some((position, holder, current, state)) = found else {
        return Err(ProjectionError::Invalid(format!(
            "projection {name} generation {generation} has no partition {} of {}",
            slot.index, slot.count
        )));
    };
    // Invariant: only the current count's partitions write (the others' rows are frozen).
    if !current {
        return Err(ProjectionError::Repartitioned {
            name: name.to_owned(),
            generation,
            partitions: current_count(tx, name, generation)?.unwrap_or(0),
        });
    }
    bookkeeping::check_writer(name, generation, holder.as_deref(), claim, &state)?;
    Ok(position as u64)
}

pub(crate) fn save(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
    slot: PartitionSlot,
    position: u64,
) -> Result<(), ProjectionError> {
    tx.prepare_cached(statements::SAVE_PARTITION.sqlite())
        .map_err(db)?
        .execute(params![
            name,
            generation,
            slot.count,
            slot.index,
            position as i64,
            now()
        ])
        .map_err(db)?;
    Ok(())
}

/// Whether every partition of generation `to` has reached its counterpart
/// in generation `from` ([`bookkeeping::partitions_caught_up`]).
pub(crate) fn caught_up(
    tx: &Transaction<'_>,
    name: &str,
    from: u32,
    to: u32,
) -> Result<bool, ProjectionError> {
    let current = |generation| -> Result<Vec<PartitionRow>, ProjectionError> {
        Ok(rows(tx, name, generation)?
            .into_iter()
            .filter(|r| r.current)
            .collect())
    };
    Ok(bookkeeping::partitions_caught_up(
        &current(from)?,
        &current(to)?,
    ))
}

/// Deletes the partition rows of `generation`.
pub(crate) fn delete(
    tx: &Transaction<'_>,
    name: &str,
    generation: u32,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::DELETE_PARTITIONS.sqlite(),
        params![name, generation],
    )
    .map_err(db)?;
    Ok(())
}
