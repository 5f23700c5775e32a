//! [`SqliteProjector`]: a [`SqliteProjection`] bound to its database, as
//! the runner's [`ReadModel`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, Transaction};

use disco_core::{EventFilter, RecordedEvent, Timestamp};
use disco_runtime::catch_panic::panic_message;

use super::partitions;
use super::txn::{self, begin, ensure};
use super::{db, SqliteProjection, SqliteReadModels};
use crate::bookkeeping;
use crate::definition::Tables;
use crate::envelope;
use crate::error::ProjectionError;
use crate::interest::Interest;
use crate::read_model::{
    GenerationRow, GenerationState, PartitionClaim, PartitionRow, PartitionSlot, Plan, ReadModel,
};
use crate::statements;

/// A [`SqliteProjection`] writing to a [`SqliteReadModels`] database.
pub struct SqliteProjector<P> {
    models: SqliteReadModels,
    projection: Arc<P>,
    interest: Interest,
}

impl<P> std::fmt::Debug for SqliteProjector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteProjector")
            .field("interest", &self.interest)
            .finish()
    }
}

impl<P: SqliteProjection> SqliteProjector<P> {
    pub(crate) fn new(models: SqliteReadModels, projection: P) -> Self {
        SqliteProjector {
            models,
            projection: Arc::new(projection),
            interest: P::interest(),
        }
    }
}

#[async_trait]
impl<P: SqliteProjection> ReadModel for SqliteProjector<P> {
    fn name(&self) -> &str {
        P::NAME
    }

    fn version(&self) -> u32 {
        P::VERSION
    }

    fn filter(&self) -> EventFilter {
        self.interest.filter().clone()
    }

    async fn plan(&self) -> Result<Plan, ProjectionError> {
        Tables::new(0, P::TABLES)?;
        self.models
            .blocking(|conn| {
                let tx = begin(conn)?;
                ensure(&tx)?;
                let rows = txn::rows(&tx, P::NAME)?;
                let (plan, insert) = bookkeeping::plan(&rows, P::VERSION);
                if let Some((generation, state)) = insert {
                    txn::insert(&tx, P::NAME, generation, P::VERSION, state)?;
                }
                tx.commit().map_err(db)?;
                Ok(plan)
            })
            .await
    }

    async fn claim(
        &self,
        generation: u32,
        claim: &str,
        token: u64,
    ) -> Result<u64, ProjectionError> {
        let claim = claim.to_owned();
        let projection = self.projection.clone();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                ensure(&tx)?;
                let rows = txn::rows(&tx, P::NAME)?;
                let row = generation_row(&rows, P::NAME, generation)?;
                // Invariant: a partitioned generation is not claimed whole.
                if let Some(partitions) = partitions::current_count(&tx, P::NAME, generation)? {
                    return Err(ProjectionError::Repartitioned {
                        name: P::NAME.to_owned(),
                        generation,
                        partitions,
                    });
                }
                tx.execute(
                    statements::CLAIM.sqlite(),
                    params![P::NAME, generation, claim, token as i64, txn::now()],
                )
                .map_err(db)?;
                make_ready(&*projection, &tx, &rows, row)?;
                let position = row.position;
                tx.commit().map_err(db)?;
                Ok(position)
            })
            .await
    }

    async fn apply(
        &self,
        generation: u32,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let claim = claim.to_owned();
        let projection = self.projection.clone();
        let interest = self.interest.clone();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                let position = txn::lock(&tx, P::NAME, generation, &claim)?;
                apply_events(&*projection, &tx, &interest, generation, &events, position)?;
                txn::save_position(&tx, P::NAME, generation, seen.max(position))?;
                tx.commit().map_err(db)
            })
            .await
    }

    async fn switch(&self, to: u32, claim: &str) -> Result<bool, ProjectionError> {
        let claim = claim.to_owned();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                txn::lock(&tx, P::NAME, to, &claim)?;
                switch_views(tx, P::NAME, to)
            })
            .await
    }

    async fn reset(&self, generation: u32, claim: &str) -> Result<(), ProjectionError> {
        let claim = claim.to_owned();
        let projection = self.projection.clone();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                txn::lock(&tx, P::NAME, generation, &claim)?;
                let rows = txn::rows(&tx, P::NAME)?;
                let live = rows
                    .iter()
                    .any(|r| r.generation == generation && r.state == GenerationState::Live);
                let tables = Tables::new(generation, P::TABLES)?;
                let logical: Vec<String> = tables.logical().to_vec();
                if live {
                    for name in &logical {
                        txn::drop_view(&tx, &rows, name)?;
                    }
                }
                txn::drop_tables(&tx, &logical, generation)?;
                projection
                    .setup(&tx, &tables)
                    .map_err(|e| ProjectionError::ReadModel(format!("setup: {e}")))?;
                if live {
                    txn::point_views(&tx, &rows, &logical, generation)?;
                }
                tx.execute(
                    statements::RESET_POSITION.sqlite(),
                    params![P::NAME, generation, txn::now()],
                )
                .map_err(db)?;
                tx.commit().map_err(db)
            })
            .await
    }

    async fn generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        // A read (a standby polls it): no write lock, nothing created.
        let mut rows = self.models.list().await?;
        rows.retain(|r| r.name == P::NAME);
        Ok(rows)
    }

    async fn request_rebuild(&self) -> Result<u32, ProjectionError> {
        self.models
            .blocking(|conn| txn::request_rebuild(conn, P::NAME, Some(P::VERSION)))
            .await
    }

    async fn drop_retired(&self) -> Result<Vec<u32>, ProjectionError> {
        self.models
            .blocking(|conn| txn::drop_retired(conn, P::NAME))
            .await
    }

    async fn claim_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        token: u64,
        started: Timestamp,
    ) -> Result<PartitionClaim, ProjectionError> {
        let claim = claim.to_owned();
        let projection = self.projection.clone();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                ensure(&tx)?;
                let rows = txn::rows(&tx, P::NAME)?;
                let row = generation_row(&rows, P::NAME, generation)?;
                make_ready(&*projection, &tx, &rows, row)?;
                let claimed = partitions::claim(&tx, row, slot, &claim, token, started)?;
                tx.commit().map_err(db)?;
                Ok(claimed)
            })
            .await
    }

    async fn apply_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let claim = claim.to_owned();
        let projection = self.projection.clone();
        let interest = self.interest.clone();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                let position = partitions::lock(&tx, P::NAME, generation, slot, &claim)?;
                apply_events(&*projection, &tx, &interest, generation, &events, position)?;
                partitions::save(&tx, P::NAME, generation, slot, seen.max(position))?;
                tx.commit().map_err(db)
            })
            .await
    }

    async fn switch_partition(
        &self,
        to: u32,
        slot: PartitionSlot,
        claim: &str,
    ) -> Result<bool, ProjectionError> {
        let claim = claim.to_owned();
        self.models
            .blocking(move |conn| {
                let tx = begin(conn)?;
                partitions::lock(&tx, P::NAME, to, slot, &claim)?;
                let rows = txn::rows(&tx, P::NAME)?;
                if let Some(live) = rows.iter().find(|r| r.state == GenerationState::Live) {
                    if !partitions::caught_up(&tx, P::NAME, live.generation, to)? {
                        return Ok(false);
                    }
                }
                switch_views(tx, P::NAME, to)
            })
            .await
    }

    async fn partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        let mut rows = self.models.list_partitions().await?;
        rows.retain(|r| r.name == P::NAME);
        Ok(rows)
    }
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

