//! `disco`: create, migrate and drop event stores, look inside them, follow
//! them live, and copy one into another.
//!
//! A store is named by a URL (`--store` or `DISCO_STORE`): `memory:`,
//! `sqlite:PATH`, `redb:PATH` or `postgres://USER@HOST:PORT/DB[?schema=NAME]`.
//! Output is for people by default; `--json` prints one JSON object per line.
//! Exit codes: see [`failure::code`].
// The lint gate: library code takes no shortcut that bad input could turn
// into a panic (unwrap, expect, panic, unchecked indexing or arithmetic);
// the few justified exceptions say why where they stand. Tests may.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

mod admin;
mod browse;
mod console;
mod copy;
mod failure;
mod parked;
mod projections;
mod show;
mod stores;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use failure::Failure;
use show::Format;

/// The disco event store tool.
#[derive(Parser, Debug)]
#[command(name = "disco", version, about)]
struct Args {
    /// The store: memory:, sqlite:PATH, redb:PATH or postgres://USER@HOST:PORT/DB[?schema=NAME]
    /// (before the command; `copy` takes --from and --to instead).
    #[arg(long, env = "DISCO_STORE")]
    store: Option<String>,
    /// One JSON object per line instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Creates the store (a file, or a PostgreSQL schema) if it is missing.
    Init,
    /// Brings the store's schema up to this disco's version.
    Migrate,
    /// Deletes the store and everything in it.
    Drop {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Schema version, head position, stream and event counts.
    Status,
    /// Streams with their versions, a page at a time.
    Streams {
        /// Only streams whose id starts with this.
        #[arg(long, default_value = "")]
        prefix: String,
        /// Start after this stream id (the last one of the previous page).
        #[arg(long)]
        after: Option<String>,
        /// Streams per page.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// The events of one stream.
    Read {
        /// The stream id.
        stream: String,
        /// The first version (the last one with --backward).
        #[arg(long)]
        from: Option<u64>,
        /// Newest first.
        #[arg(long)]
        backward: bool,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Events of every stream in position order.
    Events {
        /// Only events after this position.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Only events of this type (repeat for several).
        #[arg(long = "type")]
        types: Vec<String>,
        /// Only events of streams whose id starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Follows the global log live until interrupted (Ctrl-C).
    Tail {
        /// Start after this position (default: the head, only new events).
        #[arg(long)]
        after: Option<u64>,
        /// Only events of this type (repeat for several).
        #[arg(long = "type")]
        types: Vec<String>,
        /// Only events of streams whose id starts with this.
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Copies a whole store into another (resumable), then verifies it.
    Copy {
        /// The source store URL.
        #[arg(long)]
        from: String,
        /// The target store URL (created if missing; must be empty unless
        /// it holds an interrupted copy of the same source).
        #[arg(long)]
        to: String,
        /// Events per read and per bulk append.
        #[arg(long, default_value_t = 2000)]
        batch: usize,
        /// Hide the progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Consumer checkpoints and their lag; `reset` moves one.
    Checkpoints {
        #[command(subcommand)]
        action: Option<CheckpointAction>,
    },
    /// The streams a consumer parked (the failed event and the error);
    /// `retry STREAM` and `skip STREAM` let one go.
    Parked {
        /// The consumer's name.
        name: String,
        #[command(subcommand)]
        action: Option<ParkedAction>,
    },
    /// Projections (read models) with version, position, lag and state;
    /// `rebuild` starts a blue-green rebuild, `drop-retired` drops replaced
    /// generations.
    Projections {
        /// The read-model database (default: the store's own SQLite file or
        /// PostgreSQL database and schema).
        #[arg(long, global = true)]
        read_models: Option<String>,
        #[command(subcommand)]
        action: Option<ProjectionAction>,
    },
    /// Serves the web console: streams, events, the story of a command,
    /// live tail, consumers, projections and /metrics (until Ctrl-C).
    Console {
        /// The read-model database (default: the one beside the store).
        #[arg(long)]
        read_models: Option<String>,
        /// The address to listen on (any but a loopback one needs a token).
        #[arg(long, default_value = "127.0.0.1:7180")]
        listen: std::net::SocketAddr,
        /// The token every page then needs (at least 16 characters).
        #[arg(long, env = "DISCO_CONSOLE_TOKEN")]
        token: Option<String>,
        /// A file holding the token.
        #[arg(long)]
        token_file: Option<std::path::PathBuf>,
        /// Offer retry, skip, rebuild and drop-retired (POSTs with a CSRF
        /// token, each logged).
        #[arg(long)]
        allow_actions: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ParkedAction {
    /// Delivers the failed event again, then the stream's held events.
    Retry {
        /// The parked stream.
        stream: String,
    },
    /// Passes over the failed event (logged with its id), then delivers the
    /// stream's held events.
    Skip {
        /// The parked stream.
        stream: String,
    },
}

#[derive(Subcommand, Debug)]
enum ProjectionAction {
    /// Builds a new generation from position 0 while the live one serves,
    /// then switches the views to it (done by the projection's runner).
    Rebuild {
        /// The projection's name.
        name: String,
    },
    /// Drops the tables of the projection's retired generations.
    DropRetired {
        /// The projection's name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum CheckpointAction {
    /// Sets the consumer's checkpoint (a running consumer follows it).
    Reset {
        /// The consumer's name.
        name: String,
        /// The new position (0: from the beginning).
        #[arg(long, default_value_t = 0)]
        to: u64,
        /// Create the checkpoint if the consumer has none (else refused: a
        /// typo in the name would make a new one).
        #[arg(long)]
        create: bool,
        /// Allow a position past the head (the consumer would skip the
        /// events written up to it).
        #[arg(long)]
        force: bool,
    },
}

fn store_url(args: &Args) -> Result<String, Failure> {
    args.store.clone().ok_or_else(|| {
        Failure::new(
            failure::code::USAGE,
            "no store given: pass --store URL or set DISCO_STORE",
        )
    })
}

async fn run(args: Args) -> Result<(), Failure> {
    let format = if args.json {
        Format::Json
    } else {
        Format::Human
    };
    match &args.command {
        Command::Copy {
            from,
            to,
            batch,
            quiet,
        } => copy::run(from, to, *batch, *quiet, format).await,
        command => {
            let url = store_url(&args)?;
            match command {
                Command::Init => admin::init(&url, format).await,
                Command::Migrate => admin::migrate(&url, format).await,
                Command::Drop { yes } => admin::drop(&url, *yes, format).await,
                Command::Status => admin::status(&url, format).await,
                Command::Streams {
                    prefix,
                    after,
                    limit,
                } => browse::streams(&url, prefix, after.as_deref(), *limit, format).await,
                Command::Read {
                    stream,
                    from,
                    backward,
                    limit,
                } => browse::read(&url, stream, *from, *backward, *limit, format).await,
                Command::Events {
                    after,
                    types,
                    prefix,
                    limit,
                } => browse::events(&url, *after, types, prefix.as_deref(), *limit, format).await,
                Command::Tail {
                    after,
                    types,
                    prefix,
                } => browse::tail(&url, *after, types, prefix.as_deref(), format).await,
                Command::Checkpoints { action: None } => browse::checkpoints(&url, format).await,
                Command::Checkpoints {
                    action:
                        Some(CheckpointAction::Reset {
                            name,
                            to,
                            create,
                            force,
                        }),
                } => browse::reset(&url, name, *to, *create, *force, format).await,
                Command::Parked { name, action } => match action {
                    None => parked::list(&url, name, format).await,
                    Some(ParkedAction::Retry { stream }) => {
                        parked::release(
                            &url,
                            name,
                            stream,
                            disco::consumer::parking::Release::Retry,
                            format,
                        )
                        .await
                    }
                    Some(ParkedAction::Skip { stream }) => {
                        parked::release(
                            &url,
                            name,
                            stream,
                            disco::consumer::parking::Release::Skip,
                            format,
                        )
                        .await
                    }
                },
                Command::Projections {
                    read_models,
                    action,
                } => {
                    let models = read_models.as_deref();
                    match action {
                        None => projections::list(&url, models, format).await,
                        Some(ProjectionAction::Rebuild { name }) => {
                            projections::rebuild(&url, models, name, format).await
                        }
                        Some(ProjectionAction::DropRetired { name }) => {
                            projections::drop_retired(&url, models, name, format).await
                        }
                    }
                }
                Command::Console {
                    read_models,
                    listen,
                    token,
                    token_file,
                    allow_actions,
                } => {
                    let flags = console::Flags {
                        read_models: read_models.clone(),
                        listen: *listen,
                        token: token.clone(),
                        token_file: token_file.clone(),
                        allow_actions: *allow_actions,
                    };
                    console::run(&url, flags).await
                }
                Command::Copy { .. } => Ok(()),
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let json = args.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("disco: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"error": failure.message, "exit_code": failure.code})
                );
            }
            eprintln!("disco: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
