//! [`Projector`]: a read model and its options, started on a store as one
//! runner or as a partitioned projection.

use std::sync::Arc;

use disco_core::EventStore;

use crate::error::ProjectionError;
use crate::handle::ProjectionHandle;
use crate::options::ProjectionOptions;
use crate::partitioned::PartitionedProjector;
use crate::read_model::ReadModel;
use crate::runner::spawn;

/// A projection ready to [start](Projector::start) on a store: a read
/// model (from an adapter) and its options.
pub struct Projector {
    read_model: Arc<dyn ReadModel>,
    options: ProjectionOptions,
}

impl std::fmt::Debug for Projector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projector")
            .field("name", &self.read_model.name())
            .field("options", &self.options)
            .finish()
    }
}

impl Projector {
    /// A projector for `read_model` with the default options.
    pub fn new(read_model: impl ReadModel) -> Self {
        Self::shared(Arc::new(read_model))
    }

    /// A projector for a read model already shared (say, chosen at run
    /// time among databases), with the default options.
    pub fn shared(read_model: Arc<dyn ReadModel>) -> Self {
        Projector {
            read_model,
            options: ProjectionOptions::default(),
        }
    }

    /// Replaces the options.
    pub fn options(mut self, options: ProjectionOptions) -> Self {
        self.options = options;
        self
    }

    /// Starts the runner on `store` (on the current tokio runtime); it waits
    /// as a standby while another runner of this projection and version
    /// holds the lease. Fails only if the name is not a valid lease name.
    pub fn start(self, store: Arc<dyn EventStore>) -> Result<ProjectionHandle, ProjectionError> {
        let lease_name = lease_name(&*self.read_model);
        disco_core::limits::check_checkpoint_name(&lease_name)?;
        Ok(spawn(
            self.read_model,
            self.options,
            store,
            lease_name,
            None,
        ))
    }

    /// Runs the projection in `partitions` partitions (see
    /// [`PartitionedProjector`]).
    pub fn partitioned(self, partitions: u32) -> PartitionedProjector {
        PartitionedProjector::new(self.read_model, self.options, partitions)
    }
}

/// The lease name of the projection's runners (the prefix of its
/// partitions' and members' names).
pub(crate) fn lease_name(read_model: &dyn ReadModel) -> String {
    format!("projection:{}:v{}", read_model.name(), read_model.version())
}
