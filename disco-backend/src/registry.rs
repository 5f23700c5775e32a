//! The store registry's entry: how a backend crate declares the URL schemes
//! it serves and how to open and drop a store named by such a URL. The
//! `disco` facade keeps the one list of entries (`disco::backends()`), and
//! `disco::connect`, `disco::open_url`, `disco::drop_url` and the `disco`
//! CLI dispatch through it, so a backend is hooked in by one line there.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use disco_core::{Error, EventStore, Result};

/// A boxed, sendable future: what a [`Backend`]'s functions return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an open may do to what it finds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OpenMode {
    /// Create a missing store and migrate an older one (the default).
    #[default]
    Create,
    /// Migrate an older store; never create one ([`Error::NoStore`]).
    Migrate,
    /// Use the store as it is: nothing created, nothing migrated, nothing
    /// written by the open ([`Error::NoStore`], [`Error::IncompatibleSchema`]).
    Existing,
}

/// How to open a store from its URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// What the open may do.
    pub mode: OpenMode,
    /// Whether hard deletes are allowed where a store asks for that
    /// explicitly (PostgreSQL); tools that copy stores need them.
    pub allow_hard_delete: bool,
}

impl OpenOptions {
    /// Options with `mode`.
    pub fn mode(mode: OpenMode) -> Self {
        OpenOptions {
            mode,
            ..OpenOptions::default()
        }
    }
}

/// An opened store and what tools show about it.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn EventStore>,
    /// Its schema (format) version as stored; `None` for a store that has
    /// none (memory).
    pub schema_version: Option<u64>,
    /// What kind of version that is (`SQLite user_version`, ...).
    pub version_kind: &'static str,
    /// The PostgreSQL schema (or the like) the store lives in, if any.
    pub schema: Option<String>,
}

/// What a drop removed and what it left because it is not disco's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// What was removed, for a person (`disco's tables and the file`).
    pub removed: String,
    /// Objects found beside the store and left as they were.
    pub kept: Vec<String>,
}

/// A backend's entry in the registry.
#[derive(Clone, Copy)]
pub struct Backend {
    /// The backend's name (`sqlite`).
    pub name: &'static str,
    /// The URL schemes it serves (the part before the first `:`).
    pub schemes: &'static [&'static str],
    /// The URL form, for messages (`sqlite:PATH`).
    pub form: &'static str,
    /// Opens the store `url` names, as the options allow.
    pub open: for<'a> fn(&'a str, OpenOptions) -> BoxFuture<'a, Result<Opened>>,
    /// Removes exactly disco's objects at `url`; refuses a place without a
    /// store ([`Error::NoStore`], [`Error::Foreign`]). No handle may be open.
    pub drop: for<'a> fn(&'a str) -> BoxFuture<'a, Result<Dropped>>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("name", &self.name)
            .field("schemes", &self.schemes)
            .finish()
    }
}

/// The scheme of `url`: what stands before its first `:`.
pub fn scheme(url: &str) -> Option<&str> {
    url.split_once(':').map(|(scheme, _)| scheme)
}

/// The backend of `backends` that serves `url`'s scheme; an
/// [`Error::InvalidInput`] listing the URL forms there are otherwise.
///
/// ```
/// use disco::backend::registry::{find, Backend};
/// let none: [Backend; 0] = [];
/// assert!(find(&none, "mysql://x").is_err());
/// ```
pub fn find<'a>(backends: &'a [Backend], url: &str) -> Result<&'a Backend> {
    let wanted = scheme(url);
    backends
        .iter()
        .find(|b| wanted.is_some_and(|s| b.schemes.contains(&s)))
        .ok_or_else(|| {
            let forms: Vec<&str> = backends.iter().map(|b| b.form).collect();
            Error::InvalidInput(format!(
                "{url:?} names no store compiled into this program; use {} (the disco crate's features memory, sqlite, redb, postgres and full choose the stores)",
                forms.join(", ")
            ))
        })
}

/// The path of a file store's URL (`sqlite:PATH` → `PATH`); an
/// [`Error::InvalidInput`] when it is empty.
///
/// ```
/// use disco::backend::registry::file_path;
/// assert_eq!(file_path("sqlite:/tmp/x.db").unwrap(), std::path::PathBuf::from("/tmp/x.db"));
/// assert!(file_path("sqlite:").is_err());
/// ```
pub fn file_path(url: &str) -> Result<PathBuf> {
    match url.split_once(':') {
        Some((_, path)) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => {
            let scheme = scheme(url).unwrap_or(url);
            Err(Error::InvalidInput(format!(
                "{scheme}: needs a path, as in {scheme}:events.db"
            )))
        }
    }
}

/// `error` with the file it is about in front of its message (for the
/// message-carrying kinds; typed facts already name their location).
///
/// ```
/// use disco::backend::registry::with_path;
/// use disco::Error;
/// let e = with_path(std::path::Path::new("/x.db"), Error::Backend("locked".into()));
/// assert_eq!(e, Error::Backend("/x.db: locked".into()));
/// ```
pub fn with_path(path: &std::path::Path, error: Error) -> Error {
    match error {
        Error::Backend(m) => Error::Backend(format!("{}: {m}", path.display())),
        Error::Unavailable(m) => Error::Unavailable(format!("{}: {m}", path.display())),
        other => other,
    }
}
