//! The bank example's wiring and console session. `main.rs` runs it; the
//! facade's `tests/bank_example.rs` runs it on every store, and kills it in
//! the middle of transfers.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use disco::consumer::{ConsumerHandle, ErrorPolicy};
use disco::cqrs::process::ProcessManagerConsumer;
use disco::cqrs::{
    BuildError, CommandContext, DispatchError, DispatchOptions, FieldErrors, Metadata,
    Orchestrator, Target,
};
use disco::progress::Progress;
use disco::projections::Projection;
use disco::{EventStore, ReadModelDb, RecordedEvent, Uuid};
use serde::Deserialize;
use serde_json::json;

use crate::balances::{self, Balances};
use crate::domain::{Account, AccountCommand, Status, Transfer, TransferCommand};
use crate::flow::TransferFlow;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// `open_account`'s parameters.
#[derive(Deserialize)]
struct OpenAccount {
    initial: i64,
}

/// `close_account`'s parameters.
#[derive(Deserialize)]
struct CloseAccount {
    account_id: String,
}

/// `transfer`'s parameters.
#[derive(Deserialize)]
struct TransferRequest {
    from: String,
    to: String,
    amount: i64,
}

/// The orchestrator: the accounts' and transfers' commands, decoded by
/// serde, and the `balance` query over the read model.
pub fn orchestrator(
    store: Arc<dyn EventStore>,
    models: ReadModelDb,
    balances: Progress,
) -> Result<Orchestrator, BuildError> {
    Orchestrator::builder(store)
        .read_model(balances)
        .aggregate::<Account, _>(|routes| {
            routes
                .decoded("open_account", |open: OpenAccount, p| {
                    p.check("initial", open.initial >= 0, "must be 0 or more");
                    Some((
                        Target::New,
                        AccountCommand::Open {
                            initial: open.initial,
                        },
                    ))
                })
                .decoded("close_account", |close: CloseAccount, _| {
                    Some((Target::Existing(close.account_id), AccountCommand::Close))
                })
        })
        .aggregate::<Transfer, _>(|routes| {
            routes.validated(
                "transfer",
                |t: TransferRequest, p| {
                    p.check("amount", t.amount > 0, "must be greater than 0");
                    p.check(
                        "to",
                        t.to != t.from,
                        "must not be the account it comes from",
                    );
                    Some((
                        Target::New,
                        TransferCommand::Start {
                            from: t.from,
                            to: t.to,
                            amount: t.amount,
                        },
                    ))
                },
                |t: TransferRequest, checks| async move {
                    checks.exists::<Account>("from", &t.from).await?;
                    checks.exists::<Account>("to", &t.to).await?;
                    Ok(())
                },
            )
        })
        .query(
            "balance",
            |p| p.aggregate_id::<Account>("account_id"),
            move |account| {
                let models = models.clone();
                async move { balances::balance_of(&models, account).await }
            },
        )
        .build()
}

/// Everything the bank runs: the store, the orchestrator, the transfer
/// flow and the balances projection.
pub struct Bank {
    pub store: Arc<dyn EventStore>,
    pub app: Arc<Orchestrator>,
    pub flow: ConsumerHandle,
    pub balances: disco::projections::ProjectionHandle,
}

impl Bank {
    /// Opens the store at `url`, its read models, and starts the flow and
    /// the projection.
    pub async fn start(url: &str) -> Result<Bank, Failure> {
        let store = disco::connect(url).await?;
        let models = disco::open_read_models(&disco::read_models_beside(url), false).await?;
        let balances = balances::start(&models, store.clone())?;
        let app = Arc::new(orchestrator(store.clone(), models, balances.progress())?);
        let flow = ProcessManagerConsumer::<TransferFlow>::new()
            .error_policy(ErrorPolicy::default().retries(10))
            .start(app.clone())?;
        Ok(Bank {
            store,
            app,
            flow,
            balances,
        })
    }

    /// Stops the flow and the projection.
    pub async fn stop(self) {
        self.flow.stop().await;
        self.balances.stop().await;
    }

