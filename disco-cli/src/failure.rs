//! [`Failure`]: what a command failed with, and the exit code it maps to.

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
            Error::Backend(m) if m.contains("newer") => code::NEWER_SCHEMA,
            _ => code::OTHER,
        };
        Failure::new(code, error.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::new(code::OTHER, error.to_string())
    }
}
