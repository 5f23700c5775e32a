//! The transfer case: one transfer at a time through a process manager
//! (the transfer's start, then its debit, credit and completion, three
//! commands the process manager sends), timed from the start's dispatch
//! until the transfer is completed; against one command at a time on an
//! account, on the same store in the same run. Also timed: four commands
//! in a row, the floor of any transfer made of four commits that each wait
//! for the one before.

mod domain;

use std::sync::Arc;
use std::time::{Duration, Instant};

use disco_core::{Error, EventStore, Result, StreamId};
use disco_cqrs::process::ProcessManagerConsumer;
use disco_cqrs::{Orchestrator, Repository};

use crate::workloads::{Measurement, Sizes};
use domain::{Account, AccountCommand, Flow, Transfer, TransferCommand};

fn failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend(format!("{what}: {e}"))
}

/// Transfers (store side), single commands (raw side) and runs of four
/// commands (the floor), each timed one at a time, as latencies.
pub async fn run(
    store: Arc<dyn EventStore>,
    sizes: Sizes,
) -> Result<(Measurement, Measurement, Measurement)> {
    let app = Arc::new(
        Orchestrator::builder(store.clone())
            .aggregate::<Account, _>(|routes| routes)
            .aggregate::<Transfer, _>(|routes| routes)
            .build()
            .map_err(|e| failed("build", e))?,
    );
    let flow = ProcessManagerConsumer::<Flow>::new()
        .start(app.clone())
        .map_err(|e| failed("start the flow", e))?;
    let accounts = ["a", "b"];
    let n = sizes.transfers;
    // Warm both paths: the accounts are cached, the flow is running.
    for account in accounts {
        app.execute::<Account>(account, credit(account))
            .await
            .map_err(|e| failed("warm up", e))?;
    }
    for i in 0..20 {
        one_transfer(&app, &*store, n + i).await?;
    }

    let mut took = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let began = Instant::now();
        one_transfer(&app, &*store, i).await?;
        took.push(began.elapsed());
    }
    let transfers = Measurement::with_latencies(took, start);

    let mut took = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let account = accounts[i % 2];
        let began = Instant::now();
        app.execute::<Account>(account, credit(account))
            .await
            .map_err(|e| failed("command", e))?;
        took.push(began.elapsed());
    }
    let commands = Measurement::with_latencies(took, start);

    let mut took = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let began = Instant::now();
        for k in 0..4 {
            let account = accounts[(i + k) % 2];
            app.execute::<Account>(account, credit(account))
                .await
                .map_err(|e| failed("command", e))?;
        }
        took.push(began.elapsed());
    }
    let floor = Measurement::with_latencies(took, start);
    flow.stop().await;
    Ok((transfers, commands, floor))
}

fn credit(account: &str) -> AccountCommand {
    AccountCommand::Credit {
        amount: 1,
        transfer: format!("warm-{account}"),
    }
}

/// Starts transfer `i` from a to b and waits until it is completed.
async fn one_transfer(app: &Orchestrator, store: &dyn EventStore, i: usize) -> Result<()> {
    let id = format!("t{i}-{}", uuid::Uuid::now_v7().simple());
    let mut woken = store.notifications();
    app.execute_new::<Transfer>(
        &id,
        TransferCommand::Start {
            from: "a".into(),
            to: "b".into(),
            amount: 1,
        },
    )
    .await
    .map_err(|e| failed("start", e))?;
    let stream: StreamId = Repository::<Transfer>::stream_of(&id)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = 0;
    while store.stream_version(&stream).await? < 2 {
        if Instant::now() > deadline {
            return Err(failed("transfer", format!("{id} did not complete in 30 s")));
        }
        seen = tokio::time::timeout(Duration::from_millis(50), woken.wait_beyond(seen))
            .await
            .unwrap_or(Ok(seen))?;
    }
    Ok(())
}
