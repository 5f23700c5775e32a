//! The bank example: two aggregates (account, transfer), a process manager
//! that moves the money (debit, credit, refund on refusal), a read model of
//! balances, and commands that decode themselves.
//!
//! ```text
//! cargo run --example bank                       # events in ./bank.db (SQLite)
//! cargo run --example bank -- --store memory:
//! cargo run --features full --example bank -- --store postgres://postgres@127.0.0.1:5432/test
//! cargo run --features full --example bank -- --store 'nats://127.0.0.1:4301,127.0.0.1:4302,127.0.0.1:4303?store=bank&replicas=3'
//! ```

mod app;
mod balances;
#[path = "../common/cli.rs"]
mod cli;
mod domain;
mod flow;

use std::process::ExitCode;

const USAGE: &str =
    "usage: bank [--store memory:|sqlite:PATH|redb:PATH|postgres://...|nats://HOST:PORT,...?store=NAME]";

#[tokio::main]
async fn main() -> ExitCode {
    cli::main_of("bank", "sqlite:bank.db", USAGE, |url| async move {
        app::run(&url, &mut std::io::stdout()).await
    })
    .await
}
