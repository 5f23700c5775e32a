//! The cqrs-es side of the peer benchmark: a bank account in the style of
//! the cqrs-es documentation (one ~200-byte `FundsDeposited` event per
//! command), executed through `CqrsFramework::execute` on postgres-es.
//! Prints one JSON line per case: `{"case", "side", "commands", "seconds"}`.
//!
//! Usage: `disco-peers URL CASE...` with cases `new-1`, `new-8`, `own-8`.
//! Each run creates the postgres-es tables in a fresh schema and drops it.

use std::time::Instant;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use postgres_es::{postgres_cqrs, PostgresCqrs};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, Pool, Postgres};

/// The note each deposit carries, so an event is ~200 bytes of JSON, as
/// disco's side writes.
const NOTE: &str = include_str!("note.txt");

#[derive(Debug, Default, Serialize, Deserialize)]
struct BankAccount {
    balance: i64,
}

#[derive(Debug)]
struct Deposit {
    amount: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum BankEvent {
    FundsDeposited {
        amount: i64,
        balance: i64,
        note: String,
    },
}

impl DomainEvent for BankEvent {
    fn event_type(&self) -> String {
        "FundsDeposited".into()
    }

    fn event_version(&self) -> String {
        "1.0".into()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl Aggregate for BankAccount {
    const TYPE: &'static str = "account";
    type Command = Deposit;
    type Event = BankEvent;
    type Error = Never;
    type Services = ();

    async fn handle(
        &mut self,
        command: Deposit,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Never> {
        let event = BankEvent::FundsDeposited {
            amount: command.amount,
            balance: self.balance + command.amount,
            note: NOTE.trim().into(),
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: BankEvent) {
        let BankEvent::FundsDeposited { amount, .. } = event;
        self.balance += amount;
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn pool(url: &str, schema: &str) -> Result<Pool<Postgres>, Failure> {
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
        .await?;
    let options: PgConnectOptions = url.parse()?;
    let options = options.options([("search_path", schema)]);
    // postgres-es's own default pool size.
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(options)
        .await?;
    pool.execute(include_str!("init.sql")).await?;
    Ok(pool)
}

/// A second pool on the run's schema, for the raw inserts.
async fn cqrs_pool(url: &str, schema: &str) -> Result<Pool<Postgres>, Failure> {
    let options: PgConnectOptions = url.parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(10)
        .connect_with(options.options([("search_path", schema)]))
        .await?)
}

/// `clients` tasks each inserting `per_client` event rows, one autocommitted
/// INSERT each (the ~200-byte payload the commands write).
/// What a raw side writes per command, in one autocommitted statement.
#[derive(Clone, Copy)]
enum Raw {
    /// The event row into postgres-es's table.
    Insert,
    /// The event row and its stream's row into tables keyed as disco's.
    Schema,
}

async fn raw_inserts(
    pool: &Pool<Postgres>,
    clients: usize,
    per_client: usize,
    raw: Raw,
) -> Result<f64, Failure> {
    let payload =
        serde_json::json!({"FundsDeposited": {"amount": 10, "balance": 10, "note": NOTE.trim()}});
    let bytes = payload.to_string().into_bytes();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let pool = pool.clone();
        let payload = payload.clone();
        let bytes = bytes.clone();
        tasks.spawn(async move {
            for _ in 0..per_client {
                let stream = uuid::Uuid::new_v4().to_string();
                match raw {
                    Raw::Insert => {
                        sqlx::query(include_str!("raw_insert.sql"))
                            .bind(stream)
                            .bind(&payload)
                            .execute(&pool)
                            .await?;
                    }
                    Raw::Schema => {
                        sqlx::query(include_str!("raw_schema.sql"))
                            .bind(format!("account-{stream}"))
                            .bind(uuid::Uuid::now_v7().to_string())
                            .bind(&bytes)
                            .execute(&pool)
                            .await?;
                    }
                }
            }
            Ok::<_, sqlx::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(start.elapsed().as_secs_f64())
}

async fn drop_schema(url: &str, schema: &str) -> Result<(), Failure> {
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
        .await?;
    Ok(())
}

/// Runs `clients` tasks of `per_client` commands; `own` puts each client on
/// one aggregate of its own (else every command gets a new aggregate).
async fn run(
    cqrs: &std::sync::Arc<PostgresCqrs<BankAccount>>,
    clients: usize,
    per_client: usize,
    own: bool,
) -> Result<f64, Failure> {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let cqrs = cqrs.clone();
        tasks.spawn(async move {
            let mine = uuid::Uuid::new_v4().to_string();
            for _ in 0..per_client {
                let id = if own {
                    mine.clone()
                } else {
                    uuid::Uuid::new_v4().to_string()
                };
                cqrs.execute(&id, Deposit { amount: 10 })
                    .await
                    .map_err(|e| format!("execute: {e}"))?;
            }
            Ok::<_, String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: disco-peers URL CASE...")?;
    let scale: f64 = std::env::var("PEERS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    for case in args {
        let schema = "peers_cqrs_es";
        let pool = pool(&url, schema).await?;
        let cqrs = std::sync::Arc::new(postgres_cqrs(pool, vec![], ()));
        let n = |x: f64| ((x * scale) as usize).max(1);
        let (commands, seconds) = match case.as_str() {
            "new-1" | "new-8" => {
                let clients = if case == "new-1" { 1 } else { 8 };
                let per_client = n(if clients == 1 { 2000.0 } else { 500.0 });
                // The ceiling of any store that commits each command: one
                // autocommitted INSERT of the event row, nothing read.
                let raw_pool = cqrs_pool(&url, schema).await?;
                let raw = raw_inserts(&raw_pool, clients, per_client, Raw::Insert).await?;
                println!(
                    "{{\"case\":\"{case}\",\"side\":\"raw-insert\",\"commands\":{},\"seconds\":{raw:.4}}}",
                    clients * per_client
                );
                // The floor of disco's schema: the same, writing the event
                // and stream rows with disco's keys.
                let floor = raw_inserts(&raw_pool, clients, per_client, Raw::Schema).await?;
                println!(
                    "{{\"case\":\"{case}\",\"side\":\"raw-schema\",\"commands\":{},\"seconds\":{floor:.4}}}",
                    clients * per_client
                );
                (
                    clients * per_client,
                    run(&cqrs, clients, per_client, false).await?,
                )
            }
            "own-8" => {
                // 200 commands per client, 4 rounds, each on its own aggregate.
                let mut seconds = 0.0;
                for _ in 0..4 {
                    seconds += run(&cqrs, 8, n(200.0), true).await?;
                }
                (4 * 8 * n(200.0), seconds)
            }
            other => return Err(format!("unknown case {other:?}: new-1, new-8, own-8").into()),
        };
        println!(
            "{{\"case\":\"{case}\",\"side\":\"cqrs-es\",\"commands\":{commands},\"seconds\":{seconds:.4}}}"
        );
        drop(cqrs);
        drop_schema(&url, schema).await?;
    }
    Ok(())
}
