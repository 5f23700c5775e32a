-- Version 4: tags and the indexes of query reads and conditional appends
-- (Dynamic Consistency Boundaries).
-- events.tags: the event's tags in the order appended, each followed by
-- U+001F (no tag holds a control character); '' for none, which is what every
-- event stored before this version reads as (a constant default: adding the
-- column rewrites no row).
ALTER TABLE __SCHEMA__.events ADD COLUMN tags text NOT NULL DEFAULT '';

-- One row per (tag, event): the events carrying a tag, by position.
CREATE TABLE __SCHEMA__.event_tags (
    tag      text   COLLATE "C" NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (tag, position)
);

-- The events of a type, by position.
CREATE INDEX events_by_type ON __SCHEMA__.events (event_type, position);
