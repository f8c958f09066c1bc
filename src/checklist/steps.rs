//! Step validation: ids, references, the order steps must come in, and the steps every
//! token, key and certificate needs.
//!
//! Ordering rules: preflight is the first step; a token is identified before it is
//! initialised and initialised before any key is generated on it; a key is generated before
//! a certificate carrying it is signed and before it is exported for SSH; an issuer is
//! signed before what it issues; the CRL is signed after its issuer; a fingerprint is
//! recorded after its certificate is signed; export-bundle appears exactly once and only
//! instruction steps may follow it.

use super::error::{Problem, child, item};
use super::model::{CeremonyKind, Checklist, StepAction, StepSpec};
use super::validate::{no_such, not_empty};
use std::collections::BTreeMap;

/// Where each thing first happens (step index).
#[derive(Default)]
struct Seen<'a> {
    ids: BTreeMap<&'a str, usize>,
    identified: BTreeMap<&'a str, usize>,
    initialised: BTreeMap<&'a str, usize>,
    generated: BTreeMap<&'a str, usize>,
    signed: BTreeMap<&'a str, usize>,
    ssh_exported: BTreeMap<&'a str, usize>,
    crl_signed: Option<usize>,
    bundle: Option<usize>,
}

pub(super) fn check(c: &Checklist, out: &mut Vec<Problem>) {
    if c.steps.is_empty() {
        let message = "no steps; a ceremony starts with preflight and ends with export-bundle";
        out.push(Problem::new("steps", message));
        return;
    }
    let seen = first_pass(c, out);
    ordering(c, &seen, out);
    completeness(c, &seen, out);
}

/// Records the first step that does something to `name`; a second one is a problem
/// ("token root is already identified by steps[2]"; `what` is `("token", "identified")`).
fn once<'a>(
    map: &mut BTreeMap<&'a str, usize>,
    name: &'a str,
    i: usize,
    path: String,
    what: (&str, &str),
    out: &mut Vec<Problem>,
) {
    if let Some(j) = map.get(name) {
        let (noun, verb) = what;
        let message = format!("{noun} {name} is already {verb} by {}", item("steps", *j));
        out.push(Problem::new(path, message));
    } else {
        map.insert(name, i);
    }
}

/// Records a step kind that may appear once; a second one is a problem.
fn single(slot: &mut Option<usize>, kind: &str, i: usize, path: &str, out: &mut Vec<Problem>) {
    match *slot {
        Some(j) => {
            let message = format!("a second {kind} step (the first is {})", item("steps", j));
            out.push(Problem::new(path, message));
        }
        None => *slot = Some(i),
    }
}

fn first_pass<'a>(c: &'a Checklist, out: &mut Vec<Problem>) -> Seen<'a> {
    let mut seen = Seen::default();
    for (i, step) in c.steps.iter().enumerate() {
        let path = item("steps", i);
        basics(step, i, &path, &mut seen.ids, out);
        if let Some((field, message)) = dangling(c, &step.action) {
            out.push(Problem::new(child(&path, field), message));
        } else {
            record(c, &step.action, i, &path, &mut seen, out);
        }
    }
    seen
}

/// The id, title and text of a step, and preflight as the first step.
fn basics<'a>(
    step: &'a StepSpec,
    i: usize,
    path: &str,
    ids: &mut BTreeMap<&'a str, usize>,
    out: &mut Vec<Problem>,
) {
    let id = step.id.as_str();
    let id_path = child(path, "id");
    let id_char = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-';
    if id.is_empty() {
        out.push(Problem::new(id_path.clone(), "must not be empty"));
    } else if !id.chars().all(id_char) {
        let message = format!("{id:?} may only hold a-z, 0-9 and -");
        out.push(Problem::new(id_path.clone(), message));
    }
    if let Some(j) = ids.get(id) {
        let message = format!("{id:?} is already the id of {}", item("steps", *j));
        out.push(Problem::new(id_path, message));
    } else {
        ids.insert(id, i);
    }
    not_empty(out, child(path, "title"), &step.title);
    not_empty(out, child(path, "text"), &step.text);
    let preflight = matches!(step.action, StepAction::Preflight);
    if i == 0 && !preflight {
        let kind = step.action.kind_name();
        let message = format!("the first step must be preflight, not {kind}");
        out.push(Problem::new(path, message));
    } else if i > 0 && preflight {
        out.push(Problem::new(path, "preflight must be the first step"));
    }
}

