//! Structured logs: one line per event on stderr (journald keeps it), `key=value` pairs
//! after a UTC timestamp, level and event name. Values with spaces, quotes or control
//! characters are quoted and escaped, so a line always parses back into its fields.
//! Callers pass facts only (paths, serials, fingerprints, counts); no PIN ever reaches
//! here: `Pin` has no `Display`.

use std::fmt::Display;
use std::io::Write;

/// Writes `ts=... level=... event=... k=v ...` as one line.
pub fn event(level: &str, name: &str, fields: &[(&str, &dyn Display)]) {
    let line = format_line(&now_rfc3339(), level, name, fields);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
}

pub fn info(name: &str, fields: &[(&str, &dyn Display)]) {
    event("info", name, fields);
}

pub fn warn(name: &str, fields: &[(&str, &dyn Display)]) {
    event("warn", name, fields);
}

pub fn error(name: &str, fields: &[(&str, &dyn Display)]) {
    event("error", name, fields);
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The line, newline included.
pub fn format_line(ts: &str, level: &str, name: &str, fields: &[(&str, &dyn Display)]) -> String {
    let mut line = format!("ts={ts} level={level} event={}", quote(name));
    for (key, value) in fields {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(&quote(&value.to_string()));
    }
    line.push('\n');
    line
}

fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '"' && c != '=' && c != '\\');
    if plain {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_quoting() {
        let line = format_line(
            "T",
            "info",
            "import.ok",
            &[("path", &"/a b"), ("n", &3), ("why", &"x\ny \"z\"")],
        );
        assert_eq!(
            line,
            "ts=T level=info event=import.ok path=\"/a b\" n=3 why=\"x\\ny \\\"z\\\"\"\n"
        );
    }
}
