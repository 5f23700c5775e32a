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
mod domain;
mod flow;

use std::process::ExitCode;

const USAGE: &str =
    "usage: bank [--store memory:|sqlite:PATH|redb:PATH|postgres://...|nats://HOST:PORT,...?store=NAME]";

fn store_url() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut url = "sqlite:bank.db".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--store" => url = args.next().ok_or(USAGE)?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => match other.strip_prefix("--store=") {
                Some(value) => url = value.to_owned(),
                None => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            },
        }
    }
    Ok(url)
}

#[tokio::main]
async fn main() -> ExitCode {
    let url = match store_url() {
        Ok(url) => url,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout();
    match app::run(&url, &mut out).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bank: {error}");
            ExitCode::FAILURE
        }
    }
}
