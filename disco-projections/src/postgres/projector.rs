//! [`PgProjector`]: a [`PgProjection`] bound to its database, as the
//! runner's [`ReadModel`].

use std::sync::Arc;

use async_trait::async_trait;

use disco_core::{EventFilter, RecordedEvent, Timestamp};
use disco_runtime::catch_panic::CatchPanic;

use super::partitions;
use super::txn::{self, begin};
use super::{db, PgProjection, PgReadModels, PgTransaction};
use crate::bookkeeping;
use crate::definition::Tables;
use crate::envelope;
use crate::error::ProjectionError;
use crate::interest::Interest;
use crate::read_model::{
    GenerationRow, GenerationState, PartitionClaim, PartitionRow, PartitionSlot, Plan, ReadModel,
};
use crate::statements;

/// A [`PgProjection`] writing to a [`PgReadModels`] database.
pub struct PgProjector<P> {
    models: PgReadModels,
    projection: Arc<P>,
    interest: Interest,
}

impl<P> std::fmt::Debug for PgProjector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgProjector")
            .field("interest", &self.interest)
            .finish()
    }
}

impl<P: PgProjection> PgProjector<P> {
    pub(crate) fn new(models: PgReadModels, projection: Arc<P>) -> Self {
        PgProjector {
            models,
            projection,
            interest: P::interest(),
        }
    }
}

#[async_trait]
impl<P: PgProjection> ReadModel for PgProjector<P> {
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
        let mut tx = begin(self.models.pool()).await?;
        let rows = txn::rows(&mut tx, P::NAME).await?;
        let (plan, insert) = bookkeeping::plan(&rows, P::VERSION);
        if let Some((generation, state)) = insert {
            txn::insert(&mut tx, P::NAME, generation, P::VERSION, state).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(plan)
    }

    async fn claim(
        &self,
        generation: u32,
        claim: &str,
        token: u64,
    ) -> Result<u64, ProjectionError> {
        let mut tx = begin(self.models.pool()).await?;
        let rows = txn::rows(&mut tx, P::NAME).await?;
        let row = generation_row(&rows, P::NAME, generation)?;
        // Invariant: a partitioned generation is not claimed whole.
        if let Some(partitions) = partitions::current_count(&mut tx, P::NAME, generation).await? {
            return Err(ProjectionError::Repartitioned {
                name: P::NAME.to_owned(),
                generation,
                partitions,
            });
        }
        sqlx::query(statements::CLAIM.postgres())
            .bind(P::NAME)
            .bind(generation as i32)
            .bind(claim)
            .bind(token as i64)
            .bind(txn::now())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        self.make_ready(&mut tx, &rows, row).await?;
        let position = row.position;
        tx.commit().await.map_err(db)?;
        Ok(position)
    }

    async fn apply(
        &self,
        generation: u32,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let mut tx = self.models.pool().begin().await.map_err(db)?;
        let position = txn::lock(&mut tx, P::NAME, generation, claim).await?;
        self.apply_events(&mut tx, generation, &events, position)
            .await?;
        txn::save_position(&mut tx, P::NAME, generation, seen.max(position)).await?;
        tx.commit().await.map_err(db)
    }

    async fn switch(&self, to: u32, claim: &str) -> Result<bool, ProjectionError> {
        let mut tx = begin(self.models.pool()).await?;
        txn::lock(&mut tx, P::NAME, to, claim).await?;
        switch_views(tx, P::NAME, to).await
    }

    async fn reset(&self, generation: u32, claim: &str) -> Result<(), ProjectionError> {
        let mut tx = begin(self.models.pool()).await?;
        txn::lock(&mut tx, P::NAME, generation, claim).await?;
        let rows = txn::rows(&mut tx, P::NAME).await?;
        let live = rows
            .iter()
            .any(|r| r.generation == generation && r.state == GenerationState::Live);
        let tables = Tables::new(generation, P::TABLES)?;
        let logical: Vec<String> = tables.logical().to_vec();
        if live {
            for name in &logical {
                txn::drop_view(&mut tx, &rows, name).await?;
            }
        }
        txn::drop_tables(&mut tx, &logical, generation).await?;
        self.projection
            .setup(&mut tx, &tables)
            .await
            .map_err(|e| ProjectionError::ReadModel(format!("setup: {e}")))?;
        if live {
            txn::point_views(&mut tx, &rows, &logical, generation).await?;
        }
        sqlx::query(statements::RESET_POSITION.postgres())
            .bind(P::NAME)
            .bind(generation as i32)
            .bind(txn::now())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        // A read (a standby polls it): no bookkeeping lock, nothing created.
        let mut rows = self.models.list().await?;
        rows.retain(|r| r.name == P::NAME);
        Ok(rows)
    }

