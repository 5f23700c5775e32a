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
#[path = "../common/cli.rs"]
mod cli;
mod domain;
mod flow;

use std::process::ExitCode;

const USAGE: &str =
    "usage: lending [--store memory:|sqlite:PATH|redb:PATH|postgres://...|nats://...]";

#[tokio::main]
async fn main() -> ExitCode {
    cli::main_of("lending", "sqlite:lending.db", USAGE, |url| async move {
        app::run(&url, &mut std::io::stdout()).await
    })
    .await
}
