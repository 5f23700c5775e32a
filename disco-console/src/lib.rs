//! The disco console: a web page onto a running event store.
//!
//! `disco console --store URL` serves it; [`Console`] is the same server
//! for a program of its own (a test, an admin binary). Pages are rendered
//! on the server; the live tail uses a few lines of plain JavaScript.
//!
//! - **Overview** (`/`): store kind and location (no credentials), schema
//!   version, head, stream and event counts, the append rate of the last
//!   ten minutes, every consumer and projection worst lag first.
//! - **Streams** (`/streams`, `/stream?id=`, `/event?position=`): prefix
//!   search with keyset paging; a stream's events; an event's data and
//!   metadata with links to what caused it and to its story.
//! - **Story** (`/story?correlation=`): everything one command caused,
//!   through process managers and their commands, in causation order with
//!   times and refusals.
//! - **Live tail** (`/tail`): events as they are appended, by type and
//!   stream prefix (server-sent events).
//! - **Consumers** and **Projections**: positions, lag, partitions and
//!   members, parked streams; retry, skip, rebuild and drop-retired with
//!   `allow_actions`.
//! - **Metrics** (`/metrics`): Prometheus text.
//!
//! **Safe by default.** The store is opened existing-only and nothing is
//! written unless an action is taken; the console listens on 127.0.0.1
//! and refuses any other address without a token; actions are off unless
//! allowed, and are POSTs with a CSRF token; everything a user wrote is
//! escaped and a content security policy runs only the console's script.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), disco_console::ConsoleError> {
//! use disco_console::{Console, ConsoleConfig};
//! let console = Console::bind(ConsoleConfig::new("sqlite:bank.db")).await?;
//! println!("open {}", console.url());
//! console.serve(std::future::pending()).await
//! # }
//! ```
// The lint gate: library code takes no shortcut that bad input could turn
// into a panic (unwrap, expect, panic, unchecked indexing or arithmetic).
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
#![warn(missing_docs)]

mod actions;
mod auth;
mod background;
mod config;
pub mod html;
mod metrics;
mod pages;
mod state;
mod story_index;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use config::{redact, ConsoleConfig, ConsoleError};
use state::State;

/// A console bound to its address, ready to serve.
pub struct Console {
    state: Arc<State>,
    listener: TcpListener,
    addr: SocketAddr,
}

impl Console {
    /// Checks `config` (a non-loopback address needs a token) and binds its
    /// address. The store is opened on first use, so a store that cannot be
    /// opened yet gives a page that says why, and is tried again.
    pub async fn bind(config: ConsoleConfig) -> Result<Console, ConsoleError> {
        config.check()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ConsoleError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ConsoleError::Bind {
            addr: config.listen,
            source,
        })?;
        Ok(Console {
            state: Arc::new(State::new(config)),
            listener,
            addr,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address to open in a browser (with the token, if there is one:
    /// the first page sets it as a cookie and drops it from the address).
    pub fn url(&self) -> String {
        match &self.state.config.token {
            Some(token) => format!("http://{}/?token={}", self.addr, html::query(token)),
            None => format!("http://{}/", self.addr),
        }
    }

    /// Serves until `shutdown` completes, then closes the store.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ConsoleError> {
        let state = self.state;
        let watchers = [
            tokio::spawn(background::sample_head(state.clone())),
            tokio::spawn(background::count(state.clone())),
            tokio::spawn(story_index::keep(state.clone())),
        ];
        let served = axum::serve(self.listener, router(state.clone()))
            .with_graceful_shutdown(shutdown)
            .await;
        for watcher in watchers {
            watcher.abort();
        }
        state.close().await;
        served.map_err(ConsoleError::Serve)
    }
}

/// A static file of the console's.
fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
}

/// Every route, behind the token check and the security headers.
fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/streams", get(pages::streams::list))
        .route("/stream", get(pages::streams::stream))
        .route("/event", get(pages::event::page))
        .route("/story", get(pages::story::page))
        .route("/tail", get(pages::tail::page))
        .route("/tail/feed", get(pages::tail::feed))
        .route("/consumers", get(pages::consumers::page))
        .route("/projections", get(pages::projections::page))
        .route("/metrics", get(metrics::metrics))
        .route("/actions/parked", post(actions::parked))
        .route("/actions/projections", post(actions::projections))
        .route(
            "/static/console.css",
            get(|| async {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../static/console.css"),
                )
            }),
        )
        .route(
            "/static/tail.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../static/tail.js"),
                )
            }),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(middleware::from_fn(auth::secure_headers))
        .with_state(state)
}
