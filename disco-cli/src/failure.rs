//! [`Failure`]: what a command failed with, and the exit code it maps to.

use disco::projections::ProjectionError;
use disco::Error;

/// Exit codes, one per kind of failure a script may want to tell apart.
pub mod code {
    /// Anything else (a backend error, an I/O error).
    pub const OTHER: u8 = 1;
    /// Bad usage: a malformed URL, an unknown store kind, bad arguments.
    pub const USAGE: u8 = 2;
    /// The store could not be reached (a server down, a file locked).
    pub const UNREACHABLE: u8 = 3;
    /// The stream asked for does not exist (or is deleted).
    pub const MISSING_STREAM: u8 = 4;
    /// The store was written by a newer disco.
    pub const NEWER_SCHEMA: u8 = 5;
    /// `disco copy` found the target differs from the source.
    pub const VERIFY_FAILED: u8 = 6;
    /// `disco drop` was not confirmed.
    pub const NOT_CONFIRMED: u8 = 7;
    /// There is no disco store where the URL points (a missing file, a
    /// schema without disco's tables); nothing was created.
    pub const NO_STORE: u8 = 8;
    /// The URL points at data disco does not own (another program's file,
    /// a schema with other objects and no store); it was left untouched.
    pub const FOREIGN: u8 = 9;
    /// The store has an older schema version: run `disco migrate` first.
    pub const OLDER_SCHEMA: u8 = 10;
    /// The store refused the credentials in the URL.
    pub const UNAUTHORIZED: u8 = 11;
    /// The server is too old to keep the contract (upgrade it).
    pub const UNSUPPORTED_SERVER: u8 = 12;
}

/// A failed command: its message and exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What to tell the person.
    pub message: String,
}

impl Failure {
    /// A failure with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::InvalidInput(_) => code::USAGE,
            Error::Unavailable(_) => code::UNREACHABLE,
            Error::StreamDeleted { .. } => code::MISSING_STREAM,
            Error::IncompatibleSchema {
                found, supported, ..
            } if found > supported => code::NEWER_SCHEMA,
            Error::IncompatibleSchema { .. } => code::OLDER_SCHEMA,
            Error::NoStore { .. } => code::NO_STORE,
            Error::Foreign { .. } => code::FOREIGN,
            Error::Unauthorized(_) => code::UNAUTHORIZED,
            Error::UnsupportedServer { .. } => code::UNSUPPORTED_SERVER,
            _ => code::OTHER,
        };
        Failure::new(code, message(&error))
    }
}

/// The error's text for a person: no Rust debug syntax, and a server
/// error's source position ("at line 948" of its C file) left out.
fn message(error: &Error) -> String {
    let text = error.to_string();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(line);
    }
    strip_source_position(&out)
}

/// Removes PostgreSQL's `at line N` / `(file.c:N)` noise from a message.
// The offsets come from `find` on the same string and count its own bytes.
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
fn strip_source_position(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(start) = out.find(" at line ") {
        let rest = &out[start + " at line ".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        out.replace_range(start..start + " at line ".len() + digits, "");
    }
    out
}

impl From<ProjectionError> for Failure {
    fn from(error: ProjectionError) -> Self {
        let code = match error {
            ProjectionError::Store(error) => return Failure::from(error),
            ProjectionError::Foreign { .. } => code::FOREIGN,
            ProjectionError::Unknown(_) | ProjectionError::Invalid(_) => code::USAGE,
            _ => code::OTHER,
        };
        Failure::new(code, strip_source_position(&error.to_string()))
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::new(code::OTHER, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_drop_source_positions() {
        assert_eq!(
            strip_source_position("PostgreSQL: syntax error at line 948 in foo"),
            "PostgreSQL: syntax error in foo"
        );
        assert_eq!(strip_source_position("at line zero"), "at line zero");
    }

    /// Every kind of `Error` has its row in docs/errors.md, and the row says
    /// what the code does: whether it is retryable, which exit code.
    #[test]
    fn every_error_kind_is_in_docs_errors_md() {
        let doc = include_str!("../../docs/errors.md");
        let rows: Vec<Vec<&str>> = doc
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        let kinds = Error::one_of_each();
        assert!(!kinds.is_empty());
        for error in &kinds {
            let name = format!("`{}`", error.kind());
            let row = rows
                .iter()
                .find(|r| r.first() == Some(&name.as_str()))
                .unwrap_or_else(|| panic!("docs/errors.md has no row for {name}"));
            assert_eq!(row.len(), 4, "{name}: {row:?}");
            let retryable = row[2].trim_matches('*');
            assert_eq!(
                retryable == "yes",
                error.is_retryable(),
                "{name}: the table says retryable {retryable:?}"
            );
            let code = Failure::from(error.clone()).code;
            let codes: Vec<u8> = row[3]
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect();
            assert!(
                codes.contains(&code),
                "{name}: exit {code}, the table says {:?}",
                row[3]
            );
        }
        assert_eq!(
            rows.len(),
            kinds.len(),
            "docs/errors.md has rows for kinds that do not exist"
        );
        // The two codes of IncompatibleSchema, each where the table says.
        let older = Error::IncompatibleSchema {
            location: "x".into(),
            found: 1,
            supported: 2,
        };
        assert_eq!(Failure::from(older).code, code::OLDER_SCHEMA);
    }

    #[test]
    fn typed_errors_map_to_their_codes() {
        let foreign = Error::Foreign {
            location: "x".into(),
            objects: vec!["table t".into()],
        };
        assert_eq!(Failure::from(foreign).code, code::FOREIGN);
        let none = Error::NoStore {
            location: "x".into(),
        };
        assert_eq!(Failure::from(none).code, code::NO_STORE);
        let newer = Error::IncompatibleSchema {
            location: "x".into(),
            found: 9,
            supported: 3,
        };
        assert_eq!(Failure::from(newer).code, code::NEWER_SCHEMA);
        let older = Error::IncompatibleSchema {
            location: "x".into(),
            found: 2,
            supported: 3,
        };
        assert_eq!(Failure::from(older).code, code::OLDER_SCHEMA);
    }
}
