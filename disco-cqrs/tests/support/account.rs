//! The domain the CQRS tests run on: an account that is opened with a
//! balance, takes deposits and refuses overdrafts; snapshots every 50
//! events; its `Opened` event is at schema version 2 (version 1 called the
//! balance `initial_balance`).

use std::sync::Arc;

use disco::cqrs::{Aggregate, BuildError, DomainEvent, Orchestrator, Params, Target};
use disco::{EventStore, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user id the tests share.
pub const USER: &str = "0190f5a0-0000-7000-8000-00000000d15c";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub user_id: Option<Uuid>,
    pub balance: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AccountCommand {
    Open { user_id: Uuid, balance: i64 },
    Deposit { amount: i64 },
    Withdraw { amount: i64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AccountEvent {
    Opened { user_id: Uuid, balance: i64 },
    Deposited { amount: i64 },
    Withdrawn { amount: i64 },
}

impl DomainEvent for AccountEvent {
    const SCHEMA_VERSION: u32 = 2;

    fn event_type(&self) -> &'static str {
        match self {
            AccountEvent::Opened { .. } => "Opened",
            AccountEvent::Deposited { .. } => "Deposited",
            AccountEvent::Withdrawn { .. } => "Withdrawn",
        }
    }

    fn upcast(event_type: &str, version: u32, mut payload: Value) -> Result<Value, String> {
        if event_type == "Opened" && version < 2 {
            let opened = payload
                .get_mut("Opened")
                .and_then(Value::as_object_mut)
                .ok_or("a version-1 Opened without its fields")?;
            let balance = opened
                .remove("initial_balance")
                .ok_or("a version-1 Opened without initial_balance")?;
            opened.insert("balance".into(), balance);
        }
        Ok(payload)
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum AccountError {
    #[error("the account is open already")]
    AlreadyOpen,
    #[error("there is no such account")]
    NotFound,
    #[error("insufficient funds: the balance is {balance}, the withdrawal {amount}")]
    Overdraft { balance: i64, amount: i64 },
}

impl Aggregate for Account {
    const NAME: &'static str = "account";
    const SNAPSHOT_EVERY: u64 = 50;
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;

    fn handle(&self, command: AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        let open = self.user_id.is_some();
        match command {
            AccountCommand::Open { .. } if open => Err(AccountError::AlreadyOpen),
            AccountCommand::Open { user_id, balance } => {
                Ok(vec![AccountEvent::Opened { user_id, balance }])
            }
            _ if !open => Err(AccountError::NotFound),
            AccountCommand::Deposit { amount } => Ok(vec![AccountEvent::Deposited { amount }]),
            AccountCommand::Withdraw { amount } if amount > self.balance => {
                Err(AccountError::Overdraft {
                    balance: self.balance,
                    amount,
                })
            }
            AccountCommand::Withdraw { amount } => Ok(vec![AccountEvent::Withdrawn { amount }]),
        }
    }

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened { user_id, balance } => {
                self.user_id = Some(*user_id);
                self.balance = *balance;
            }
            AccountEvent::Deposited { amount } => self.balance += amount,
            AccountEvent::Withdrawn { amount } => self.balance -= amount,
        }
    }
}

fn positive(p: &mut Params, field: &str) -> Option<i64> {
    let n = p.integer(field)?;
    p.check(field, n > 0, "must be greater than 0").then_some(n)
}

/// The account's routes: `open_account`, `deposit`, `withdraw`.
pub fn orchestrator(store: Arc<dyn EventStore>) -> Result<Orchestrator, BuildError> {
    Orchestrator::builder(store)
        .aggregate::<Account, _>(|routes| {
            routes
                .command("open_account", |p| {
                    let user_id = p.uuid("user_id");
                    let balance = p.integer("balance");
                    if let Some(b) = balance {
                        p.check("balance", b >= 0, "must be 0 or more");
                    }
                    Some((
                        Target::New,
                        AccountCommand::Open {
                            user_id: user_id?,
                            balance: balance?,
                        },
                    ))
                })
                .command("deposit", |p| {
                    let account = p.aggregate_id::<Account>("account_id");
                    let amount = positive(p, "amount");
                    Some((
                        Target::Existing(account?),
                        AccountCommand::Deposit { amount: amount? },
                    ))
                })
                .command("withdraw", |p| {
                    let account = p.aggregate_id::<Account>("account_id");
                    let amount = positive(p, "amount");
                    Some((
                        Target::Existing(account?),
                        AccountCommand::Withdraw { amount: amount? },
                    ))
                })
        })
        .build()
}
