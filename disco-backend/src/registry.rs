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
/// [`Error::InvalidInput`] when it is empty or carries a `?` query: file
/// stores take no URL parameters, and a parameter that was meant as one
/// (`sqlite:x.db?mode=ro`) must not silently become part of a file name.
///
/// ```
/// use disco::backend::registry::file_path;
/// assert_eq!(file_path("sqlite:/tmp/x.db").unwrap(), std::path::PathBuf::from("/tmp/x.db"));
/// assert!(file_path("sqlite:").is_err());
/// assert!(file_path("sqlite:x.db?mode=ro").is_err());
/// ```
pub fn file_path(url: &str) -> Result<PathBuf> {
    let scheme = scheme(url).unwrap_or(url);
    match url.split_once(':') {
        Some((_, path)) if path.contains('?') => {
            let (_, query) = path.split_once('?').unwrap_or((path, ""));
            Err(Error::InvalidInput(format!(
                "{scheme}: URLs take no parameters, and this one has {}; a file name cannot contain '?' here",
                describe_parameters(query)
            )))
        }
        Some((_, path)) if path.contains('\0') => Err(Error::InvalidInput(format!(
            "{scheme}: a file name cannot contain a NUL character"
        ))),
        Some((_, path)) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(Error::InvalidInput(format!(
            "{scheme}: needs a path, as in {scheme}:events.db"
        ))),
    }
}

/// The `?` query of `url` split into its `name=value` pairs (a pair
/// without `=` has an empty value; empty pairs are left out), and the URL
/// before it.
///
/// ```
/// use disco::backend::registry::split_query;
/// let (base, pairs) = split_query("nats://h:4222?store=a&replicas=3");
/// assert_eq!(base, "nats://h:4222");
/// assert_eq!(pairs, vec![("store", "a"), ("replicas", "3")]);
/// ```
pub fn split_query(url: &str) -> (&str, Vec<(&str, &str)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url, Vec::new());
    };
    let pairs = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .collect();
    (base, pairs)
}

/// Refuses a URL query that names a parameter not in `known`, or one
/// parameter twice: a typo (`schma=`) must never open a store somewhere
/// else. The message names every offending parameter and the known ones.
///
/// ```
/// use disco::backend::registry::{check_parameters, split_query};
/// let (_, pairs) = split_query("postgres://h/db?schma=x");
/// let refused = check_parameters("postgres", &pairs, &["schema", "sslmode"]).unwrap_err();
/// assert!(refused.to_string().contains("schma"), "{refused}");
/// let (_, pairs) = split_query("postgres://h/db?schema=x");
/// assert!(check_parameters("postgres", &pairs, &["schema", "sslmode"]).is_ok());
/// ```
pub fn check_parameters(scheme: &str, pairs: &[(&str, &str)], known: &[&str]) -> Result<()> {
    let mut unknown: Vec<&str> = Vec::new();
    let mut repeated: Vec<&str> = Vec::new();
    for (i, (name, _)) in pairs.iter().enumerate() {
        if !known.contains(name) && !unknown.contains(name) {
            unknown.push(name);
        } else if pairs.iter().take(i).any(|(earlier, _)| earlier == name)
            && !repeated.contains(name)
        {
            repeated.push(name);
        }
    }
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !unknown.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{scheme} URL: unknown parameter{} {}; the known ones are {}",
            if unknown.len() == 1 { "" } else { "s" },
            quoted(&unknown),
            quoted(known)
        )));
    }
    if !repeated.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{scheme} URL: parameter {} given more than once",
            quoted(&repeated)
        )));
    }
    Ok(())
}

fn describe_parameters(query: &str) -> String {
    let names: Vec<String> = split_query(&format!("?{query}"))
        .1
        .iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect();
    if names.is_empty() {
        "an empty query".to_owned()
    } else {
        format!("the parameter(s) {}", names.join(", "))
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
