//! The bytes of a new generation: step-ca's `certs/` and `config/`, the `publish/` set
//! (roots with overlap, intermediates, SSH CA keys, known_hosts, CRL) and the copy of the
//! bundle; and generation 0, the copy of a plain step-ca folder.
//!
//! Modes: folders 0755 except `config/` 0750; `ca.json` 0600 (it holds provisioner
//! secrets: encrypted JWK keys, OIDC client secrets); certificates, public keys and the
//! generation record 0644. Files carried over from the previous generation keep their mode.

use super::bundlefiles::{Parts, pem_der, pem_ders, to_pem};
use super::cajson::{self, StepKeys};
use super::config::{Config, Owner};
use super::generation::{self, CrlRef, GenerationInfo, TrustedRoot, publish, step};
use super::plan::Installed;
use crate::pki::{self, Fingerprint};
use time::{Duration, OffsetDateTime};

/// One file of a generation, relative to its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub rel: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
    /// `None`: the configured owner; `Some`: kept from the file it copies.
    pub owner: Option<Owner>,
}

fn file(rel: impl Into<String>, bytes: Vec<u8>, mode: u32) -> NewFile {
    NewFile {
        rel: rel.into(),
        bytes,
        mode,
        owner: None,
    }
}

/// Generation 0: the plain folders as they were.
pub struct Migration {
    pub files: Vec<NewFile>,
    pub info: GenerationInfo,
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Folder mode for a folder of a generation.
pub fn dir_mode(rel: &str) -> u32 {
    if rel == generation::CONFIG {
        0o750
    } else {
        0o755
    }
}

pub fn ca_json(
    cfg: &Config,
    parts: &Parts,
    existing: &[u8],
    widen_ssh: &[String],
) -> Result<Vec<u8>, String> {
    let step_path = &cfg.ca.step_path;
    cajson::rewrite(
        existing,
        &StepKeys {
            root_path: format!("{step_path}/certs/{}", step::ROOT),
            crt_path: format!("{step_path}/certs/{}", step::INTERMEDIATE),
            key_uri: parts.key_uri.clone(),
            ssh_user_uri: parts.ssh_user.1.clone(),
            ssh_host_uri: parts.ssh_host.1.clone(),
            kms_uri: cajson::kms_uri(&cfg.ca.module_path, &parts.token_serial, &cfg.ca.pin_source),
        },
        widen_ssh,
    )
}

/// The new root, then every earlier root still inside its overlap. The root being
/// replaced now gets `now + overlap_days`.
pub fn trusted_roots(
    parts: &Parts,
    old: &Installed,
    overlap_days: u32,
    now: OffsetDateTime,
) -> Vec<(TrustedRoot, Vec<u8>)> {
    let mut out = vec![(
        TrustedRoot {
            sha256: parts.root.sha256.clone(),
            overlap_until: None,
        },
        parts.root.der.clone(),
    )];
    let replaced_until = now + Duration::days(i64::from(overlap_days));
    let mut earlier = Vec::new();
    match &old.info {
        Some(info) => {
            for r in &info.roots {
                let until = match &r.overlap_until {
                    None => Some(replaced_until),
                    Some(t) => parse_rfc3339(t),
                };
                let der = old
                    .published(&format!("{}/{}.crt", publish::ROOTS_DIR, r.sha256))
                    .and_then(|pem| pem_der(&pem));
                if let (Some(until), Some(der)) = (until, der) {
                    earlier.push((r.sha256.clone(), der, until));
                }
            }
        }
        None => {
            if let Some(der) = old.root_der() {
                earlier.push((Fingerprint::of(&der).hex(), der, replaced_until));
            }
        }
    }
    for (sha256, der, until) in earlier {
        if until > now && !out.iter().any(|(r, _)| r.sha256 == sha256) {
            let overlap_until = Some(rfc3339(until));
            out.push((
                TrustedRoot {
                    sha256,
                    overlap_until,
                },
                der,
            ));
        }
    }
    out
}

/// `certs/`, `config/` and `publish/` of the new generation.
pub fn generation_files(
    cfg: &Config,
    parts: &Parts,
    old: &Installed,
    roots: &[(TrustedRoot, Vec<u8>)],
    ca_json: Vec<u8>,
    now: OffsetDateTime,
) -> Vec<NewFile> {
    let mut files = vec![
        file(
            format!("certs/{}", step::ROOT),
            parts.root.pem.clone(),
            0o644,
        ),
        file(
            format!("certs/{}", step::INTERMEDIATE),
            parts.intermediate.pem.clone(),
            0o644,
        ),
        file(
            format!("certs/{}", step::SSH_USER),
            parts.ssh_user.0.clone(),
            0o644,
        ),
        file(
            format!("certs/{}", step::SSH_HOST),
            parts.ssh_host.0.clone(),
            0o644,
        ),
        file(format!("config/{}", step::CA_JSON), ca_json, 0o600),
    ];
    let managed = [
        step::ROOT,
        step::INTERMEDIATE,
        step::SSH_USER,
        step::SSH_HOST,
        step::CA_JSON,
    ];
    for (sub, found) in [("certs", &old.certs), ("config", &old.config)] {
        for f in found.iter().filter(|f| !managed.contains(&f.name.as_str())) {
            let bytes = match f.name.as_str() {
                step::DEFAULTS_JSON if sub == "config" => {
                    cajson::rewrite_defaults(&f.bytes, &parts.root.sha256)
                        .unwrap_or_else(|| f.bytes.clone())
                }
                _ => f.bytes.clone(),
            };
            files.push(file(format!("{sub}/{}", f.name), bytes, f.mode));
        }
    }
    files.extend(publish_files(cfg, parts, old, roots, now));
    files
}

fn publish_files(
    cfg: &Config,
    parts: &Parts,
    old: &Installed,
    roots: &[(TrustedRoot, Vec<u8>)],
    now: OffsetDateTime,
) -> Vec<NewFile> {
    let p = |name: &str| format!("{}/{name}", generation::PUBLISH);
    let mut files = vec![file(p(publish::ROOT), parts.root.pem.clone(), 0o644)];
    let mut all = Vec::new();
    for (root, der) in roots {
        all.extend(to_pem(der));
        let name = format!("{}/{}.crt", publish::ROOTS_DIR, root.sha256);
        files.push(file(p(&name), to_pem(der), 0o644));
    }
    files.push(file(p(publish::ROOTS), all, 0o644));
    let mut inters = to_pem(&parts.intermediate.der);
    for der in carried_intermediates(parts, old, now) {
        inters.extend(to_pem(&der));
    }
    files.push(file(p(publish::INTERMEDIATES), inters, 0o644));
    files.push(file(p(publish::SSH_USER), parts.ssh_user.0.clone(), 0o644));
    files.push(file(p(publish::SSH_HOST), parts.ssh_host.0.clone(), 0o644));
    let host = known_hosts(&cfg.trust.known_hosts_pattern, &parts.ssh_host.0);
    files.push(file(p(publish::KNOWN_HOSTS), host, 0o644));
    match &parts.crl {
        Some((bytes, _, _)) => files.push(file(p(publish::CRL), bytes.clone(), 0o644)),
        None => {
            if let Some(bytes) = old_crl_for(parts, old).and_then(|_| old.published(publish::CRL)) {
                files.push(file(p(publish::CRL), bytes, 0o644));
            }
        }
    }
    files
}

/// `@cert-authority <pattern> <key line>`.
pub fn known_hosts(pattern: &str, host_key_line: &[u8]) -> Vec<u8> {
    let line = String::from_utf8_lossy(host_key_line);
    format!("@cert-authority {pattern} {}\n", line.trim()).into_bytes()
}

/// Intermediates of the previous generation that still chain to the (unchanged) root, have
/// not expired and are not revoked by the new CRL: leaves they issued keep validating.
fn carried_intermediates(parts: &Parts, old: &Installed, now: OffsetDateTime) -> Vec<Vec<u8>> {
    let Some(pem) = old.published(publish::INTERMEDIATES) else {
        return Vec::new();
    };
    let revoked: Vec<&str> = match &parts.crl {
        Some((_, facts, _)) => facts
            .revoked
            .iter()
            .map(|r| r.serial_hex.as_str())
            .collect(),
        None => Vec::new(),
    };
    pem_ders(&pem)
        .into_iter()
        .filter(|der| *der != parts.intermediate.der)
        .filter(|der| match pki::check_intermediate(der, &parts.root.der) {
            Ok(facts) => facts.not_after > now && !revoked.contains(&facts.serial_hex.as_str()),
            Err(_) => false,
        })
        .collect()
}

/// The installed CRL, when the bundle has none and it is the same root's.
fn old_crl_for<'a>(parts: &Parts, old: &'a Installed) -> Option<&'a CrlRef> {
    old.info
        .as_ref()?
        .crl
        .as_ref()
        .filter(|c| c.issuer_sha256 == parts.root.sha256)
}

