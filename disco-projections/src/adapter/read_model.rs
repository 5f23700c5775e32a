//! Every [`Adapter`] is a [`ReadModel`]: each of the runner's calls is one
//! [`Op`] run by the adapter.

use async_trait::async_trait;

use disco_core::{EventFilter, RecordedEvent, Timestamp};

use super::{Adapter, Done, Op};
use crate::error::ProjectionError;
use crate::read_model::{
    GenerationRow, PartitionClaim, PartitionRow, PartitionSlot, Plan, ReadModel,
};
use crate::Projection;

fn unexpected(done: Done) -> ProjectionError {
    ProjectionError::ReadModel(format!("a read-model transaction answered {done:?}"))
}

#[async_trait]
impl<A: Adapter> ReadModel for A {
    fn name(&self) -> &str {
        <A::Projection as Projection>::NAME
    }

    fn version(&self) -> u32 {
        <A::Projection as Projection>::VERSION
    }

    fn filter(&self) -> EventFilter {
        self.interest().filter().clone()
    }

    async fn plan(&self) -> Result<Plan, ProjectionError> {
        match self.transact(Op::Plan).await? {
            Done::Plan(plan) => Ok(plan),
            other => Err(unexpected(other)),
        }
    }

    async fn claim(
        &self,
        generation: u32,
        claim: &str,
        token: u64,
    ) -> Result<u64, ProjectionError> {
        let op = Op::Claim {
            generation,
            claim: claim.to_owned(),
            token,
        };
        match self.transact(op).await? {
            Done::Position(position) => Ok(position),
            other => Err(unexpected(other)),
        }
    }

    async fn apply(
        &self,
        generation: u32,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let op = Op::Apply {
            generation,
            slot: None,
            claim: claim.to_owned(),
            events,
            seen,
        };
        nothing(self.transact(op).await?)
    }

    async fn switch(&self, to: u32, claim: &str) -> Result<bool, ProjectionError> {
        let op = Op::Switch {
            to,
            slot: None,
            claim: claim.to_owned(),
        };
        switched(self.transact(op).await?)
    }

    async fn reset(&self, generation: u32, claim: &str) -> Result<(), ProjectionError> {
        let op = Op::Reset {
            generation,
            claim: claim.to_owned(),
        };
        nothing(self.transact(op).await?)
    }

    async fn generations(&self) -> Result<Vec<GenerationRow>, ProjectionError> {
        // A read (a standby polls it): no write lock, nothing created.
        let mut rows = self.all_generations().await?;
        rows.retain(|r| r.name == self.name());
        Ok(rows)
    }

    async fn request_rebuild(&self) -> Result<u32, ProjectionError> {
        match self.transact(Op::RequestRebuild).await? {
            Done::Generation(generation) => Ok(generation),
            other => Err(unexpected(other)),
        }
    }

    async fn drop_retired(&self) -> Result<Vec<u32>, ProjectionError> {
        match self.transact(Op::DropRetired).await? {
            Done::Dropped(generations) => Ok(generations),
            other => Err(unexpected(other)),
        }
    }

    async fn claim_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        token: u64,
        started: Timestamp,
    ) -> Result<PartitionClaim, ProjectionError> {
        let op = Op::ClaimPartition {
            generation,
            slot,
            claim: claim.to_owned(),
            token,
            started,
        };
        match self.transact(op).await? {
            Done::Partition(claimed) => Ok(claimed),
            other => Err(unexpected(other)),
        }
    }

    async fn apply_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let op = Op::Apply {
            generation,
            slot: Some(slot),
            claim: claim.to_owned(),
            events,
            seen,
        };
        nothing(self.transact(op).await?)
    }

    async fn switch_partition(
        &self,
        to: u32,
        slot: PartitionSlot,
        claim: &str,
    ) -> Result<bool, ProjectionError> {
        let op = Op::Switch {
            to,
            slot: Some(slot),
            claim: claim.to_owned(),
        };
        switched(self.transact(op).await?)
    }

    async fn partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        let mut rows = self.all_partitions().await?;
        rows.retain(|r| r.name == self.name());
        Ok(rows)
    }
}

fn nothing(done: Done) -> Result<(), ProjectionError> {
    match done {
        Done::Nothing => Ok(()),
        other => Err(unexpected(other)),
    }
}

fn switched(done: Done) -> Result<bool, ProjectionError> {
    match done {
        Done::Switched(switched) => Ok(switched),
        other => Err(unexpected(other)),
    }
}
