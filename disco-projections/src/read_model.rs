//! [`ReadModel`]: what the runner needs of a read-model database, whatever
//! it is. The SQLite and PostgreSQL adapters implement it; another database
//! can too.

use async_trait::async_trait;

use disco_core::{EventFilter, RecordedEvent, Timestamp};

use crate::error::ProjectionError;

/// The state of one generation of a projection, in its bookkeeping row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenerationState {
    /// Queries read it (its views point at its tables).
    Live,
    /// Being built from position 0 next to the live one.
    Building,
    /// Replaced by a newer generation; its tables wait to be dropped.
    Retired,
}

impl GenerationState {
    /// The name stored in the bookkeeping row.
    pub fn as_str(self) -> &'static str {
        match self {
            GenerationState::Live => "live",
            GenerationState::Building => "building",
            GenerationState::Retired => "retired",
        }
    }

    /// The state stored as `text`.
    pub fn parse(text: &str) -> Result<Self, ProjectionError> {
        match text {
            "live" => Ok(GenerationState::Live),
            "building" => Ok(GenerationState::Building),
            "retired" => Ok(GenerationState::Retired),
            other => Err(ProjectionError::ReadModel(format!(
                "unknown projection state {other:?} in disco_projections"
            ))),
        }
    }
}

/// One bookkeeping row: a generation of a projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerationRow {
    /// The projection.
    pub name: String,
    /// The generation (1, 2, ...: each rebuild makes a new one).
    pub generation: u32,
    /// The projection's version that builds it.
    pub version: u32,
    /// Live, building or retired.
    pub state: GenerationState,
    /// Every event at or below this position is in its tables.
    pub position: u64,
    /// Its tables (logical names).
    pub tables: Vec<String>,
    /// Whether its tables were created.
    pub ready: bool,
    /// The fencing token of the runner that claimed it last.
    pub token: u64,
    /// When the row last changed.
    pub updated_at: Timestamp,
}

/// One partition of a partitioned projection: the events whose key hashes
/// to `index` among `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartitionSlot {
    /// The partition, `0..count`.
    pub index: u32,
    /// How many partitions the projection runs in.
    pub count: u32,
}

/// One partition's bookkeeping row (in `disco_projection_partitions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRow {
    /// The projection.
    pub name: String,
    /// The generation.
    pub generation: u32,
    /// The partition.
    pub slot: PartitionSlot,
    /// Every event of this partition at or below this position is in the
    /// generation's tables.
    pub position: u64,
    /// Whether this count is the generation's current one (the rows of an
    /// earlier count are kept, frozen, for the count that replaced it).
    pub current: bool,
    /// The count whose rows this one's were made from (0: none).
    pub previous: u32,
    /// When this count's rows were made.
    pub created_at: Timestamp,
    /// When the row last changed.
    pub updated_at: Timestamp,
}

/// What a partition's runner gets from its claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionClaim {
    /// The partition's position.
    pub position: u64,
    /// The frozen positions of the count this one replaced, if it did:
    /// an event whose partition under that count had reached its position
    /// is in the tables already, and is not applied again.
    pub inherited: Option<Inherited>,
}

/// The positions a replaced partition count had reached, by partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inherited {
    /// The old count.
    pub count: u32,
    /// The position of each old partition, by index.
    pub positions: Vec<u64>,
}

impl Inherited {
    /// Whether the event at `position` whose key hashes to `old_index`
    /// among the old count was applied already.
    pub fn covers(&self, old_index: u32, position: u64) -> bool {
        self.positions
            .get(old_index as usize)
            .is_some_and(|reached| position <= *reached)
    }
}

/// Which generations a runner of one version runs.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Plan {
    /// The live generation, when it is this version's.
    pub live: Option<u32>,
    /// A generation of this version being built.
    pub building: Option<u32>,
    /// A newer version is live: this runner has nothing to do.
    pub retired_by: Option<u32>,
}