    /// Waits until each of `transfers` has completed or failed.
    pub async fn settled(
        &self,
        transfers: &[String],
        timeout: Duration,
    ) -> Result<Vec<Transfer>, Failure> {
        let repository = self
            .app
            .repository::<Transfer>()
            .ok_or("the transfer aggregate is not registered")?;
        let deadline = Instant::now() + timeout;
        let mut settled = Vec::with_capacity(transfers.len());
        for id in transfers {
            loop {
                let (transfer, _) = repository.load(id).await?;
                if matches!(transfer.status, Status::Completed | Status::Failed) {
                    settled.push(transfer);
                    break;
                }
                if Instant::now() > deadline {
                    let status = self.flow.status().await;
                    return Err(format!(
                        "transfer {id} is still {:?}; the flow: {status:?}",
                        transfer.status
                    )
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(settled)
    }
}

/// Every event's causation chain, followed back to the command that
/// started it: the id of that root command for each event (an event whose
/// causation is the command that wrote it is a root's).
pub fn causation_roots(events: &[RecordedEvent]) -> Result<BTreeMap<Uuid, Uuid>, String> {
    let by_id: BTreeMap<Uuid, &RecordedEvent> = events.iter().map(|e| (e.id, e)).collect();
    let mut roots = BTreeMap::new();
    for event in events {
        let mut at = event;
        for _ in 0..=events.len() {
            let meta: Metadata = serde_json::from_slice(&at.metadata)
                .map_err(|e| format!("event {} has no disco metadata: {e}", at.id))?;
            if Some(meta.causation_id) == meta.command_id {
                roots.insert(event.id, meta.causation_id);
                break;
            }
            at = by_id.get(&meta.causation_id).ok_or_else(|| {
                format!(
                    "event {} ({}) names a cause {} that is no stored event nor its own command",
                    at.id, at.event_type, meta.causation_id
                )
            })?;
        }
        if !roots.contains_key(&event.id) {
            return Err(format!("the causation chain of {} loops", event.id));
        }
    }
    Ok(roots)
}

/// What a session did, for its test.
#[derive(Debug, Default)]
pub struct Session {
    pub accounts: BTreeMap<String, String>,
    pub transfers: Vec<(String, Status, Option<String>)>,
    pub balances: BTreeMap<String, i64>,
    pub invalid: FieldErrors,
    pub unknown_account: FieldErrors,
    pub same_request: (String, String),
    pub roots: BTreeMap<Uuid, Uuid>,
    pub dispatched: Vec<Uuid>,
}

/// The console session, written to `out`.
pub async fn run(url: &str, out: &mut dyn Write) -> Result<Session, Failure> {
    let bank = Bank::start(url).await?;
    let app = bank.app.clone();
    let mut session = Session::default();
    writeln!(out, "disco bank example, events in {url}")?;
    writeln!(out, "commands: {}", app.commands().join(", "))?;
    writeln!(out)?;

    // Every command this session sends carries a command id it chose and
    // the request's metadata, stored with every event it causes.
    let context = || CommandContext::with_id(Uuid::now_v7()).with_metadata("user_id", "teller-1");
    let mut dispatched = Vec::new();
    let mut send = |name: &'static str, params: serde_json::Value, context: CommandContext| {
        dispatched.push(context.command_id);
        let app = app.clone();
        async move {
            app.dispatch_with(name, params, &DispatchOptions::default().context(context))
                .await
        }
    };

    for (name, initial) in [("alice", 100), ("bob", 50), ("carol", 10), ("dave", 0)] {
        let done = send("open_account", json!({"initial": initial}), context()).await?;
        writeln!(out, "> open_account {name} with {initial}: {}", done.id)?;
        session.accounts.insert(name.to_owned(), done.id);
    }
    let id = |name: &str| session.accounts[name].clone();
    let (alice, bob, carol, dave) = (id("alice"), id("bob"), id("carol"), id("dave"));
    send("close_account", json!({"account_id": dave}), context()).await?;
    writeln!(out, "> close_account dave")?;

    let mut transfers = Vec::new();
    for (from, to, amount, what) in [
        (&alice, &bob, 30, "alice -> bob 30"),
        (
            &carol,
            &alice,
            500,
            "carol -> alice 500 (more than carol has)",
        ),
        (
            &alice,
            &dave,
            20,
            "alice -> dave 20 (dave's account is closed)",
        ),
    ] {
        let done = send(
            "transfer",
            json!({"from": from, "to": to, "amount": amount}),
            context(),
        )
        .await?;
        writeln!(out, "> transfer {what}: transfer {}", done.id)?;
        transfers.push(done.id);
    }

    // The same request twice (the same command id): one transfer.
    let request = context();
    let params = json!({"from": bob, "to": carol, "amount": 5});
    let first = send("transfer", params.clone(), request.clone()).await?;
    let again = send("transfer", params, request).await?;
    writeln!(
        out,
        "> transfer bob -> carol 5, sent twice with one command id: {} and {}",
        first.id, again.id
    )?;
    session.same_request = (first.id.clone(), again.id.clone());
    transfers.push(first.id);

    let params = json!({"from": 5, "amount": "lots", "colour": "red"});
    match app.dispatch("transfer", params.clone()).await {
        Err(DispatchError::Validation(errors)) => {
            writeln!(out, "> transfer {params}\n  invalid: {}", errors)?;
            session.invalid = errors;
        }
        other => return Err(format!("an invalid transfer was not refused: {other:?}").into()),
    }
    // The route's own check and the store lookup answer together.
    let params = json!({"from": alice, "to": "nobody", "amount": -1});
    match app.dispatch("transfer", params.clone()).await {
        Err(DispatchError::Validation(errors)) => {
            writeln!(out, "> transfer -1 to nobody\n  invalid: {}", errors)?;
            session.unknown_account = errors;
        }
        other => return Err(format!("a transfer to no account was not refused: {other:?}").into()),
    }

    writeln!(
        out,
        "\nthe transfer flow debits, credits, and refunds on refusal:"
    )?;
    session.dispatched = dispatched;
    let settled = bank.settled(&transfers, Duration::from_secs(30)).await?;
    for (id, transfer) in transfers.iter().zip(&settled) {
        let why = transfer
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        writeln!(out, "  transfer {id}: {:?}{why}", transfer.status)?;
        session
            .transfers
            .push((id.clone(), transfer.status, transfer.reason.clone()));
    }

    let head = bank.store.head_position().await?;
    app.wait_for(&[Balances::NAME], head, Duration::from_secs(30))
        .await?;
    writeln!(out, "\nbalances (the {} read model):", Balances::NAME)?;
    for (name, account) in &session.accounts {
        let answer = app.query("balance", json!({"account_id": account})).await?;
        let balance = answer.as_i64().ok_or("a balance is missing")?;
        writeln!(out, "  {name:<6} {balance}")?;
        session.balances.insert(name.clone(), balance);
    }
    writeln!(out, "  total  {}", session.balances.values().sum::<i64>())?;

    let events = bank.store.read_all(0, usize::MAX).await?;
    session.roots = causation_roots(&events)?;
    writeln!(
        out,
        "\nevery one of the {} events leads back to a command this or an earlier session sent",
        events.len()
    )?;
    bank.stop().await;
    Ok(session)
}
