//! The lending service's wiring and console session. `main.rs` runs it;
//! the facade's `tests/lending_example.rs` runs it on SQLite and PostgreSQL.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use disco::consumer::{ConsumerHandle, ErrorPolicy};
use disco::cqrs::process::ProcessManagerConsumer;
use disco::cqrs::{BuildError, DispatchError, DispatchOptions, FieldErrors, Orchestrator, Target};
use disco::projections::{args, ProjectionHandle};
use disco::{EventStore, ReadModelDb, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::catalog::{Available, Card, Catalog, MemberCards, AVAILABLE_BOOKS};
use crate::domain::{Book, BookCommand, Member, MemberCommand};
use crate::flow::LoanFlow;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// `add_book`'s parameters.
#[derive(Deserialize)]
struct AddBook {
    title: String,
    copies: u32,
}

/// `join`'s parameters.
#[derive(Deserialize)]
struct Join {
    name: String,
    limit: u32,
}

/// `borrow`'s parameters.
#[derive(Deserialize)]
struct Borrow {
    book_id: String,
    member_id: String,
    days: u32,
}

/// `return_book`'s parameters.
#[derive(Deserialize)]
struct ReturnBook {
    book_id: String,
    loan_id: String,
}

/// An open loan, as `loans_of` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Loan {
    pub loan_id: String,
    pub book_id: String,
    pub days: i64,
}

/// The orchestrator: the books' and members' commands, and the queries
/// over the read models (the same code for either database).
pub fn orchestrator(
    store: Arc<dyn EventStore>,
    models: ReadModelDb,
) -> Result<Orchestrator, BuildError> {
    let (shelf, loans, cards) = (models.clone(), models.clone(), models);
    Orchestrator::builder(store)
        .aggregate::<Book, _>(|routes| {
            routes
                .decoded("add_book", |add: AddBook, p| {
                    p.check("title", !add.title.trim().is_empty(), "must not be empty");
                    p.check("copies", add.copies > 0, "must be at least 1");
                    let (title, copies) = (add.title, add.copies);
                    Some((Target::New, BookCommand::Add { title, copies }))
                })
                .validated(
                    "borrow",
                    |borrow: Borrow, p| {
                        p.check(
                            "days",
                            (1..=60).contains(&borrow.days),
                            "must be from 1 to 60",
                        );
                        let lend = BookCommand::Lend {
                            loan: Uuid::now_v7().to_string(),
                            member: borrow.member_id,
                            days: borrow.days,
                        };
                        Some((Target::Existing(borrow.book_id), lend))
                    },
                    |borrow: Borrow, checks| async move {
                        checks.exists::<Book>("book_id", &borrow.book_id).await?;
                        checks
                            .exists::<Member>("member_id", &borrow.member_id)
                            .await?;
                        Ok(())
                    },
                )
                .decoded("return_book", |back: ReturnBook, _| {
                    let take_back = BookCommand::TakeBack { loan: back.loan_id };
                    Some((Target::Existing(back.book_id), take_back))
                })
        })
        .aggregate::<Member, _>(|routes| {
            routes.decoded("join", |join: Join, p| {
                p.check("name", !join.name.trim().is_empty(), "must not be empty");
                p.check(
                    "limit",
                    (1..=10).contains(&join.limit),
                    "must be from 1 to 10",
                );
                let (name, limit) = (join.name, join.limit);
                Some((Target::New, MemberCommand::Join { name, limit }))
            })
        })
        .query(
            "available_books",
            |_| Some(()),
            move |()| {
                let shelf = shelf.clone();
                async move { shelf.query::<Available>(AVAILABLE_BOOKS, args![]).await }
            },
        )
        .query(
            "loans_of",
            |p| p.aggregate_id::<Member>("member_id"),
            move |member| {
                let loans = loans.clone();
                async move {
                    let sql = "SELECT loan_id, book_id, days FROM loans
                               WHERE member_id = $1 AND open = 1 ORDER BY loan_id";
                    loans.query::<Loan>(sql, args![member]).await
                }
            },
        )
        .query(
            "member_card",
            |p| p.aggregate_id::<Member>("member_id"),
            move |member| {
                let cards = cards.clone();
                async move { cards.document::<Card>("member_cards", &member).await }
            },
        )
        .build()
}

/// Everything the library runs: the store, the orchestrator, the loan
/// flow and the two read models.
pub struct Library {
    pub store: Arc<dyn EventStore>,
    pub app: Arc<Orchestrator>,
    pub flow: ConsumerHandle,
    pub catalog: ProjectionHandle,
    pub cards: ProjectionHandle,
}

impl Library {
    /// Opens the store at `url` and its read models (the store's own
    /// database), and starts the projections and the flow.
    pub async fn start(url: &str) -> Result<Library, Failure> {
        let store = disco::connect(url).await?;
        let models = disco::open_read_models(&disco::read_models_beside(url), false).await?;
        let catalog = models.projection(Catalog).start(store.clone())?;
        let cards = models
            .document_projection(MemberCards)
            .start(store.clone())?;
        let app = Arc::new(orchestrator(store.clone(), models)?);
        app.add_read_model(catalog.progress());
        app.add_read_model(cards.progress());
        // Registers itself under "loan_flow" for strong dispatches.
        let flow = ProcessManagerConsumer::<LoanFlow>::new()
            .error_policy(ErrorPolicy::default().retries(10))
            .start(app.clone())?;
        Ok(Library {
            store,
            app,
            flow,
            catalog,
            cards,
        })
    }

