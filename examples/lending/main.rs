//! The lending example: a library's books and members (two aggregates),
//! commands that decode themselves and check the store in one answer, a
//! loan flow (a process manager, an instance per loan, with compensation),
//! a catalog and member cards written once for SQLite and PostgreSQL, and
//! strong dispatch that waits for the flow. `docs/guide.md` builds it
//! chapter by chapter.
//!
//! ```text
//! cargo run --example lending                     # events in ./lending.db (SQLite)
//! cargo run --example lending -- --store memory:
//! cargo run --features full --example lending -- --store postgres://postgres@127.0.0.1:5432/test
//! ```

mod app;
mod catalog;
mod domain;
mod flow;

use std::process::ExitCode;

const USAGE: &str =
    "usage: lending [--store memory:|sqlite:PATH|redb:PATH|postgres://...|nats://...]";

fn store_url() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut url = "sqlite:lending.db".to_owned();
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
            eprintln!("lending: {error}");
            ExitCode::FAILURE
        }
    }
}
