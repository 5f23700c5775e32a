//! What the console's tests share: an HTTP client, a WebDriver client, a
//! console served in the test's process, and waiting.

#![allow(dead_code)]

pub mod http;
#[path = "../../../tests/support/pg.rs"]
pub mod pg;
pub mod webdriver;

pub use disco_conformance::helpers::TempDir;

use std::time::{Duration, Instant};

use disco_console::{Console, ConsoleConfig};
use tokio::sync::oneshot;

/// A console serving in the test's process until dropped.
pub struct Served {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The address to open (with the token, if any).
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    /// `http://ADDR{path}`.
    pub fn at(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops the console and waits for it to close its store.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves a console with `config` on a free loopback port.
pub async fn serve(mut config: ConsoleConfig) -> Served {
    config.listen = "127.0.0.1:0".parse().unwrap();
    let console = Console::bind(config)
        .await
        .unwrap_or_else(|e| panic!("the console did not start: {e}"));
    let addr = console.local_addr().to_string();
    let url = console.url();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = console
            .serve(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            panic!("the console failed: {e}");
        }
    });
    Served {
        addr,
        url,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Waits up to 20 s for `check` to hold.
pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A count as the console shows it (`1,204`).
pub fn shown(n: u64) -> String {
    disco_console::html::thousands(n)
}