    /// Waits until the flow and the read models have seen everything (the
    /// flow's own commands included).
    pub async fn settle(&self) -> Result<(), Failure> {
        loop {
            let head = self.store.head_position().await?;
            let all = ["loan_flow", "catalog", "member_cards"];
            self.app
                .wait_for(&all, head, Duration::from_secs(20))
                .await?;
            if self.store.head_position().await? == head {
                return Ok(());
            }
        }
    }

    /// Stops the flow and the projections.
    pub async fn stop(self) {
        self.flow.stop().await;
        self.catalog.stop().await;
        self.cards.stop().await;
    }
}

/// What a session saw, for its test.
#[derive(Debug, Default)]
pub struct Session {
    pub invalid: FieldErrors,
    /// Loans Ann holds as soon as the strong dispatch of her borrow returned.
    pub ann_holds_at_once: usize,
    pub ann_after_borrowing: Option<Card>,
    pub bob_refused: String,
    pub ann_over_her_limit: Vec<Loan>,
    pub ann_after_returning: Option<Card>,
    pub available: Vec<Available>,
}

/// The console session, written to `out`.
pub async fn run(url: &str, out: &mut dyn Write) -> Result<Session, Failure> {
    let library = Library::start(url).await?;
    let app = library.app.clone();
    let mut session = Session::default();
    writeln!(out, "disco lending example, events in {url}")?;
    writeln!(out, "commands: {}", app.commands().join(", "))?;
    writeln!(out, "queries: {}\n", app.queries().join(", "))?;

    let dune = app
        .dispatch("add_book", json!({"title": "Dune", "copies": 1}))
        .await?
        .id;
    let emma = app
        .dispatch("add_book", json!({"title": "Emma", "copies": 2}))
        .await?
        .id;
    let ann = app
        .dispatch("join", json!({"name": "Ann", "limit": 1}))
        .await?
        .id;
    let bob = app
        .dispatch("join", json!({"name": "Bob", "limit": 2}))
        .await?
        .id;
    writeln!(
        out,
        "> two books (Dune: 1 copy, Emma: 2), two members (Ann may hold 1 book, Bob 2)"
    )?;

    // Every problem in one answer: a field that does not decode, the
    // route's own check and the lookups of the validation step.
    let params = json!({"book_id": "no-such-book", "member_id": 7, "days": 90});
    match app.dispatch("borrow", params.clone()).await {
        Err(DispatchError::Validation(errors)) => {
            writeln!(out, "> borrow {params}\n  invalid: {}", errors)?;
            session.invalid = errors;
        }
        other => return Err(format!("a bad borrow was not refused: {other:?}").into()),
    }

    // A strong dispatch returns once the loan flow has handled the loan
    // (Ann's borrow decided) and the catalog holds it.
    let strong = DispatchOptions::strong(["loan_flow", "catalog"]);
    let borrow =
        |book: &str, member: &str| json!({"book_id": book, "member_id": member, "days": 14});
    app.dispatch_with("borrow", borrow(&dune, &ann), &strong)
        .await?;
    let members = app
        .repository::<Member>()
        .ok_or("members are not registered")?;
    session.ann_holds_at_once = members.load(&ann).await?.0.loans.len();
    library.settle().await?;
    session.ann_after_borrowing =
        serde_json::from_value(app.query("member_card", json!({"member_id": ann})).await?)?;
    writeln!(
        out,
        "> Ann borrows Dune: her card {:?}",
        session.ann_after_borrowing
    )?;

    match app
        .dispatch_with("borrow", borrow(&dune, &bob), &strong)
        .await
    {
        Err(DispatchError::Rejected(reason)) => {
            writeln!(out, "> Bob borrows Dune: refused, {reason}")?;
            session.bob_refused = reason.to_string();
        }
        other => return Err(format!("a book with no copy left was lent: {other:?}").into()),
    }

    // Emma is on the shelf, but Ann is at her limit: the member refuses,
    // and the flow takes the book back (its compensation).
    app.dispatch_with("borrow", borrow(&emma, &ann), &strong)
        .await?;
    library.settle().await?;
    session.ann_over_her_limit =
        serde_json::from_value(app.query("loans_of", json!({"member_id": ann})).await?)?;
    writeln!(
        out,
        "> Ann borrows Emma over her limit: the book is taken back; her loans {:?}",
        session.ann_over_her_limit
    )?;

    // Ann brings Dune back: the loan ends, and her card shows it.
    let loan = session
        .ann_over_her_limit
        .first()
        .ok_or("Ann holds no loan")?
        .loan_id
        .clone();
    app.dispatch("return_book", json!({"book_id": dune, "loan_id": loan}))
        .await?;
    library.settle().await?;
    session.ann_after_returning =
        serde_json::from_value(app.query("member_card", json!({"member_id": ann})).await?)?;
    writeln!(
        out,
        "> Ann returns Dune: her card {:?}",
        session.ann_after_returning
    )?;

    session.available = serde_json::from_value(app.query("available_books", json!({})).await?)?;
    writeln!(out, "> on the shelf: {:?}", session.available)?;
    library.stop().await;
    Ok(session)
}
