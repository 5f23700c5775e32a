//! The partition rows (`disco_projection_partitions`): made, claimed,
//! locked and moved in a transaction of any read-model database.

use disco_core::Timestamp;

use super::values::{self, arg, now, partition_row, wide};
use super::Txn;
use crate::bookkeeping::{self, Layout};
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, PartitionClaim, PartitionRow, PartitionSlot};
use crate::statements;

/// Creates the partition table if missing; refuses one that is not
/// disco's (other columns).
pub(crate) async fn ensure<T: Txn>(tx: &mut T) -> Result<(), ProjectionError> {
    tx.execute(T::OWN.partitions_table, &[]).await?;
    tx.query(statements::CHECK_PARTITIONS, &[])
        .await
        .map_err(|_| ProjectionError::Foreign {
            object: "table disco_projection_partitions".into(),
        })?;
    Ok(())
}

/// Whether the partition table exists (a read: nothing is created).
pub(crate) async fn exists<T: Txn>(tx: &mut T) -> Result<bool, ProjectionError> {
    super::generations::yes(tx, T::OWN.has_partitions).await
}

async fn rows<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
) -> Result<Vec<PartitionRow>, ProjectionError> {
    let rows = tx
        .query(statements::PARTITION_ROWS, &[name.into(), arg(generation)])
        .await?;
    rows.iter().map(partition_row).collect()
}

/// The current partition rows of every projection here, in a `Kind::Read`
/// transaction (none when no projection ran in partitions: nothing is
/// created).
pub(crate) async fn list_all<T: Txn>(mut tx: T) -> Result<Vec<PartitionRow>, ProjectionError> {
    if !exists(&mut tx).await? {
        return Ok(Vec::new());
    }
    let rows = tx.query(statements::ALL_PARTITIONS, &[]).await?;
    let rows = rows.iter().map(partition_row).collect();
    tx.commit().await?;
    rows
}

/// The count `generation` runs in, if it is partitioned.
pub(crate) async fn current_count<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
) -> Result<Option<u32>, ProjectionError> {
    let rows = tx
        .query(statements::CURRENT_COUNT, &[name.into(), arg(generation)])
        .await?;
    match rows.first() {
        None => Ok(None),
        Some(row) => match values::optional_integer(row, 0)? {
            None => Ok(None),
            Some(_) => values::small(row, 0).map(Some),
        },
    }
}

/// Claims `slot` of `generation`, making or replacing the generation's
/// partition rows as [`bookkeeping::layout`] says. Runs in a
/// `Kind::Bookkeeping` transaction.
pub(crate) async fn claim<T: Txn>(
    tx: &mut T,
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
            tx.execute(
                statements::KEEP_PARTITIONS_OF,
                &[name.into(), arg(number), arg(previous)],
            )
            .await?;
            tx.execute(
                statements::SUPERSEDE_PARTITIONS,
                &[name.into(), arg(number), arg(previous), at.clone()],
            )
            .await?;
            for index in 0..slot.count {
                tx.execute(
                    statements::INSERT_PARTITION,
                    &[
                        name.into(),
                        arg(number),
                        arg(slot.count),
                        arg(index),
                        wide(start),
                        arg(previous),
                        at.clone(),
                    ],
                )
                .await?;
            }
            // Invariant: an unpartitioned runner of a partitioned generation cannot write (its claim is gone).
            tx.execute(statements::UNCLAIM, &[name.into(), arg(number), at])
                .await?;
        }
    }
    tx.execute(
        statements::CLAIM_PARTITION,
        &[
            name.into(),
            arg(number),
            arg(slot.count),
            arg(slot.index),
            claim.into(),
            wide(token),
            now(),
        ],
    )
    .await?;
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

/// The partition's position after checking the caller's claim on it (the
/// row locked, where the database locks rows).
pub(crate) async fn lock<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
    slot: PartitionSlot,
    claim: &str,
) -> Result<u64, ProjectionError> {
    let found = tx
        .query(
            T::OWN.lock_partition,
            &[
                name.into(),
                arg(generation),
                arg(slot.count),
                arg(slot.index),
            ],
        )
        .await?;
    let Some(row) = found.first() else {
        return Err(ProjectionError::Invalid(format!(
            "projection {name} generation {generation} has no partition {} of {}",
            slot.index, slot.count
        )));
    };
    let position = values::large(row, 0)?;
    let holder = values::optional_text(row, 1)?;
    let current = values::flag(row, 2)?;
    let state = values::text(row, 3)?;
    // Invariant: only the current count's partitions write (the others' rows are frozen).
    if !current {
        return Err(ProjectionError::Repartitioned {
            name: name.to_owned(),
            generation,
            partitions: current_count(tx, name, generation).await?.unwrap_or(0),
        });
    }
    bookkeeping::check_writer(name, generation, holder.as_deref(), claim, &state)?;
    Ok(position)
}

pub(crate) async fn save<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
    slot: PartitionSlot,
    position: u64,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::SAVE_PARTITION,
        &[
            name.into(),
            arg(generation),
            arg(slot.count),
            arg(slot.index),
            wide(position),
            now(),
        ],
    )
    .await
}

/// Whether every partition of generation `to` has reached its counterpart
/// in generation `from` ([`bookkeeping::partitions_caught_up`]).
pub(crate) async fn caught_up<T: Txn>(
    tx: &mut T,
    name: &str,
    from: u32,
    to: u32,
) -> Result<bool, ProjectionError> {
    let live = current_rows(tx, name, from).await?;
    let building = current_rows(tx, name, to).await?;
    Ok(bookkeeping::partitions_caught_up(&live, &building))
}

async fn current_rows<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
) -> Result<Vec<PartitionRow>, ProjectionError> {
    let mut rows = rows(tx, name, generation).await?;
    rows.retain(|r| r.current);
    Ok(rows)
}

/// Deletes the partition rows of `generation`.
pub(crate) async fn delete<T: Txn>(
    tx: &mut T,
    name: &str,
    generation: u32,
) -> Result<(), ProjectionError> {
    tx.execute(
        statements::DELETE_PARTITIONS,
        &[name.into(), arg(generation)],
    )
    .await
}
