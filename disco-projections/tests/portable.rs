//! The projection cases through the portable layer: the tests' balances
//! projection written once ([`SqlProjection`](disco::projections::sql::SqlProjection)),
//! on SQLite and on PostgreSQL, from the memory store (the other stores
//! feed the adapters the same way: `sqlite.rs` and `postgres.rs` run them),
//! and the portable layer's own refusals.

mod support;

/// Every case runs through the portable layer.
pub const PORTABLE: bool = true;

use support::{Source, Target};

mod sqlite_from_memory {
    use super::*;
    projection_cases!(Target::Sqlite, Source::Memory);
}

mod postgres_from_memory {
    use super::*;
    projection_cases!(Target::Postgres, Source::Memory);
}

use std::sync::Arc;
use std::time::Duration;

use disco::consumer::ErrorPolicy;
use disco::projections::sql::{DocumentProjection, SqlProjection, SqlValue, Statements};
use disco::projections::{
    args, Envelope, HandlerError, Interest, Projection, ProjectionExit, ProjectionOptions,
};
use disco::{EventStore, ReadModelDb};
use serde::{Deserialize, Serialize};
use support::{credit, Credited, ReadModels, SourceStore, PATIENCE};

/// Both read-model databases, as the facade names them.
async fn both() -> Vec<(ReadModels, ReadModelDb)> {
    let mut all = Vec::new();
    for target in [Target::Sqlite, Target::Postgres] {
        let models = ReadModels::open(target).await;
        let db = match &models {
            ReadModels::Sqlite(m, _) => ReadModelDb::Sqlite(m.clone()),
            ReadModels::Postgres(m, _, _) => ReadModelDb::Postgres(m.clone()),
        };
        all.push((models, db));
    }
    all
}

fn options() -> ProjectionOptions {
    let mut options = ProjectionOptions::default().error_policy(
        ErrorPolicy::default()
            .retries(0)
            .backoff(Duration::from_millis(1), Duration::from_millis(2)),
    );
    options.poll_interval = Duration::from_millis(50);
    options
}

/// One document per account: its balance and how many credits it had; a
/// credit of 0 deletes it, and the account "skip" keeps none.
struct AccountDocs;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct AccountDoc {
    balance: i64,
    credits: u32,
}

impl Projection for AccountDocs {
    type Event = Credited;
    const NAME: &'static str = "account_docs";
    const TABLES: &'static [&'static str] = &["account_docs"];
    fn interest() -> Interest {
        Interest::stream_prefix("acct-")
    }
}

impl DocumentProjection for AccountDocs {
    type Document = AccountDoc;

    fn key(&self, e: &Envelope<Credited>) -> Option<String> {
        (e.aggregate_id != "skip").then(|| e.aggregate_id.clone())
    }

    fn apply(
        &self,
        doc: &mut Option<AccountDoc>,
        e: &Envelope<Credited>,
    ) -> Result<(), HandlerError> {
        if e.event.amount == 0 {
            *doc = None;
            return Ok(());
        }
        let doc = doc.get_or_insert_with(AccountDoc::default);
        doc.balance += e.event.amount;
        doc.credits += 1;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_kept_per_key_and_read_by_key_and_page() {
    for (models, db) in both().await {
        let source = SourceStore::open(Source::Memory).await;
        let store: Arc<dyn EventStore> = source.store.clone();
        let handle = db
            .document_projection(AccountDocs)
            .options(options())
            .start(store.clone())
            .expect("start");
        let mut last = 0;
        for (id, amount) in [
            ("a", 5),
            ("a", 7),
            ("b", 1),
            ("skip", 3),
            ("c", 2),
            ("c", 0),
        ] {
            last = credit(&*store, id, amount).await;
        }
        handle.wait_for(last, PATIENCE).await.expect("caught up");
        let target = models.target();
        let a: Option<AccountDoc> = db.document("account_docs", "a").await.expect("read");
        assert_eq!(
            a,
            Some(AccountDoc {
                balance: 12,
                credits: 2
            }),
            "{target:?}"
        );
        let c: Option<AccountDoc> = db.document("account_docs", "c").await.expect("read");
        assert_eq!(c, None, "{target:?}: deleted");
        let skip: Option<AccountDoc> = db.document("account_docs", "skip").await.expect("read");
        assert_eq!(skip, None, "{target:?}: no key, no document");
        let first = db
            .document_page::<AccountDoc>("account_docs", None, 1)
            .await
            .expect("page");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, "a");
        let next = db
            .document_page::<AccountDoc>("account_docs", Some("a"), 10)
            .await
            .expect("page");
        assert_eq!(
            next,
            vec![(
                "b".to_owned(),
                AccountDoc {
                    balance: 1,
                    credits: 1
                }
            )],
            "{target:?}"
        );
        // A table name that is not a plain identifier never reaches SQL.
        assert!(db
            .document::<AccountDoc>("x; DROP TABLE y", "a")
            .await
            .is_err());
        handle.stop().await;
        source.close().await;
        models.close().await;
    }
}

/// A projection whose statements are wrong in the way `mode` says.
struct Wrong {
    mode: &'static str,
}

impl Projection for Wrong {
    type Event = Credited;
    const NAME: &'static str = "wrong";
    const TABLES: &'static [&'static str] = &["wrong"];
    fn interest() -> Interest {
        Interest::stream_prefix("acct-")
    }
}

