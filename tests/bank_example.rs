//! The bank example end to end on every store, and under `kill -9`: a
//! child process sends transfers and is killed in the middle of them, twice;
//! then the bank restarts and every transfer ends exactly once, no money
//! appears or vanishes, and every event's causation chain leads back to a
//! command that was sent.

#[path = "../examples/bank/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/bank/balances.rs"]
#[allow(dead_code)]
mod balances;
#[path = "../examples/bank/domain.rs"]
#[allow(dead_code)]
mod domain;
#[path = "../examples/bank/flow.rs"]
#[allow(dead_code)]
mod flow;
#[cfg(feature = "postgres")]
#[path = "support/pg.rs"]
mod pg;
#[path = "support/temp.rs"]
mod temp;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use disco::cqrs::{decode, CommandContext, DispatchOptions};
use disco::{EventStore, Uuid};
use domain::{AccountEvent, Status};
use serde_json::json;
use temp::TempDir;

async fn session(url: &str) -> app::Session {
    let mut out = Vec::new();
    match app::run(url, &mut out).await {
        Ok(session) => session,
        Err(e) => panic!(
            "the bank session on {url} failed: {e}\n{}",
            String::from_utf8_lossy(&out)
        ),
    }
}

fn check(session: &app::Session) {
    let statuses: Vec<Status> = session.transfers.iter().map(|t| t.1).collect();
    assert_eq!(
        statuses,
        vec![
            Status::Completed,
            Status::Failed,
            Status::Failed,
            Status::Completed
        ]
    );
    assert!(session.transfers[1]
        .2
        .as_deref()
        .unwrap_or("")
        .contains("insufficient funds"));
    assert!(session.transfers[2]
        .2
        .as_deref()
        .unwrap_or("")
        .contains("closed"));
    let balances: Vec<i64> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|n| session.balances[*n])
        .collect();
    assert_eq!(balances, vec![70, 75, 15, 0], "refunded, and no money lost");
    assert_eq!(session.invalid["colour"], vec![disco::cqrs::UNKNOWN_FIELD]);
    assert_eq!(session.invalid["from"], vec!["must be a string"]);
    assert_eq!(session.invalid["to"], vec!["is required"]);
    assert_eq!(session.invalid["amount"], vec!["must be a whole number"]);
    assert_eq!(
        session.unknown_account["to"],
        vec!["there is no account with this id"]
    );
    assert_eq!(
        session.unknown_account["amount"],
        vec!["must be greater than 0"]
    );
    assert_eq!(session.same_request.0, session.same_request.1);
    let sent: BTreeSet<Uuid> = session.dispatched.iter().copied().collect();
    assert!(!session.roots.is_empty());
    for (event, root) in &session.roots {
        assert!(
            sent.contains(root),
            "event {event} leads back to {root}, which nobody sent"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_memory() {
    check(&session("memory:").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() {
    let dir = TempDir::new("bank-sqlite");
    check(&session(&format!("sqlite:{}", dir.file("bank.db").display())).await);
}

#[cfg(feature = "redb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redb() {
    let dir = TempDir::new("bank-redb");
    check(&session(&format!("redb:{}", dir.file("bank.redb").display())).await);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() {
    let (schema, url) = pg::Schema::new().await;
    check(&session(&url).await);
    schema.drop().await;
}

// ---- kill -9 in the middle of transfers -------------------------------------

const URL: &str = "DISCO_BANK_URL";
const ACCOUNTS: u128 = 10;
const TRANSFERS: u128 = 150;
const INITIAL: i64 = 100;

/// The command id of account `i`'s opening (also its id) and of transfer
/// `i`: chosen by the sender, so a restarted sender sends the same commands.
fn open_id(i: u128) -> Uuid {
    Uuid::from_u128(0x1000 + i)
}
fn close_id(i: u128) -> Uuid {
    Uuid::from_u128(0x2000 + i)
}
fn transfer_id(i: u128) -> Uuid {
    Uuid::from_u128(0x10_0000 + i)
}

/// The child: opens the accounts (the last one closed), then sends the
/// transfers one after another, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of the kill -9 test, started by it"]
async fn child_sends_transfers_until_killed() {
    let url = std::env::var(URL).expect("the store URL");
    let bank = app::Bank::start(&url).await.expect("start the bank");
    let send = |name: &'static str, params: serde_json::Value, id: Uuid| {
        let app = bank.app.clone();
        async move {
            let options = DispatchOptions::default().context(CommandContext::with_id(id));
            app.dispatch_with(name, params, &options).await
        }
    };
    for i in 0..ACCOUNTS {
        send("open_account", json!({"initial": INITIAL}), open_id(i))
            .await
            .expect("open");
    }
    let last = open_id(ACCOUNTS - 1).to_string();
    send("close_account", json!({"account_id": last}), close_id(0))
        .await
        .expect("close");
    for i in 0..TRANSFERS {
        let from = (i * 7) % ACCOUNTS;
        let mut to = (i * 3 + 1) % ACCOUNTS;
        if to == from {
            to = (to + 1) % ACCOUNTS;
        }
        let amount = 5 + (i * 13) % 60;
        let params = json!({
            "from": open_id(from).to_string(),
            "to": open_id(to).to_string(),
            "amount": amount as i64
        });
        send("transfer", params, transfer_id(i))
            .await
            .expect("transfer");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Stay until killed.
    tokio::time::sleep(Duration::from_secs(600)).await;
}

fn spawn_child(url: &str) -> Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_sends_transfers_until_killed",
            "--nocapture",
        ])
        .env(URL, url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child")
}

async fn transfers_started(store: &dyn EventStore) -> usize {
    store
        .list_streams("transfer-", None, usize::MAX)
        .await
        .map_or(0, |s| s.len())
}

async fn kill_in_the_middle(url: &str) {
    let store = disco::connect(url).await.expect("open the store");
    for round in 1..=2 {
        let mut child = spawn_child(url);
        let deadline = Instant::now() + Duration::from_secs(120);
        let want = round * 40;
        while transfers_started(&*store).await < want {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the child ended before it was killed: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the child sent no {want} transfers in time"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().expect("kill -9 the child");
        child.wait().expect("reap the child");
    }
    // The sender restarts and sends everything again (its commands are
    // idempotent); then the bank finishes the flow.
    let mut child = spawn_child(url);
    let deadline = Instant::now() + Duration::from_secs(120);
    while transfers_started(&*store).await < TRANSFERS as usize {
        assert!(
            Instant::now() < deadline,
            "the restarted child did not send every transfer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("kill the child");
    child.wait().expect("reap the child");

    let bank = app::Bank::start(url).await.expect("restart the bank");
    let ids: Vec<String> = (0..TRANSFERS).map(|i| transfer_id(i).to_string()).collect();
    let settled = bank
        .settled(&ids, Duration::from_secs(120))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // What the accounts did for each transfer.
    let events = store.read_all(0, usize::MAX).await.expect("read all");
    let mut moves: BTreeMap<String, [u32; 3]> = BTreeMap::new();
    for event in events
        .iter()
        .filter(|e| e.stream_id.as_str().starts_with("account-"))
    {
        let (decoded, _) = decode::<AccountEvent>(event).expect("an account event");
        let (transfer, slot) = match decoded {
            AccountEvent::Debited { transfer, .. } => (transfer, 0),
            AccountEvent::Credited { transfer, .. } => (transfer, 1),
            AccountEvent::Refunded { transfer, .. } => (transfer, 2),
            _ => continue,
        };
        moves.entry(transfer).or_default()[slot] += 1;
    }
    let (mut completed, mut failed) = (0, 0);
    for (id, transfer) in ids.iter().zip(&settled) {
        let m = moves.get(id).copied().unwrap_or_default();
        match transfer.status {
            Status::Completed => {
                completed += 1;
                assert_eq!(m, [1, 1, 0], "transfer {id} completed with moves {m:?}");
            }
            Status::Failed => {
                failed += 1;
                assert!(
                    m == [0, 0, 0] || m == [1, 0, 1],
                    "transfer {id} failed with moves {m:?}"
                );
            }
            other => panic!("transfer {id} is {other:?}"),
        }
        let stream = disco::StreamId::new(format!("transfer-{id}")).expect("stream id");
        let kinds: Vec<String> = store
            .read_stream(&stream, 1, disco::ReadDirection::Forward, usize::MAX)
            .await
            .expect("read the transfer")
            .into_iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(
            kinds.len(),
            2,
            "transfer {id} ended more than once: {kinds:?}"
        );
    }
    assert!(
        completed > 0 && failed > 0,
        "{completed} completed, {failed} failed"
    );

    // No money appeared or vanished, in the aggregates and the read model.
    let accounts = bank.app.repository::<domain::Account>().expect("accounts");
    let mut total = 0;
    for i in 0..ACCOUNTS {
        total += accounts
            .load(&open_id(i).to_string())
            .await
            .expect("load")
            .0
            .balance;
    }
    assert_eq!(total, INITIAL * ACCOUNTS as i64);
    let head = store.head_position().await.expect("head");
    bank.app
        .wait_for(&["balances"], head, Duration::from_secs(60))
        .await
        .expect("the balances read model catches up");
    let mut read_total = 0;
    for i in 0..ACCOUNTS {
        let answer = bank
            .app
            .query("balance", json!({"account_id": open_id(i).to_string()}))
            .await
            .expect("query");
        read_total += answer.as_i64().expect("a balance");
    }
    assert_eq!(read_total, total);

    // Every event leads back to a command the sender chose.
    let sent: BTreeSet<Uuid> = (0..ACCOUNTS)
        .map(open_id)
        .chain([close_id(0)])
        .chain((0..TRANSFERS).map(transfer_id))
        .collect();
    let events = store.read_all(0, usize::MAX).await.expect("read all");
    let roots = app::causation_roots(&events).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(roots.len(), events.len());
    for (event, root) in &roots {
        assert!(
            sent.contains(root),
            "event {event} leads back to {root}, which was never sent"
        );
    }
    bank.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_transfers_complete_exactly_once_across_kill_9() {
    let dir = TempDir::new("bank-kill");
    kill_in_the_middle(&format!("sqlite:{}", dir.file("bank.db").display())).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_transfers_complete_exactly_once_across_kill_9() {
    let (schema, url) = pg::Schema::new().await;
    kill_in_the_middle(&url).await;
    schema.drop().await;
}
