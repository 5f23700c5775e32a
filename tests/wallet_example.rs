//! The wallet example end to end, on every store: a second run over the
//! same store lists the first run's wallets too, from the read-model table
//! the first run filled (it applies only its own events: nothing is
//! rebuilt).

#[path = "../examples/wallet/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "support/temp.rs"]
mod temp;

use temp::TempDir;

#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;

async fn session(url: &str) -> (app::Session, String) {
    // A redb file is free again once the previous session's writer thread
    // has ended, just after its last handle dropped: wait for that a while.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut out = Vec::new();
        match app::run(url, &mut out).await {
            Ok(session) => return (session, String::from_utf8_lossy(&out).into_owned()),
            Err(e)
                if e.to_string().contains("open in another process")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!(
                "the wallet session on {url} failed: {e}\n{}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

fn check_first_run(session: &app::Session, text: &str) {
    assert_eq!(session.created.len(), 2);
    assert_eq!(
        session.validation["user_id"],
        vec!["must be a valid UUID string"]
    );
    assert_eq!(
        session.validation["balance"],
        vec!["must be a whole number"]
    );
    assert!(
        session.rejected.contains("insufficient funds"),
        "{}",
        session.rejected
    );
    assert!(
        text.contains("commands: create_wallet, deposit, withdraw"),
        "{text}"
    );
    assert!(text.contains("queries:  list_wallets"), "{text}");
    assert!(text.contains("accepted at once"), "{text}");
}

fn balances(session: &app::Session) -> Vec<(String, i64)> {
    session
        .listed
        .iter()
        .map(|r| (r.wallet_id.clone(), r.balance))
        .collect()
}

async fn twice(url: &str) {
    let (first, text) = session(url).await;
    check_first_run(&first, &text);
    assert_eq!(
        balances(&first),
        vec![
            (first.created[0].clone(), 85),
            (first.created[1].clone(), 20)
        ]
    );
    assert_eq!(first.applied, 4, "the first run's events");
    let (second, _) = session(url).await;
    assert_eq!(second.applied, 4, "the second run rebuilt the directory");
    assert_eq!(
        second.listed.len(),
        4,
        "the second run does not see the first's wallets"
    );
    for id in first.created.iter().chain(&second.created) {
        assert!(
            second.listed.iter().any(|r| &r.wallet_id == id),
            "{id} missing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_second_run_sees_the_first() {
    let dir = TempDir::new("wallet-sqlite");
    twice(&format!("sqlite:{}", dir.file("wallet.db").display())).await;
}

#[cfg(feature = "redb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redb_a_second_run_sees_the_first() {
    let dir = TempDir::new("wallet-redb");
    twice(&format!("redb:{}", dir.file("wallet.redb").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory_one_run_works() {
    let (first, text) = session("memory:").await;
    check_first_run(&first, &text);
    assert_eq!(first.listed.len(), 2);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_second_run_sees_the_first() {
    // The read models the example keeps in the schema go with it.
    let (schema, url) = pg::Schema::new().await;
    twice(&url).await;
    schema.drop().await;
}
