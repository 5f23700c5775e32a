//! The bank's two aggregates: an account, and a transfer between two
//! accounts. Money moves only through a transfer, whose process manager
//! (`flow.rs`) debits, credits, and refunds on refusal.

use disco::cqrs::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

// ---- account --------------------------------------------------------------

/// An account: open or not, closed or not, and its balance.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub open: bool,
    pub closed: bool,
    pub balance: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AccountCommand {
    Open { initial: i64 },
    Debit { amount: i64, transfer: String },
    Credit { amount: i64, transfer: String },
    Refund { amount: i64, transfer: String },
    Close,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum AccountEvent {
    Opened { initial: i64 },
    Debited { amount: i64, transfer: String },
    Credited { amount: i64, transfer: String },
    Refunded { amount: i64, transfer: String },
    Closed,
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> &'static str {
        match self {
            AccountEvent::Opened { .. } => "AccountOpened",
            AccountEvent::Debited { .. } => "AccountDebited",
            AccountEvent::Credited { .. } => "AccountCredited",
            AccountEvent::Refunded { .. } => "AccountRefunded",
            AccountEvent::Closed => "AccountClosed",
        }
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum AccountError {
    #[error("the account is already open")]
    AlreadyOpen,
    #[error("there is no such account")]
    NotOpen,
    #[error("the account is closed")]
    Closed,
    #[error("insufficient funds: the balance is {balance}, the debit {amount}")]
    InsufficientFunds { balance: i64, amount: i64 },
}

impl Aggregate for Account {
    const NAME: &'static str = "account";
    const SNAPSHOT_EVERY: u64 = 100;
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = AccountError;

    fn handle(&self, command: AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        use AccountCommand::*;
        match command {
            Open { .. } if self.open => Err(AccountError::AlreadyOpen),
            Open { initial } => Ok(vec![AccountEvent::Opened { initial }]),
            _ if !self.open => Err(AccountError::NotOpen),
            // A refund returns what a transfer took: a closed account takes it too.
            Refund { amount, transfer } => Ok(vec![AccountEvent::Refunded { amount, transfer }]),
            _ if self.closed => Err(AccountError::Closed),
            Debit { amount, .. } if amount > self.balance => Err(AccountError::InsufficientFunds {
                balance: self.balance,
                amount,
            }),
            Debit { amount, transfer } => Ok(vec![AccountEvent::Debited { amount, transfer }]),
            Credit { amount, transfer } => Ok(vec![AccountEvent::Credited { amount, transfer }]),
            Close => Ok(vec![AccountEvent::Closed]),
        }
    }

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened { initial } => {
                self.open = true;
                self.balance = *initial;
            }
            AccountEvent::Debited { amount, .. } => self.balance -= amount,
            AccountEvent::Credited { amount, .. } | AccountEvent::Refunded { amount, .. } => {
                self.balance += amount
            }
            AccountEvent::Closed => self.closed = true,
        }
    }
}

// ---- transfer -------------------------------------------------------------

/// Where a transfer stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    #[default]
    None,
    Started,
    Completed,
    Failed,
}

/// A transfer of `amount` from one account to another.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub status: Status,
    pub from: String,
    pub to: String,
    pub amount: i64,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TransferCommand {
    Start {
        from: String,
        to: String,
        amount: i64,
    },
    Complete,
    Fail {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TransferEvent {
    Started {
        from: String,
        to: String,
        amount: i64,
    },
    Completed,
    Failed {
        reason: String,
    },
}

impl DomainEvent for TransferEvent {
    fn event_type(&self) -> &'static str {
        match self {
            TransferEvent::Started { .. } => "TransferStarted",
            TransferEvent::Completed => "TransferCompleted",
            TransferEvent::Failed { .. } => "TransferFailed",
        }
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum TransferError {
    #[error("the transfer was already started")]
    AlreadyStarted,
    #[error("the transfer is not running")]
    NotRunning,
}

impl Aggregate for Transfer {
    const NAME: &'static str = "transfer";
    type Command = TransferCommand;
    type Event = TransferEvent;
    type Error = TransferError;

    fn handle(&self, command: TransferCommand) -> Result<Vec<TransferEvent>, TransferError> {
        match command {
            TransferCommand::Start { .. } if self.status != Status::None => {
                Err(TransferError::AlreadyStarted)
            }
            TransferCommand::Start { from, to, amount } => {
                Ok(vec![TransferEvent::Started { from, to, amount }])
            }
            _ if self.status != Status::Started => Err(TransferError::NotRunning),
            TransferCommand::Complete => Ok(vec![TransferEvent::Completed]),
            TransferCommand::Fail { reason } => Ok(vec![TransferEvent::Failed { reason }]),
        }
    }

    fn apply(&mut self, event: &TransferEvent) {
        match event {
            TransferEvent::Started { from, to, amount } => {
                self.status = Status::Started;
                self.from = from.clone();
                self.to = to.clone();
                self.amount = *amount;
            }
            TransferEvent::Completed => self.status = Status::Completed,
            TransferEvent::Failed { reason } => {
                self.status = Status::Failed;
                self.reason = Some(reason.clone());
            }
        }
    }
}
