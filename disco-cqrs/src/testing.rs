//! Given / when / then for aggregates and process managers, without a
//! store.
//!
//! Assertions for tests: a failed expectation panics, as `assert!` does.
#![allow(clippy::panic)]

use std::fmt::Debug;

use crate::aggregate::Aggregate;
use crate::process::{Command, ProcessManager};

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

/// A process manager after the `given` events, for given / when / then
/// without a store.
///
/// ```
/// use disco::cqrs::doc_fixture::{Added, Counter};
/// use disco::cqrs::process::{Command, ProcessManager, Route};
/// use disco::cqrs::testing::given_process;
/// # #[derive(Clone, Default, serde::Serialize, serde::Deserialize)] struct Mirror { seen: u64 }
/// # impl ProcessManager for Mirror {
/// #     const NAME: &'static str = "mirror"; type Event = Added;
/// #     fn decode(e: &disco::RecordedEvent) -> Option<Result<Added, disco::cqrs::CodecError>> { disco::cqrs::process::events_of::<Counter>(e).map(|r| r.map(|e| e.event)) }
/// #     fn route(_: &Added) -> Route { Route::Start("m".into()) }
/// #     fn handle(&self, Added(n): &Added) -> Vec<Command> { vec![Command::to::<Counter>("b", 2 * n)] }
/// #     fn apply(&mut self, _: &Added) { self.seen += 1; }
/// # }
/// let after = given_process::<Mirror>([Added(1)])
///     .when(Added(3))
///     .then([Command::to::<Counter>("b", 6)]);
/// assert_eq!(after.seen, 2);
/// ```
pub struct GivenProcess<P: ProcessManager> {
    state: P,
}

/// Starts a process manager case from the events it has seen.
pub fn given_process<P: ProcessManager>(
    events: impl IntoIterator<Item = P::Event>,
) -> GivenProcess<P> {
    let mut state = P::default();
    for event in events {
        state.apply(&event);
    }
    GivenProcess { state }
}

impl<P: ProcessManager> GivenProcess<P> {
    /// Lets the process manager react to `event`.
    pub fn when(self, event: P::Event) -> WhenProcess<P> {
        let commands = self.state.handle(&event);
        let mut after = self.state;
        after.apply(&event);
        WhenProcess { after, commands }
    }

    /// The state after the given events.
    pub fn state(&self) -> &P {
        &self.state
    }
}

/// What a process manager decided for an event.
pub struct WhenProcess<P: ProcessManager> {
    after: P,
    commands: Vec<Command>,
}

impl<P: ProcessManager> WhenProcess<P> {
    /// Asserts the event called for exactly `expected`; returns the state
    /// after the event.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = Command>) -> P {
        let expected: Vec<Command> = expected.into_iter().collect();
        assert_eq!(
            self.commands, expected,
            "the event called for other commands"
        );
        self.after
    }

    /// Asserts that `refused`, refused for `reason`, is made up for by
    /// exactly `expected`; returns the state after the event.
    #[track_caller]
    pub fn then_on_refusal(
        self,
        refused: &Command,
        reason: &str,
        expected: impl IntoIterator<Item = Command>,
    ) -> P {
        let expected: Vec<Command> = expected.into_iter().collect();
        assert_eq!(
            self.after.refused(refused, reason),
            expected,
            "the refusal was made up for otherwise"
        );
        self.after
    }
}
