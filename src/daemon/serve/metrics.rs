//! `/metrics` in the Prometheus text format: certificate and CRL dates under
//! `ceremony_*` names (base units, `_timestamp_seconds` for instants) and, for dashboards
//! built for it, the x509-certificate-exporter names (`x509_cert_not_after`, ...); the
//! last import's time and result; problems with served files as
//! `x509_source_errors_total{reason}` (one bad file never breaks the response).

use super::snapshot::Snapshot;
use std::fmt::Write;

/// What the inbox and the start-up saw of imports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub last_unix: Option<i64>,
    pub last_ok: Option<bool>,
    pub installed: u64,
    pub already: u64,
    pub refused: u64,
    pub failed: u64,
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &str, value: i64) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }
}

/// The whole response body at `now` (unix seconds).
pub fn render(s: &Snapshot, stats: &ImportStats, now: i64) -> String {
    let mut o = Out(String::with_capacity(4096));
    let labels: Vec<String> = s
        .certs
        .iter()
        .map(|c| {
            format!(
                "role=\"{}\",serial=\"{}\",subject_CN=\"{}\"",
                c.role,
                label(&c.serial),
                label(&c.subject_cn)
            )
        })
        .collect();
    type Field = fn(&super::snapshot::CertInfo, i64) -> i64;
    let families: [(&str, &str, Field); 6] = [
        (
            "ceremony_cert_not_after_timestamp_seconds",
            "End of validity of a served certificate.",
            |c, _| c.not_after,
        ),
        (
            "ceremony_cert_not_before_timestamp_seconds",
            "Start of validity of a served certificate.",
            |c, _| c.not_before,
        ),
        (
            "ceremony_cert_expires_in_seconds",
            "Seconds until a served certificate expires (negative: expired).",
            |c, now| c.not_after - now,
        ),
        (
            "x509_cert_not_after",
            "x509-certificate-exporter compatible: notAfter, unix seconds.",
            |c, _| c.not_after,
        ),
        (
            "x509_cert_not_before",
            "x509-certificate-exporter compatible: notBefore, unix seconds.",
            |c, _| c.not_before,
        ),
        (
            "x509_cert_expired",
            "x509-certificate-exporter compatible: 1 when expired.",
            |c, now| i64::from(c.not_after <= now),
        ),
    ];
    for (name, help, field) in families {
        o.family(name, "gauge", help);
        for (c, l) in s.certs.iter().zip(&labels) {
            o.sample(name, l, field(c, now));
        }
    }
    if let Some(crl) = &s.crl {
        let l = format!("number=\"{}\"", crl.number);
        for (name, help, value) in [
            (
                "ceremony_crl_this_update_timestamp_seconds",
                "thisUpdate of the served CRL.",
                crl.this_update,
            ),
            (
                "ceremony_crl_next_update_timestamp_seconds",
                "nextUpdate of the served CRL.",
                crl.next_update,
            ),
            (
                "ceremony_crl_expires_in_seconds",
                "Seconds until the served CRL's nextUpdate.",
                crl.next_update - now,
            ),
            (
                "x509_crl_next_update",
                "x509-certificate-exporter compatible: nextUpdate, unix seconds.",
                crl.next_update,
            ),
            (
                "ceremony_crl_number",
                "cRLNumber of the served CRL.",
                crl.number as i64,
            ),
        ] {
            o.family(name, "gauge", help);
            o.sample(name, &l, value);
        }
    }
    o.family(
        "ceremony_generation",
        "gauge",
        "The installed generation being served (-1: none).",
    );
    o.sample(
        "ceremony_generation",
        "",
        s.generation.map_or(-1, i64::from),
    );
    if let Some(at) = stats.last_unix {
        o.family(
            "ceremony_last_import_timestamp_seconds",
            "gauge",
            "When the last import finished or was refused.",
        );
        o.sample("ceremony_last_import_timestamp_seconds", "", at);
    }
    if let Some(ok) = stats.last_ok {
        o.family(
            "ceremony_last_import_success",
            "gauge",
            "1 when the last import installed (or found installed) its bundle.",
        );
        o.sample("ceremony_last_import_success", "", i64::from(ok));
    }
    o.family(
        "ceremony_imports_total",
        "counter",
        "Imports seen by this process, by result.",
    );
    for (result, n) in [
        ("installed", stats.installed),
        ("already", stats.already),
        ("refused", stats.refused),
        ("failed", stats.failed),
    ] {
        o.sample(
            "ceremony_imports_total",
            &format!("result=\"{result}\""),
            n as i64,
        );
    }
    o.family(
        "x509_source_errors_total",
        "counter",
        "Served files that could not be read or parsed.",
    );
    let mut reasons: Vec<&str> = s.errors.iter().map(|(r, _)| r.as_str()).collect();
    reasons.sort_unstable();
    reasons.dedup();
    for r in reasons {
        let n = s.errors.iter().filter(|(x, _)| x == r).count();
        o.sample(
            "x509_source_errors_total",
            &format!("reason=\"{}\"", label(r)),
            n as i64,
        );
    }
    o.0
}
