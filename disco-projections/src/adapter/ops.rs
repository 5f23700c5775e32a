//! The runner's transactions, as data ([`Op`]) and as one function over
//! any database ([`run`]).

use disco_core::{RecordedEvent, Timestamp};
use disco_runtime::catch_panic::CatchPanic;

use super::values::{arg, now, wide};
use super::{generations, partitions, Handler, Kind, Txn};
use crate::bookkeeping;
use crate::definition::Tables;
use crate::envelope;
use crate::error::ProjectionError;
use crate::read_model::{GenerationRow, GenerationState, PartitionClaim, PartitionSlot, Plan};
use crate::statements;
use crate::Projection;

/// One transaction the runner asks of a read model (the
/// [`ReadModel`](crate::ReadModel) method of the same name).
#[derive(Debug)]
pub enum Op {
    /// `plan`.
    Plan,
    /// `claim`.
    Claim {
        /// The generation.
        generation: u32,
        /// The runner's claim.
        claim: String,
        /// Its lease's token.
        token: u64,
    },
    /// `apply` (`slot: None`) or `apply_partition`.
    Apply {
        /// The generation.
        generation: u32,
        /// The partition, if the runner runs one.
        slot: Option<PartitionSlot>,
        /// The runner's claim.
        claim: String,
        /// The batch.
        events: Vec<RecordedEvent>,
        /// The position the batch read up to.
        seen: u64,
    },
    /// `switch` (`slot: None`) or `switch_partition`.
    Switch {
        /// The generation to make live.
        to: u32,
        /// The partition, if the runner runs one.
        slot: Option<PartitionSlot>,
        /// The runner's claim.
        claim: String,
    },
    /// `reset`.
    Reset {
        /// The generation.
        generation: u32,
        /// The runner's claim.
        claim: String,
    },
    /// `request_rebuild`.
    RequestRebuild,
    /// `drop_retired`.
    DropRetired,
    /// `claim_partition`.
    ClaimPartition {
        /// The generation.
        generation: u32,
        /// The partition.
        slot: PartitionSlot,
        /// The runner's claim.
        claim: String,
        /// Its lease's token.
        token: u64,
        /// When the runner started.
        started: Timestamp,
    },
}

impl Op {
    /// The transaction it runs in.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Op::Apply { .. } => Kind::Batch,
            _ => Kind::Bookkeeping,
        }
    }
}

/// What an [`Op`] answers.
#[derive(Debug)]
pub enum Done {
    /// `plan`'s.
    Plan(Plan),
    /// `claim`'s: the generation's position.
    Position(u64),
    /// `switch`'s: whether the generation went live.
    Switched(bool),
    /// Done, nothing to say.
    Nothing,
    /// `request_rebuild`'s: the generation it builds.
    Generation(u32),
    /// `drop_retired`'s: the generations dropped.
    Dropped(Vec<u32>),
    /// `claim_partition`'s.
    Partition(PartitionClaim),
}

