//! The bookkeeping statements both read-model databases run the same, each
//! written once (in this folder, with `$N` parameters, bound by number on
//! both databases as a portable statement's are). What
//! differs between the databases (the tables' definitions, row locks,
//! catalog queries) stays in each adapter's folder. Written for both: `true`
//! and `false` (SQLite stores 1 and 0), and the higher of two values as a
//! `CASE` (PostgreSQL's `GREATEST` is SQLite's two-argument `MAX`).

macro_rules! statements {
    ($($name:ident = $file:literal;)*) => {
        $(
            #[doc = concat!("`", $file, "`.")]
            pub(crate) const $name: &str = include_str!($file);
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
