//! The lending example end to end, on SQLite and PostgreSQL with the same
//! code (its read models are written once): every field problem in one
//! answer, a loan the flow makes up for, a strong dispatch that waits for
//! the flow, and the read models right after.

#[path = "../examples/lending/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/lending/catalog.rs"]
#[allow(dead_code)]
mod catalog;
#[path = "../examples/lending/domain.rs"]
#[allow(dead_code)]
mod domain;
#[path = "../examples/lending/flow.rs"]
#[allow(dead_code)]
mod flow;
#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;
#[path = "support/temp.rs"]
mod temp;

use temp::TempDir;

async fn session(url: &str) -> app::Session {
    let mut out = Vec::new();
    match app::run(url, &mut out).await {
        Ok(session) => session,
        Err(e) => panic!(
            "the lending session on {url} failed: {e}\n{}",
            String::from_utf8_lossy(&out)
        ),
    }
}

fn check(session: &app::Session) {
    let invalid = &session.invalid;
    assert_eq!(
        invalid["member_id"],
        vec!["must be a string"],
        "{invalid:?}"
    );
    assert_eq!(invalid["days"], vec!["must be from 1 to 60"], "{invalid:?}");
    assert_eq!(
        invalid["book_id"],
        vec!["there is no book with this id"],
        "{invalid:?}"
    );
    assert_eq!(invalid.len(), 3, "{invalid:?}");
    let card = |name: &str, limit, holding, borrowed_ever| catalog::Card {
        name: name.into(),
        limit,
        holding,
        borrowed_ever,
    };
    // The strong dispatch returned once the flow had Ann borrow the book.
    assert_eq!(session.ann_holds_at_once, 1);
    assert_eq!(session.ann_after_borrowing, Some(card("Ann", 1, 1, 1)));
    assert!(
        session.bob_refused.contains("every copy is on loan"),
        "{}",
        session.bob_refused
    );
    // Over her limit, Ann's second loan was taken back: she holds Dune only.
    assert_eq!(
        session.ann_over_her_limit.len(),
        1,
        "{:?}",
        session.ann_over_her_limit
    );
    assert_eq!(session.ann_after_returning, Some(card("Ann", 1, 0, 1)));
    let shelf: Vec<(&str, i64)> = session
        .available
        .iter()
        .map(|a| (a.title.as_str(), a.available))
        .collect();
    assert_eq!(shelf, vec![("Dune", 1), ("Emma", 2)], "every copy is back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = TempDir::new("lending-sqlite");
    check(&session(&format!("sqlite:{}", dir.file("lending.db").display())).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory() {
    check(&session("memory:").await);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let (schema, url) = pg::Schema::new().await;
    check(&session(&url).await);
    schema.drop().await;
}
