//! [`Command`]: a typed command a process manager decides, for any
//! registered aggregate, comparable in tests and run through the
//! orchestrator.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

use disco_core::AppendMany;

use crate::aggregate::{Aggregate, CommandContext};
use crate::errors::Rejection;
use crate::orchestrator::{BoxFuture, DispatchError, Orchestrator};
use crate::repository::ExecuteError;

/// How a dispatched command ended, short of a failure to retry.
pub(crate) enum Ran {
    /// Done (or done before: the same command id ran already).
    Done,
    /// The aggregate refused it.
    Refused(Rejection),
}

type Payload = Arc<dyn Any + Send + Sync>;
type RunFn = fn(
    Arc<Orchestrator>,
    String,
    Payload,
    CommandContext,
    Option<AppendMany>,
) -> BoxFuture<Result<(Ran, bool), DispatchError>>;

/// A command for aggregate `A` with id `id`, as a process manager decides
/// it ([`Command::to`]).
///
/// ```
/// use disco::cqrs::{doc_fixture::Counter, process::Command};
/// let add = Command::to::<Counter>("c-1", 5);
/// assert_eq!(add, Command::to::<Counter>("c-1", 5));
/// assert_ne!(add, Command::to::<Counter>("c-1", 6));
/// assert_eq!(add.command::<Counter>(), Some(&5));
/// assert_eq!((add.aggregate(), add.id()), ("counter", "c-1"));
/// ```
#[derive(Clone)]
pub struct Command {
    aggregate: &'static str,
    id: String,
    payload: Payload,
    describe: String,
    same: fn(&dyn Any, &dyn Any) -> bool,
    run: RunFn,
}

impl Command {
    /// `command` for the aggregate `A` with `id`. The aggregate's command
    /// type must be `Debug + PartialEq` (derive both): a process manager's
    /// decisions are compared in tests ([`given_process`](crate::testing::given_process))
    /// and shown in its log and refusal records.
    pub fn to<A>(id: impl Into<String>, command: A::Command) -> Command
    where
        A: Aggregate + Clone,
        A::Command: Debug + PartialEq,
    {
        Command {
            aggregate: A::NAME,
            id: id.into(),
            describe: format!("{command:?}"),
            payload: Arc::new(command),
            same: same_command::<A>,
            run: run_command::<A>,
        }
    }

    /// The aggregate's name.
    pub fn aggregate(&self) -> &'static str {
        self.aggregate
    }

    /// The aggregate's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The command, if it is one of `A`'s.
    pub fn command<A: Aggregate>(&self) -> Option<&A::Command> {
        if self.aggregate != A::NAME {
            return None;
        }
        self.payload.downcast_ref::<A::Command>()
    }

    /// Runs it through `orchestrator` under `context`, with `along`
    /// appended atomically with its events; the flag says whether `along`
    /// was written.
    pub(crate) fn run(
        &self,
        orchestrator: Arc<Orchestrator>,
        context: CommandContext,
        along: Option<AppendMany>,
    ) -> BoxFuture<Result<(Ran, bool), DispatchError>> {
        (self.run)(
            orchestrator,
            self.id.clone(),
            self.payload.clone(),
            context,
            along,
        )
    }
}

fn same_command<A: Aggregate>(a: &dyn Any, b: &dyn Any) -> bool
where
    A::Command: PartialEq,
{
    matches!(
        (a.downcast_ref::<A::Command>(), b.downcast_ref::<A::Command>()),
        (Some(a), Some(b)) if a == b
    )
}

fn run_command<A: Aggregate + Clone>(
    orchestrator: Arc<Orchestrator>,
    id: String,
    payload: Payload,
    context: CommandContext,
    along: Option<AppendMany>,
) -> BoxFuture<Result<(Ran, bool), DispatchError>> {
    Box::pin(async move {
        let command = payload
            .downcast_ref::<A::Command>()
            .cloned()
            .ok_or_else(|| {
                DispatchError::Lost(format!("a command for {} holds another type", A::NAME))
            })?;
        match orchestrator
            .execute_along::<A>(&id, command, context, along)
            .await
        {
            Ok((_, written)) => Ok((Ran::Done, written)),
            Err(ExecuteError::Rejected(error)) => Ok((Ran::Refused(Rejection::new(error)), false)),
            Err(other) => Err(other.into()),
        }
    })
}

impl PartialEq for Command {
    fn eq(&self, other: &Self) -> bool {
        self.aggregate == other.aggregate
            && self.id == other.id
            && (self.same)(&*self.payload, &*other.payload)
    }
}

impl Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}: {}", self.aggregate, self.id, self.describe)
    }
}
