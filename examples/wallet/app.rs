//! The wallet example's domain, read model and console session. `main.rs`
//! runs it; the facade's `tests/wallet_example.rs` runs it end to end.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use disco::cqrs::{
    Aggregate, BuildError, DispatchError, DispatchOptions, DomainEvent, FieldErrors, Orchestrator,
    Params, Target,
};
use disco::progress::Progress;
use disco::projections::sql::{SqlProjection, Statements};
use disco::projections::{
    args, Envelope, HandlerError, Interest, Projection, ProjectionError, ProjectionHandle,
};
use disco::{EventStore, ReadModelDb, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

/// The `wallets` table (wallet, owner, balance), kept by a projection in
/// the store's own database, so a second run reads the first run's rows
/// instead of rebuilding them.
pub struct WalletDirectory;

impl Projection for WalletDirectory {
    type Event = WalletEvent;
    const NAME: &'static str = "wallet-directory";
    const TABLES: &'static [&'static str] = &["wallets"];

    fn interest() -> Interest {
        Interest::aggregate::<Wallet>()
    }
}

impl SqlProjection for WalletDirectory {
    fn setup(&self, sql: &mut Statements) {
        sql.run(
            "CREATE TABLE {wallets} (wallet_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, balance BIGINT NOT NULL)",
            args![],
        )
        .run("CREATE INDEX {wallets}_by_user ON {wallets} (user_id)", args![]);
    }

    fn apply(
        &self,
        event: Envelope<WalletEvent>,
        sql: &mut Statements,
    ) -> Result<(), HandlerError> {
        match event.event {
            WalletEvent::WalletCreated { user_id, balance } => sql.run(
                "INSERT INTO {wallets} (wallet_id, user_id, balance) VALUES ($1, $2, $3)",
                args![event.aggregate_id, user_id, balance],
            ),
            WalletEvent::Deposited { amount } => sql.run(
                "UPDATE {wallets} SET balance = balance + $2 WHERE wallet_id = $1",
                args![event.aggregate_id, amount],
            ),
            WalletEvent::Withdrawn { amount } => sql.run(
                "UPDATE {wallets} SET balance = balance - $2 WHERE wallet_id = $1",
                args![event.aggregate_id, amount],
            ),
        };
        Ok(())
    }
}

/// Starts the projection that keeps the directory.
pub fn start_directory(
    models: &ReadModelDb,
    store: Arc<dyn EventStore>,
) -> Result<ProjectionHandle, ProjectionError> {
    models.projection(WalletDirectory).start(store)
}

/// `list_wallets`: the wallets of `user`, from the `wallets` view.
pub async fn wallets_of(
    models: &ReadModelDb,
    user: Uuid,
) -> Result<Vec<WalletRow>, ProjectionError> {
    models
        .query(
            "SELECT wallet_id, balance FROM wallets WHERE user_id = $1 ORDER BY wallet_id",
            args![user],
        )
        .await
}

// ---- wiring -------------------------------------------------------------

/// The orchestrator of the example: the wallet's commands and the
/// `list_wallets` query over the directory.
pub fn orchestrator(
    store: Arc<dyn EventStore>,
    models: ReadModelDb,
    directory: Progress,
) -> Result<Orchestrator, BuildError> {
    Orchestrator::builder(store)
        .read_model(directory)
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
                    let wallet = p.aggregate_id::<Wallet>("wallet_id");
                    let amount = amount(p, "amount");
                    Some((
                        Target::Existing(wallet?),
                        WalletCommand::Deposit { amount: amount? },
                    ))
                })
                .command("withdraw", |p| {
                    let wallet = p.aggregate_id::<Wallet>("wallet_id");
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
                let models = models.clone();
                async move { wallets_of(&models, user_id).await }
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
    pub validation: FieldErrors,
    pub rejected: String,
    /// Events the directory applied in this run (a second run applies only
    /// its own: nothing is rebuilt).
    pub applied: u64,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The seed library's console session as a program, written to `out`.
pub async fn run(url: &str, out: &mut dyn Write) -> Result<Session, Failure> {
    let store = disco::connect(url).await?;
    let models = disco::open_read_models(&disco::read_models_beside(url), false).await?;
    let directory = start_directory(&models, store.clone())?;
    let app = orchestrator(store.clone(), models, directory.progress())?;
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
            writeln!(out, "  invalid: {}", errors)?;
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
    writeln!(
        out,
        "> dispatch withdraw {params}, strong: returns once {} holds it",
        WalletDirectory::NAME
    )?;
    let strong = DispatchOptions::strong([WalletDirectory::NAME]).timeout(Duration::from_secs(10));
    let withdrawn = app.dispatch_with("withdraw", params, &strong).await?;
    writeln!(
        out,
        "  balance {} (version {}, position {})",
        withdrawn.state["balance"], withdrawn.version, withdrawn.position
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
    session.applied = directory.status().await.applied;
    writeln!(
        out,
        "  (the {} table applied {} events in this run)",
        WalletDirectory::NAME,
        session.applied
    )?;

    directory.stop().await;
    Ok(session)
}
