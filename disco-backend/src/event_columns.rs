//! [`EventColumns`]: where each stored field of an event sits in a SQL
//! store's result rows, found by name once per statement or result (a name
//! lookup per column per row is a measurable part of decoding a page). The
//! SQL stores keep one events table with these columns; a new stored field
//! is a field here and a line in each store's row decoding.

/// The column of each stored field of an event in a result's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventColumns {
    /// `position`.
    pub position: usize,
    /// `stream_id`.
    pub stream_id: usize,
    /// `version`.
    pub version: usize,
    /// `event_id`.
    pub event_id: usize,
    /// `event_type`.
    pub event_type: usize,
    /// `data`.
    pub data: usize,
    /// `metadata`.
    pub metadata: usize,
    /// `recorded_at`.
    pub recorded_at: usize,
    /// `tags` (as [`crate::stored_tags`] stores them).
    pub tags: usize,
}

impl EventColumns {
    /// The columns, each found by its name with `at` (the driver's lookup
    /// of a column's index by name).
    pub fn find<E>(mut at: impl FnMut(&str) -> Result<usize, E>) -> Result<EventColumns, E> {
        Ok(EventColumns {
            position: at("position")?,
            stream_id: at("stream_id")?,
            version: at("version")?,
            event_id: at("event_id")?,
            event_type: at("event_type")?,
            data: at("data")?,
            metadata: at("metadata")?,
            recorded_at: at("recorded_at")?,
            tags: at("tags")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::EventColumns;

    #[test]
    fn each_field_is_found_by_its_own_name() {
        let names = [
            "tags",
            "recorded_at",
            "metadata",
            "data",
            "event_type",
            "event_id",
            "version",
            "stream_id",
            "position",
        ];
        let at = |name: &str| names.iter().position(|n| *n == name).ok_or(name.to_owned());
        let columns = EventColumns::find(at);
        assert_eq!(
            columns,
            Ok(EventColumns {
                position: 8,
                stream_id: 7,
                version: 6,
                event_id: 5,
                event_type: 4,
                data: 3,
                metadata: 2,
                recorded_at: 1,
                tags: 0,
            })
        );
        let missing = EventColumns::find(|name| {
            if name == "data" {
                Err(name.to_owned())
            } else {
                Ok(0)
            }
        });
        assert_eq!(missing, Err("data".to_owned()));
    }
}
