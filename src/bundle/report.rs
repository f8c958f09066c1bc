//! `drill-report.txt`: how a drill went, from its transcript: each step's time, the
//! failed attempts (errors, and so retries) per step, and the totals. Written into drill
//! bundles so that rehearsals can be compared over time.

use std::collections::BTreeMap;

/// The report of the transcript `bytes` (JSON lines, as written by the engine).
pub fn drill_report(ceremony: &str, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut steps: Vec<(String, f64)> = Vec::new();
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut resumed = 0;
    let mut exceptions: Vec<String> = Vec::new();
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let body = &record["body"];
        let id = body["id"].as_str().unwrap_or("?").to_string();
        match record["type"].as_str() {
            Some("step") => steps.push((id, body["seconds"].as_f64().unwrap_or(0.0))),
            Some("error") => errors
                .entry(id)
                .or_default()
                .push(body["error"].as_str().unwrap_or("").to_string()),
            Some("resumed") => resumed += 1,
            Some("exception") => exceptions.push(format!(
                "{id}: {} on token {} (key {})",
                body["exception"].as_str().unwrap_or("?"),
                body["token_serial"].as_str().unwrap_or("?"),
                body["key_id"].as_str().unwrap_or("?")
            )),
            _ => {}
        }
    }
    let total: f64 = steps.iter().map(|(_, s)| s).sum();
    let failed: usize = errors.values().map(Vec::len).sum();
    let mut out = format!("DRILL REPORT: {ceremony}\n\n  seconds  retries  step\n");
    for (id, seconds) in &steps {
        let retries = errors.get(id).map_or(0, Vec::len);
        out.push_str(&format!("{seconds:>9.3}  {retries:>7}  {id}\n"));
    }
    out.push_str(&format!(
        "{total:>9.3}  {failed:>7}  total ({} steps up to the export, {resumed} resumption(s))\n",
        steps.len()
    ));
    if !exceptions.is_empty() {
        out.push_str("\nExceptions (allowed by both people, see the transcript):\n");
        for e in &exceptions {
            out.push_str(&format!("  {e}\n"));
        }
    }
    if !errors.is_empty() {
        out.push_str("\nErrors:\n");
        for (id, messages) in &errors {
            for m in messages {
                out.push_str(&format!("  {id}: {m}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_steps_errors_and_resumptions() {
        let lines = [
            r#"{"type":"header","body":{}}"#,
            r#"{"type":"step","body":{"id":"a","seconds":1.5}}"#,
            r#"{"type":"error","body":{"id":"b","error":"wrong PIN"}}"#,
            r#"{"type":"resumed","body":{}}"#,
            r#"{"type":"step","body":{"id":"b","seconds":2.0}}"#,
        ]
        .join("\n");
        let report = drill_report("x", lines.as_bytes());
        assert!(report.contains("    1.500        0  a\n"), "{report}");
        assert!(report.contains("    2.000        1  b\n"), "{report}");
        assert!(
            report
                .contains("    3.500        1  total (2 steps up to the export, 1 resumption(s))"),
            "{report}"
        );
        assert!(report.contains("  b: wrong PIN"), "{report}");
        assert!(!report.contains("Exceptions"), "{report}");
    }

    #[test]
    fn lists_exceptions() {
        let line = r#"{"type":"exception","body":{"id":"generate-root-key","exception":"half-made key removed","token_serial":"0a1b","key_id":"01"}}"#;
        let report = drill_report("x", line.as_bytes());
        assert!(
            report.contains("  generate-root-key: half-made key removed on token 0a1b (key 01)\n"),
            "{report}"
        );
    }
}
