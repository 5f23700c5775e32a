//! What the projection tests share: a balances projection (written for both
//! adapters), the event stores it reads from, and the read-model databases
//! it writes to.
#![allow(dead_code)]

#[macro_use]
pub mod cases;
pub mod partitioned;
pub mod scenarios;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use disco::cqrs::{encode, CommandContext, DomainEvent};
use disco::projections::postgres::{sqlx, PgProjection, PgReadModels, PgTransaction};
use disco::projections::read_model::ReadModel;
use disco::projections::sql::{Portable, SqlProjection, Statements};
use disco::projections::sqlite::rusqlite::{self, Transaction};
use disco::projections::sqlite::{SqliteProjection, SqliteReadModels};
use disco::projections::{
    args, Envelope, GenerationRow, HandlerError, Interest, Projection, ProjectionOptions,
    Projector, Tables,
};
use disco::{EventStore, ExpectedVersion, StreamId, Uuid};
use serde::{Deserialize, Serialize};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The one event of the tests' accounts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credited {
    pub amount: i64,
}

impl DomainEvent for Credited {
    fn event_type(&self) -> &'static str {
        "Credited"
    }
}

/// The amount that makes the projection's handler fail, when set.
pub const POISON: i64 = 13;

/// Balances per account, one row per account, plus one row per applied
/// event (its primary key makes a second application of an event fail).
/// `V` is the version; rows carry it as `tag`, so a query tells which
/// version answered.
pub struct Balances<const V: u32> {
    /// Fail on events of amount [`POISON`].
    pub poison: bool,
    /// Sleep this long per event (to be killed mid-batch).
    pub slow: Option<Duration>,
}

impl<const V: u32> Balances<V> {
    pub fn new() -> Self {
        Balances {
            poison: false,
            slow: None,
        }
    }

    fn check(&self, event: &Envelope<Credited>) -> Result<(), HandlerError> {
        if self.poison && event.event.amount == POISON {
            return Err(format!("poison at {}", event.position).into());
        }
        if let Some(slow) = self.slow {
            std::thread::sleep(slow);
        }
        Ok(())
    }
}

impl<const V: u32> Projection for Balances<V> {
    type Event = Credited;
    const NAME: &'static str = "balances";
    const VERSION: u32 = V;
    const TABLES: &'static [&'static str] = &["balances", "applied"];

    fn interest() -> Interest {
        Interest::stream_prefix("acct-")
    }
}

impl<const V: u32> SqliteProjection for Balances<V> {
    fn setup(&self, tx: &Transaction<'_>, tables: &Tables) -> Result<(), HandlerError> {
        tx.execute_batch(&format!(
            "CREATE TABLE {} (id TEXT PRIMARY KEY, balance INTEGER NOT NULL, events INTEGER NOT NULL, tag INTEGER NOT NULL);
             CREATE TABLE {} (event_id TEXT PRIMARY KEY, position INTEGER NOT NULL);",
            tables.name("balances"),
            tables.name("applied")
        ))?;
        Ok(())
    }

    fn apply(
        &self,
        tx: &Transaction<'_>,
        tables: &Tables,
        e: Envelope<Credited>,
    ) -> Result<(), HandlerError> {
        self.check(&e)?;
        tx.execute(
            &format!(
                "INSERT INTO {} (id, balance, events, tag) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (id) DO UPDATE SET balance = balance + ?2, events = events + 1",
                tables.name("balances")
            ),
            rusqlite::params![e.aggregate_id, e.event.amount, V],
        )?;
        tx.execute(
            &format!(
                "INSERT INTO {} (event_id, position) VALUES (?1, ?2)",
                tables.name("applied")
            ),
            rusqlite::params![e.id.to_string(), e.position as i64],
        )?;
        Ok(())
    }
}

