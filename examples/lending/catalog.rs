//! The library's read models, each written once for SQLite and PostgreSQL:
//! the catalog (a row per book, a row per loan) and the member cards (one
//! document per member).

use disco::projections::sql::{DocumentProjection, SqlProjection, Statements};
use disco::projections::{args, Envelope, HandlerError, Interest, Projection};
use serde::{Deserialize, Serialize};

use super::domain::{Book, BookEvent, Member, MemberEvent};

/// The catalog: every book with its copies and how many are on loan, and
/// every loan with its state.
pub struct Catalog;

impl Projection for Catalog {
    type Event = BookEvent;
    const NAME: &'static str = "catalog";
    const TABLES: &'static [&'static str] = &["books", "loans"];

    fn interest() -> Interest {
        Interest::aggregate::<Book>()
    }
}

impl SqlProjection for Catalog {
    fn setup(&self, sql: &mut Statements) {
        sql.run(
            "CREATE TABLE {books} (book_id TEXT PRIMARY KEY, title TEXT NOT NULL,
                                   copies BIGINT NOT NULL, on_loan BIGINT NOT NULL)",
            args![],
        )
        .run(
            "CREATE TABLE {loans} (loan_id TEXT PRIMARY KEY, book_id TEXT NOT NULL,
                                   member_id TEXT NOT NULL, days BIGINT NOT NULL, open BIGINT NOT NULL)",
            args![],
        )
        .run("CREATE INDEX {loans}_by_member ON {loans} (member_id)", args![]);
    }

    fn apply(&self, e: Envelope<BookEvent>, sql: &mut Statements) -> Result<(), HandlerError> {
        match e.event {
            BookEvent::Added { title, copies } => sql.run(
                "INSERT INTO {books} (book_id, title, copies, on_loan) VALUES ($1, $2, $3, 0)",
                args![e.aggregate_id, title, copies],
            ),
            BookEvent::Lent { loan, member, days } => sql
                .run(
                    "UPDATE {books} SET on_loan = on_loan + 1 WHERE book_id = $1",
                    args![e.aggregate_id.clone()],
                )
                .run(
                    "INSERT INTO {loans} (loan_id, book_id, member_id, days, open) VALUES ($1, $2, $3, $4, 1)",
                    args![loan, e.aggregate_id, member, days],
                ),
            BookEvent::TakenBack { loan } => sql
                .run(
                    "UPDATE {books} SET on_loan = on_loan - 1 WHERE book_id = $1",
                    args![e.aggregate_id],
                )
                .run("UPDATE {loans} SET open = 0 WHERE loan_id = $1", args![loan]),
        };
        Ok(())
    }
}

/// A book on the shelf, as `available_books` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Available {
    pub book_id: String,
    pub title: String,
    pub available: i64,
}

/// The books with a copy on the shelf, by title.
pub const AVAILABLE_BOOKS: &str = "SELECT book_id, title, copies - on_loan AS available
     FROM books WHERE copies > on_loan ORDER BY title, book_id";

/// A member's card: the latest state of the member, one document each.
pub struct MemberCards;

/// What a member's card shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub name: String,
    pub limit: u32,
    pub holding: u32,
    pub borrowed_ever: u32,
}

impl Projection for MemberCards {
    type Event = MemberEvent;
    const NAME: &'static str = "member_cards";
    const TABLES: &'static [&'static str] = &["member_cards"];

    fn interest() -> Interest {
        Interest::aggregate::<Member>()
    }
}

impl DocumentProjection for MemberCards {
    type Document = Card;

    fn apply(
        &self,
        card: &mut Option<Card>,
        e: &Envelope<MemberEvent>,
    ) -> Result<(), HandlerError> {
        let card = card.get_or_insert_with(Card::default);
        match &e.event {
            MemberEvent::Joined { name, limit } => {
                card.name = name.clone();
                card.limit = *limit;
            }
            MemberEvent::Borrowed { .. } => {
                card.holding += 1;
                card.borrowed_ever += 1;
            }
            MemberEvent::Returned { .. } => card.holding = card.holding.saturating_sub(1),
        }
        Ok(())
    }
}
