//! The bookkeeping statements both read-model databases run the same, each
//! written once (in this folder, with PostgreSQL's `$N` parameters). SQLite
//! gets the text with `?N` in their place, made once per statement. What
//! differs between the databases (the tables' definitions, row locks,
//! catalog queries) stays in each adapter's folder. Written for both: `true`
//! and `false` (SQLite stores 1 and 0), and the higher of two values as a
//! `CASE` (PostgreSQL's `GREATEST` is SQLite's two-argument `MAX`).

use std::sync::OnceLock;

/// One statement of the bookkeeping, for either database.
pub(crate) struct Statement {
    text: &'static str,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    sqlite: OnceLock<String>,
}

impl Statement {
    const fn new(text: &'static str) -> Self {
        Statement {
            text,
            sqlite: OnceLock::new(),
        }
    }

    /// The text as PostgreSQL runs it.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(&'static self) -> &'static str {
        self.text
    }

    /// The text as SQLite runs it: `?N` for each `$N`.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(&'static self) -> &'static str {
        self.sqlite.get_or_init(|| numbered(self.text))
    }
}

/// `sql` with each `$N` made `?N` (SQLite reads `$1` as a parameter named
/// "$1", numbered in order of appearance, where `?1` is the first value).
/// The statements here hold no `$` in a quoted text or name.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! statements {
    ($($name:ident = $file:literal;)*) => {
        $(
            #[doc = concat!("`", $file, "`.")]
            pub(crate) static $name: Statement = Statement::new(include_str!($file));
        )*
    };
}

statements! {
    ALL_PARTITIONS = "all_partitions.sql";
    ALL_ROWS = "all_rows.sql";
    ALL_ROWS_PARTITIONED = "all_rows_partitioned.sql";
    CLAIM = "claim.sql";
    CLAIM_PARTITION = "claim_partition.sql";
    CHECK_BOOKKEEPING = "check_bookkeeping.sql";
    CHECK_PARTITIONS = "check_partitions.sql";
    CURRENT_COUNT = "current_count.sql";
    DELETE_PARTITIONS = "delete_partitions.sql";
    DELETE_ROW = "delete_row.sql";
    INSERT_ROW = "insert_row.sql";
    INSERT_PARTITION = "insert_partition.sql";
    KEEP_PARTITIONS_OF = "keep_partitions_of.sql";
    PARTITION_ROWS = "partition_rows.sql";
    RESET_POSITION = "reset_position.sql";
    ROWS = "rows.sql";
    SAVE_PARTITION = "save_partition.sql";
    SAVE_POSITION = "save_position.sql";
    SET_READY = "set_ready.sql";
    SET_STATE = "set_state.sql";
    SUPERSEDE_PARTITIONS = "supersede_partitions.sql";
    UNCLAIM = "unclaim.sql";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_parameters_become_numbered_ones() {
        assert_eq!(
            numbered("UPDATE t SET a = $3 WHERE b = $1 AND c = $12"),
            "UPDATE t SET a = ?3 WHERE b = ?1 AND c = ?12"
        );
        assert_eq!(numbered("SELECT '$' || x"), "SELECT '$' || x");
    }
}