/// The read-model side of a projection: bookkeeping rows and batches, each
/// in one transaction of the read-model database.
///
/// Invariants every implementation keeps:
/// - a batch applies its events and writes the generation's position in one
///   transaction, and applies no event at or below the position it read in
///   that transaction (exactly once);
/// - a batch commits only if the row's claim is the runner's (a runner that
///   was replaced cannot write);
/// - the switch re-points every view and changes both rows in one
///   transaction.
#[async_trait]
pub trait ReadModel: Send + Sync + 'static {
    /// The projection's name.
    fn name(&self) -> &str;
    /// The projection's version.
    fn version(&self) -> u32;
    /// What the projection reads.
    fn filter(&self) -> EventFilter;

    /// Creates the bookkeeping table if missing and decides (creating rows
    /// as needed) which generations this version runs.
    async fn plan(&self) -> Result<Plan, ProjectionError>;
    /// Claims `generation` for a runner (`claim` is its unique id, `token`
    /// its lease's), creating its tables (and, for a first live
    /// generation, its views) if they are not yet; its position.
    async fn claim(&self, generation: u32, claim: &str, token: u64)
        -> Result<u64, ProjectionError>;
    /// Applies `events` (those above the stored position) to `generation`
    /// and stores `seen` as its position, in one transaction.
    async fn apply(
        &self,
        generation: u32,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError>;
    /// Makes the building generation `to` live and the live one retired,
    /// re-pointing the views, in one transaction; `false` (and nothing
    /// changed) while `to` has seen less than the live generation.
    async fn switch(&self, to: u32, claim: &str) -> Result<bool, ProjectionError>;
    /// Empties `generation` (its tables dropped and made again) and sets its
    /// position to 0, in one transaction.
    async fn reset(&self, generation: u32, claim: &str) -> Result<(), ProjectionError>;
    /// Every generation of the projection (a read: nothing is created).
    async fn generations(&self) -> Result<Vec<GenerationRow>, ProjectionError>;
    /// Starts a rebuild: a new building generation of this version (the one
    /// building already, if there is one).
    async fn request_rebuild(&self) -> Result<u32, ProjectionError>;
    /// Drops the tables and rows of retired generations; their numbers.
    async fn drop_retired(&self) -> Result<Vec<u32>, ProjectionError>;

    /// Claims partition `slot` of `generation` for a runner (started at
    /// `started`), as [`ReadModel::claim`] does for a whole generation.
    /// The first partition claimed makes the rows of all `slot.count`, at
    /// the generation's position, and fences off an unpartitioned runner.
    /// When the generation runs in another count, a runner started after
    /// that count was made replaces it (the new rows start at the lowest
    /// old position and inherit the old positions, see
    /// [`PartitionClaim::inherited`]); an older runner is refused with
    /// [`ProjectionError::Repartitioned`].
    async fn claim_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        token: u64,
        started: Timestamp,
    ) -> Result<PartitionClaim, ProjectionError> {
        let _ = (generation, slot, claim, token, started);
        Err(not_partitionable(self.name()))
    }

    /// [`ReadModel::apply`] for one partition: fenced by the partition's
    /// claim, its position stored in its row.
    async fn apply_partition(
        &self,
        generation: u32,
        slot: PartitionSlot,
        claim: &str,
        events: Vec<RecordedEvent>,
        seen: u64,
    ) -> Result<(), ProjectionError> {
        let _ = (generation, slot, claim, events, seen);
        Err(not_partitionable(self.name()))
    }

    /// [`ReadModel::switch`] by the runner of one partition; the building
    /// generation's position is the lowest of its partitions'.
    async fn switch_partition(
        &self,
        to: u32,
        slot: PartitionSlot,
        claim: &str,
    ) -> Result<bool, ProjectionError> {
        let _ = (to, slot, claim);
        Err(not_partitionable(self.name()))
    }

    /// The current partition rows of every generation of the projection
    /// (none for an unpartitioned one; a read: nothing is created).
    async fn partitions(&self) -> Result<Vec<PartitionRow>, ProjectionError> {
        Ok(Vec::new())
    }
}

fn not_partitionable(name: &str) -> ProjectionError {
    ProjectionError::Invalid(format!(
        "the read model of projection {name} cannot run in partitions"
    ))
}
