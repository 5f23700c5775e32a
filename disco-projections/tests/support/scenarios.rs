//! The projection cases, each run against every (event store, read-model
//! database) pair by the test files' macro.

use std::time::{Duration, Instant};

use disco::projections::{GenerationState, ProjectionExit, ProjectionState};

use super::*;

async fn wait_applied(handle: &disco::projections::ProjectionHandle, position: u64) {
    if let Err(behind) = handle.wait_for(position, PATIENCE).await {
        panic!("{behind}; status {:?}", handle.status().await);
    }
}

async fn assert_equals_fold(models: &ReadModels, store: &dyn EventStore, upto: u64) {
    let expected = fold(store, upto).await;
    let answer = models.answer().await;
    assert_eq!(
        answer.balances, expected,
        "the read model differs from the fold"
    );
    let events: i64 = expected.values().map(|(_, n)| n).sum();
    assert_eq!(
        models.applied().await,
        events,
        "events applied != events in the store"
    );
}

/// Catch-up in batches, then live: the table equals the fold of the events.
pub async fn catches_up_then_follows_live(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 17, 1234).await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_applied(&handle, head).await;
    assert_equals_fold(&models, &*store, head).await;
    for i in 0..20 {
        let at = credit(&*store, &format!("live-{}", i % 3), 5).await;
        wait_applied(&handle, at).await;
    }
    let head = store.head_position().await.expect("head");
    assert_equals_fold(&models, &*store, head).await;
    let status = handle.status().await;
    assert_eq!(
        (status.state, status.lag, status.generation),
        (ProjectionState::Active, 0, Some(1))
    );
    assert_eq!(status.applied, 1254);
    assert_eq!(
        handle.stop().await,
        ProjectionExit::Stopped { position: head }
    );
    models.close().await;
}

/// A restart resumes from the stored position and applies nothing twice.
pub async fn restart_resumes_without_reapplying(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 5, 300).await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    wait_applied(&handle, store.head_position().await.expect("head")).await;
    handle.stop().await;
    credit_many(&*store, 5, 120).await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_applied(&handle, head).await;
    assert_equals_fold(&models, &*store, head).await;
    assert_eq!(
        handle.status().await.applied,
        120,
        "the restart applied old events again"
    );
    handle.stop().await;
    models.close().await;
}

/// Redelivered events (the same batch twice) are skipped in the
/// transaction: the stored position says they are in.
pub async fn redelivery_is_a_no_op(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 3, 40).await;
    let events = store.read_all(0, 100).await.expect("read");
    let head = events.last().map_or(0, |e| e.position);
    let read_model = models.read_model(Balances::<1>::new());
    let plan = read_model.plan().await.expect("plan");
    let generation = plan.live.expect("a live generation");
    let claim = Uuid::new_v4().to_string();
    assert_eq!(
        read_model
            .claim(generation, &claim, 1)
            .await
            .expect("claim"),
        0
    );
    read_model
        .apply(generation, &claim, events.clone(), head)
        .await
        .expect("apply");
    read_model
        .apply(generation, &claim, events.clone(), head)
        .await
        .expect("apply again");
    read_model
        .apply(
            generation,
            &claim,
            events[..10].to_vec(),
            events[9].position,
        )
        .await
        .expect("apply a part again");
    assert_equals_fold(&models, &*store, head).await;
    // A runner whose claim was taken over writes nothing.
    let other = Uuid::new_v4().to_string();
    read_model
        .claim(generation, &other, 2)
        .await
        .expect("claim");
    let more = credit(&*store, "late", 3).await;
    let late = store.read_all(head, 10).await.expect("read");
    let fenced = read_model.apply(generation, &claim, late, more).await;
    assert!(
        matches!(
            fenced,
            Err(disco::projections::ProjectionError::Fenced { .. })
        ),
        "{fenced:?}"
    );
    assert_equals_fold(&models, &*store, head).await;
    let rows = models.list().await;
    assert_eq!(rows[0].position, head);
    assert_eq!(rows[0].token, 2);
    models.close().await;
}

