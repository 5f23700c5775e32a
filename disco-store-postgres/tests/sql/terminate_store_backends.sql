-- Test only: ends every connection of the store whose application_name is $1.
SELECT count(pg_terminate_backend(pid))
FROM pg_stat_activity
WHERE application_name = $1 AND pid <> pg_backend_pid()