/// Runs `op` in `tx` for `handler`'s projection, committing it on success
/// (a refusal drops `tx`, rolling it back).
pub(crate) async fn run<T: Txn, H: Handler<T>>(
    mut tx: T,
    handler: &H,
    op: Op,
) -> Result<Done, ProjectionError> {
    let name = H::Projection::NAME;
    Tables::new(0, H::Projection::TABLES)?;
    match op {
        Op::RequestRebuild => {
            return generations::request_rebuild(tx, name, Some(H::Projection::VERSION))
                .await
                .map(Done::Generation)
        }
        Op::DropRetired => {
            return generations::drop_retired(tx, name, false)
                .await
                .map(Done::Dropped)
        }
        _ => {}
    }
    if op.kind() == Kind::Bookkeeping {
        generations::ensure(&mut tx).await?;
    }
    let done = match op {
        Op::Plan => {
            let rows = generations::rows(&mut tx, name).await?;
            let (plan, insert) = bookkeeping::plan(&rows, H::Projection::VERSION);
            if let Some((generation, state)) = insert {
                generations::insert(&mut tx, name, generation, H::Projection::VERSION, state)
                    .await?;
            }
            Done::Plan(plan)
        }
        Op::Claim {
            generation,
            claim,
            token,
        } => {
            let rows = generations::rows(&mut tx, name).await?;
            let row = generation_row(&rows, name, generation)?;
            // Invariant: a partitioned generation is not claimed whole.
            if let Some(partitions) = partitions::current_count(&mut tx, name, generation).await? {
                return Err(ProjectionError::Repartitioned {
                    name: name.to_owned(),
                    generation,
                    partitions,
                });
            }
            tx.execute(
                statements::CLAIM,
                &[
                    name.into(),
                    arg(generation),
                    claim.into(),
                    wide(token),
                    now(),
                ],
            )
            .await?;
            make_ready(&mut tx, handler, &rows, row).await?;
            Done::Position(row.position)
        }
        Op::Apply {
            generation,
            slot,
            claim,
            events,
            seen,
        } => {
            let position = match slot {
                None => generations::lock(&mut tx, name, generation, &claim).await?,
                Some(slot) => partitions::lock(&mut tx, name, generation, slot, &claim).await?,
            };
            apply_events(&mut tx, handler, generation, &events, position).await?;
            let seen = seen.max(position);
            match slot {
                None => generations::save_position(&mut tx, name, generation, seen).await?,
                Some(slot) => partitions::save(&mut tx, name, generation, slot, seen).await?,
            }
            Done::Nothing
        }
        Op::Switch { to, slot, claim } => {
            match slot {
                None => {
                    generations::lock(&mut tx, name, to, &claim).await?;
                }
                Some(slot) => {
                    partitions::lock(&mut tx, name, to, slot, &claim).await?;
                    // Waits for the partitions' batches in flight (they hold
                    // the generation rows shared), and keeps new ones out
                    // until the switch is decided: the rows read next are
                    // final for the old generation.
                    if let Some(sql) = T::OWN.lock_generations {
                        tx.query(sql, &[name.into()]).await?;
                    }
                    let rows = generations::rows(&mut tx, name).await?;
                    if let Some(live) = rows.iter().find(|r| r.state == GenerationState::Live) {
                        if !partitions::caught_up(&mut tx, name, live.generation, to).await? {
                            return Ok(Done::Switched(false));
                        }
                    }
                }
            }
            match switch_views(&mut tx, name, to).await? {
                true => Done::Switched(true),
                false => return Ok(Done::Switched(false)),
            }
        }
        Op::Reset { generation, claim } => {
            generations::lock(&mut tx, name, generation, &claim).await?;
            let rows = generations::rows(&mut tx, name).await?;
            let live = rows
                .iter()
                .any(|r| r.generation == generation && r.state == GenerationState::Live);
            let tables = Tables::new(generation, H::Projection::TABLES)?;
            let logical: Vec<String> = tables.logical().to_vec();
            if live {
                for table in &logical {
                    generations::drop_view(&mut tx, &rows, table).await?;
                }
            }
            generations::drop_tables(&mut tx, &logical, generation).await?;
            setup(&mut tx, handler, &tables).await?;
            if live {
                generations::point_views(&mut tx, &rows, &logical, generation).await?;
            }
            tx.execute(
                statements::RESET_POSITION,
                &[name.into(), arg(generation), now()],
            )
            .await?;
            Done::Nothing
        }
        Op::ClaimPartition {
            generation,
            slot,
            claim,
            token,
            started,
        } => {
            let rows = generations::rows(&mut tx, name).await?;
            let row = generation_row(&rows, name, generation)?;
            make_ready(&mut tx, handler, &rows, row).await?;
            Done::Partition(partitions::claim(&mut tx, row, slot, &claim, token, started).await?)
        }
        Op::RequestRebuild | Op::DropRetired => {
            return Err(ProjectionError::Invalid(
                "a rebuild or a drop runs on its own".into(),
            ))
        }
    };
    tx.commit().await?;
    Ok(done)
}

