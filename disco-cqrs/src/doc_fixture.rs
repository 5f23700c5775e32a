//! The aggregate the documentation's examples share, so each example shows
//! only what it is about (hidden from the docs).

use serde::{Deserialize, Serialize};

use crate::{Aggregate, DomainEvent};

/// A counter that refuses to pass 100.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counter {
    /// Its value.
    pub value: u64,
}

/// Its one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Added(pub u64);

impl DomainEvent for Added {
    fn event_type(&self) -> &'static str {
        "Added"
    }
}

/// Its refusal.
#[derive(Debug, PartialEq, thiserror::Error)]
#[error("too big")]
pub struct TooBig;

impl Aggregate for Counter {
    const NAME: &'static str = "counter";
    type Command = u64;
    type Event = Added;
    type Error = TooBig;

    fn handle(&self, n: u64) -> Result<Vec<Added>, TooBig> {
        if self.value.saturating_add(n) > 100 {
            return Err(TooBig);
        }
        Ok(vec![Added(n)])
    }

    fn apply(&mut self, Added(n): &Added) {
        self.value = self.value.saturating_add(*n);
    }
}