#[disco::async_trait]
impl<const V: u32> PgProjection for Balances<V> {
    async fn setup(&self, tx: &mut PgTransaction, tables: &Tables) -> Result<(), HandlerError> {
        for sql in [
            format!(
                "CREATE TABLE {} (id TEXT PRIMARY KEY, balance BIGINT NOT NULL, events BIGINT NOT NULL, tag INTEGER NOT NULL)",
                tables.name("balances")
            ),
            format!(
                "CREATE TABLE {} (event_id UUID PRIMARY KEY, position BIGINT NOT NULL)",
                tables.name("applied")
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn apply(
        &self,
        tx: &mut PgTransaction,
        tables: &Tables,
        e: Envelope<Credited>,
    ) -> Result<(), HandlerError> {
        self.check(&e)?;
        let upsert = format!(
            "INSERT INTO {0} (id, balance, events, tag) VALUES ($1, $2, 1, $3)
             ON CONFLICT (id) DO UPDATE SET balance = {0}.balance + $2, events = {0}.events + 1",
            tables.name("balances")
        );
        sqlx::query(sqlx::AssertSqlSafe(upsert))
            .bind(&e.aggregate_id)
            .bind(e.event.amount)
            .bind(V as i32)
            .execute(&mut **tx)
            .await?;
        let applied = format!(
            "INSERT INTO {} (event_id, position) VALUES ($1, $2)",
            tables.name("applied")
        );
        sqlx::query(sqlx::AssertSqlSafe(applied))
            .bind(e.id)
            .bind(e.position as i64)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// The same projection written once for both databases: the test binaries
/// whose root says `PORTABLE = true` run every case through it.
impl<const V: u32> SqlProjection for Balances<V> {
    fn setup(&self, sql: &mut Statements) {
        sql.run(
            "CREATE TABLE {balances} (id TEXT PRIMARY KEY, balance BIGINT NOT NULL, events BIGINT NOT NULL, tag INTEGER NOT NULL)",
            args![],
        )
        .run(
            "CREATE TABLE {applied} (event_id TEXT PRIMARY KEY, position BIGINT NOT NULL)",
            args![],
        );
    }

    fn apply(&self, e: Envelope<Credited>, sql: &mut Statements) -> Result<(), HandlerError> {
        self.check(&e)?;
        sql.run(
            "INSERT INTO {balances} (id, balance, events, tag) VALUES ($1, $2, 1, $3)
             ON CONFLICT (id) DO UPDATE SET balance = {balances}.balance + $2, events = {balances}.events + 1",
            args![e.aggregate_id, e.event.amount, V],
        )
        .run(
            "INSERT INTO {applied} (event_id, position) VALUES ($1, $2)",
            args![e.id, e.position],
        );
        Ok(())
    }
}

/// Appends `amount` to account `id`'s stream.
pub async fn credit(store: &dyn EventStore, id: &str, amount: i64) -> u64 {
    let event = encode(&Credited { amount }, &CommandContext::new()).expect("encodes");
    let stream = StreamId::new(format!("acct-{id}")).expect("a valid stream id");
    store
        .append(&stream, ExpectedVersion::Any, vec![event])
        .await
        .expect("append")
        .last_position
}

/// Appends `n` credits spread over `accounts` accounts (amounts 1..=7,
/// never the poison), in appends of up to 50 events; the last position.
pub async fn credit_many(store: &dyn EventStore, accounts: usize, n: usize) -> u64 {
    let mut last = 0;
    let mut i = 0;
    while i < n {
        let account = i % accounts;
        let take = 50.min(n - i);
        let events = (0..take)
            .map(|k| {
                let amount = ((i + k) % 7 + 1) as i64;
                encode(&Credited { amount }, &CommandContext::new()).expect("encodes")
            })
            .collect();
        let stream = StreamId::new(format!("acct-{account}")).expect("valid");
        last = store
            .append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("append")
            .last_position;
        i += take;
    }
    last
}

/// Appends events the projection does not want.
pub async fn noise(store: &dyn EventStore, n: usize) -> u64 {
    let stream = StreamId::new(format!("other-{}", Uuid::new_v4())).expect("valid");
    let events = (0..n)
        .map(|_| disco::NewEvent::new("Noise", b"{}".to_vec()))
        .collect();
    store
        .append(&stream, ExpectedVersion::Any, events)
        .await
        .expect("append")
        .last_position
}

/// The balances the store's events fold to, up to `position`: id ->
/// (balance, events).
pub async fn fold(store: &dyn EventStore, upto: u64) -> BTreeMap<String, (i64, i64)> {
    let filter = Balances::<1>::interest().filter().clone();
    let mut after = 0;
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    loop {
        let page = store
            .read_all_filtered(after, 1000, &filter)
            .await
            .expect("read");
        if page.is_empty() {
            return out;
        }
        for event in &page {
            if event.position > upto {
                return out;
            }
            let (credited, _) = disco::cqrs::decode::<Credited>(event).expect("decodes");
            let id = event
                .stream_id
                .as_str()
                .trim_start_matches("acct-")
                .to_owned();
            let entry = out.entry(id).or_default();
            entry.0 += credited.amount;
            entry.1 += 1;
        }
        after = page.last().map_or(after, |e| e.position);
    }
}

/// The event store a case reads from.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    Memory,
    Sqlite,
    Redb,
    Postgres,
}

/// A store for one case and what removes it.
pub struct SourceStore {
    pub store: Arc<dyn EventStore>,
    url: String,
    _dir: Option<TempDir>,
}

impl SourceStore {
    pub async fn open(source: Source) -> SourceStore {
        let (url, dir) = match source {
            Source::Memory => ("memory:".to_owned(), None),
            Source::Sqlite => {
                let dir = TempDir::new("src");
                (
                    format!("sqlite:{}", dir.file("events.db").display()),
                    Some(dir),
                )
            }
            Source::Redb => {
                let dir = TempDir::new("src");
                (
                    format!("redb:{}", dir.file("events.redb").display()),
                    Some(dir),
                )
            }
            Source::Postgres => (
                format!("{}?schema=t_{}", pg_base(), Uuid::new_v4().simple()),
                None,
            ),
        };
        let store = disco::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}{}", pg_hint(&url)));
        SourceStore {
            store,
            url,
            _dir: dir,
        }
    }

    /// A store at `url` (which the caller removes).
    pub async fn open_url(url: &str) -> SourceStore {
        let store = disco::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}{}", pg_hint(url)));
        SourceStore {
            store,
            url: url.to_owned(),
            _dir: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn close(self) {
        let _ = self.store.close().await;
        if self.url.starts_with("postgres") {
            disco::drop_url(&self.url)
                .await
                .expect("drop the test store");
        }
    }
}

pub fn pg_base() -> String {
    std::env::var("DISCO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn pg_hint(url: &str) -> &'static str {
    if url.starts_with("postgres") {
        "\nStart the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (bash .ci/run installs and starts it), or point DISCO_TEST_DATABASE_URL at another database."
    } else {
        ""
    }
}

/// A directory removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("disco-proj-{tag}-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    /// No directory: for a handle that shares another's (nothing is made,
    /// nothing removed; a child process killed with `kill -9` leaves none).
    pub fn none() -> TempDir {
        TempDir(std::path::PathBuf::new())
    }

    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The read-model database a case writes to.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Sqlite,
    Postgres,
}

/// A read-model database for one case.
pub enum ReadModels {
    Sqlite(SqliteReadModels, TempDir),
    /// The models, their schema, and whether this handle drops it.
    Postgres(PgReadModels, String, bool),
}

/// One answer of a query of the balances view.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub balances: BTreeMap<String, (i64, i64)>,
    pub tags: Vec<i64>,
}

impl ReadModels {
    pub async fn open(target: Target) -> ReadModels {
        match target {
            Target::Sqlite => {
                let dir = TempDir::new("rm");
                let models = SqliteReadModels::open(dir.file("read.db")).expect("open read models");
                ReadModels::Sqlite(models, dir)
            }
            Target::Postgres => {
                let schema = format!("rm_{}", Uuid::new_v4().simple());
                let models = PgReadModels::connect(&pg_base(), Some(&schema))
                    .await
                    .unwrap_or_else(|e| {
                        panic!("cannot reach PostgreSQL: {e}{}", pg_hint("postgres"))
                    });
                ReadModels::Postgres(models, schema, true)
            }
        }
    }

    /// A second handle on the same database (another "process").
    pub async fn again(&self) -> ReadModels {
        match self {
            ReadModels::Sqlite(_, dir) => ReadModels::Sqlite(
                SqliteReadModels::open(dir.file("read.db")).expect("open read models"),
                TempDir::none(),
            ),
            ReadModels::Postgres(_, schema, _) => ReadModels::Postgres(
                PgReadModels::connect(&pg_base(), Some(schema))
                    .await
                    .expect("connect"),
                schema.clone(),
                false,
            ),
        }
    }

    pub fn projector<const V: u32>(&self, projection: Balances<V>) -> Projector {
        let options = ProjectionOptions::default()
            .batch_size(100)
            .lease(Duration::from_millis(1000), Duration::from_millis(50))
            .error_policy(
                disco::consumer::ErrorPolicy::default()
                    .retries(1)
                    .backoff(Duration::from_millis(5), Duration::from_millis(10)),
            );
        let mut options = options;
        options.poll_interval = Duration::from_millis(200);
        options.save_seen_every = Duration::from_millis(50);
        Projector::shared(self.read_model(projection)).options(options)
    }

    /// The read model of `projection` here: through the portable layer in
    /// a binary whose root says `PORTABLE = true`.
    pub fn read_model<const V: u32>(&self, projection: Balances<V>) -> Arc<dyn ReadModel> {
        match (self, crate::PORTABLE) {
            (ReadModels::Sqlite(models, _), false) => Arc::new(models.projection(projection)),
            (ReadModels::Sqlite(models, _), true) => {
                Arc::new(models.projection(Portable(projection)))
            }
            (ReadModels::Postgres(models, _, _), false) => Arc::new(models.projection(projection)),
            (ReadModels::Postgres(models, _, _), true) => {
                Arc::new(models.projection(Portable(projection)))
            }
        }
    }

    pub async fn list(&self) -> Vec<GenerationRow> {
        match self {
            ReadModels::Sqlite(models, _) => models.list().await.expect("list"),
            ReadModels::Postgres(models, _, _) => models.list().await.expect("list"),
        }
    }

    pub async fn rebuild(&self, name: &str) -> u32 {
        match self {
            ReadModels::Sqlite(models, _) => models.rebuild(name).await.expect("rebuild"),
            ReadModels::Postgres(models, _, _) => models.rebuild(name).await.expect("rebuild"),
        }
    }

    /// The balances view, read in one query (with the tags of the rows),
    /// through the portable query of either database.
    pub async fn answer(&self) -> Answer {
        #[derive(Deserialize)]
        struct Line {
            id: String,
            balance: i64,
            events: i64,
            tag: i64,
        }
        let sql = "SELECT id, balance, events, tag FROM balances";
        let rows = match self {
            ReadModels::Sqlite(models, _) => models.query(sql, args![]).await,
            ReadModels::Postgres(models, _, _) => models.query(sql, args![]).await,
        }
        .expect("query the view");
        let lines: Vec<Line> = rows
            .iter()
            .map(|row| row.decode().expect("a balances row"))
            .collect();
        let mut tags: Vec<i64> = lines.iter().map(|l| l.tag).collect();
        tags.sort();
        tags.dedup();
        Answer {
            balances: lines
                .into_iter()
                .map(|l| (l.id, (l.balance, l.events)))
                .collect(),
            tags,
        }
    }

    /// How many events the live generation applied (rows of `applied`).
    pub async fn applied(&self) -> i64 {
        match self {
            ReadModels::Sqlite(models, _) => models
                .with_connection(|c| c.query_row("SELECT count(*) FROM applied", [], |r| r.get(0)))
                .await
                .expect("count"),
            ReadModels::Postgres(models, _, _) => {
                sqlx::query_scalar("SELECT count(*) FROM applied")
                    .fetch_one(models.pool())
                    .await
                    .expect("count")
            }
        }
    }

    /// The kind of database.
    pub fn target(&self) -> Target {
        match self {
            ReadModels::Sqlite(..) => Target::Sqlite,
            ReadModels::Postgres(..) => Target::Postgres,
        }
    }

    /// Runs one statement of the application's.
    pub async fn execute(&self, sql: &str) {
        let sql = sql.to_owned();
        match self {
            ReadModels::Sqlite(models, _) => {
                models
                    .with_connection(move |c| c.execute(&sql, []))
                    .await
                    .expect("execute");
            }
            ReadModels::Postgres(models, _, _) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(models.pool())
                    .await
                    .expect("execute");
            }
        }
    }

    /// The one text value `sql` selects.
    pub async fn scalar(&self, sql: &str) -> String {
        let sql = sql.to_owned();
        match self {
            ReadModels::Sqlite(models, _) => models
                .with_connection(move |c| c.query_row(&sql, [], |r| r.get(0)))
                .await
                .expect("query"),
            ReadModels::Postgres(models, _, _) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(models.pool())
                .await
                .expect("query"),
        }
    }

    /// Whether a table of this name exists.
    pub async fn has_table(&self, name: &str) -> bool {
        let name = name.to_owned();
        match self {
            ReadModels::Sqlite(models, _) => {
                models
                    .with_connection(move |c| {
                        c.query_row(
                            "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                            [name],
                            |r| r.get::<_, i64>(0),
                        )
                    })
                    .await
                    .expect("look")
                    > 0
            }
            ReadModels::Postgres(models, _, _) => {
                sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
                    .bind(name)
                    .fetch_one(models.pool())
                    .await
                    .expect("look")
            }
        }
    }

    pub async fn close(self) {
        if let ReadModels::Postgres(models, schema, true) = self {
            let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(models.pool())
                .await
                .expect("drop the test schema");
        }
    }
}

/// An account: the aggregate whose commands write the tests' events
/// through the orchestrator (streams `acct-{id}`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Account {
    pub balance: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

impl disco::cqrs::Aggregate for Account {
    const NAME: &'static str = "acct";
    type Command = i64;
    type Event = Credited;
    type Error = Never;

    fn handle(&self, amount: i64) -> Result<Vec<Credited>, Never> {
        Ok(vec![Credited { amount }])
    }

    fn apply(&mut self, event: &Credited) {
        self.balance += event.amount;
    }
}

/// An orchestrator with the `credit` command (`{"id", "amount"}`) that
/// knows `read_models`.
pub fn orchestrator(
    store: Arc<dyn EventStore>,
    read_models: Vec<disco::progress::Progress>,
) -> disco::cqrs::Orchestrator {
    let mut builder = disco::cqrs::Orchestrator::builder(store).aggregate::<Account, _>(|routes| {
        routes.command("credit", |p| {
            let id = p.string("id");
            let amount = p.integer("amount");
            Some((disco::cqrs::Target::Existing(id?), amount?))
        })
    });
    for progress in read_models {
        builder = builder.read_model(progress);
    }
    builder.build().expect("an orchestrator")
}