/// Two runners of one projection (two "processes"): each event applied
/// once, whichever runner applies it.
pub async fn two_runners_apply_each_event_once(store: Arc<dyn EventStore>, models: ReadModels) {
    let second = models.again().await;
    let a = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let b = second
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    credit_many(&*store, 7, 500).await;
    let head = store.head_position().await.expect("head");
    wait_applied(&a, head).await;
    wait_applied(&b, head).await;
    let states = (a.status().await.state, b.status().await.state);
    let (active, standby) = match states {
        (ProjectionState::Active, ProjectionState::Standby) => (a, b),
        (ProjectionState::Standby, ProjectionState::Active) => (b, a),
        other => panic!("not one active runner and one standby: {other:?}"),
    };
    // The active one dies as in a crash; the standby takes over.
    active.abort();
    credit_many(&*store, 7, 50).await;
    let head = store.head_position().await.expect("head");
    wait_applied(&standby, head).await;
    assert_equals_fold(&models, &*store, head).await;
    standby.stop().await;
    second.close().await;
    models.close().await;
}

/// A handler error mid-batch: the events before it commit, nothing of the
/// failed transaction stays, the runner stops at the event before it and
/// says which event failed.
pub async fn handler_error_mid_batch_keeps_nothing_of_it(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    credit_many(&*store, 4, 60).await;
    let before = store.head_position().await.expect("head");
    let poison_at = credit(&*store, "p", POISON).await;
    credit_many(&*store, 4, 30).await;
    let mut projection = Balances::<1>::new();
    projection.poison = true;
    let handle = models
        .projector(projection)
        .start(store.clone())
        .expect("start");
    let exit = tokio::time::timeout(PATIENCE, handle.wait())
        .await
        .expect("the runner stops");
    let ProjectionExit::Failed {
        position,
        event_id,
        error,
    } = exit
    else {
        panic!("not a failure: {exit:?}");
    };
    assert_eq!(position, before);
    let poison = store.read_all(poison_at - 1, 1).await.expect("read")[0].id;
    assert_eq!(event_id, Some(poison));
    assert!(error.contains("poison"), "{error}");
    assert_equals_fold(&models, &*store, before).await;
    assert_eq!(models.list().await[0].position, before);
    models.close().await;
}

/// The same with the skip policy: the poison event is passed over, all
/// others applied.
pub async fn poison_event_is_skipped_when_chosen(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 4, 20).await;
    credit(&*store, "p", POISON).await;
    credit_many(&*store, 4, 20).await;
    let mut projection = Balances::<1>::new();
    projection.poison = true;
    let mut options = disco::projections::ProjectionOptions::default().error_policy(
        disco::consumer::ErrorPolicy::default()
            .retries(1)
            .backoff(Duration::from_millis(1), Duration::from_millis(2))
            .then_skip(),
    );
    options.takeover_poll = Duration::from_millis(50);
    let handle = models
        .projector(projection)
        .options(options)
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_applied(&handle, head).await;
    let mut expected = fold(&*store, head).await;
    expected.remove("p");
    assert_eq!(models.answer().await.balances, expected);
    assert!(handle
        .status()
        .await
        .last_error
        .is_some_and(|e| e.contains("poison")));
    handle.stop().await;
    models.close().await;
}

/// A filtered projection's position follows the head through events it
/// does not want: lag 0, and `wait_for` a foreign write returns.
pub async fn filtered_projection_reaches_lag_zero(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 2, 10).await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    for _ in 0..3 {
        let at = noise(&*store, 5).await;
        wait_applied(&handle, at).await;
    }
    let status = handle.status().await;
    assert_eq!(status.lag, 0, "{status:?}");
    assert_eq!(status.applied, 10);
    // The position seen is stored too (within save_seen_every).
    let head = store.head_position().await.expect("head");
    let deadline = Instant::now() + PATIENCE;
    while models.list().await[0].position < head {
        assert!(
            Instant::now() < deadline,
            "the seen position was not stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.stop().await;
    models.close().await;
}

/// Development reset: emptied and rebuilt in place, equal to the fold.
pub async fn reset_rebuilds_in_place(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 6, 250).await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_applied(&handle, head).await;
    handle.reset().await.expect("reset");
    wait_applied(&handle, head).await;
    assert_equals_fold(&models, &*store, head).await;
    assert_eq!(handle.status().await.applied, 500);
    handle.stop().await;
    models.close().await;
}

