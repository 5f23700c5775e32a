//! disco's side of the peer benchmark (`bench/peers/`): the same bank
//! account workload as the cqrs-es side, through the typed `execute` on a
//! PostgreSQL store with default options. Prints the same JSON lines:
//! `{"case", "side", "commands", "seconds"}`.

use std::sync::Arc;
use std::time::Instant;

use disco_core::{Error, EventStore, ExpectedVersion, Result, StreamId};
use disco_cqrs::{encode, Aggregate, CommandContext, DomainEvent, Orchestrator};
use disco_store_postgres::{PgOptions, PostgresStore};
use serde::{Deserialize, Serialize};

/// The note each deposit carries (the same text as the cqrs-es side's).
const NOTE: &str = include_str!("../../bench/peers/src/note.txt");

/// A bank account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BankAccount {
    balance: i64,
}

/// Its one event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BankEvent {
    /// Money came in.
    FundsDeposited {
        /// How much.
        amount: i64,
        /// The balance after it.
        balance: i64,
        /// What the teller wrote.
        note: String,
    },
}

impl DomainEvent for BankEvent {
    fn event_type(&self) -> &'static str {
        "FundsDeposited"
    }
}

/// The account never refuses a deposit.
#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

impl Aggregate for BankAccount {
    const NAME: &'static str = "account";
    type Command = i64;
    type Event = BankEvent;
    type Error = Never;

    fn handle(&self, amount: i64) -> std::result::Result<Vec<BankEvent>, Never> {
        Ok(vec![BankEvent::FundsDeposited {
            amount,
            balance: self.balance + amount,
            note: NOTE.trim().to_owned(),
        }])
    }

    fn apply(&mut self, event: &BankEvent) {
        let BankEvent::FundsDeposited { amount, .. } = event;
        self.balance += amount;
    }
}

const SCHEMA: &str = "peers_disco";

async fn fresh(url: &str) -> Result<PostgresStore> {
    let stale = PostgresStore::connect(url, PgOptions::default().schema(SCHEMA)).await?;
    stale.drop_schema().await?;
    stale.close().await;
    PostgresStore::connect(url, PgOptions::default().schema(SCHEMA)).await
}

/// How a client names its aggregates.
#[derive(Clone, Copy, PartialEq)]
enum Ids {
    /// A fresh id per command, through `execute` (the store is read).
    New,
    /// A fresh id per command, through `execute_new` (the caller knows it
    /// is new: nothing is read).
    NewKnown,
    /// One aggregate per client.
    Own,
}

async fn run(app: &Arc<Orchestrator>, clients: usize, per_client: usize, ids: Ids) -> Result<f64> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let app = app.clone();
        tasks.spawn(async move {
            let mine = uuid::Uuid::new_v4().to_string();
            for _ in 0..per_client {
                let executed = match ids {
                    Ids::Own => app.execute::<BankAccount>(&mine, 10).await,
                    Ids::New => {
                        let id = uuid::Uuid::new_v4().to_string();
                        app.execute::<BankAccount>(&id, 10).await
                    }
                    Ids::NewKnown => {
                        let id = uuid::Uuid::new_v4().to_string();
                        app.execute_new::<BankAccount>(&id, 10).await
                    }
                };
                executed.map_err(|e| Error::Backend(format!("execute: {e}")))?;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| Error::Backend(format!("a client failed: {e}")))??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// `clients` clients each appending `per_client` deposits to a stream of
/// its own, one at a time at `Exact(version)`: the command path's work
/// without the command.
async fn appends(store: &PostgresStore, clients: usize, per_client: usize) -> Result<f64> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let store = store.clone();
        tasks.spawn(async move {
            let stream = StreamId::new(format!("bare-{}", uuid::Uuid::new_v4()))?;
            let context = CommandContext::new();
            for version in 0..per_client as u64 {
                let event = BankEvent::FundsDeposited {
                    amount: 10,
                    balance: 10 * (version as i64 + 1),
                    note: NOTE.trim().to_owned(),
                };
                let encoded =
                    encode(&event, &context).map_err(|e| Error::Backend(e.to_string()))?;
                store
                    .append(&stream, ExpectedVersion::Exact(version), vec![encoded])
                    .await?;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| Error::Backend(format!("a client failed: {e}")))??;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Runs `cases` (`new-1`, `new-8`, `own-8`) on the PostgreSQL at `url`,
/// `scale` times the default sizes, printing a JSON line per case.
pub async fn run_cases(url: &str, cases: &[String], scale: f64) -> Result<()> {
    let n = |x: f64| ((x * scale) as usize).max(1);
    for case in cases {
        let store = fresh(url).await?;
        let app = Arc::new(
            Orchestrator::builder(Arc::new(store.clone()))
                .aggregate::<BankAccount, _>(|routes| routes)
                .build()
                .map_err(|e| Error::Backend(e.to_string()))?,
        );
        let clients = match case.as_str() {
            "new-1" => 1,
            _ => 8,
        };
        let (commands, seconds) = match case.as_str() {
            "new-1" | "new-8" => {
                let per_client = n(if clients == 1 { 2000.0 } else { 500.0 });
                // The same workload through execute_new (the caller knows the
                // id is fresh), reported as its own side.
                let known = run(&app, clients, per_client, Ids::NewKnown).await?;
                println!(
                    "{{\"case\":\"{case}\",\"side\":\"disco-new\",\"commands\":{},\"seconds\":{known:.4}}}",
                    clients * per_client
                );
                (
                    clients * per_client,
                    run(&app, clients, per_client, Ids::New).await?,
                )
            }
            "own-8" => {
                // The ceiling of any command path on this store: the same
                // events appended bare (no aggregate), each client on its
                // own stream, reported as its own side.
                let mut bare = 0.0;
                for _ in 0..4 {
                    bare += appends(&store, 8, n(200.0)).await?;
                }
                println!(
                    "{{\"case\":\"{case}\",\"side\":\"disco-append\",\"commands\":{},\"seconds\":{bare:.4}}}",
                    4 * 8 * n(200.0)
                );
                let mut seconds = 0.0;
                for _ in 0..4 {
                    seconds += run(&app, 8, n(200.0), Ids::Own).await?;
                }
                (4 * 8 * n(200.0), seconds)
            }
            other => {
                return Err(Error::InvalidInput(format!(
                    "unknown peer case {other:?}: new-1, new-8, own-8"
                )))
            }
        };
        println!(
            "{{\"case\":\"{case}\",\"side\":\"disco\",\"commands\":{commands},\"seconds\":{seconds:.4}}}"
        );
        drop(app);
        store.drop_schema().await?;
        store.close().await;
    }
    Ok(())
}