fn generation_row<'r>(
    rows: &'r [GenerationRow],
    name: &str,
    generation: u32,
) -> Result<&'r GenerationRow, ProjectionError> {
    rows.iter()
        .find(|r| r.generation == generation)
        .ok_or_else(|| {
            ProjectionError::Invalid(format!("projection {name} has no generation {generation}"))
        })
}

/// Runs the projection's `setup` for `tables`.
async fn setup<T: Txn, H: Handler<T>>(
    tx: &mut T,
    handler: &H,
    tables: &Tables,
) -> Result<(), ProjectionError> {
    handler
        .setup(tx, tables)
        .await
        .map_err(|e| ProjectionError::ReadModel(format!("setup: {e}")))
}

/// Creates the generation's tables (and, for a first live generation, its
/// views) unless they are made already.
async fn make_ready<T: Txn, H: Handler<T>>(
    tx: &mut T,
    handler: &H,
    rows: &[GenerationRow],
    row: &GenerationRow,
) -> Result<(), ProjectionError> {
    if row.ready {
        return Ok(());
    }
    let generation = row.generation;
    let tables = Tables::new(generation, H::Projection::TABLES)?;
    setup(tx, handler, &tables).await?;
    if row.state == GenerationState::Live {
        generations::point_views(tx, rows, tables.logical(), generation).await?;
    }
    tx.execute(
        statements::SET_READY,
        &[
            H::Projection::NAME.into(),
            arg(generation),
            H::Projection::TABLES.join(",").into(),
        ],
    )
    .await
}

/// Applies the events above `position` in `tx`, each decoded, a handler
/// error or panic failing the whole batch.
async fn apply_events<T: Txn, H: Handler<T>>(
    tx: &mut T,
    handler: &H,
    generation: u32,
    events: &[RecordedEvent],
    position: u64,
) -> Result<(), ProjectionError> {
    let tables = Tables::new(generation, H::Projection::TABLES)?;
    // Invariant: an event at or below the stored position is never applied
    // again (it was applied in the transaction that stored the position).
    for event in events.iter().filter(|e| e.position > position) {
        let envelope =
            envelope::decode::<<H::Projection as Projection>::Event>(event, handler.interest())?;
        match CatchPanic(Box::pin(handler.apply(tx, &tables, envelope))).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(ProjectionError::handler(event, error.to_string())),
            Err(panic) => {
                return Err(ProjectionError::handler(
                    event,
                    format!("the handler panicked: {panic}"),
                ))
            }
        }
    }
    Ok(())
}

/// Makes the building generation `to` live and the live one retired,
/// re-pointing the views; `false` (nothing changed) while `to` has seen
/// less than the live one. The caller checked its claim in `tx`.
async fn switch_views<T: Txn>(tx: &mut T, name: &str, to: u32) -> Result<bool, ProjectionError> {
    let rows = generations::rows(tx, name).await?;
    // Another partition's runner switched already: done.
    if rows
        .iter()
        .any(|r| r.generation == to && r.state == GenerationState::Live)
    {
        return Ok(true);
    }
    let from = match bookkeeping::switch(&rows, to) {
        Ok(from) => from,
        Err(why) if why.is_empty() => return Ok(false),
        Err(why) => return Err(ProjectionError::Invalid(why)),
    };
    let tables_of = |generation: u32| {
        rows.iter()
            .find(|r| r.generation == generation)
            .map(|r| r.tables.clone())
            .unwrap_or_default()
    };
    let new_tables = tables_of(to);
    if let Some(from) = from {
        for logical in tables_of(from) {
            if !new_tables.contains(&logical) {
                generations::drop_view(tx, &rows, &logical).await?;
            }
        }
        generations::set_state(tx, name, from, GenerationState::Retired).await?;
    }
    generations::point_views(tx, &rows, &new_tables, to).await?;
    generations::set_state(tx, name, to, GenerationState::Live).await?;
    Ok(true)
}
