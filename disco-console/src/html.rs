//! Turning what users wrote (stream ids, types, payloads, error texts) into
//! inert HTML, and the page around it.
//!
//! Every text that reaches a page goes through [`text`] (element content)
//! or [`attr`] (an attribute value), and every value in a link through
//! [`query`]: none of them can open a tag, close an attribute or reorder
//! what follows (bidi and control characters are shown as `\u{..}`).

use std::fmt::Write;

/// Whether `c` is a character that changes the direction of the text
/// around it (shown escaped, so it cannot disguise what follows).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}')
}

/// `s` as element content: `&`, `<`, `>`, quotes escaped; control and
/// bidi characters shown as a marked `\u{..}`.
///
/// ```
/// assert_eq!(
///     disco_console::html::text("<b>\u{202e}x</b>"),
///     "&lt;b&gt;<span class=\"esc\">\\u{202e}</span>x&lt;/b&gt;"
/// );
/// ```
pub fn text(s: &str) -> String {
    escape(s, |out, c| match c {
        // A payload's own line breaks stay line breaks (in <pre>).
        '\n' | '\t' => out.push(c),
        c => {
            let _ = write!(out, "<span class=\"esc\">\\u{{{:x}}}</span>", u32::from(c));
        }
    })
}

/// `s` as an attribute value (inside double quotes): every character that
/// could end the value or start markup as a character reference.
///
/// ```
/// assert_eq!(disco_console::html::attr("a\"b<c"), "a&quot;b&lt;c");
/// ```
pub fn attr(s: &str) -> String {
    escape(s, |out, c| {
        let _ = write!(out, "&#x{:x};", u32::from(c));
    })
}

/// `s` with the five markup characters as entities and each control or
/// bidi character written by `special`.
fn escape(s: &str, special: impl Fn(&mut String, char)) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || is_bidi(c) => special(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// `s` percent-encoded for a query value (every byte but unreserved ones).
///
/// ```
/// assert_eq!(disco_console::html::query("a b&c/é"), "a%20b%26c%2F%C3%A9");
/// ```
pub fn query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A payload for people: pretty JSON when it is JSON, else a hex dump
/// (16 bytes a line, with offsets and the printable ASCII beside); both
/// already escaped.
pub fn payload(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "<span class=\"dim\">(empty)</span>".to_owned();
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Ok(pretty) = serde_json::to_string_pretty(&value) {
            return format!("<pre class=\"json\">{}</pre>", text(&pretty));
        }
    }
    let mut out = String::from("<pre class=\"hex\">");
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", line.saturating_mul(16));
        for b in chunk {
            let _ = write!(out, "{b:02x} ");
        }
        for _ in chunk.len()..16 {
            out.push_str("   ");
        }
        out.push(' ');
        for &b in chunk {
            match b {
                b'&' => out.push_str("&amp;"),
                b'<' => out.push_str("&lt;"),
                b'>' => out.push_str("&gt;"),
                b'"' => out.push_str("&quot;"),
                b'\'' => out.push_str("&#39;"),
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push('.'),
            }
        }
        out.push('\n');
    }
    out.push_str("</pre>");
    out
}

/// A count with thousands separators (`1,204,311`), as the CLI writes it.
pub use disco::counts::thousands;

/// The sections of the console, in the navigation bar's order.
const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/streams", "Streams"),
    ("/tail", "Live tail"),
    ("/consumers", "Consumers"),
    ("/projections", "Projections"),
];

/// A whole page: `title` (plain text), the navigation with `section`
/// marked, and `body` (already HTML). `refresh`: reload every that many
/// seconds (pages whose numbers move).
pub fn page(title: &str, section: &str, refresh: Option<u32>, body: &str) -> String {
    let mut out = String::with_capacity(body.len().saturating_add(1024));
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if let Some(seconds) = refresh {
        let _ = write!(out, "<meta http-equiv=\"refresh\" content=\"{seconds}\">");
    }
    let _ = write!(
        out,
        "<title>{} · disco console</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head><body><nav><span class=\"brand\">disco</span>",
        text(title)
    );
    for (href, name) in NAV {
        let class = if *href == section {
            " class=\"here\""
        } else {
            ""
        };
        let _ = write!(out, "<a href=\"{href}\"{class}>{name}</a>");
    }
    let _ = write!(
        out,
        "<a href=\"/metrics\">Metrics</a></nav><main><h1>{}</h1>",
        text(title)
    );
    out.push_str(body);
    out.push_str("</main></body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_text() {
        let hostile =
            "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>\u{0}\u{1b}[31m\u{2066}";
        let shown = text(hostile);
        assert!(
            !shown.contains('<')
                || shown.matches('<').count()
                    == shown.matches("<span class=\"esc\">").count()
                        + shown.matches("</span>").count()
        );
        assert!(!shown.contains("<script"));
        assert!(!shown.contains("<img"));
        assert!(
            shown.contains("\\u{0}") && shown.contains("\\u{1b}") && shown.contains("\\u{2066}")
        );
        let quoted = attr(hostile);
        assert!(!quoted.contains('"') && !quoted.contains('<') && !quoted.contains('\''));
    }

    #[test]
    fn payloads_are_json_or_hex() {
        assert!(payload(br#"{"a":"<b>"}"#).contains("&quot;a&quot;: &quot;&lt;b&gt;&quot;"));
        let dump = payload(&[0xff, b'<', b'a', 0]);
        assert!(dump.contains("ff 3c 61 00"), "{dump}");
        assert!(dump.contains(".&lt;a."), "{dump}");
    }
}