/// The target field and a message when a step refers to something that does not exist.
fn dangling(c: &Checklist, action: &StepAction) -> Option<(&'static str, String)> {
    let (field, names): (_, Vec<&str>) = match action {
        StepAction::IdentifyToken { token } | StepAction::InitToken { token }
            if !c.tokens.contains_key(token) =>
        {
            ("token", c.tokens.keys().map(String::as_str).collect())
        }
        StepAction::GenerateKey { key } | StepAction::ExportSsh { key } if c.key(key).is_none() => {
            ("key", c.keys.iter().map(|k| k.name.as_str()).collect())
        }
        StepAction::SelfSign { certificate }
        | StepAction::SignCertificate { certificate }
        | StepAction::RecordFingerprint { certificate }
            if !c.certificates.contains_key(certificate) =>
        {
            (
                "certificate",
                c.certificates.keys().map(String::as_str).collect(),
            )
        }
        _ => return None,
    };
    let target = action.target().unwrap_or_default();
    Some((field, no_such(field, target, names.into_iter())))
}

/// Notes what a step (whose target exists) does, and whether it may do it.
fn record<'a>(
    c: &'a Checklist,
    action: &'a StepAction,
    i: usize,
    path: &str,
    seen: &mut Seen<'a>,
    out: &mut Vec<Problem>,
) {
    let at = |field: &str| child(path, field);
    match action {
        StepAction::Instruction | StepAction::Preflight | StepAction::RecordFingerprint { .. } => {}
        StepAction::IdentifyToken { token } => {
            let what = ("token", "identified");
            once(&mut seen.identified, token, i, at("token"), what, out);
        }
        StepAction::InitToken { token } if c.tokens[token].existing.is_some() => {
            let message = format!(
                "token {token} continues from the previous ceremony (existing) and is never initialised"
            );
            out.push(Problem::new(at("token"), message));
        }
        StepAction::InitToken { token } => {
            let what = ("token", "initialised");
            once(&mut seen.initialised, token, i, at("token"), what, out);
        }
        StepAction::GenerateKey { key } if c.key(key).is_some_and(|k| k.existing.is_some()) => {
            let message = format!(
                "key {key} comes from the previous ceremony (existing); it is not generated again"
            );
            out.push(Problem::new(at("key"), message));
        }
        StepAction::SelfSign { certificate } | StepAction::SignCertificate { certificate }
            if c.certificate(certificate)
                .is_some_and(|s| s.existing.is_some()) =>
        {
            let message = format!(
                "certificate {certificate} comes from the previous ceremony (existing); it is not signed again"
            );
            out.push(Problem::new(at("certificate"), message));
        }
        StepAction::GenerateKey { key } => {
            once(
                &mut seen.generated,
                key,
                i,
                at("key"),
                ("key", "generated"),
                out,
            );
        }
        StepAction::SelfSign { certificate } | StepAction::SignCertificate { certificate } => {
            let has_issuer = c
                .certificate(certificate)
                .is_some_and(|s| s.issuer.is_some());
            let self_sign = matches!(action, StepAction::SelfSign { .. });
            let wrong = match (self_sign, has_issuer) {
                (true, true) => Some("has an issuer; sign it with a sign-certificate step"),
                (false, false) => {
                    Some("has no issuer; the self-signed root needs a self-sign step")
                }
                _ => None,
            };
            match wrong {
                Some(m) => out.push(Problem::new(
                    at("certificate"),
                    format!("{certificate} {m}"),
                )),
                None => {
                    let what = ("certificate", "signed");
                    once(
                        &mut seen.signed,
                        certificate,
                        i,
                        at("certificate"),
                        what,
                        out,
                    );
                }
            }
        }
        StepAction::SignCrl if c.crl.is_none() => {
            out.push(Problem::new(path, "sign-crl without a [crl] table"));
        }
        StepAction::SignCrl => single(&mut seen.crl_signed, "sign-crl", i, path, out),
        StepAction::ExportSsh { key } => match &c.ssh {
            None => out.push(Problem::new(path, "export-ssh without an [ssh] table")),
            Some(ssh) if *key != ssh.user_ca_key && *key != ssh.host_ca_key => {
                let message = format!("key {key} is not an SSH CA key in [ssh]");
                out.push(Problem::new(at("key"), message));
            }
            Some(_) => once(
                &mut seen.ssh_exported,
                key,
                i,
                at("key"),
                ("key", "exported"),
                out,
            ),
        },
        StepAction::ExportBundle => single(&mut seen.bundle, "export-bundle", i, path, out),
    }
}

