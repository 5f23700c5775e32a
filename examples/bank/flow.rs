//! The transfer process manager: on `TransferStarted` it debits the source;
//! on the debit it credits the target; on the credit it completes the
//! transfer. A refused debit fails the transfer; a refused credit refunds
//! the source, then fails the transfer.

use disco::cqrs::process::{events_of, Command, ProcessManager, Route};
use disco::cqrs::CodecError;
use disco::{EventFilter, RecordedEvent};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Account, AccountCommand, AccountEvent, Transfer, TransferCommand, TransferEvent,
};

/// What the flow reacts to, with the transfer each event is about.
#[derive(Clone, Debug, PartialEq)]
pub enum FlowEvent {
    Started {
        transfer: String,
        from: String,
        to: String,
        amount: i64,
    },
    Debited {
        transfer: String,
    },
    Credited {
        transfer: String,
    },
    Ended {
        transfer: String,
    },
}

/// One transfer's flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferFlow {
    pub transfer: String,
    pub from: String,
    pub to: String,
    pub amount: i64,
    pub debited: bool,
    pub credited: bool,
}

impl ProcessManager for TransferFlow {
    const NAME: &'static str = "transfer_flow";
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
                (TransferEvent::Completed | TransferEvent::Failed { .. }, transfer) => {
                    FlowEvent::Ended { transfer }
                }
            }));
        }
        match events_of::<Account>(event)?.map(|e| e.event) {
            Err(e) => Some(Err(e)),
            Ok(AccountEvent::Debited { transfer, .. }) => Some(Ok(FlowEvent::Debited { transfer })),
            Ok(AccountEvent::Credited { transfer, .. }) => {
                Some(Ok(FlowEvent::Credited { transfer }))
            }
            Ok(_) => None,
        }
    }

    fn route(event: &FlowEvent) -> Route {
        match event {
            FlowEvent::Started { transfer, .. } => Route::Start(transfer.clone()),
            FlowEvent::Debited { transfer } | FlowEvent::Credited { transfer } => {
                Route::Continue(transfer.clone())
            }
            FlowEvent::Ended { transfer } => Route::Stop(transfer.clone()),
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
            FlowEvent::Credited { .. } => {
                vec![Command::to::<Transfer>(
                    self.transfer.clone(),
                    TransferCommand::Complete,
                )]
            }
            FlowEvent::Ended { .. } => Vec::new(),
        }
    }

    fn apply(&mut self, event: &FlowEvent) {
        match event {
            FlowEvent::Started {
                transfer,
                from,
                to,
                amount,
            } => {
                self.transfer = transfer.clone();
                self.from = from.clone();
                self.to = to.clone();
                self.amount = *amount;
            }
            FlowEvent::Debited { .. } => self.debited = true,
            FlowEvent::Credited { .. } => self.credited = true,
            FlowEvent::Ended { .. } => {}
        }
    }

    fn refused(&self, command: &Command, reason: &str) -> Vec<Command> {
        let fail = Command::to::<Transfer>(
            self.transfer.clone(),
            TransferCommand::Fail {
                reason: reason.to_owned(),
            },
        );
        match command.command::<Account>() {
            Some(AccountCommand::Credit { .. }) => vec![
                Command::to::<Account>(
                    self.from.clone(),
                    AccountCommand::Refund {
                        amount: self.amount,
                        transfer: self.transfer.clone(),
                    },
                ),
                fail,
            ],
            Some(AccountCommand::Debit { .. }) => vec![fail],
            _ => Vec::new(),
        }
    }

    fn filter() -> EventFilter {
        EventFilter::default().with_event_types([
            "TransferStarted",
            "TransferCompleted",
            "TransferFailed",
            "AccountDebited",
            "AccountCredited",
        ])
    }
}