    async fn request_rebuild(&self) -> Result<u32, ProjectionError> {
        txn::request_rebuild(self.models.pool(), P::NAME, Some(P::VERSION)).await
    }

    async fn drop_retired(&self) -> Result<Vec<u32>, ProjectionError> {
        txn::drop_retired(self.models.pool(), P::NAME).await
    }

    async fn claim_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        token: u64,
        started: Timestamp,
    ) -> Result<PartitionClaim, ProjectionError> {
        let mut tx = begin(self.models.pool()).await?;
        let rows = txn::rows(&mut tx, P::NAME).await?;
        let row = generation_row(&rows, P::NAME, generation)?;
        self.make_ready(&mut tx, &rows, row).await?;
        let claimed = partitions::claim(&mut tx, row, slot, claim, token, started).await?;
        tx.commit().await.map_err(db)?;
        Ok(claimed)
    }

    async fn apply_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let mut tx = self.models.pool().begin().await.map_err(db)?;
        let position = partitions::lock(&mut tx, P::NAME, generation, slot, claim).await?;
        self.apply_events(&mut tx, generation, &events, position)
            .await?;
        partitions::save(&mut tx, P::NAME, generation, slot, seen.max(position)).await?;
        tx.commit().await.map_err(db)
    }

    async fn switch_partition(
        &self,
        to: u32,
        slot: PartitionSlot,
        claim: &str,
    ) -> Result<bool, ProjectionError> {
        let mut tx = begin(self.models.pool()).await?;
        partitions::lock(&mut tx, P::NAME, to, slot, claim).await?;
        // Waits for the partitions' batches in flight (they hold the
        // generation rows shared), and keeps new ones out until the switch
        // is decided: the rows read next are final for the old generation.
        sqlx::query(include_str!("lock_generations.sql"))
            .bind(P::NAME)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let rows = txn::rows(&mut tx, P::NAME).await?;
        if let Some(live) = rows.iter().find(|r| r.state == GenerationState::Live) {
            if !partitions::caught_up(&mut tx, P::NAME, live.generation, to).await? {
                return Ok(false);
            }
        }
        switch_views(tx, P::NAME, to).await
    }

    async fn partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        let mut rows = self.models.list_partitions().await?;
        rows.retain(|r| r.name == P::NAME);
        Ok(rows)
    }
}

impl<P: PgProjection> PgProjector<P> {
    /// Creates the generation's tables (and, for a first live generation,
    /// its views) unless they are made already.
    async fn make_ready(
        &self,
        tx: &mut PgTransaction,
        rows: &[GenerationRow],
        row: &GenerationRow,
    ) -> Result<(), ProjectionError> {
        if row.ready {
            return Ok(());
        }
        let generation = row.generation;
        let tables = Tables::new(generation, P::TABLES)?;
        self.projection
            .setup(tx, &tables)
            .await
            .map_err(|e| ProjectionError::ReadModel(format!("setup: {e}")))?;
        if row.state == GenerationState::Live {
            txn::point_views(tx, rows, tables.logical(), generation).await?;
        }
        sqlx::query(statements::SET_READY.postgres())
            .bind(P::NAME)
            .bind(generation as i32)
            .bind(P::TABLES.join(","))
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Applies the events above `position` in `tx`, each decoded, a handler
    /// error or panic failing the whole batch.
    async fn apply_events(
        &self,
        tx: &mut PgTransaction,
        generation: u32,
        events: &[RecordedEvent],
        position: u64,
    ) -> Result<(), ProjectionError> {
        let tables = Tables::new(generation, P::TABLES)?;
        // Invariant: an event at or below the stored position is never
        // applied again (it was applied in the transaction that stored it).
        for event in events.iter().filter(|e| e.position > position) {
            let envelope = envelope::decode::<P::Event>(event, &self.interest)?;
            match CatchPanic(self.projection.apply(tx, &tables, envelope)).await {
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

/// Makes the building generation `to` live and the live one retired,
/// re-pointing the views, and commits; `false` (nothing changed) while `to`
/// has seen less than the live one. The caller checked its claim in `tx`.
async fn switch_views(mut tx: PgTransaction, name: &str, to: u32) -> Result<bool, ProjectionError> {
    let rows = txn::rows(&mut tx, name).await?;
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
                txn::drop_view(&mut tx, &rows, &logical).await?;
            }
        }
        txn::set_state(&mut tx, name, from, GenerationState::Retired).await?;
    }
    txn::point_views(&mut tx, &rows, &new_tables, to).await?;
    txn::set_state(&mut tx, name, to, GenerationState::Live).await?;
    tx.commit().await.map_err(db)?;
    Ok(true)
}
