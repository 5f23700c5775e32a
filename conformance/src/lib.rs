//! # disco-conformance
//!
//! The suite every disco event store runs to prove it keeps the contract
//! written on [`disco_core::EventStore`]. It has two halves:
//!
//! - [`cases`]: one async function per rule and edge, each a separate
//!   `#[tokio::test]` in the adapter's test file, so a failure names its case;
//! - [`model`]: a model-based property test that runs random operation
//!   sequences on the store and on a pure reference model
//!   ([`model::ReferenceModel`]) and compares every result.
//!
//! An adapter adds one test file:
//!
//! ```no_run
//! use disco_conformance::Fixture;
//! use disco_store_memory::MemoryStore; // your store here
//!
//! async fn fresh_store() -> Fixture {
//!     // A new, empty, isolated store for each case; add a cleanup if it
//!     // leaves something behind (a schema, a file).
//!     Fixture::new(MemoryStore::new())
//! }
//!
//! disco_conformance::suite!(fresh_store);
//! ```
//!
//! The test crate needs `tokio` with the `macros` and `rt-multi-thread`
//! features. `DISCO_MODEL_CASES` sets how many sequences the model test runs
//! (default 200).
#![deny(missing_docs)]

pub mod cases;
pub mod compat;
pub mod crash;
pub mod faulty;
pub mod fencing;
mod fixture;
pub mod fuzz;
pub mod helpers;
pub mod model;

pub use fixture::{run_case, run_stores_case, CaseFn, Fixture, Stores, StoresCaseFn};

/// Generates one `#[tokio::test]` per conformance case, plus `model_based`,
/// the model-based property test, for a store made by `$factory` (an
/// `async fn() -> Fixture` or a closure returning such a future, called once
/// per case).
#[macro_export]
macro_rules! suite {
    ($factory:expr) => {
        $crate::__with_cases!(__generate_tests, $factory);
        $crate::__with_stores_cases!(__generate_stores_tests, $factory);
    };
}

/// Calls `$crate::$callback!` with `$arg` and the name of every case. The
/// one list of case names lives here.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_cases {
    ($callback:ident, $arg:expr) => {
        $crate::$callback! { $arg;
            any_appends_to_absent_and_existing_streams,
            no_stream_passes_on_absent_stream,
            no_stream_fails_on_existing_stream,
            stream_exists_passes_on_existing_stream,
            stream_exists_fails_on_absent_stream,
            exact_passes_at_current_version,
            exact_fails_below_and_above_current_version,
            exact_zero_behaves_as_no_stream,
            failed_expected_version_writes_nothing,
            batch_failing_part_way_writes_nothing,
            empty_append_is_rejected,
            empty_stream_id_is_rejected,
            stream_id_length_limit_is_255_bytes,
            control_characters_in_stream_id_are_rejected,
            dollar_prefixed_stream_id_is_rejected,
            bad_event_types_are_rejected,
            event_over_size_limit_is_too_large,
            same_id_twice_in_one_append_is_rejected,
            appends_past_the_stores_event_count_are_refused_whole,
            versions_start_at_one_without_holes,
            positions_are_unique_and_increase_within_an_append,
            positions_follow_commit_order_across_streams,
            head_position_tracks_commits,
            stream_version_of_absent_stream_is_zero,
            read_all_pages_cover_every_event_once,
            read_all_after_and_limit_edges,
            read_all_filters_by_type_and_stream_prefix,
            read_stream_forward_from_and_limit,
            read_stream_backward_from_and_limit,
            absent_stream_reads_empty,
            read_stream_returns_only_its_stream,
            empty_data_and_metadata_round_trip,
            binary_data_and_metadata_round_trip,
            one_mib_payload_round_trips,
            recorded_fields_match_the_append,
            retry_with_any_returns_original_result,
            retry_with_stream_exists_returns_original_result,
            retry_with_version_before_the_run_returns_original_result,
            retry_of_an_earlier_append_in_the_middle_of_a_stream,
            retry_with_another_expected_version_is_duplicate,
            reused_id_in_another_stream_is_duplicate,
            partly_known_ids_are_duplicate,
            reordered_retry_is_duplicate,
            soft_deleted_stream_refuses_reads_and_appends,
            soft_deleted_events_stay_in_read_all,
            hard_delete_removes_events_and_snapshot,
            hard_deleted_stream_id_stays_refused,
            hard_delete_frees_event_ids,
            hard_delete_of_the_newest_events_keeps_the_head,
            delete_checks_expected_version,
            soft_deleted_stream_can_be_deleted_hard,
            deleting_an_absent_stream_refuses_its_id,
            snapshot_newest_version_wins,
            snapshot_version_must_exist,
            load_stream_is_the_snapshot_and_the_events_after_it,
            delete_snapshot_removes_only_that_snapshot,
            checkpoints_save_load_overwrite_and_list,
            checkpoint_names_are_validated,
            list_streams_pages_by_prefix,
            list_streams_shows_deleted_streams,
            racing_exact_appends_have_one_winner,
            concurrent_appends_to_distinct_streams_all_land,
            reader_never_sees_a_late_position,
            notifications_wake_a_waiting_reader,
            notifications_report_the_head_at_once,
            subscription_catches_up_in_pages_then_follows_live,
            subscription_starts_after_the_given_position,
            subscription_filters_by_type_and_stream_prefix,
            subscription_misses_and_repeats_nothing_under_concurrent_writers,
            subscription_wakes_promptly_after_an_append,
            append_many_keeps_order_and_each_fails_alone,
            imported_recorded_at_is_kept,
            filters_with_nul_match_nothing,
            read_all_backward_is_the_forward_read_reversed,
            closed_store_refuses_calls,
            closed_store_ends_subscriptions,
            stream_subscription_from_a_version_catches_up_then_follows_live,
            atomic_append_commits_every_part_in_part_order,
            atomic_append_with_a_refused_part_writes_nothing,
            atomic_append_checks_its_input_first,
            atomic_append_retry_returns_the_original_results,
            atomic_append_racing_a_writer_on_one_stream,
            read_all_filters_by_stream_partition,
            tags_round_trip_on_every_read,
            bad_tags_are_refused_and_write_nothing,
            query_items_or_types_or_tags_and,
            query_read_reports_the_position_it_is_consistent_at,
            query_is_checked,
            query_reads_follow_deletes,
            conditional_append_passes_when_nothing_matches_after,
            conditional_append_fails_naming_the_first_conflict,
            conditional_append_decides_parts_as_atomic,
            conditional_append_retry_returns_the_original_results,
            racing_conditional_appends_take_exactly_the_capacity,
        }
    };
}