/// Blue-green: version 2 is built into its own tables while version 1
/// serves; every query during the switch answers from exactly one complete
/// version; version 1's runner retires; the old tables drop on request.
pub async fn blue_green_switch_while_queries_run(store: Arc<dyn EventStore>, models: ReadModels) {
    credit_many(&*store, 25, 2000).await;
    let head = store.head_position().await.expect("head");
    let complete = fold(&*store, head).await;
    let v1 = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    wait_applied(&v1, head).await;
    let reader = models.again().await;
    let queries = tokio::spawn(async move {
        let mut answers = 0;
        let mut saw = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            let answer = reader.answer().await;
            assert_eq!(
                answer.tags.len(),
                1,
                "a query saw two versions: {:?}",
                answer.tags
            );
            assert_eq!(
                answer.balances, complete,
                "a query saw an incomplete version"
            );
            answers += 1;
            if saw.last() != Some(&answer.tags[0]) {
                saw.push(answer.tags[0]);
            }
            if saw == [1, 2] && answers > 20 {
                break;
            }
        }
        reader.close().await;
        (answers, saw)
    });
    let second = models.again().await;
    let v2 = second
        .projector(Balances::<2>::new())
        .start(store.clone())
        .expect("start");
    let exit = tokio::time::timeout(PATIENCE, v1.wait())
        .await
        .expect("v1 retires");
    assert_eq!(exit, ProjectionExit::Retired { live_version: 2 });
    let (answers, saw) = queries.await.expect("the query task");
    assert_eq!(saw, vec![1, 2], "after {answers} answers");
    let status = v2.status().await;
    assert_eq!(status.generation, Some(2));
    let rows = models.list().await;
    let states: Vec<_> = rows
        .iter()
        .map(|r| (r.generation, r.version, r.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (1, 1, GenerationState::Retired),
            (2, 2, GenerationState::Live)
        ]
    );
    assert!(models.has_table("balances_g1").await);
    assert_eq!(v2.drop_retired().await.expect("drop retired"), vec![1]);
    assert!(!models.has_table("balances_g1").await);
    assert!(models.has_table("balances_g2").await);
    // Live again on version 2.
    let at = credit(&*store, "after", 4).await;
    wait_applied(&v2, at).await;
    assert_equals_fold(&models, &*store, at).await;
    v2.stop().await;
    second.close().await;
    models.close().await;
}

