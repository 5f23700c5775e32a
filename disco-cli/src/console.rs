//! `disco console`: the web console (the `disco-console` crate) on this
//! store, until Ctrl-C.

use std::net::SocketAddr;

use disco_console::{Console, ConsoleConfig};

use crate::failure::{code, Failure};

/// `disco console`'s flags.
pub struct Flags {
    pub read_models: Option<String>,
    pub listen: SocketAddr,
    pub token: Option<String>,
    pub token_file: Option<std::path::PathBuf>,
    pub allow_actions: bool,
}

/// Serves the console until Ctrl-C.
pub async fn run(url: &str, flags: Flags) -> Result<(), Failure> {
    let token = match (&flags.token, &flags.token_file) {
        (Some(_), Some(_)) => {
            return Err(Failure::new(
                code::USAGE,
                "give --token or --token-file, not both",
            ))
        }
        (Some(token), None) => Some(token.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| {
                    Failure::new(
                        code::USAGE,
                        format!("cannot read the token file {}: {e}", path.display()),
                    )
                })?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    let config = ConsoleConfig {
        store_url: url.to_owned(),
        read_models_url: flags.read_models,
        listen: flags.listen,
        token,
        allow_actions: flags.allow_actions,
    };
    let console = Console::bind(config)
        .await
        .map_err(|e| Failure::new(code::USAGE, e.to_string()))?;
    println!(
        "disco console of {} on {}",
        disco_console::redact(url),
        console.url()
    );
    if flags.allow_actions {
        println!("actions are on: retry, skip, rebuild and drop-retired (each logged here)");
    }
    console
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Failure::new(code::OTHER, e.to_string()))
}