/// The index of the step that does something to `name`, if it comes after step `i`.
fn later(map: &BTreeMap<&str, usize>, name: &str, i: usize) -> Option<String> {
    map.get(name).filter(|j| **j > i).map(|j| item("steps", *j))
}

fn ordering(c: &Checklist, seen: &Seen, out: &mut Vec<Problem>) {
    for (i, step) in c.steps.iter().enumerate() {
        let path = item("steps", i);
        let kind = step.action.kind_name();
        let may_follow = matches!(
            step.action,
            StepAction::Instruction | StepAction::ExportBundle
        );
        if let Some(b) = seen.bundle
            && i > b
            && !may_follow
        {
            let b = item("steps", b);
            let message =
                format!("{kind} after export-bundle ({b}); only instruction steps may follow it");
            out.push(Problem::new(path.clone(), message));
        }
        for (field, message) in too_early(c, seen, &step.action, i) {
            let p = field.map_or_else(|| path.clone(), |f| child(&path, f));
            out.push(Problem::new(p, message));
        }
    }
}

/// What step `i` does before its preconditions are met, as (field, message) pairs.
fn too_early(
    c: &Checklist,
    seen: &Seen,
    action: &StepAction,
    i: usize,
) -> Vec<(Option<&'static str>, String)> {
    let mut found = Vec::new();
    match action {
        StepAction::InitToken { token } => {
            if let Some(j) = later(&seen.identified, token, i) {
                let message = format!("token {token} is initialised before it is identified ({j})");
                found.push((Some("token"), message));
            }
        }
        StepAction::GenerateKey { key } => {
            let Some(token) = c.key(key).map(|k| &k.token) else {
                return found;
            };
            let before = |map, what| later(map, token, i).map(|j| (what, j));
            if let Some((what, j)) = before(&seen.initialised, "initialised")
                .or_else(|| before(&seen.identified, "identified"))
            {
                let message =
                    format!("key {key} is generated before its token {token} is {what} ({j})");
                found.push((Some("key"), message));
            }
        }
        StepAction::SelfSign { certificate } | StepAction::SignCertificate { certificate } => {
            let Some(spec) = c.certificate(certificate) else {
                return found;
            };
            if let Some(j) = later(&seen.generated, &spec.key, i) {
                let key = &spec.key;
                let message = format!(
                    "certificate {certificate} is signed before its key {key} is generated ({j})"
                );
                found.push((Some("certificate"), message));
            }
            if let Some(issuer) = &spec.issuer
                && let Some(j) = later(&seen.signed, issuer, i)
            {
                let message =
                    format!("certificate {certificate} is signed before its issuer {issuer} ({j})");
                found.push((Some("certificate"), message));
            }
        }
        StepAction::SignCrl => {
            if let Some(crl) = &c.crl
                && let Some(j) = later(&seen.signed, &crl.issuer, i)
            {
                let issuer = &crl.issuer;
                let message =
                    format!("the CRL is signed before its issuer certificate {issuer} ({j})");
                found.push((None, message));
            }
        }
        StepAction::ExportSsh { key } => {
            if let Some(j) = later(&seen.generated, key, i) {
                let message = format!("key {key} is exported before it is generated ({j})");
                found.push((Some("key"), message));
            }
        }
        StepAction::RecordFingerprint { certificate } => {
            if let Some(j) = later(&seen.signed, certificate, i) {
                let message =
                    format!("certificate {certificate} is recorded before it is signed ({j})");
                found.push((Some("certificate"), message));
            }
        }
        _ => {}
    }
    found
}

