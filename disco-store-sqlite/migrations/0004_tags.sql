-- Schema version 4: tags and the indexes of query reads and conditional
-- appends (Dynamic Consistency Boundaries).
-- disco_events.tags: the event's tags in the order appended, each followed
-- by U+001F (no tag holds a control character); '' for none, which is what
-- every event stored before this version reads as (adding the column
-- rewrites no row).
ALTER TABLE disco_events ADD COLUMN tags TEXT NOT NULL DEFAULT '';

-- One row per (tag, event): the events carrying a tag, by position.
CREATE TABLE IF NOT EXISTS disco_event_tags (
    tag      TEXT    NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tag, position)
) WITHOUT ROWID;

-- The events of a type, by position.
CREATE INDEX IF NOT EXISTS disco_events_by_type ON disco_events (event_type, position);
