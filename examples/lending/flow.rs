//! The loan flow: a process manager with one instance per loan (not per
//! book: a book has many loans over time). A book lent starts the loan and
//! has the member borrow it; a member over their limit refuses, and the
//! flow makes up for it by taking the book back. The book taken back ends
//! the loan (`Route::Stop`), and, if the member held it, has them return it.

use disco::cqrs::process::{events_of, Command, ProcessManager, Route};
use disco::cqrs::CodecError;
use disco::{EventFilter, RecordedEvent};
use serde::{Deserialize, Serialize};

use super::domain::{Book, BookCommand, BookEvent, Member, MemberCommand, MemberEvent};

/// What the flow reacts to, each with its loan.
#[derive(Clone, Debug, PartialEq)]
pub enum LoanEvent {
    Lent {
        loan: String,
        book: String,
        member: String,
    },
    Borrowed {
        loan: String,
    },
    TakenBack {
        loan: String,
    },
}

/// One loan, as the flow knows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoanFlow {
    pub book: String,
    pub member: String,
    /// The member holds the book (their borrow was accepted).
    pub borrowed: bool,
}

impl ProcessManager for LoanFlow {
    const NAME: &'static str = "loan_flow";
    type Event = LoanEvent;

    fn decode(event: &RecordedEvent) -> Option<Result<LoanEvent, CodecError>> {
        if let Some(book) = events_of::<Book>(event) {
            return Some(book.map(|e| match e.event {
                BookEvent::Lent { loan, member, .. } => Some(LoanEvent::Lent {
                    loan,
                    book: e.aggregate_id,
                    member,
                }),
                BookEvent::TakenBack { loan } => Some(LoanEvent::TakenBack { loan }),
                BookEvent::Added { .. } => None,
            }))
            .and_then(Result::transpose);
        }
        events_of::<Member>(event)?
            .map(|e| match e.event {
                MemberEvent::Borrowed { loan, .. } => Some(LoanEvent::Borrowed { loan }),
                _ => None,
            })
            .transpose()
    }

    fn route(event: &LoanEvent) -> Route {
        match event {
            LoanEvent::Lent { loan, .. } => Route::Start(loan.clone()),
            LoanEvent::Borrowed { loan } => Route::Continue(loan.clone()),
            LoanEvent::TakenBack { loan } => Route::Stop(loan.clone()),
        }
    }

    fn handle(&self, event: &LoanEvent) -> Vec<Command> {
        match event {
            LoanEvent::Lent {
                loan, book, member, ..
            } => vec![Command::to::<Member>(
                member.clone(),
                MemberCommand::Borrow {
                    loan: loan.clone(),
                    book: book.clone(),
                },
            )],
            LoanEvent::Borrowed { .. } => Vec::new(),
            LoanEvent::TakenBack { loan } if self.borrowed => vec![Command::to::<Member>(
                self.member.clone(),
                MemberCommand::Return { loan: loan.clone() },
            )],
            // Taken back because the member refused: nothing to return.
            LoanEvent::TakenBack { .. } => Vec::new(),
        }
    }

    fn apply(&mut self, event: &LoanEvent) {
        match event {
            LoanEvent::Lent { book, member, .. } => {
                self.book = book.clone();
                self.member = member.clone();
            }
            LoanEvent::Borrowed { .. } => self.borrowed = true,
            LoanEvent::TakenBack { .. } => {}
        }
    }

    /// A member who refused the book (over their limit) does not get it:
    /// the book is taken back, which ends the loan.
    fn refused(&self, command: &Command, _reason: &str) -> Vec<Command> {
        match command.command::<Member>() {
            Some(MemberCommand::Borrow { loan, .. }) => vec![Command::to::<Book>(
                self.book.clone(),
                BookCommand::TakeBack { loan: loan.clone() },
            )],
            _ => Vec::new(),
        }
    }

    fn filter() -> EventFilter {
        EventFilter::default().with_event_types(["BookLent", "BookTakenBack", "MemberBorrowed"])
    }
}