impl SqlProjection for Wrong {
    fn setup(&self, sql: &mut Statements) {
        sql.run(
            "CREATE TABLE {wrong} (id TEXT PRIMARY KEY, n BIGINT, note TEXT)",
            args![],
        );
    }

    fn apply(&self, e: Envelope<Credited>, sql: &mut Statements) -> Result<(), HandlerError> {
        let insert = "INSERT INTO {wrong} (id, n, note) VALUES ($1, $2, $3)";
        match self.mode {
            "nulls" => sql.run(insert, args![e.aggregate_id, None::<i64>, None::<String>]),
            "typo" => sql.run(
                "INSERT INTO {wrongs} (id) VALUES ($1)",
                args![e.aggregate_id],
            ),
            "missing" => sql.run(insert, args![e.aggregate_id, 1]),
            "extra" => sql.run(
                "INSERT INTO {wrong} (id) VALUES ($1)",
                args![e.aggregate_id, 1],
            ),
            "too big" => sql.run(insert, args![e.aggregate_id, u64::MAX, "x"]),
            _ => sql.run(
                insert,
                args![e.aggregate_id, i64::MAX.unsigned_abs(), "max"],
            ),
        };
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nulls_bind_into_any_column_and_bad_statements_fail_the_batch_naming_why() {
    for (models, db) in both().await {
        let target = models.target();
        for (mode, expected) in [
            ("nulls", None),
            ("max", None),
            (
                "typo",
                Some("{wrongs} in a statement is not one of the projection's tables"),
            ),
            ("missing", Some("$3 has no value")),
            ("extra", Some("")),
            ("too big", Some("does not fit a SQL BIGINT")),
        ] {
            let source = SourceStore::open(Source::Memory).await;
            let store: Arc<dyn EventStore> = source.store.clone();
            let at = credit(&*store, "a", 1).await;
            let handle = db
                .projection(Wrong { mode })
                .options(options())
                .start(store.clone())
                .expect("start");
            match expected {
                None => {
                    handle.wait_for(at, PATIENCE).await.expect("applied");
                    let rows = db
                        .query_rows("SELECT id, n, note FROM wrong", args![])
                        .await
                        .expect("query");
                    assert_eq!(rows.len(), 1, "{target:?} {mode}");
                    let n = rows[0].get("n").cloned();
                    if mode == "nulls" {
                        assert_eq!(n, Some(SqlValue::Null), "{target:?}");
                        assert_eq!(rows[0].get("note"), Some(&SqlValue::Null));
                    } else {
                        assert_eq!(n, Some(SqlValue::Integer(i64::MAX)), "{target:?}");
                    }
                    handle.stop().await;
                }
                Some(message) => {
                    let exit = tokio::time::timeout(PATIENCE, handle.wait())
                        .await
                        .expect("the runner stops");
                    let ProjectionExit::Failed {
                        error, position, ..
                    } = exit
                    else {
                        panic!("{target:?} {mode}: {exit:?}");
                    };
                    assert!(error.contains(message), "{target:?} {mode}: {error}");
                    assert_eq!(position, 0, "nothing of the batch stayed");
                }
            }
            // The projection's tables go with its rows, for the next mode.
            drop_projection(&models).await;
            source.close().await;
        }
        models.close().await;
    }
}

/// Removes the `wrong` projection's tables, views and bookkeeping rows.
async fn drop_projection(models: &ReadModels) {
    models.execute("DROP VIEW IF EXISTS wrong").await;
    models.execute("DROP TABLE IF EXISTS wrong_g1").await;
    models
        .execute("DELETE FROM disco_projections WHERE name = 'wrong'")
        .await;
}
