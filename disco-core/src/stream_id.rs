//! [`StreamId`]: the validated name of a stream.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use crate::error::Error;

/// The most bytes a stream id may hold.
pub const MAX_STREAM_ID_LEN: usize = 255;

/// The validated name of a stream.
///
/// Invariants, checked by [`StreamId::new`] and never broken afterwards:
/// - 1 to [`MAX_STREAM_ID_LEN`] bytes of UTF-8;
/// - no control characters (`char::is_control`, which includes NUL);
/// - does not start with `$`, which is kept for system streams.
///
/// Cloning is cheap (a reference count), so stores may keep many copies.
///
/// ```
/// use disco::StreamId;
/// let id = StreamId::new("wallet-42").unwrap();
/// assert_eq!(id.as_str(), "wallet-42");
/// assert!(StreamId::new("").is_err());
/// assert!(StreamId::new("$system").is_err());
/// assert!(StreamId::new("a\nb").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(Arc<str>);

impl StreamId {
    /// Validates `id` and makes a stream id of it; [`Error::InvalidInput`] says
    /// what is wrong otherwise.
    pub fn new(id: impl AsRef<str>) -> Result<Self, Error> {
        let id = id.as_ref();
        validate_name("stream id", id, MAX_STREAM_ID_LEN)?;
        if id.starts_with('$') {
            return Err(Error::InvalidInput(format!(
                "stream id {id:?} starts with '$', which is reserved for system streams"
            )));
        }
        Ok(StreamId(Arc::from(id)))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks the rules shared by stream ids, event types and checkpoint names:
/// not empty, at most `max` bytes, no control characters.
pub(crate) fn validate_name(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::InvalidInput(format!("{what} is empty")));
    }
    if value.len() > max {
        return Err(Error::InvalidInput(format!(
            "{what} is {} bytes long; at most {max} are allowed",
            value.len()
        )));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::InvalidInput(format!(
            "{what} {value:?} holds the control character {c:?}"
        )));
    }
    Ok(())
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl AsRef<str> for StreamId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for StreamId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for StreamId {
    type Error = Error;
    fn try_from(value: &str) -> Result<Self, Error> {
        StreamId::new(value)
    }
}

impl TryFrom<String> for StreamId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Error> {
        StreamId::new(value)
    }
}

impl std::str::FromStr for StreamId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        StreamId::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_longest_id_and_refuses_one_byte_more() {
        assert!(StreamId::new("a".repeat(255)).is_ok());
        assert!(matches!(
            StreamId::new("a".repeat(256)),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn counts_bytes_not_chars() {
        // 'é' is two bytes: 128 of them are 256 bytes.
        assert!(StreamId::new("é".repeat(127)).is_ok());
        assert!(StreamId::new("é".repeat(128)).is_err());
    }

    #[test]
    fn refuses_nul_and_other_control_characters() {
        for bad in ["a\0b", "tab\there", "\u{7f}", "x\u{85}"] {
            assert!(StreamId::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn allows_dollar_after_the_first_character() {
        assert!(StreamId::new("price-$5").is_ok());
    }
}
