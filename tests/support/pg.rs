//! A fresh schema on the test server for one test, and its removal with
//! whatever the test kept in it (the store's objects and read models).

/// The test server: `DISCO_TEST_DATABASE_URL`, or the local one's `test`.
pub fn base() -> String {
    std::env::var("DISCO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema made for one test.
pub struct Schema(pub String);

impl Schema {
    /// A fresh schema holding a store, and the store's URL; fails saying
    /// how to start the server when it cannot be reached.
    pub async fn new() -> (Schema, String) {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}?schema={schema}", base());
        if let Err(e) = disco::connect(&url).await {
            panic!(
                "cannot use PostgreSQL at {}: {e}\nStart the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (bash .ci/run installs and starts it), or point DISCO_TEST_DATABASE_URL at another database.",
                base()
            );
        }
        (Schema(schema), url)
    }

    /// Drops the schema and everything in it. A drop the server chose as a
    /// deadlock's victim (connections of the test still at work in the
    /// schema) did nothing, and is tried again, up to 10 times.
    pub async fn drop(self) {
        use disco::projections::postgres::{sqlx, PgReadModels};
        let models = PgReadModels::connect(&base(), None)
            .await
            .unwrap_or_else(|e| panic!("reconnect for cleanup: {e}"));
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0);
        for attempt in 1.. {
            match sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
                .execute(models.pool())
                .await
            {
                Ok(_) => return,
                Err(sqlx::Error::Database(e))
                    if e.code().as_deref() == Some("40P01") && attempt < 10 =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("drop {}: {e}", self.0),
            }
        }
    }
}
