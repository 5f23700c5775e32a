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

use std::process::ExitCode;

const USAGE: &str = "usage: wallet [--store memory:|sqlite:PATH|redb:PATH|postgres://...]";

fn store_url() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut url = "sqlite:wallet.db".to_owned();
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
            eprintln!("wallet: {error}");
            ExitCode::FAILURE
        }
    }
}
