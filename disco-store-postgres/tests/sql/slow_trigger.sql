-- Test only: inserts into stream 'slow' take one second, so the append that
-- writes them holds its transaction (and the positions it took) open.
CREATE FUNCTION __SCHEMA__.slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream_id = 'slow' THEN
        PERFORM pg_sleep(1);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER slow_insert BEFORE INSERT ON __SCHEMA__.events
FOR EACH ROW EXECUTE FUNCTION __SCHEMA__.slow_insert();
