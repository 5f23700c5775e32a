//! The transfer case's domain: accounts, transfers, and the process
//! manager that debits, credits and completes (three commands a transfer).

use disco_core::RecordedEvent;
use disco_cqrs::process::{events_of, Command, ProcessManager, Route};
use disco_cqrs::{Aggregate, CodecError, DomainEvent};
use serde::{Deserialize, Serialize};

/// An account's balance.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Account {
    balance: i64,
}

/// Moves money in or out, for a transfer.
#[derive(Clone, Debug, PartialEq)]
pub enum AccountCommand {
    /// Takes `amount` out.
    Debit { amount: i64, transfer: String },
    /// Puts `amount` in.
    Credit { amount: i64, transfer: String },
}

/// What happened to an account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum AccountEvent {
    /// Money out.
    Debited { amount: i64, transfer: String },
    /// Money in.
    Credited { amount: i64, transfer: String },
}

impl DomainEvent for AccountEvent {
    fn event_type(&self) -> &'static str {
        match self {
            AccountEvent::Debited { .. } => "Debited",
            AccountEvent::Credited { .. } => "Credited",
        }
    }
}

/// Accounts here never refuse.
#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

impl Aggregate for Account {
    const NAME: &'static str = "account";
    type Command = AccountCommand;
    type Event = AccountEvent;
    type Error = Never;

    fn handle(&self, command: AccountCommand) -> Result<Vec<AccountEvent>, Never> {
        Ok(vec![match command {
            AccountCommand::Debit { amount, transfer } => {
                AccountEvent::Debited { amount, transfer }
            }
            AccountCommand::Credit { amount, transfer } => {
                AccountEvent::Credited { amount, transfer }
            }
        }])
    }

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Debited { amount, .. } => self.balance -= amount,
            AccountEvent::Credited { amount, .. } => self.balance += amount,
        }
    }
}

/// A transfer: started, then completed.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Transfer {
    done: bool,
}

/// Starts or completes a transfer.
#[derive(Clone, Debug, PartialEq)]
pub enum TransferCommand {
    /// From one account to another.
    Start {
        from: String,
        to: String,
        amount: i64,
    },
    /// The money arrived.
    Complete,
}

/// What happened to a transfer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum TransferEvent {
    /// It began.
    Started {
        from: String,
        to: String,
        amount: i64,
    },
    /// It ended.
    Completed,
}

impl DomainEvent for TransferEvent {
    fn event_type(&self) -> &'static str {
        match self {
            TransferEvent::Started { .. } => "Started",
            TransferEvent::Completed => "Completed",
        }
    }
}

impl Aggregate for Transfer {
    const NAME: &'static str = "transfer";
    type Command = TransferCommand;
    type Event = TransferEvent;
    type Error = Never;

    fn handle(&self, command: TransferCommand) -> Result<Vec<TransferEvent>, Never> {
        Ok(vec![match command {
            TransferCommand::Start { from, to, amount } => {
                TransferEvent::Started { from, to, amount }
            }
            TransferCommand::Complete => TransferEvent::Completed,
        }])
    }

    fn apply(&mut self, event: &TransferEvent) {
        self.done = matches!(event, TransferEvent::Completed);
    }
}

/// What the flow reacts to.
#[derive(Clone, Debug)]
pub enum FlowEvent {
    /// A transfer began.
    Started {
        transfer: String,
        from: String,
        to: String,
        amount: i64,
    },
    /// Its debit happened.
    Debited { transfer: String },
    /// Its credit happened.
    Credited { transfer: String },
    /// It completed.
    Completed { transfer: String },
}

/// One transfer's flow.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Flow {
    transfer: String,
    to: String,
    amount: i64,
}

impl ProcessManager for Flow {
    const NAME: &'static str = "flow";
    type Event = FlowEvent;

    fn decode(event: &RecordedEvent) -> Option<Result<FlowEvent, CodecError>> {
        if let Some(decoded) = events_of::<Transfer>(event) {
            return Some(decoded.map(|e| match (e.event, e.aggregate_id) {
                (TransferEvent::Started { from, to, amount }, transfer) => FlowEvent::Started {
                    transfer,
                    from,
                    to,
                    amount,
                },
                (TransferEvent::Completed, transfer) => FlowEvent::Completed { transfer },
            }));
        }
        Some(events_of::<Account>(event)?.map(|e| match e.event {
            AccountEvent::Debited { transfer, .. } => FlowEvent::Debited { transfer },
            AccountEvent::Credited { transfer, .. } => FlowEvent::Credited { transfer },
        }))
    }

    fn route(event: &FlowEvent) -> Route {
        match event {
            FlowEvent::Started { transfer, .. } => Route::Start(transfer.clone()),
            FlowEvent::Debited { transfer } | FlowEvent::Credited { transfer } => {
                Route::Continue(transfer.clone())
            }
            FlowEvent::Completed { transfer } => Route::Stop(transfer.clone()),
        }
    }

    fn handle(&self, event: &FlowEvent) -> Vec<Command> {
        match event {
            FlowEvent::Started {
                transfer,
                from,
                amount,
                ..
            } => vec![Command::to::<Account>(
                from.clone(),
                AccountCommand::Debit {
                    amount: *amount,
                    transfer: transfer.clone(),
                },
            )],
            FlowEvent::Debited { .. } => vec![Command::to::<Account>(
                self.to.clone(),
                AccountCommand::Credit {
                    amount: self.amount,
                    transfer: self.transfer.clone(),
                },
            )],
            FlowEvent::Credited { .. } => vec![Command::to::<Transfer>(
                self.transfer.clone(),
                TransferCommand::Complete,
            )],
            FlowEvent::Completed { .. } => Vec::new(),
        }
    }

    fn apply(&mut self, event: &FlowEvent) {
        if let FlowEvent::Started {
            transfer,
            to,
            amount,
            ..
        } = event
        {
            self.transfer = transfer.clone();
            self.to = to.clone();
            self.amount = *amount;
        }
    }
}
