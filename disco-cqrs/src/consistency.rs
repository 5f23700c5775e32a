//! Strong consistency: a dispatch that returns only once named read models
//! (consumers, projections) hold the command's events.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use disco_core::progress::{Behind, Progress};

use crate::aggregate::CommandContext;

/// How a dispatch waits for read models.
///
/// ```
/// use std::time::Duration;
/// use disco::cqrs::DispatchOptions;
/// let options = DispatchOptions::strong(["balances"]).timeout(Duration::from_secs(2));
/// assert_eq!(options.read_models, ["balances"]);
/// assert_eq!(DispatchOptions::default().read_models.len(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchOptions {
    /// Wait until these read models (registered with
    /// [`OrchestratorBuilder::read_model`](crate::OrchestratorBuilder::read_model))
    /// have seen the command's last event. Empty: return at once
    /// (eventual consistency, the default).
    pub read_models: Vec<String>,
    /// The longest wait. Default 5 s.
    pub timeout: Duration,
    /// The command's context: a command id the caller chose (idempotent
    /// dispatch), correlation, causation, metadata. Default: a new one.
    pub context: Option<CommandContext>,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            read_models: Vec::new(),
            timeout: Duration::from_secs(5),
            context: None,
        }
    }
}

impl DispatchOptions {
    /// Return once `read_models` hold the command's events (Commanded's
    /// `consistency: :strong`, with the read models named).
    pub fn strong<I, S>(read_models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DispatchOptions {
            read_models: read_models.into_iter().map(Into::into).collect(),
            ..DispatchOptions::default()
        }
    }

    /// Run the command under `context`.
    pub fn context(mut self, context: CommandContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Wait at most `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The read models an orchestrator can wait for, by name; more may be
/// added once it is built (a process manager's, which starts over the
/// orchestrator).
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadModels(Arc<RwLock<BTreeMap<String, Progress>>>);

impl ReadModels {
    pub(crate) fn insert(&self, progress: Progress) -> Option<Progress> {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(progress.name().to_owned(), progress)
    }

    /// The first name of `names` that is not registered.
    pub(crate) fn unknown<'a>(&self, names: &'a [String]) -> Option<&'a String> {
        let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
        names.iter().find(|name| !known.contains_key(*name))
    }

    /// Waits until every read model of `names` has seen `position`, within
    /// one shared `timeout`.
    pub(crate) async fn wait_for(
        &self,
        names: &[String],
        position: u64,
        timeout: Duration,
    ) -> Result<(), Behind> {
        let deadline = tokio::time::Instant::from_std(disco_core::clock::deadline_after(timeout));
        let progresses: Vec<Progress> = {
            let known = self.0.read().unwrap_or_else(PoisonError::into_inner);
            names
                .iter()
                .filter_map(|name| known.get(name).cloned())
                .collect()
        };
        for progress in progresses {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            progress.wait_for(position, left).await?;
        }
        Ok(())
    }
}
