//! How the stores that keep an event's tags in one text column or field
//! (SQLite, redb) write and read them: each tag followed by U+001F, which no
//! tag may hold (tags have no control characters); `""` for none, which is
//! also what an event stored before tags existed reads as.
//!
//! ```
//! use disco::backend::stored_tags::{decode, encode};
//! let tags = vec!["course:c1".to_owned(), "student:s7".to_owned()];
//! assert_eq!(decode(&encode(&tags)), tags);
//! assert!(decode("").is_empty());
//! ```

/// What ends each stored tag.
const TAG_END: char = '\u{1f}';

/// The stored text of `tags`.
pub fn encode(tags: &[String]) -> String {
    let mut out = String::with_capacity(tags.iter().map(|t| t.len().saturating_add(1)).sum());
    for tag in tags {
        out.push_str(tag);
        out.push(TAG_END);
    }
    out
}

/// The tags of a stored text, in the order written.
pub fn decode(stored: &str) -> Vec<String> {
    stored
        .split_terminator(TAG_END)
        .map(str::to_owned)
        .collect()
}
