//! The validation pass over a deserialized checklist: values that make sense together.
//!
//! Every check runs and every problem is collected; nothing stops at the first. Step
//! ordering lives in `steps`, PIN rules in `pin`.

use super::error::{Problem, child, item, list};
use super::model::{CertificateSpec, Checklist, Subject};
use std::collections::BTreeMap;

/// CKA_LABEL is a 32-byte field; cryptoki cuts longer labels silently.
pub const MAX_LABEL_BYTES: usize = 32;
/// The longest CKA_ID a checklist may give.
pub const MAX_KEY_ID_BYTES: usize = 8;
/// X.520 upper bound for commonName and organizationName.
pub const MAX_NAME_CHARS: usize = 64;

/// Runs every check and returns all problems found.
pub(super) fn check(c: &Checklist) -> Vec<Problem> {
    let mut out = Vec::new();
    ceremony(c, &mut out);
    tokens(c, &mut out);
    keys(c, &mut out);
    certificates(c, &mut out);
    crl(c, &mut out);
    ssh(c, &mut out);
    super::steps::check(c, &mut out);
    out
}

fn push(out: &mut Vec<Problem>, path: impl Into<String>, message: impl Into<String>) {
    out.push(Problem::new(path, message));
}

pub(super) fn not_empty(out: &mut Vec<Problem>, path: String, value: &str) {
    if value.trim().is_empty() {
        push(out, path, "must not be empty");
    }
}

/// `no token "x"; tokens are a, b` for a reference to something that does not exist.
pub(super) fn no_such<'a>(what: &str, name: &str, names: impl Iterator<Item = &'a str>) -> String {
    format!("no {what} {name:?}; {what}s are {}", list(names))
}

fn ceremony(c: &Checklist, out: &mut Vec<Problem>) {
    not_empty(out, "ceremony.name".into(), &c.ceremony.name);
    let url = &c.ceremony.ca_url;
    if !url.starts_with("https://") || url.len() == "https://".len() {
        push(
            out,
            "ceremony.ca_url",
            format!("{url:?} must start with https:// and name the CA host"),
        );
    }
    not_empty(
        out,
        "participants.operator.duty".into(),
        &c.participants.operator.duty,
    );
    not_empty(
        out,
        "participants.witness.duty".into(),
        &c.participants.witness.duty,
    );
}

fn label(out: &mut Vec<Problem>, path: String, label: &str) {
    match label.len() {
        0 => push(
            out,
            path,
            format!("empty; a label needs 1 to {MAX_LABEL_BYTES} bytes"),
        ),
        n if n > MAX_LABEL_BYTES => push(
            out,
            path,
            format!("{n} bytes; token labels hold at most {MAX_LABEL_BYTES}"),
        ),
        _ => {}
    }
}

fn tokens(c: &Checklist, out: &mut Vec<Problem>) {
    if c.tokens.is_empty() {
        push(out, "tokens", "at least one token is required");
    }
    let mut labels: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, token) in &c.tokens {
        let path = child("tokens", name);
        label(out, child(&path, "label"), &token.label);
        if let Some(first) = labels.get(token.label.as_str()) {
            let message = format!(
                "{:?} is also the label of {}",
                token.label,
                child("tokens", first)
            );
            push(out, child(&path, "label"), message);
        } else {
            labels.insert(&token.label, name);
        }
        not_empty(out, child(&path, "description"), &token.description);
        token.so_pin.problems(&child(&path, "so_pin"), out);
        token.user_pin.problems(&child(&path, "user_pin"), out);
    }
}

