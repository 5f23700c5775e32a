//! The library's two aggregates: a book (its copies, and who has them) and
//! a member (how many books they may hold, and which they hold). A loan
//! touches both; the loan flow (`flow.rs`) keeps them in step.

use std::collections::{BTreeMap, BTreeSet};

use disco::cqrs::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

// ---- book -------------------------------------------------------------------

/// A book: its title, how many copies the library has, and the loans that
/// hold them (loan -> member).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Book {
    pub title: String,
    pub copies: u32,
    pub lent: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BookCommand {
    Add {
        title: String,
        copies: u32,
    },
    Lend {
        loan: String,
        member: String,
        days: u32,
    },
    TakeBack {
        loan: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BookEvent {
    Added {
        title: String,
        copies: u32,
    },
    Lent {
        loan: String,
        member: String,
        days: u32,
    },
    TakenBack {
        loan: String,
    },
}

impl DomainEvent for BookEvent {
    fn event_type(&self) -> &'static str {
        match self {
            BookEvent::Added { .. } => "BookAdded",
            BookEvent::Lent { .. } => "BookLent",
            BookEvent::TakenBack { .. } => "BookTakenBack",
        }
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum BookError {
    #[error("the book is already in the catalog")]
    AlreadyAdded,
    #[error("there is no such book")]
    NotFound,
    #[error("every copy is on loan")]
    NoCopyLeft,
    #[error("the book is not on this loan")]
    NotLent,
}

impl Aggregate for Book {
    const NAME: &'static str = "book";
    type Command = BookCommand;
    type Event = BookEvent;
    type Error = BookError;

    fn handle(&self, command: BookCommand) -> Result<Vec<BookEvent>, BookError> {
        let exists = self.copies > 0;
        match command {
            BookCommand::Add { .. } if exists => Err(BookError::AlreadyAdded),
            BookCommand::Add { title, copies } => Ok(vec![BookEvent::Added { title, copies }]),
            _ if !exists => Err(BookError::NotFound),
            BookCommand::Lend { .. } if self.lent.len() >= self.copies as usize => {
                Err(BookError::NoCopyLeft)
            }
            BookCommand::Lend { loan, member, days } => {
                Ok(vec![BookEvent::Lent { loan, member, days }])
            }
            BookCommand::TakeBack { loan } if !self.lent.contains_key(&loan) => {
                Err(BookError::NotLent)
            }
            BookCommand::TakeBack { loan } => Ok(vec![BookEvent::TakenBack { loan }]),
        }
    }

    fn apply(&mut self, event: &BookEvent) {
        match event {
            BookEvent::Added { title, copies } => {
                self.title = title.clone();
                self.copies = *copies;
            }
            BookEvent::Lent { loan, member, .. } => {
                self.lent.insert(loan.clone(), member.clone());
            }
            BookEvent::TakenBack { loan } => {
                self.lent.remove(loan);
            }
        }
    }
}

// ---- member -----------------------------------------------------------------

/// A member: their name, how many books they may hold at once, and the
/// loans they hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub limit: u32,
    pub loans: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MemberCommand {
    Join { name: String, limit: u32 },
    Borrow { loan: String, book: String },
    Return { loan: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MemberEvent {
    Joined { name: String, limit: u32 },
    Borrowed { loan: String, book: String },
    Returned { loan: String },
}

impl DomainEvent for MemberEvent {
    fn event_type(&self) -> &'static str {
        match self {
            MemberEvent::Joined { .. } => "MemberJoined",
            MemberEvent::Borrowed { .. } => "MemberBorrowed",
            MemberEvent::Returned { .. } => "MemberReturned",
        }
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum MemberError {
    #[error("the member has already joined")]
    AlreadyJoined,
    #[error("there is no such member")]
    NotFound,
    #[error("the member holds {limit} books already, their limit")]
    LimitReached { limit: u32 },
    #[error("the member does not hold this loan")]
    NotBorrowed,
}

impl Aggregate for Member {
    const NAME: &'static str = "member";
    type Command = MemberCommand;
    type Event = MemberEvent;
    type Error = MemberError;

    fn handle(&self, command: MemberCommand) -> Result<Vec<MemberEvent>, MemberError> {
        let joined = self.limit > 0;
        match command {
            MemberCommand::Join { .. } if joined => Err(MemberError::AlreadyJoined),
            MemberCommand::Join { name, limit } => Ok(vec![MemberEvent::Joined { name, limit }]),
            _ if !joined => Err(MemberError::NotFound),
            MemberCommand::Borrow { .. } if self.loans.len() >= self.limit as usize => {
                Err(MemberError::LimitReached { limit: self.limit })
            }
            MemberCommand::Borrow { loan, book } => Ok(vec![MemberEvent::Borrowed { loan, book }]),
            MemberCommand::Return { loan } if !self.loans.contains(&loan) => {
                Err(MemberError::NotBorrowed)
            }
            MemberCommand::Return { loan } => Ok(vec![MemberEvent::Returned { loan }]),
        }
    }

    fn apply(&mut self, event: &MemberEvent) {
        match event {
            MemberEvent::Joined { name, limit } => {
                self.name = name.clone();
                self.limit = *limit;
            }
            MemberEvent::Borrowed { loan, .. } => {
                self.loans.insert(loan.clone());
            }
            MemberEvent::Returned { loan } => {
                self.loans.remove(loan);
            }
        }
    }
}