/// A CRL renewal changes nothing but the CRL: everything else is carried over.
fn crl_renewal_only(c: &Checklist, out: &mut Vec<Problem>) {
    const WHY: &str = "a crl-renewal ceremony only signs a CRL; everything else comes from the previous ceremony (set existing)";
    for (name, token) in &c.tokens {
        if token.existing.is_none() {
            out.push(Problem::new(child("tokens", name), WHY));
        }
    }
    for (i, key) in c.keys.iter().enumerate() {
        if key.existing.is_none() {
            out.push(Problem::new(item("keys", i), WHY));
        }
    }
    for (name, cert) in &c.certificates {
        if cert.existing.is_none() {
            out.push(Problem::new(child("certificates", name), WHY));
        }
    }
    if c.crl.is_none() {
        out.push(Problem::new(
            "crl",
            "a crl-renewal ceremony signs a CRL; add [crl]",
        ));
    }
}

fn completeness(c: &Checklist, seen: &Seen, out: &mut Vec<Problem>) {
    for name in c.tokens.keys() {
        let path = child("tokens", name);
        let existing = c.tokens[name].existing.is_some();
        // A carried-over token that no step logs into can stay where it is (the online
        // HSM during a CRL renewal): its facts come from the previous bundle.
        let stays_away = existing && !c.token_is_used(name);
        if !seen.identified.contains_key(name.as_str()) && !stays_away {
            out.push(Problem::new(path.clone(), "no identify-token step"));
        }
        if c.ceremony.kind == CeremonyKind::Root && existing {
            let message =
                "a root ceremony starts from nothing; existing tokens belong to rotations";
            out.push(Problem::new(child(&path, "existing"), message));
        }
        if c.ceremony.kind == CeremonyKind::Root
            && !existing
            && !seen.initialised.contains_key(name.as_str())
        {
            out.push(Problem::new(
                path,
                "no init-token step; a root ceremony initialises every token",
            ));
        }
    }
    if c.ceremony.kind == CeremonyKind::CrlRenewal {
        crl_renewal_only(c, out);
    }
    for (i, key) in c.keys.iter().enumerate() {
        let first = c.keys.iter().position(|k| k.name == key.name) == Some(i);
        if first && key.existing.is_none() && !seen.generated.contains_key(key.name.as_str()) {
            out.push(Problem::new(
                item("keys", i),
                format!("no generate-key step for key {}", key.name),
            ));
        }
    }
    for (name, cert) in &c.certificates {
        if cert.existing.is_none() && !seen.signed.contains_key(name.as_str()) {
            let kind = if cert.issuer.is_none() {
                "self-sign"
            } else {
                "sign-certificate"
            };
            out.push(Problem::new(
                child("certificates", name),
                format!("no {kind} step"),
            ));
        }
    }
    if c.crl.is_some() && seen.crl_signed.is_none() {
        out.push(Problem::new("crl", "no sign-crl step"));
    }
    if let Some(ssh) = &c.ssh {
        for (field, key) in [
            ("user_ca_key", &ssh.user_ca_key),
            ("host_ca_key", &ssh.host_ca_key),
        ] {
            if c.key(key).is_some() && !seen.ssh_exported.contains_key(key.as_str()) {
                out.push(Problem::new(
                    child("ssh", field),
                    format!("no export-ssh step for key {key}"),
                ));
            }
        }
    }
    if seen.bundle.is_none() {
        let message = "no export-bundle step; the ceremony ends by writing the bundle";
        out.push(Problem::new("steps", message));
    }
}
