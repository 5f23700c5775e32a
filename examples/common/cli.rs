//! What the examples' `main`s share: `--store URL` read from the command
//! line, the session run on it, and the exit code.

use std::future::Future;
use std::process::ExitCode;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The store URL of `--store URL` (or `--store=URL`), else `default`;
/// `usage` for `--help` or an unknown argument.
fn store_url(default: &str, usage: &str) -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut url = default.to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--store" => url = args.next().ok_or(usage)?,
            "-h" | "--help" => return Err(usage.into()),
            other => match other.strip_prefix("--store=") {
                Some(value) => url = value.to_owned(),
                None => return Err(format!("unknown argument {other:?}\n{usage}")),
            },
        }
    }
    Ok(url)
}

/// Runs the example `name`'s session on the store the command line names:
/// exit code 2 for a bad command line, 1 when the session fails.
pub async fn main_of<T, F, Fut>(name: &str, default: &str, usage: &str, run: F) -> ExitCode
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let url = match store_url(default, usage) {
        Ok(url) => url,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(url).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}