/// A rebuild asked of the read-model database (as `disco projections
/// rebuild` does) is picked up by the running runner: a new generation of
/// the same version is built and switched to.
pub async fn rebuild_request_switches_to_a_new_generation(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    credit_many(&*store, 8, 400).await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let head = store.head_position().await.expect("head");
    wait_applied(&handle, head).await;
    assert_eq!(models.rebuild("balances").await, 2);
    let deadline = Instant::now() + PATIENCE;
    while handle.status().await.generation != Some(2) {
        assert!(
            Instant::now() < deadline,
            "no switch: {:?}",
            handle.status().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_equals_fold(&models, &*store, head).await;
    assert_eq!(handle.rebuild().await.expect("rebuild"), 3);
    handle.stop().await;
    models.close().await;
}

/// Strong consistency: a dispatch that names the projection returns only
/// once its row is committed; a timeout says which projection is behind and
/// keeps the outcome; an unknown name dispatches nothing.
pub async fn strong_dispatch_waits_for_the_projection(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    let mut projection = Balances::<1>::new();
    projection.slow = Some(Duration::from_millis(30));
    let handle = models
        .projector(projection)
        .start(store.clone())
        .expect("start");
    let app = orchestrator(store.clone(), vec![handle.progress()]);
    let strong = disco::cqrs::DispatchOptions::strong(["balances"]).timeout(PATIENCE);
    for i in 0..5 {
        let done = app
            .dispatch_with(
                "credit",
                serde_json::json!({"id": "s", "amount": 10 + i}),
                &strong,
            )
            .await
            .expect("a strong dispatch");
        let answer = models.answer().await;
        let expected: i64 = (0..=i).map(|k| 10 + k).sum();
        assert_eq!(
            answer.balances.get("s"),
            Some(&(expected, i + 1)),
            "after position {}",
            done.position
        );
    }
    let hurried =
        disco::cqrs::DispatchOptions::strong(["balances"]).timeout(Duration::from_millis(1));
    let late = app
        .dispatch_with(
            "credit",
            serde_json::json!({"id": "s", "amount": 1}),
            &hurried,
        )
        .await;
    let Err(disco::cqrs::DispatchError::Behind {
        behind,
        dispatched: Some(done),
    }) = late
    else {
        panic!("not Behind: {late:?}");
    };
    assert_eq!(behind.name, "balances");
    assert_eq!(behind.wanted, done.position);
    assert!(behind.reached < done.position);
    let head = store.head_position().await.expect("head");
    let unknown = disco::cqrs::DispatchOptions::strong(["nope"]);
    let refused = app
        .dispatch_with(
            "credit",
            serde_json::json!({"id": "s", "amount": 1}),
            &unknown,
        )
        .await;
    assert!(
        matches!(refused, Err(disco::cqrs::DispatchError::UnknownReadModel(ref n)) if n == "nope"),
        "{refused:?}"
    );
    assert_eq!(
        store.head_position().await.expect("head"),
        head,
        "an unknown read model still dispatched"
    );
    app.wait_for(&["balances"], head, PATIENCE)
        .await
        .expect("the typed path's wait");
    handle.stop().await;
    models.close().await;
}

/// Starts the balances projection on `models` and expects its runner to
/// fail, naming `table`.
async fn refused_for(models: &ReadModels, store: &Arc<dyn EventStore>, table: &str) {
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let exit = tokio::time::timeout(PATIENCE, handle.wait())
        .await
        .expect("the runner ends");
    assert!(
        matches!(&exit, ProjectionExit::Failed { error, .. } if error.contains(table)),
        "{exit:?}"
    );
}

/// The read-model database holds an application table named as one of the
/// projection's views: the projection refuses it (`Foreign`, the runner
/// fails before applying anything) and leaves the table as it was; a
/// `disco_projections` table that is not disco's is refused too, and so is one named as
/// `disco_projection_partitions`.
pub async fn foreign_tables_are_refused_and_left_alone(
    store: Arc<dyn EventStore>,
    models: ReadModels,
) {
    credit_many(&*store, 2, 10).await;
    models.execute("CREATE TABLE applied (note TEXT)").await;
    models
        .execute("INSERT INTO applied (note) VALUES ('the application''s')")
        .await;
    let handle = models
        .projector(Balances::<1>::new())
        .start(store.clone())
        .expect("start");
    let exit = tokio::time::timeout(PATIENCE, handle.wait())
        .await
        .expect("the runner ends");
    let ProjectionExit::Failed { error, .. } = exit else {
        panic!("a foreign table was not refused: {exit:?}");
    };
    assert!(
        error.contains("applied") && error.contains("not this projection's"),
        "{error}"
    );
    assert_eq!(
        models.scalar("SELECT note FROM applied").await,
        "the application's"
    );
    assert!(
        !models.has_table("balances_g1").await,
        "the projection's tables stayed"
    );
    let target = models.target();
    models.close().await;

    let other = ReadModels::open(target).await;
    other
        .execute("CREATE TABLE disco_projections (name TEXT, owner TEXT)")
        .await;
    refused_for(&other, &store, "disco_projections").await;
    other.close().await;

    // A foreign table of the partitions' name is refused and kept too.
    let third = ReadModels::open(target).await;
    third
        .execute("CREATE TABLE disco_projection_partitions (owner TEXT)")
        .await;
    third
        .execute("INSERT INTO disco_projection_partitions (owner) VALUES ('someone')")
        .await;
    refused_for(&third, &store, "disco_projection_partitions").await;
    assert_eq!(
        third
            .scalar("SELECT owner FROM disco_projection_partitions")
            .await,
        "someone"
    );
    third.close().await;
}