/// Decodes a key id, or says what is wrong with it.
pub(super) fn key_id(id: &str) -> Result<Vec<u8>, String> {
    if id.is_empty() {
        return Err("empty; write the CKA_ID as hex, e.g. \"01\"".into());
    }
    if !id.chars().all(|ch| ch.is_ascii_hexdigit()) {
        return Err(format!("{id:?} is not hex"));
    }
    if !id.len().is_multiple_of(2) {
        return Err(format!("{id:?} has an odd number of hex digits"));
    }
    let bytes = hex::decode(id).map_err(|e| format!("{id:?} is not hex: {e}"))?;
    if bytes.len() > MAX_KEY_ID_BYTES {
        return Err(format!(
            "{} bytes; key ids hold at most {MAX_KEY_ID_BYTES}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

fn keys(c: &Checklist, out: &mut Vec<Problem>) {
    if c.keys.is_empty() {
        push(out, "keys", "at least one key is required");
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ids: BTreeMap<(&str, Vec<u8>), usize> = BTreeMap::new();
    let mut labels: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, key) in c.keys.iter().enumerate() {
        let path = item("keys", i);
        not_empty(out, child(&path, "name"), &key.name);
        if let Some(j) = names.get(key.name.as_str()) {
            let message = format!("{:?} is already the name of {}", key.name, item("keys", *j));
            push(out, child(&path, "name"), message);
        } else {
            names.insert(&key.name, i);
        }
        if !c.tokens.contains_key(&key.token) {
            let message = no_such("token", &key.token, c.tokens.keys().map(String::as_str));
            push(out, child(&path, "token"), message);
        }
        match key_id(&key.id) {
            Err(message) => push(out, child(&path, "id"), message),
            Ok(bytes) => {
                if let Some(j) = ids.get(&(key.token.as_str(), bytes.clone())) {
                    let message = format!(
                        "{:?} is already used on token {} by {}",
                        key.id,
                        key.token,
                        item("keys", *j)
                    );
                    push(out, child(&path, "id"), message);
                } else {
                    ids.insert((&key.token, bytes), i);
                }
            }
        }
        label(out, child(&path, "label"), &key.label);
        if let Some(j) = labels.get(&(key.token.as_str(), key.label.as_str())) {
            let message = format!(
                "{:?} is already used on token {} by {}",
                key.label,
                key.token,
                item("keys", *j)
            );
            push(out, child(&path, "label"), message);
        } else {
            labels.insert((&key.token, &key.label), i);
        }
    }
}

fn certificates(c: &Checklist, out: &mut Vec<Problem>) {
    if c.certificates.is_empty() {
        push(out, "certificates", "at least one certificate is required");
    }
    // A carried-over root (an intermediate rotation's) counts as the root; a root
    // rotation has the old root carried over beside the new self-signed one.
    let roots: Vec<&str> = c
        .certificates
        .iter()
        .filter(|(_, s)| s.issuer.is_none() && s.existing.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    let carried = c
        .certificates
        .values()
        .any(|s| s.issuer.is_none() && s.existing.is_some());
    match roots.len() {
        0 if carried => {}
        0 if !c.certificates.is_empty() => push(
            out,
            "certificates",
            "no self-signed root; exactly one certificate must have no issuer",
        ),
        0 | 1 => {}
        _ => push(
            out,
            "certificates",
            format!(
                "{} have no issuer; exactly one certificate, the root, is self-signed",
                list(roots.iter().copied())
            ),
        ),
    }
    for (name, cert) in &c.certificates {
        certificate(c, &child("certificates", name), name, cert, out);
    }
}

fn certificate(
    c: &Checklist,
    path: &str,
    name: &str,
    cert: &CertificateSpec,
    out: &mut Vec<Problem>,
) {
    if c.key(&cert.key).is_none() {
        let message = no_such("key", &cert.key, c.keys.iter().map(|k| k.name.as_str()));
        push(out, child(path, "key"), message);
    }
    if cert.validity_days == 0 {
        push(out, child(path, "validity_days"), "must be at least 1");
    }
    if let Some(issuer_name) = &cert.issuer {
        match c.certificates.get(issuer_name) {
            _ if issuer_name == name => push(
                out,
                child(path, "issuer"),
                "names the certificate itself; leave issuer out for the self-signed root",
            ),
            None => {
                let names = c.certificates.keys().map(String::as_str);
                push(
                    out,
                    child(path, "issuer"),
                    no_such("certificate", issuer_name, names),
                );
            }
            // A carried-over issuer's real limits are checked against its certificate
            // when the ceremony signs.
            Some(issuer) if issuer.existing.is_some() || cert.existing.is_some() => {}
            Some(issuer) => {
                if cert.path_length >= issuer.path_length {
                    let message = format!(
                        "{} is not below the path_length {} of its issuer {issuer_name}",
                        cert.path_length, issuer.path_length
                    );
                    push(out, child(path, "path_length"), message);
                }
                if cert.validity_days >= issuer.validity_days {
                    let message = format!(
                        "{} is not below the validity_days {} of its issuer {issuer_name}; \
                         an issued certificate must end inside its issuer's validity",
                        cert.validity_days, issuer.validity_days
                    );
                    push(out, child(path, "validity_days"), message);
                }
            }
        }
    }
    subject(&child(path, "subject"), &cert.subject, out);
    extensions(path, cert, out);
}

fn subject(path: &str, subject: &Subject, out: &mut Vec<Problem>) {
    let cn = &subject.common_name;
    not_empty(out, child(path, "common_name"), cn);
    let n = cn.chars().count();
    if n > MAX_NAME_CHARS {
        let message = format!("{n} characters; a common name holds at most {MAX_NAME_CHARS}");
        push(out, child(path, "common_name"), message);
    }
    if let Some(org) = &subject.organization {
        not_empty(out, child(path, "organization"), org);
        let n = org.chars().count();
        if n > MAX_NAME_CHARS {
            let message = format!("{n} characters; an organization holds at most {MAX_NAME_CHARS}");
            push(out, child(path, "organization"), message);
        }
    }
    if let Some(country) = &subject.country
        && (country.len() != 2 || !country.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        let message =
            format!("{country:?} is not a two-letter country code (ISO 3166, e.g. \"DE\")");
        push(out, child(path, "country"), message);
    }
}

fn extensions(path: &str, cert: &CertificateSpec, out: &mut Vec<Problem>) {
    if let Some(cdp) = &cert.crl_distribution_point
        && (!cdp.starts_with("http://") || cdp.len() == "http://".len())
    {
        let message = format!(
            "{cdp:?} must start with http:// and name a host; RFC 5280 CRL distribution \
             points are plain http (the CRL is signed, and fetching it must not need TLS)"
        );
        push(out, child(path, "crl_distribution_point"), message);
    }
    if let Some(nc) = &cert.name_constraints {
        let nc_path = child(path, "name_constraints");
        for (field, names) in [
            ("permitted_dns", &nc.permitted_dns),
            ("excluded_dns", &nc.excluded_dns),
        ] {
            for (i, dns) in names.iter().enumerate() {
                if !is_dns_name(dns) {
                    let message = format!("{dns:?} is not a DNS name");
                    push(out, item(&child(&nc_path, field), i), message);
                }
            }
        }
    }
}

/// A DNS name as a name constraint takes it: labels of letters, digits and inner hyphens,
/// 1 to 63 characters each, 253 in all, no wildcard, no leading or trailing dot.
pub(super) fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        })
}

fn crl(c: &Checklist, out: &mut Vec<Problem>) {
    let Some(crl) = &c.crl else { return };
    if crl.validity_days == 0 {
        push(out, "crl.validity_days", "must be at least 1");
    }
    match c.certificates.get(&crl.issuer) {
        None => {
            let names = c.certificates.keys().map(String::as_str);
            push(
                out,
                "crl.issuer",
                no_such("certificate", &crl.issuer, names),
            );
        }
        Some(issuer) if crl.validity_days >= issuer.validity_days => {
            let message = format!(
                "{} is not below the validity_days {} of its issuer {}",
                crl.validity_days, issuer.validity_days, crl.issuer
            );
            push(out, "crl.validity_days", message);
        }
        Some(_) => {}
    }
    if crl.number == Some(0) {
        push(out, "crl.number", "must be at least 1");
    }
}

fn ssh(c: &Checklist, out: &mut Vec<Problem>) {
    let Some(ssh) = &c.ssh else { return };
    for (field, key) in [
        ("user_ca_key", &ssh.user_ca_key),
        ("host_ca_key", &ssh.host_ca_key),
    ] {
        let path = child("ssh", field);
        if c.key(key).is_none() {
            push(
                out,
                path,
                no_such("key", key, c.keys.iter().map(|k| k.name.as_str())),
            );
            continue;
        }
        if let Some((cert, _)) = c.certificate_for_key(key) {
            let message = format!(
                "key {key} also carries {}; an SSH CA key must not be an X.509 CA key",
                child("certificates", cert)
            );
            push(out, path, message);
        }
    }
    if ssh.user_ca_key == ssh.host_ca_key {
        push(
            out,
            "ssh.host_ca_key",
            format!(
                "{:?} is also the user CA key; the user and host CAs need separate keys",
                ssh.host_ca_key
            ),
        );
    }
}
