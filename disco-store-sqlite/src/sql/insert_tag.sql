-- One entry of the tag index per tag of an inserted event.
INSERT INTO disco_event_tags (tag, position) VALUES (?1, ?2)
