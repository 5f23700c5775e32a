//! How events, streams and checkpoints are printed: lines for people, or
//! one JSON object per line for scripts.

use disco::RecordedEvent;
use serde_json::{json, Value};

/// How much of a binary payload the human view shows.
const HEX_PREVIEW: usize = 32;

/// Human-readable or JSON lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Bytes as JSON when they are JSON, else as a hex string.
pub fn payload(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value,
        Err(_) => json!({ "hex": hex(bytes) }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn preview(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(empty)".to_owned();
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value.to_string(),
        Err(_) if bytes.len() > HEX_PREVIEW => format!(
            "hex {}… ({} bytes)",
            hex(bytes.get(..HEX_PREVIEW).unwrap_or(bytes)),
            bytes.len()
        ),
        Err(_) => format!("hex {} ({} bytes)", hex(bytes), bytes.len()),
    }
}

/// One event as JSON.
pub fn event_json(e: &RecordedEvent) -> Value {
    json!({
        "position": e.position,
        "stream": e.stream_id.as_str(),
        "version": e.version,
        "type": e.event_type,
        "id": e.id.to_string(),
        "recorded_at": e.recorded_at.to_rfc3339(),
        "data": payload(&e.data),
        "metadata": payload(&e.metadata),
    })
}

/// Text from the store as a person may safely read it on a terminal:
/// control characters and the bidirectional controls (U+202E and its kin,
/// which can make `evil-gnp.exe` read as `evil-exe.png`) escaped as `\u{..}`,
/// a backslash doubled.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}');
        if c == '\\' {
            out.push_str("\\\\");
        } else if c.is_control() || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// One event as a line for people.
pub fn event_line(e: &RecordedEvent) -> String {
    format!(
        "#{:<8} {}@{}  {}  {}  {}",
        e.position,
        escape(e.stream_id.as_str()),
        e.version,
        escape(&e.event_type),
        e.recorded_at.to_rfc3339(),
        preview(&e.data)
    )
}

/// Prints an event in `format`.
pub fn event(format: Format, e: &RecordedEvent) {
    match format {
        Format::Human => println!("{}", event_line(e)),
        Format::Json => println!("{}", event_json(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_terminals() {
        assert_eq!(escape("wallet-1"), "wallet-1");
        assert_eq!(escape("evil\u{202e}gnp.exe"), "evil\\u{202e}gnp.exe");
        assert_eq!(escape("a\tb\\c"), "a\\u{9}b\\\\c");
    }

    #[test]
    fn payloads_show_as_json_or_hex() {
        assert_eq!(payload(br#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(payload(&[0xff, 0x00]), json!({"hex": "ff00"}));
        assert_eq!(
            preview(&[1u8; 40]),
            format!("hex {}… (40 bytes)", "01".repeat(32))
        );
    }
}
