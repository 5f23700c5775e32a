//! Given / when / then for aggregates, without a store.

use std::fmt::Debug;

use crate::aggregate::Aggregate;

/// An aggregate after the `given` events.
///
/// ```
/// # use disco::cqrs::doc_fixture::{Added, Counter, TooBig};
/// use disco::cqrs::testing::given;
/// given::<Counter>([Added(60)]).when(30).then([Added(30)]);
/// given::<Counter>([Added(60)]).when(50).then_error(TooBig);
/// ```
pub struct Given<A: Aggregate> {
    state: A,
}

/// Starts a case from the aggregate's history.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let mut state = A::default();
    for event in events {
        state.apply(&event);
    }
    Given { state }
}

/// What the command decided.
pub struct When<A: Aggregate> {
    state: A,
    decided: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Given<A> {
    /// Runs `command` on the state.
    pub fn when(self, command: A::Command) -> When<A> {
        let decided = self.state.handle(command);
        When {
            state: self.state,
            decided,
        }
    }

    /// The state after the given events.
    pub fn state(&self) -> &A {
        &self.state
    }
}

impl<A: Aggregate> When<A>
where
    A::Event: PartialEq + Debug,
    A::Error: Debug,
{
    /// Asserts the command produced exactly `expected`; returns the state
    /// after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.decided {
            Ok(events) => {
                assert_eq!(events, expected, "the command produced other events");
                let mut state = self.state;
                for event in &events {
                    state.apply(event);
                }
                state
            }
            Err(error) => {
                panic!("expected events {expected:?}, the command was refused: {error:?}")
            }
        }
    }

    /// Asserts the command was refused with `expected`.
    #[track_caller]
    pub fn then_error(self, expected: A::Error)
    where
        A::Error: PartialEq,
    {
        match self.decided {
            Ok(events) => {
                panic!("expected the refusal {expected:?}, the command produced {events:?}")
            }
            Err(error) => assert_eq!(error, expected, "the command was refused otherwise"),
        }
    }
}