/// Calls `$crate::$callback!` with `$arg` and the name of every case that
/// takes [`Stores`] (leases and consumers).
#[doc(hidden)]
#[macro_export]
macro_rules! __with_stores_cases {
    ($callback:ident, $arg:expr) => {
        $crate::$callback! { $arg;
            lease_is_exclusive_until_released,
            leases_and_consumers_take_any_duration,
            lease_of_a_dead_holder_is_taken_over,
            consumer_resumes_from_its_checkpoint_after_a_restart,
            consumer_killed_mid_stream_loses_nothing,
            one_active_runner_per_name_and_takeover_on_stop,
            standby_takes_over_when_the_active_runner_dies,
            poison_event_stops_the_consumer_by_default,
            poison_event_is_skipped_when_chosen,
            handler_panic_is_an_error_and_never_passed_over,
            reset_is_obeyed_while_running,
            reset_in_the_store_is_noticed_while_running,
            consumer_status_reports_position_and_lag,
            filtered_consumer_sees_past_what_it_skips,
            stale_lease_token_is_fenced_off,
            consumer_ends_when_its_store_is_closed,
            partitioned_consumer_keeps_each_key_in_order,
            partitioned_consumers_rebalance_as_members_join_and_leave,
            killed_partition_member_loses_nothing,
            poison_event_parks_its_stream_and_the_others_go_on,
            parked_stream_survives_a_restart_and_skip_passes_its_event,
        }
    };
}

/// Generates the consumer tests; see [`suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __generate_stores_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::run_stores_case($factory, |stores| ::std::boxed::Box::pin($crate::cases::$case(stores))).await;
            }
        )*
    };
}

/// Generates [`all_stores_cases`]'s list.
#[doc(hidden)]
#[macro_export]
macro_rules! __generate_stores_list {
    ($unused:expr; $($case:ident),* $(,)?) => {
        /// Every case that takes [`Stores`], with its name.
        pub fn all_stores_cases() -> ::std::vec::Vec<(&'static str, $crate::StoresCaseFn)> {
            ::std::vec![
                $((stringify!($case), (|stores| ::std::boxed::Box::pin($crate::cases::$case(stores))) as $crate::StoresCaseFn),)*
            ]
        }
    };
}

/// Generates the tests; see [`suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __generate_tests {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                $crate::run_case($factory, |store| ::std::boxed::Box::pin($crate::cases::$case(store))).await;
            }
        )*

        #[test]
        fn model_based() {
            $crate::model::run_model_test($factory);
        }
    };
}

/// Generates [`all_cases`]'s list.
#[doc(hidden)]
#[macro_export]
macro_rules! __generate_list {
    ($unused:expr; $($case:ident),* $(,)?) => {
        /// Every case of the suite with its name, in the order of the suite.
        pub fn all_cases() -> ::std::vec::Vec<(&'static str, $crate::CaseFn)> {
            ::std::vec![
                $((stringify!($case), (|store| ::std::boxed::Box::pin($crate::cases::$case(store))) as $crate::CaseFn),)*
            ]
        }
    };
}

__with_cases!(__generate_list, ());
__with_stores_cases!(__generate_stores_list, ());
