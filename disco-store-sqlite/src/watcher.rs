//! Wakes this process's readers when another process commits to the same
//! file: a thread polls `PRAGMA data_version` (which changes whenever another
//! connection commits) and announces the new head. Commits of this process's
//! own writer are announced by the writer at once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use disco_backend::Notifier;

use crate::options::SqliteOptions;
use crate::{reads, schema};

/// Starts the watcher; it stops within one interval after `stop` is set.
pub(crate) fn spawn(
    path: PathBuf,
    options: SqliteOptions,
    notifier: Arc<Notifier>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("disco-sqlite-watcher".into())
        .spawn(move || {
            let mut conn = None;
            let mut last_version: Option<i64> = None;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(options.poll_interval.max(Duration::from_millis(1)));
                if conn.is_none() {
                    conn = schema::open_reader(&path, &options).ok();
                }
                let Some(c) = conn.as_ref() else { continue };
                match c.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)) {
                    Ok(version) if Some(version) != last_version => {
                        last_version = Some(version);
                        if let Ok(head) = reads::head(c) {
                            notifier.notify(head);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::debug!(%error, "sqlite watcher lost its connection; reopening");
                        conn = None;
                    }
                }
            }
        })
        .map(|_| ())
}
