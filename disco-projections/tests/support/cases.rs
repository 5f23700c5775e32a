//! The one list of projection cases, and the macro that makes a test of
//! each for one (read-model database, event store) pair.

/// `projection_cases!(Target::X, Source::Y)`: one `#[tokio::test]` per case.
#[macro_export]
macro_rules! projection_cases {
    ($target:expr, $source:expr) => {
        $crate::projection_cases!(@each $target, $source;
            catches_up_then_follows_live,
            restart_resumes_without_reapplying,
            redelivery_is_a_no_op,
            two_runners_apply_each_event_once,
            handler_error_mid_batch_keeps_nothing_of_it,
            poison_event_is_skipped_when_chosen,
            filtered_projection_reaches_lag_zero,
            reset_rebuilds_in_place,
            blue_green_switch_while_queries_run,
            rebuild_request_switches_to_a_new_generation,
            strong_dispatch_waits_for_the_projection,
            foreign_tables_are_refused_and_left_alone,
        );
        $crate::projection_cases!(@partitioned $target, $source;
            partitioned_projection_applies_each_event_once,
            repartitioning_applies_nothing_twice,
            an_idle_layout_stops_when_replaced,
            partitioned_rebuild_switches_when_every_partition_caught_up,
            partitioned_projection_by_a_custom_key,
            strong_dispatch_waits_for_every_partition,
        );
    };
    (@partitioned $target:expr, $source:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let source = $crate::support::SourceStore::open($source).await;
                let models = $crate::support::ReadModels::open($target).await;
                $crate::support::partitioned::$case(source.store.clone(), models).await;
                source.close().await;
            }
        )*
    };
    (@each $target:expr, $source:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let source = $crate::support::SourceStore::open($source).await;
                let models = $crate::support::ReadModels::open($target).await;
                $crate::support::scenarios::$case(source.store.clone(), models).await;
                source.close().await;
            }
        )*
    };
}
