//! The wallet example's domain, read model and console session. `main.rs`
//! runs it; the facade's `tests/wallet_example.rs` runs it end to end.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use disco::consumer::{Consumer, ConsumerHandle, Handler, HandlerError};
use disco::cqrs::{
    decode, Aggregate, BuildError, DispatchError, DomainEvent, Orchestrator, Params, Target,
};
use disco::{EventFilter, EventStore, RecordedEvent, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::watch;

// ---- the domain -------------------------------------------------------

/// A wallet: whose it is and what is in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Wallet {
    pub user_id: Option<Uuid>,
    pub balance: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WalletCommand {
    Create { user_id: Uuid, balance: i64 },
    Deposit { amount: i64 },
    Withdraw { amount: i64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WalletEvent {
    WalletCreated { user_id: Uuid, balance: i64 },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}

impl DomainEvent for WalletEvent {
    /// Version 1 of `WalletCreated` called the balance `initial_balance`.
    const SCHEMA_VERSION: u32 = 2;

    fn event_type(&self) -> &'static str {
        match self {
            WalletEvent::WalletCreated { .. } => "WalletCreated",
            WalletEvent::Deposited { .. } => "Deposited",
            WalletEvent::Withdrawn { .. } => "Withdrawn",
        }
    }

    fn upcast(event_type: &str, version: u32, mut payload: Value) -> Result<Value, String> {
        if event_type == "WalletCreated" && version < 2 {
            let created = payload
                .get_mut("WalletCreated")
                .and_then(Value::as_object_mut)
                .ok_or("a version-1 WalletCreated without its fields")?;
            let balance = created
                .remove("initial_balance")
                .ok_or("a version-1 WalletCreated without initial_balance")?;
            created.insert("balance".into(), balance);
        }
        Ok(payload)
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum WalletError {
    #[error("the wallet already exists")]
    AlreadyExists,
    #[error("there is no such wallet")]
    NotFound,
    #[error("insufficient funds: the balance is {balance}, the withdrawal {amount}")]
    Overdraft { balance: i64, amount: i64 },
}

impl Aggregate for Wallet {
    const NAME: &'static str = "wallet";
    const SNAPSHOT_EVERY: u64 = 50;
    type Command = WalletCommand;
    type Event = WalletEvent;
    type Error = WalletError;

    fn handle(&self, command: WalletCommand) -> Result<Vec<WalletEvent>, WalletError> {
        let exists = self.user_id.is_some();
        match command {
            WalletCommand::Create { .. } if exists => Err(WalletError::AlreadyExists),
            WalletCommand::Create { user_id, balance } => {
                Ok(vec![WalletEvent::WalletCreated { user_id, balance }])
            }
            _ if !exists => Err(WalletError::NotFound),
            WalletCommand::Deposit { amount } => Ok(vec![WalletEvent::Deposited { amount }]),
            WalletCommand::Withdraw { amount } if amount > self.balance => {
                Err(WalletError::Overdraft {
                    balance: self.balance,
                    amount,
                })
            }
            WalletCommand::Withdraw { amount } => Ok(vec![WalletEvent::Withdrawn { amount }]),
        }
    }

    fn apply(&mut self, event: &WalletEvent) {
        match event {
            WalletEvent::WalletCreated { user_id, balance } => {
                self.user_id = Some(*user_id);
                self.balance = *balance;
            }
            WalletEvent::Deposited { amount } => self.balance += amount,
            WalletEvent::Withdrawn { amount } => self.balance -= amount,
        }
    }
}

/// A positive amount of the field `field`.
fn amount(p: &mut Params, field: &str) -> Option<i64> {
    let n = p.integer(field)?;
    p.check(field, n > 0, "must be greater than 0").then_some(n)
}

// ---- the read model -----------------------------------------------------

/// One row of `list_wallets`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalletRow {
    pub wallet_id: String,
    pub balance: i64,
}

/// Wallets by user, kept by a consumer. It lives in memory, so it is
/// rebuilt from the start of the store each time the program starts.
#[derive(Default)]
pub struct WalletDirectory {
    by_user: Mutex<HashMap<Uuid, BTreeMap<String, i64>>>,
    owner: Mutex<HashMap<String, Uuid>>,
    position: watch::Sender<u64>,
}

impl WalletDirectory {
    pub const CONSUMER: &'static str = "wallet-directory";

    pub fn wallets_of(&self, user: Uuid) -> Vec<WalletRow> {
        let by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        by_user
            .get(&user)
            .map(|wallets| {
                wallets
                    .iter()
                    .map(|(id, balance)| WalletRow {
                        wallet_id: id.clone(),
                        balance: *balance,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until the directory has handled `position` (read your writes).
    pub async fn caught_up_to(&self, position: u64) -> bool {
        let mut seen = self.position.subscribe();
        tokio::time::timeout(Duration::from_secs(10), seen.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Starts the consumer that keeps the directory, from the beginning.
    pub async fn start(
        self: &Arc<Self>,
        store: Arc<dyn EventStore>,
    ) -> Result<ConsumerHandle, disco::Error> {
        store.save_checkpoint(Self::CONSUMER, 0).await?;
        Consumer::new(Self::CONSUMER, self.clone())
            .filter(EventFilter::default().with_stream_prefix("wallet-"))
            .checkpoint_every(1000, Duration::from_secs(1))
            .start(store)
    }
}

#[async_trait::async_trait]
impl Handler for WalletDirectory {
    async fn handle(&self, event: &RecordedEvent) -> Result<(), HandlerError> {
        let (domain, _) = decode::<WalletEvent>(event)?;
        let wallet_id = event
            .stream_id
            .as_str()
            .trim_start_matches("wallet-")
            .to_owned();
        {
            let mut owner = self.owner.lock().unwrap_or_else(PoisonError::into_inner);
            let mut by_user = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
            match domain {
                WalletEvent::WalletCreated { user_id, balance } => {
                    owner.insert(wallet_id.clone(), user_id);
                    by_user
                        .entry(user_id)
                        .or_default()
                        .insert(wallet_id, balance);
                }
                WalletEvent::Deposited { amount } | WalletEvent::Withdrawn { amount } => {
                    let sign = if matches!(domain, WalletEvent::Deposited { .. }) {
                        1
                    } else {
                        -1
                    };
                    if let Some(user) = owner.get(&wallet_id) {
                        if let Some(balance) = by_user.entry(*user).or_default().get_mut(&wallet_id)
                        {
                            *balance += sign * amount;
                        }
                    }
                }
            }
        }
        self.position.send_replace(event.position);
        Ok(())
    }
}

// ---- wiring -------------------------------------------------------------

/// The orchestrator of the example: the wallet's commands and the
/// `list_wallets` query over the directory.
pub fn orchestrator(
    store: Arc<dyn EventStore>,
    directory: Arc<WalletDirectory>,
) -> Result<Orchestrator, BuildError> {
    Orchestrator::builder(store)
        .aggregate::<Wallet, _>(|routes| {
            routes
                .command("create_wallet", |p| {
                    let user_id = p.uuid("user_id");
                    let balance = p.integer("balance");
                    if let Some(b) = balance {
                        p.check("balance", b >= 0, "must be 0 or more");
                    }
                    Some((
                        Target::New,
                        WalletCommand::Create {
                            user_id: user_id?,
                            balance: balance?,
                        },
                    ))
                })
                .command("deposit", |p| {
                    let wallet = p.string("wallet_id");
                    let amount = amount(p, "amount");
                    Some((
                        Target::Existing(wallet?),
                        WalletCommand::Deposit { amount: amount? },
                    ))
                })
                .command("withdraw", |p| {
                    let wallet = p.string("wallet_id");
                    let amount = amount(p, "amount");
                    Some((
                        Target::Existing(wallet?),
                        WalletCommand::Withdraw { amount: amount? },
                    ))
                })
        })
        .query(
            "list_wallets",
            |p| p.uuid("user_id"),
            move |user_id| {
                let directory = directory.clone();
                async move { Ok(directory.wallets_of(user_id)) }
            },
        )
        .build()
}

/// The user of the console session: the same in every run, so a second run
/// lists the first run's wallets too.
pub const DEMO_USER: &str = "0190f5a0-0000-7000-8000-00000000d15c";

/// What a session did, for its test.
#[derive(Debug, Default)]
pub struct Session {
    pub created: Vec<String>,
    pub listed: Vec<WalletRow>,
    pub validation: BTreeMap<String, Vec<String>>,
    pub rejected: String,
}

fn show_errors(errors: &BTreeMap<String, Vec<String>>) -> String {
    errors
        .iter()
        .map(|(field, messages)| format!("{field}: {}", messages.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The seed library's console session as a program, written to `out`.
pub async fn run(url: &str, out: &mut dyn Write) -> Result<Session, Failure> {
    let store = disco::connect(url).await?;
    let directory = Arc::new(WalletDirectory::default());
    let consumer = directory.start(store.clone()).await?;
    let app = orchestrator(store.clone(), directory.clone())?;
    let user: Uuid = DEMO_USER.parse()?;
    let mut session = Session::default();

    writeln!(out, "disco wallet example, events in {url}")?;
    writeln!(out, "commands: {}", app.commands().join(", "))?;
    writeln!(out, "queries:  {}", app.queries().join(", "))?;
    writeln!(out)?;

    let params = json!({"user_id": DEMO_USER, "balance": 100});
    writeln!(out, "> dispatch create_wallet {params}")?;
    let first = app.dispatch("create_wallet", params).await?;
    writeln!(
        out,
        "  created wallet {} (version {}), balance {}",
        first.id, first.version, first.state["balance"]
    )?;
    session.created.push(first.id.clone());

    let params = json!({"user_id": DEMO_USER, "balance": 20});
    writeln!(out, "> dispatch create_wallet {params}, async")?;
    let pending = app.dispatch_async("create_wallet", params)?;
    writeln!(out, "  accepted at once: wallet {}", pending.id)?;
    let second = pending.outcome().await?;
    writeln!(
        out,
        "  then done: version {}, balance {}",
        second.version, second.state["balance"]
    )?;
    session.created.push(second.id.clone());

    let params = json!({"user_id": "not-a-uuid", "balance": "ten"});
    writeln!(out, "> dispatch create_wallet {params}")?;
    match app.dispatch("create_wallet", params).await {
        Err(DispatchError::Validation(errors)) => {
            writeln!(out, "  invalid: {}", show_errors(&errors))?;
            session.validation = errors;
        }
        other => return Err(format!("an invalid command was not refused: {other:?}").into()),
    }

    let params = json!({"wallet_id": first.id, "amount": 25});
    writeln!(out, "> dispatch deposit {params}")?;
    let deposited = app.dispatch("deposit", params).await?;
    writeln!(
        out,
        "  balance {} (version {})",
        deposited.state["balance"], deposited.version
    )?;

    let params = json!({"wallet_id": first.id, "amount": 40});
    writeln!(out, "> dispatch withdraw {params}")?;
    let withdrawn = app.dispatch("withdraw", params).await?;
    writeln!(
        out,
        "  balance {} (version {})",
        withdrawn.state["balance"], withdrawn.version
    )?;

    let params = json!({"wallet_id": first.id, "amount": 1000});
    writeln!(out, "> dispatch withdraw {params}")?;
    match app.dispatch("withdraw", params).await {
        Err(DispatchError::Rejected(why)) => {
            writeln!(out, "  rejected: {why}")?;
            session.rejected = why.to_string();
        }
        other => return Err(format!("an overdraft was not rejected: {other:?}").into()),
    }

    if !directory
        .caught_up_to(withdrawn.position.max(second.position))
        .await
    {
        return Err("the read model did not catch up within 10 s".into());
    }
    let params = json!({"user_id": user});
    writeln!(out, "> query list_wallets {params}")?;
    let listed: Vec<WalletRow> = serde_json::from_value(app.query("list_wallets", params).await?)?;
    writeln!(
        out,
        "  {} wallets (this run and earlier ones):",
        listed.len()
    )?;
    for row in &listed {
        writeln!(out, "    {}  balance {}", row.wallet_id, row.balance)?;
    }
    session.listed = listed;

    consumer.stop().await;
    Ok(session)
}
