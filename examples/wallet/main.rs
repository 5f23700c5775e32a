//! The wallet example: the seed library's console session as a program.
//!
//! ```text
//! cargo run --example wallet                       # events in ./wallet.db (SQLite)
//! cargo run --example wallet -- --store memory:
//! cargo run --features full --example wallet -- --store postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! A second run over the same store lists the first run's wallets too.

mod app;
#[path = "../common/cli.rs"]
mod cli;

use std::process::ExitCode;

const USAGE: &str = "usage: wallet [--store memory:|sqlite:PATH|redb:PATH|postgres://...]";

#[tokio::main]
async fn main() -> ExitCode {
    cli::main_of("wallet", "sqlite:wallet.db", USAGE, |url| async move {
        app::run(&url, &mut std::io::stdout()).await
    })
    .await
}
