//! Waking readers: LISTEN on a dedicated connection for the heads the writers
//! of every process announce with pg_notify, a catch-up read whenever the
//! listener (re)connects, and a poll of the head every `poll_interval` as the
//! fallback, so a lost notification never stalls a reader.

use std::sync::Arc;
use std::time::Duration;

use disco_backend::Notifier;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::reads;
use crate::sql::Statements;

async fn catch_up(pool: &PgPool, st: &Statements, notifier: &Notifier) {
    match reads::head(pool, st).await {
        Ok(head) => notifier.notify(head),
        Err(error) => tracing::debug!(%error, "disco head poll failed"),
    }
}

/// Starts the listener and the poller; both stop when `stop` changes or its
/// sender drops.
pub(crate) fn spawn(
    pool: PgPool,
    st: Arc<Statements>,
    channel: String,
    notifier: Arc<Notifier>,
    poll_interval: Duration,
    stop: watch::Receiver<bool>,
) {
    {
        let (pool, st, notifier, mut stop) =
            (pool.clone(), st.clone(), notifier.clone(), stop.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(poll_interval.max(Duration::from_millis(1)));
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = ticks.tick() => catch_up(&pool, &st, &notifier).await,
                }
            }
        });
    }
    let mut stop = stop;
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.changed() => {}
            _ = listen(&pool, &st, &channel, &notifier, poll_interval) => {}
        }
    });
}

async fn listen(
    pool: &PgPool,
    st: &Statements,
    channel: &str,
    notifier: &Notifier,
    retry: Duration,
) {
    loop {
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(%error, "disco listener cannot connect; retrying");
                tokio::time::sleep(retry).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(channel).await {
            tracing::debug!(%error, "disco LISTEN failed; retrying");
            tokio::time::sleep(retry).await;
            continue;
        }
        // Commits may have happened while we were not listening.
        catch_up(pool, st, notifier).await;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => match notification.payload().parse::<u64>() {
                    Ok(head) => notifier.notify(head),
                    Err(_) => catch_up(pool, st, notifier).await,
                },
                // The connection was lost; the next call reconnects and
                // listens again. Catch up on what we may have missed.
                Ok(None) => catch_up(pool, st, notifier).await,
                Err(error) => {
                    tracing::debug!(%error, "disco listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}
