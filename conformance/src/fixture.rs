//! [`Fixture`]: a fresh store for one case, and how to clean it up.

use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::Arc;

use disco_core::EventStore;

type Cleanup = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;
type Reopen =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn EventStore>> + Send>> + Send + Sync>;

/// A fresh, isolated store made by an adapter's factory for one case, with an
/// optional cleanup (drop a schema, remove a file) that runs after the case,
/// whether it passed or failed.
///
/// ```
/// use disco_conformance::Fixture;
/// use disco_store_memory::MemoryStore;
/// let fixture = Fixture::new(MemoryStore::new())
///     .with_cleanup(|| async { /* drop the test schema */ });
/// # drop(fixture);
/// ```
pub struct Fixture {
    /// The store under test.
    pub store: Arc<dyn EventStore>,
    cleanup: Option<Cleanup>,
    reopen: Option<Reopen>,
}

impl Fixture {
    /// A fixture around `store`, with nothing to clean up.
    pub fn new(store: impl EventStore + 'static) -> Self {
        Fixture {
            store: Arc::new(store),
            cleanup: None,
            reopen: None,
        }
    }

    /// A fixture around a store already behind an `Arc`.
    pub fn from_arc(store: Arc<dyn EventStore>) -> Self {
        Fixture {
            store,
            cleanup: None,
            reopen: None,
        }
    }

    /// Runs `cleanup` after the case.
    pub fn with_cleanup<F, Fut>(mut self, cleanup: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.cleanup = Some(Box::new(move || Box::pin(cleanup())));
        self
    }

    /// Tells the consumer cases how to open another handle on the same
    /// store, as a second process would (a second connection pool, a second
    /// open of the file). Without it they share the first handle, which is
    /// right for stores one process owns (memory, redb).
    pub fn with_reopen<F, Fut>(mut self, reopen: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Arc<dyn EventStore>> + Send + 'static,
    {
        self.reopen = Some(Arc::new(move || Box::pin(reopen())));
        self
    }

    /// Drops the store and runs the cleanup.
    pub async fn finish(self) {
        drop(self.store);
        if let Some(cleanup) = self.cleanup {
            cleanup().await;
        }
    }
}

/// A conformance case: an async function of a fresh store that panics when
/// the store breaks the contract.
pub type CaseFn = fn(Arc<dyn EventStore>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// The handles a consumer case gets: the store, and a way to open another
/// handle on it.
#[derive(Clone)]
pub struct Stores {
    /// The store under test.
    pub store: Arc<dyn EventStore>,
    reopen: Option<Reopen>,
}

impl Stores {
    /// Another handle on the same store (the same handle for stores that
    /// one process owns).
    pub async fn another_handle(&self) -> Arc<dyn EventStore> {
        match &self.reopen {
            Some(reopen) => reopen().await,
            None => self.store.clone(),
        }
    }
}

/// A consumer case: like [`CaseFn`], with [`Stores`].
pub type StoresCaseFn = fn(Stores) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs a consumer case as [`run_case`] runs a case.
pub async fn run_stores_case<F, Fut>(factory: F, case: StoresCaseFn)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let fixture = factory().await;
    let stores = Stores {
        store: fixture.store.clone(),
        reopen: fixture.reopen.clone(),
    };
    let outcome = tokio::spawn(case(stores)).await;
    fixture.finish().await;
    reraise(outcome);
}

/// Runs `case` on a fresh fixture from `factory`, cleans up, and re-raises the
/// case's panic if it failed. The macro-generated tests call this.
pub async fn run_case<F, Fut>(factory: F, case: CaseFn)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Fixture>,
{
    let fixture = factory().await;
    let outcome = tokio::spawn(case(fixture.store.clone())).await;
    fixture.finish().await;
    reraise(outcome);
}

fn reraise(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(failure) = outcome {
        match failure.try_into_panic() {
            Ok(panic) => resume_unwind(panic),
            Err(other) => panic!("the case did not finish: {other}"),
        }
    }
}