/// Creates the generation's tables (and, for a first live generation, its
/// views) unless they are made already.
fn make_ready<P: SqliteProjection>(
    projection: &P,
    tx: &Transaction<'_>,
    rows: &[GenerationRow],
    row: &GenerationRow,
) -> Result<(), ProjectionError> {
    if row.ready {
        return Ok(());
    }
    let generation = row.generation;
    let tables = Tables::new(generation, P::TABLES)?;
    projection
        .setup(tx, &tables)
        .map_err(|e| ProjectionError::ReadModel(format!("setup: {e}")))?;
    if row.state == GenerationState::Live {
        txn::point_views(tx, rows, tables.logical(), generation)?;
    }
    tx.execute(
        statements::SET_READY.sqlite(),
        params![P::NAME, generation, P::TABLES.join(",")],
    )
    .map_err(db)?;
    Ok(())
}

/// Applies the events above `position` in `tx`, each decoded, a handler
/// error or panic failing the whole batch.
fn apply_events<P: SqliteProjection>(
    projection: &P,
    tx: &Transaction<'_>,
    interest: &Interest,
    generation: u32,
    events: &[RecordedEvent],
    position: u64,
) -> Result<(), ProjectionError> {
    let tables = Tables::new(generation, P::TABLES)?;
    // Invariant: an event at or below the stored position is never applied
    // again (it was applied in the transaction that stored the position).
    for event in events.iter().filter(|e| e.position > position) {
        let envelope = envelope::decode::<P::Event>(event, interest)?;
        let applied = catch_unwind(AssertUnwindSafe(|| projection.apply(tx, &tables, envelope)));
        match applied {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(ProjectionError::handler(event, error.to_string())),
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                return Err(ProjectionError::handler(
                    event,
                    format!("the handler panicked: {message}"),
                ));
            }
        }
    }
    Ok(())
}

/// Makes the building generation `to` live and the live one retired,
/// re-pointing the views, and commits; `false` (nothing changed) while `to`
/// has seen less than the live one. The caller checked its claim in `tx`.
fn switch_views(tx: Transaction<'_>, name: &str, to: u32) -> Result<bool, ProjectionError> {
    let rows = txn::rows(&tx, name)?;
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
                txn::drop_view(&tx, &rows, &logical)?;
            }
        }
        txn::set_state(&tx, name, from, GenerationState::Retired)?;
    }
    txn::point_views(&tx, &rows, &new_tables, to)?;
    txn::set_state(&tx, name, to, GenerationState::Live)?;
    tx.commit().map_err(db)?;
    Ok(true)
}
