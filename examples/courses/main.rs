//! The courses example: students subscribe to courses with a capacity and
//! a per-student limit, and register with an email used once, kept by
//! three decision models (tags and conditional appends) with no aggregate
//! across them and no saga.
//!
//! ```text
//! cargo run --example courses                     # events in ./courses.db (SQLite)
//! cargo run --example courses -- --store memory:
//! cargo run --features full --example courses -- --store postgres://postgres@127.0.0.1:5432/test
//! ```

mod app;
#[path = "../common/cli.rs"]
mod cli;
mod domain;

use std::process::ExitCode;

const USAGE: &str =
    "usage: courses [--store memory:|sqlite:PATH|redb:PATH|postgres://...|nats://...]";

#[tokio::main]
async fn main() -> ExitCode {
    cli::main_of("courses", "sqlite:courses.db", USAGE, |url| async move {
        app::run(&url, &mut std::io::stdout()).await
    })
    .await
}
