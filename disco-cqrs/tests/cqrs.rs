//! The CQRS layer through its public API: routes of several aggregates,
//! validation, typed errors, the repository's snapshots, cache and conflict
//! retries, metadata, upcasting, and given/when/then.

mod support {
    pub mod account;
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use disco::cqrs::testing::given;
use disco::cqrs::{
    Aggregate, BuildError, CommandContext, DispatchError, DispatchOptions, DomainEvent,
    ExecuteError, Metadata, Orchestrator, Repository, Target,
};
use disco::lease::Lease;
use disco::memory::MemoryStore;
use disco::{
    AppendResult, Checkpoint, DeleteMode, EventFilter, EventStore, ExpectedVersion, Limits,
    NewEvent, Notifications, ReadDirection, RecordedEvent, Snapshot, StreamId, StreamInfo, Uuid,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use support::account::{self, Account, AccountCommand, AccountError, AccountEvent, USER};

/// A second aggregate, so routes of two aggregates live side by side.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Tally {
    total: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Counted(i64);

impl DomainEvent for Counted {
    fn event_type(&self) -> &'static str {
        "Counted"
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for Tally {
    const NAME: &'static str = "tally";
    type Command = i64;
    type Event = Counted;
    type Error = Never;
    fn handle(&self, n: i64) -> Result<Vec<Counted>, Never> {
        Ok(vec![Counted(n)])
    }
    fn apply(&mut self, e: &Counted) {
        self.total += e.0;
    }
}

fn two_aggregates(store: Arc<dyn EventStore>) -> Orchestrator {
    Orchestrator::builder(store)
        .aggregate::<Account, _>(|r| {
            r.command("open_account", |p| {
                let user_id = p.uuid("user_id");
                let balance = p.integer("balance");
                Some((
                    Target::New,
                    AccountCommand::Open {
                        user_id: user_id?,
                        balance: balance?,
                    },
                ))
            })
        })
        .aggregate::<Tally, _>(|r| {
            r.command("count", |p| {
                let id = p.string("tally_id");
                let n = p.integer("n");
                Some((Target::Existing(id?), n?))
            })
        })
        .query(
            "total",
            |p| p.string("tally_id"),
            |_id| async { Ok::<_, disco::Error>(0) },
        )
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn routes_of_every_aggregate_work_and_names_are_listed() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = two_aggregates(store.clone());
    assert_eq!(o.commands(), vec!["count", "open_account"]);
    assert_eq!(o.queries(), vec!["total"]);
    let w = o
        .dispatch("open_account", json!({"user_id": USER, "balance": 5}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((w.version, w.state["balance"].as_i64()), (1, Some(5)));
    let t = o
        .dispatch("count", json!({"tally_id": "t1", "n": 3}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let t = o
        .dispatch("count", json!({"tally_id": t.id, "n": 4}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((t.version, t.state["total"].as_i64()), (2, Some(7)));
    assert!(matches!(
        o.dispatch("nope", json!({})).await,
        Err(DispatchError::UnknownCommand(n)) if n == "nope"
    ));
    assert!(matches!(
        o.query("nope", json!({})).await,
        Err(DispatchError::UnknownQuery(n)) if n == "nope"
    ));
    // A typo names the command meant; a name far from all lists them.
    let typo = o.dispatch("cont", json!({})).await;
    assert!(
        matches!(&typo, Err(DispatchError::UnknownCommand(u)) if u.nearest.as_deref() == Some("count")),
        "{typo:?}"
    );
    let far = o.dispatch("zzzzzzzz", json!({})).await;
    let Err(DispatchError::UnknownCommand(far)) = far else {
        panic!("{far:?}");
    };
    assert_eq!(far.known, o.commands());
    assert!(far.to_string().contains("the names are: "), "{far}");
    let duplicate = Orchestrator::builder(store)
        .aggregate::<Tally, _>(|r| r.command("x", |_| None).command("x", |_| None))
        .build();
    assert!(matches!(duplicate, Err(BuildError::Duplicate(n)) if n == "x"));
}

#[tokio::test]
async fn every_message_of_every_field_comes_back_and_nothing_is_written() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let err = o
        .dispatch("open_account", json!({"user_id": 7, "balance": -1}))
        .await;
    let Err(DispatchError::Validation(errors)) = err else {
        panic!("not a validation error: {err:?}");
    };
    assert_eq!(errors["user_id"], vec!["must be a valid UUID string"]);
    assert_eq!(errors["balance"], vec!["must be 0 or more"]);
    let err = o.dispatch("deposit", json!({"amount": 0})).await;
    let Err(DispatchError::Validation(errors)) = err else {
        panic!("not a validation error: {err:?}");
    };
    assert_eq!(errors["account_id"], vec!["is required"]);
    assert_eq!(errors["amount"], vec!["must be greater than 0"]);
    assert!(matches!(
        o.dispatch_async("deposit", json!("text")),
        Err(DispatchError::Validation(_))
    ));
    assert_eq!(store.head_position().await.unwrap_or(99), 0);
}

#[tokio::test]
async fn async_dispatch_gives_the_id_first_and_the_outcome_later() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let pending = o
        .dispatch_async("open_account", json!({"user_id": USER, "balance": 9}))
        .unwrap_or_else(|e| panic!("{e}"));
    let id = pending.id.clone();
    let done = pending.outcome().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.id, id);
    assert_eq!(done.state["balance"], 9);
    let rejected = o
        .dispatch_async("withdraw", json!({"account_id": id, "amount": 10}))
        .unwrap_or_else(|e| panic!("{e}"))
        .outcome()
        .await;
    let Err(DispatchError::Rejected(rejection)) = rejected else {
        panic!("an overdraft was not rejected: {rejected:?}");
    };
    assert!(
        rejection.to_string().contains("insufficient"),
        "{rejection}"
    );
    // The named path keeps the aggregate's typed error.
    assert!(
        matches!(
            rejection.downcast_ref::<AccountError>(),
            Some(AccountError::Overdraft { .. })
        ),
        "{rejection:?}"
    );
}

#[tokio::test]
async fn typed_path_metadata_and_snapshots() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let user: Uuid = USER.parse().unwrap_or_default();
    let done = o
        .execute::<Account>(
            "w1",
            AccountCommand::Open {
                user_id: user,
                balance: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.version, 1);
    for _ in 0..119 {
        o.execute::<Account>("w1", AccountCommand::Deposit { amount: 1 })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let refused = o
        .execute::<Account>("w1", AccountCommand::Withdraw { amount: 1000 })
        .await;
    assert!(matches!(
        refused,
        Err(ExecuteError::Rejected(AccountError::Overdraft {
            balance: 119,
            amount: 1000
        }))
    ));
    let stream = StreamId::new("account-w1").unwrap_or_else(|e| panic!("{e}"));
    let snapshot = store.load_snapshot(&stream).await.ok().flatten();
    assert_eq!(
        snapshot.map(|s| s.version),
        Some(100),
        "snapshot every 50 events"
    );
    // A fresh repository (no cache) loads snapshot + later events.
    let fresh = Repository::<Account>::new(store.clone());
    let (state, version) = fresh.load("w1").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((state.balance, version), (119, 120));
    // Metadata: the command's correlation and causation ids.
    let context = CommandContext::new();
    fresh
        .execute("w1", AccountCommand::Deposit { amount: 1 }, &context)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let last = store
        .read_stream(&stream, u64::MAX, ReadDirection::Backward, 1)
        .await
        .unwrap_or_default();
    let meta: Metadata =
        serde_json::from_slice(&last[0].metadata).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(meta.correlation_id, context.correlation_id);
    assert_eq!(meta.causation_id, context.command_id);
    assert_eq!(meta.schema_version, AccountEvent::SCHEMA_VERSION);
    assert_eq!(last[0].event_type, "Deposited");
}

#[tokio::test]
async fn old_payloads_are_upcast_on_read() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let stream = StreamId::new("account-old").unwrap_or_else(|e| panic!("{e}"));
    let v1 = json!({"Opened": {"user_id": USER, "initial_balance": 42}});
    let meta =
        json!({"schema_version": 1, "correlation_id": Uuid::nil(), "causation_id": Uuid::nil()});
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            vec![NewEvent::new("Opened", v1.to_string().into_bytes())
                .with_metadata(meta.to_string().into_bytes())],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let repo = Repository::<Account>::new(store);
    let (state, version) = repo.load("old").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((state.balance, version), (42, 1));
}

/// Counts `read_stream` calls and can refuse every append as a conflict.
struct Watched {
    inner: MemoryStore,
    stream_reads: AtomicUsize,
    appends: AtomicUsize,
    always_conflict: bool,
}

#[async_trait]
impl EventStore for Watched {
    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> disco::Result<AppendResult> {
        self.appends.fetch_add(1, Ordering::Relaxed);
        if self.always_conflict {
            return Err(disco::Error::WrongExpectedVersion {
                stream: stream.clone(),
                expected,
                actual: 99,
            });
        }
        self.inner.append(stream, expected, events).await
    }
    async fn append_atomic(
        &self,
        parts: Vec<disco::AppendMany>,
    ) -> disco::Result<Vec<AppendResult>> {
        self.inner.append_atomic(parts).await
    }

    async fn append_if(
        &self,
        parts: Vec<disco::AppendMany>,
        condition: &disco::AppendCondition,
    ) -> disco::Result<Vec<AppendResult>> {
        self.inner.append_if(parts, condition).await
    }
    async fn read_query(
        &self,
        query: &disco::Query,
        after: u64,
        limit: usize,
    ) -> disco::Result<disco::QueryRead> {
        self.inner.read_query(query, after, limit).await
    }
    async fn read_stream(
        &self,
        s: &StreamId,
        from: u64,
        d: ReadDirection,
        limit: usize,
    ) -> disco::Result<Vec<RecordedEvent>> {
        self.stream_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read_stream(s, from, d, limit).await
    }
    async fn read_all_filtered(
        &self,
        after: u64,
        limit: usize,
        f: &EventFilter,
    ) -> disco::Result<Vec<RecordedEvent>> {
        self.inner.read_all_filtered(after, limit, f).await
    }
    async fn read_all_backward(
        &self,
        from: u64,
        limit: usize,
    ) -> disco::Result<Vec<RecordedEvent>> {
        self.inner.read_all_backward(from, limit).await
    }
    async fn stream_version(&self, s: &StreamId) -> disco::Result<u64> {
        self.inner.stream_version(s).await
    }
    async fn head_position(&self) -> disco::Result<u64> {
        self.inner.head_position().await
    }
    async fn list_streams(
        &self,
        p: &str,
        a: Option<&StreamId>,
        l: usize,
    ) -> disco::Result<Vec<StreamInfo>> {
        self.inner.list_streams(p, a, l).await
    }
    async fn delete_stream(
        &self,
        s: &StreamId,
        e: ExpectedVersion,
        m: DeleteMode,
    ) -> disco::Result<()> {
        self.inner.delete_stream(s, e, m).await
    }
    async fn save_snapshot(&self, s: &StreamId, v: u64, d: Vec<u8>) -> disco::Result<()> {
        self.inner.save_snapshot(s, v, d).await
    }
    async fn delete_snapshot(&self, s: &StreamId) -> disco::Result<()> {
        self.inner.delete_snapshot(s).await
    }
    async fn load_snapshot(&self, s: &StreamId) -> disco::Result<Option<Snapshot>> {
        self.inner.load_snapshot(s).await
    }
    async fn save_checkpoint(&self, n: &str, p: u64) -> disco::Result<()> {
        self.inner.save_checkpoint(n, p).await
    }
    async fn save_checkpoint_fenced(&self, n: &str, p: u64, t: u64) -> disco::Result<()> {
        self.inner.save_checkpoint_fenced(n, p, t).await
    }
    async fn close(&self) -> disco::Result<()> {
        self.inner.close().await
    }
    async fn load_checkpoint(&self, n: &str) -> disco::Result<Option<u64>> {
        self.inner.load_checkpoint(n).await
    }
    async fn list_checkpoints(&self) -> disco::Result<Vec<Checkpoint>> {
        self.inner.list_checkpoints().await
    }
    async fn try_lease(&self, n: &str, t: Duration) -> disco::Result<Option<Box<dyn Lease>>> {
        self.inner.try_lease(n, t).await
    }
    fn notifications(&self) -> Notifications {
        self.inner.notifications()
    }
    fn limits(&self) -> Limits {
        self.inner.limits()
    }
}

fn watched(inner: MemoryStore, always_conflict: bool) -> Arc<Watched> {
    Arc::new(Watched {
        inner,
        stream_reads: AtomicUsize::new(0),
        appends: AtomicUsize::new(0),
        always_conflict,
    })
}

#[tokio::test]
async fn a_hot_cached_aggregate_does_not_reread_its_stream() {
    let store = watched(MemoryStore::new(), false);
    let repo = Repository::<Tally>::new(store.clone());
    let ctx = CommandContext::new();
    repo.execute("hot", 1, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = store.stream_reads.load(Ordering::Relaxed);
    for _ in 0..200 {
        repo.execute("hot", 1, &ctx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(store.stream_reads.load(Ordering::Relaxed), before);
    let (state, version) = repo.load("hot").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((state.total, version), (201, 201));
}

/// Uncached ids are guessed new while most are: one append and no read
/// each. Existing ones are still decided on their stream: a refusal on the
/// empty state reads it; a command the empty state accepts meets `Exact(0)`
/// and reads it, and such a miss turns the guess off until new ids make up
/// for it.
#[tokio::test]
async fn uncached_ids_are_guessed_new_while_most_are() {
    let store = watched(MemoryStore::new(), false);
    let repo = Repository::<Tally>::new(store.clone());
    let ctx = CommandContext::new();
    for i in 0..5 {
        let done = repo
            .execute(&format!("n{i}"), 2, &ctx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((done.version, done.state.total), (1, 2));
    }
    let reads = |s: &Watched| s.stream_reads.load(Ordering::Relaxed);
    let appends = |s: &Watched| s.appends.load(Ordering::Relaxed);
    assert_eq!(
        (reads(&store), appends(&store)),
        (0, 5),
        "new ids were read"
    );

    // An existing id, unknown to this repository: the empty state accepts
    // the command, the store refuses Exact(0), the stream is read and the
    // command decided on it.
    let other = Repository::<Tally>::new(store.clone());
    for i in 0..3 {
        other
            .execute(&format!("old{i}"), 10, &ctx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (r0, a0) = (reads(&store), appends(&store));
    let done = repo
        .execute("old0", 1, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.version, done.state.total), (2, 11));
    assert_eq!(
        appends(&store) - a0,
        2,
        "the guessed append, then the real one"
    );
    assert!(reads(&store) > r0, "the stream was not read after the miss");
    // Five new ids made up for one miss; a second one turns the guess off:
    // the next uncached id is read first.
    let a0 = appends(&store);
    repo.execute("old1", 1, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(appends(&store) - a0, 2, "the guess was off too early");
    let (r0, a0) = (reads(&store), appends(&store));
    let done = repo
        .execute("old2", 1, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.version, done.state.total), (2, 11));
    assert_eq!(appends(&store) - a0, 1, "guessed after two misses");
    assert!(reads(&store) > r0);
    // New ids met while reading first turn it back on (old2 was a third
    // miss: eight make up for two).
    for i in 0..8 {
        repo.execute(&format!("m{i}"), 1, &ctx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let r0 = reads(&store);
    repo.execute("m-last", 1, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reads(&store), r0, "the guess did not come back");

    // A refusal on the empty state is never trusted: the account exists.
    let accounts = Repository::<Account>::new(store.clone());
    let user: Uuid = USER.parse().unwrap_or_default();
    Repository::<Account>::new(store.clone())
        .execute(
            "acc",
            AccountCommand::Open {
                user_id: user,
                balance: 10,
            },
            &ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = accounts
        .execute("acc", AccountCommand::Deposit { amount: 5 }, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.version, done.state.balance), (2, 15));

    // Off: every uncached id is read.
    let careful = Repository::<Tally>::new(store.clone()).guess_new_ids(false);
    let r0 = reads(&store);
    careful
        .execute("c1", 1, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(reads(&store) > r0);
}

#[tokio::test]
async fn a_conflict_reloads_and_retries_then_gives_up() {
    let shared = MemoryStore::new();
    let a = Repository::<Account>::new(Arc::new(shared.clone()));
    let b = Repository::<Account>::new(Arc::new(shared.clone()));
    let ctx = CommandContext::new();
    let user: Uuid = USER.parse().unwrap_or_default();
    let create = AccountCommand::Open {
        user_id: user,
        balance: 10,
    };
    a.execute("w", create, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // b (another process) deposits behind a's cache.
    b.execute("w", AccountCommand::Deposit { amount: 100 }, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // a's cache says 10: the withdrawal must not be refused on it.
    let done = a
        .execute("w", AccountCommand::Withdraw { amount: 50 }, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.state.balance, done.version), (60, 3));
    // b's cache is stale now: its deposit meets a conflict and is retried.
    let done = b
        .execute("w", AccountCommand::Deposit { amount: 5 }, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.state.balance, done.version), (65, 4));

    let stuck = watched(shared, true);
    let repo = Repository::<Tally>::new(stuck).max_attempts(3);
    let err = repo.execute("t", 1, &ctx).await;
    assert!(
        matches!(err, Err(ExecuteError::Conflict { attempts: 3, .. })),
        "{err:?}"
    );
}

#[test]
fn given_when_then() {
    let user: Uuid = USER.parse().unwrap_or_default();
    let created = AccountEvent::Opened {
        user_id: user,
        balance: 10,
    };
    given::<Account>([created.clone()])
        .when(AccountCommand::Withdraw { amount: 4 })
        .then([AccountEvent::Withdrawn { amount: 4 }]);
    given::<Account>([created.clone()])
        .when(AccountCommand::Withdraw { amount: 11 })
        .then_error(AccountError::Overdraft {
            balance: 10,
            amount: 11,
        });
    given::<Account>([])
        .when(AccountCommand::Deposit { amount: 1 })
        .then_error(AccountError::NotFound);
    given::<Account>([created])
        .when(AccountCommand::Open {
            user_id: user,
            balance: 1,
        })
        .then_error(AccountError::AlreadyOpen);
}

#[tokio::test]
async fn a_command_on_a_new_aggregate_reads_nothing() {
    let store = watched(MemoryStore::new(), false);
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let opened = o
        .dispatch("open_account", json!({"user_id": USER, "balance": 5}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (opened.version, opened.state["balance"].as_i64()),
        (1, Some(5))
    );
    assert_eq!(
        store.stream_reads.load(Ordering::Relaxed),
        0,
        "a new id was read"
    );
}

#[tokio::test]
async fn typed_execute_new_reads_nothing_and_still_meets_an_existing_stream() {
    let store = watched(MemoryStore::new(), false);
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let user: Uuid = USER.parse().unwrap_or_default();
    let open = |balance| AccountCommand::Open {
        user_id: user,
        balance,
    };
    let opened = o
        .execute_new::<Account>("fresh", open(7))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((opened.version, opened.state.balance), (1, 7));
    assert_eq!(
        store.stream_reads.load(Ordering::Relaxed),
        0,
        "a new id was read"
    );
    // The id was not new after all (another process, a restart): the
    // store's Exact(0) refuses the append and the command is decided on the
    // stream as stored.
    let other = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let again = other.execute_new::<Account>("fresh", open(1)).await;
    assert!(
        matches!(
            again,
            Err(ExecuteError::Rejected(AccountError::AlreadyOpen))
        ),
        "{again:?}"
    );
}

#[tokio::test]
async fn execute_new_on_an_existing_aggregate_still_decides_on_the_stream() {
    let store = MemoryStore::new();
    let repo = Repository::<Account>::new(Arc::new(store.clone()));
    let other = Repository::<Account>::new(Arc::new(store.clone()));
    let ctx = CommandContext::new();
    let user: Uuid = USER.parse().unwrap_or_default();
    other
        .execute(
            "taken",
            AccountCommand::Open {
                user_id: user,
                balance: 10,
            },
            &ctx,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Believed new, but it exists: the append at Exact(0) conflicts, the
    // command runs again on the stream as read and is refused there.
    let again = repo
        .execute_new(
            "taken",
            AccountCommand::Open {
                user_id: user,
                balance: 1,
            },
            &ctx,
        )
        .await;
    assert!(
        matches!(
            again,
            Err(ExecuteError::Rejected(AccountError::AlreadyOpen))
        ),
        "{again:?}"
    );
    // A refusal on the assumed empty state is checked on a fresh read.
    let fresh = Repository::<Account>::new(Arc::new(store.clone()));
    let deposit = fresh
        .execute_new("taken", AccountCommand::Deposit { amount: 5 }, &ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((deposit.state.balance, deposit.version), (15, 2));
}

/// A query's own error comes back typed and displayed as it is; a store
/// error stays a store error.
#[tokio::test]
async fn a_query_fails_with_its_own_error_type() {
    #[derive(Debug, PartialEq, thiserror::Error)]
    #[error("no account {0}")]
    struct NoAccount(String);

    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = Orchestrator::builder(store)
        .query(
            "balance",
            |p| p.string("id"),
            |id: String| async move { Err::<i64, _>(NoAccount(id)) },
        )
        .query(
            "broken",
            |_| Some(()),
            |()| async { Err::<i64, _>(disco::Error::Unavailable("down".into())) },
        )
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let failed = o.query("balance", json!({"id": "a-1"})).await;
    let Err(DispatchError::Query(error)) = failed else {
        panic!("not a query error: {failed:?}");
    };
    assert_eq!(error.to_string(), "no account a-1");
    assert_eq!(
        error.downcast_ref::<NoAccount>(),
        Some(&NoAccount("a-1".into()))
    );
    let broken = o.query("broken", json!({})).await;
    assert!(
        matches!(
            broken,
            Err(DispatchError::Store(disco::Error::Unavailable(_)))
        ),
        "{broken:?}"
    );
}

/// A command id the caller chose makes a dispatch idempotent: sent again
/// (an open, a deposit, a withdrawal that would now be refused), it writes
/// nothing and answers the first outcome; the context's metadata is stored
/// with every event, with the command as causation.
#[tokio::test]
async fn the_same_command_id_twice_writes_once_and_answers_the_first_outcome() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let request = |n: u128| {
        DispatchOptions::default().context(
            CommandContext::with_id(Uuid::from_u128(n))
                .with_metadata("user_id", "u-7")
                .with_metadata("request_id", format!("r-{n}")),
        )
    };
    let open = json!({"user_id": USER, "balance": 100});
    let opened = o
        .dispatch_with("open_account", open.clone(), &request(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = o
        .dispatch_with("open_account", open, &request(1))
        .await
        .unwrap_or_else(|e| panic!("the repeated open: {e}"));
    assert_eq!(
        (&again.id, again.version, again.position),
        (&opened.id, opened.version, opened.position),
        "a second account was opened"
    );
    let withdraw = json!({"account_id": opened.id, "amount": 60});
    let first = o
        .dispatch_with("withdraw", withdraw.clone(), &request(2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Sent again, the withdrawal would now be an overdraft: its first
    // outcome answers instead, and nothing is written.
    let second = o
        .dispatch_with("withdraw", withdraw, &request(2))
        .await
        .unwrap_or_else(|e| panic!("the repeated withdrawal: {e}"));
    assert_eq!(
        (second.version, second.position),
        (first.version, first.position)
    );
    assert_eq!(second.state["balance"], 40);
    // A fresh repository (another process, a restart) answers the same.
    let other = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let deposit = json!({"account_id": opened.id, "amount": 5});
    let once = other
        .dispatch_with("deposit", deposit.clone(), &request(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let twice = o
        .dispatch_with("deposit", deposit, &request(3))
        .await
        .unwrap_or_else(|e| panic!("the repeated deposit: {e}"));
    assert_eq!(
        (twice.version, twice.position),
        (once.version, once.position)
    );
    assert_eq!(twice.state["balance"], 45);
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        head + 1
    );
    let events = store
        .read_all(0, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 3, "{events:?}");
    for event in &events {
        let meta: disco::cqrs::Metadata =
            serde_json::from_slice(&event.metadata).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(meta.custom["user_id"], "u-7");
        assert_eq!(event.id, disco::cqrs::event_id(meta.causation_id, 0));
    }
    // A new command id is a new command.
    let third = o
        .dispatch_with(
            "deposit",
            json!({"account_id": opened.id, "amount": 5}),
            &request(4),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third.state["balance"], 50);
}

/// An aggregate id that makes no valid stream id is a validation message on
/// the field that holds it, with every other message, and never shows the
/// internal stream name; nothing is written.
#[tokio::test]
async fn a_bad_aggregate_id_is_a_validation_error_on_its_field() {
    let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
    let o = account::orchestrator(store.clone()).unwrap_or_else(|e| panic!("{e}"));
    let refused = o
        .dispatch("deposit", json!({"account_id": "bad\nid", "amount": 0}))
        .await;
    let Err(DispatchError::Validation(errors)) = refused else {
        panic!("not a validation error: {refused:?}");
    };
    assert_eq!(
        errors["account_id"],
        vec!["must not hold control characters"]
    );
    assert!(errors.contains_key("amount"), "{errors:?}");
    let long = "x".repeat(300);
    let refused = o
        .dispatch("deposit", json!({"account_id": long, "amount": 5}))
        .await;
    let Err(DispatchError::Validation(errors)) = refused else {
        panic!("not a validation error: {refused:?}");
    };
    let message = &errors["account_id"][0];
    assert!(message.starts_with("must be at most"), "{message}");
    assert!(
        !format!("{errors:?}").contains("account-"),
        "the stream name leaked: {errors:?}"
    );
    assert_eq!(
        store
            .head_position()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    // The getter for routes that want the check while decoding.
    let mut p = disco::cqrs::Params::new(json!({"id": ""}));
    assert_eq!(p.aggregate_id::<Account>("id"), None);
    assert_eq!(p.finish().unwrap_err()["id"], vec!["must not be empty"]);
}