pub fn crl_ref(parts: &Parts, old: &Installed) -> Option<CrlRef> {
    match &parts.crl {
        Some((_, facts, issuer)) => Some(CrlRef {
            issuer_sha256: issuer.clone(),
            number: facts.number,
            this_update: rfc3339(facts.this_update),
            next_update: rfc3339(facts.next_update),
        }),
        None => old_crl_for(parts, old).cloned(),
    }
}

/// `bundle/<name>` for every file of the bundle.
pub fn bundle_copy(files: &super::bundlefiles::BundleFiles) -> Vec<NewFile> {
    files
        .files
        .iter()
        .map(|(name, bytes)| {
            file(
                format!("{}/{name}", generation::BUNDLE),
                bytes.clone(),
                0o644,
            )
        })
        .collect()
}

/// Generation 0 from a plain step-ca folder: its files byte for byte with their modes and
/// owners, plus what can be published from them.
pub fn migration(old: &Installed, now: OffsetDateTime) -> Migration {
    let mut files = Vec::new();
    for (sub, found) in [("certs", &old.certs), ("config", &old.config)] {
        for f in found {
            files.push(NewFile {
                rel: format!("{sub}/{}", f.name),
                bytes: f.bytes.clone(),
                mode: f.mode,
                owner: Some(Owner {
                    uid: f.uid,
                    gid: f.gid,
                }),
            });
        }
    }
    let p = |name: &str| format!("{}/{name}", generation::PUBLISH);
    let mut roots = Vec::new();
    if let Some(der) = old.root_der() {
        let sha256 = Fingerprint::of(&der).hex();
        let name = format!("{}/{sha256}.crt", publish::ROOTS_DIR);
        files.push(file(p(&name), to_pem(&der), 0o644));
        files.push(file(p(publish::ROOT), to_pem(&der), 0o644));
        files.push(file(p(publish::ROOTS), to_pem(&der), 0o644));
        roots.push(TrustedRoot {
            sha256,
            overlap_until: None,
        });
    }
    let certs = |name: &str| old.file(generation::CERTS, name).map(|f| f.bytes.clone());
    if let Some(der) = certs(step::INTERMEDIATE).and_then(|b| pem_der(&b)) {
        files.push(file(p(publish::INTERMEDIATES), to_pem(&der), 0o644));
    }
    for (from, to) in [
        (step::SSH_USER, publish::SSH_USER),
        (step::SSH_HOST, publish::SSH_HOST),
    ] {
        if let Some(bytes) = certs(from) {
            files.push(file(p(to), bytes, 0o644));
        }
    }
    let info = GenerationInfo {
        format: generation::FORMAT.into(),
        version: 1,
        number: 0,
        previous: None,
        created: rfc3339(now),
        source: "migrated".into(),
        bundle: None,
        roots,
        crl: None,
    };
    Migration { files, info }
}
