//! The command benchmarks' aggregate and orchestrator: a counter bumped by
//! name through `dispatch`.

use std::sync::Arc;

use disco_core::EventStore;
use disco_cqrs::{Aggregate, BuildError, DomainEvent, Orchestrator, Target};
use serde::{Deserialize, Serialize};

/// A counter; each command adds one event.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    value: u64,
}

/// The counter's one event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bumped {
    by: u64,
}

impl DomainEvent for Bumped {
    fn event_type(&self) -> &'static str {
        "Bumped"
    }
}

/// The counter never refuses.
#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

impl Aggregate for Counter {
    const NAME: &'static str = "counter";
    type Command = u64;
    type Event = Bumped;
    type Error = Never;

    fn handle(&self, by: u64) -> Result<Vec<Bumped>, Never> {
        Ok(vec![Bumped { by }])
    }

    fn apply(&mut self, event: &Bumped) {
        self.value += event.by;
    }
}

/// `bump {counter_id, by}` on a counter the caller names, and `start {by}`
/// on a new counter whose id the orchestrator makes.
pub fn orchestrator(store: Arc<dyn EventStore>) -> Result<Orchestrator, BuildError> {
    Orchestrator::builder(store)
        .aggregate::<Counter, _>(|routes| {
            routes
                .command("bump", |p| {
                    let id = p.string("counter_id");
                    let by = p.integer("by");
                    Some((Target::Existing(id?), u64::try_from(by?).ok()?))
                })
                .command("start", |p| {
                    let by = p.integer("by");
                    Some((Target::New, u64::try_from(by?).ok()?))
                })
        })
        .build()
}
