//! The earlier ceremony a rotation continues from: its bundle, verified, and what this
//! ceremony takes over from it (tokens by serial, keys by public key, certificates).

use super::error::EngineError;
use super::state::{CertFact, KeyFact, State, TokenFact};
use crate::bundle::{self, Manifest};
use crate::checklist::Checklist;
use crate::checklist::model::{RevokeReason, StepAction};
use crate::pki::Fingerprint;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A verified previous bundle.
#[derive(Debug, Clone)]
pub struct Previous {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub seal: String,
    pub root_fingerprint: String,
    /// Certificate name -> DER.
    pub certs: BTreeMap<String, Vec<u8>>,
}

impl Previous {
    /// Verifies the bundle in `dir` (against `expected_root` when given) and reads it.
    pub fn load(dir: &Path, expected_root: Option<&Fingerprint>) -> Result<Previous, EngineError> {
        let verified = bundle::verify(dir, expected_root).map_err(|problems| {
            EngineError::Previous(format!(
                "{} does not verify: {}",
                dir.display(),
                problems.join("; ")
            ))
        })?;
        Previous::from_verified(dir, verified, |file| std::fs::read(dir.join(file)))
    }

    /// Reads the certificates of a bundle that verified, each file through `read` (the
    /// bundle's folder for [`load`](Self::load); the same bytes in memory for the fuzz
    /// targets in `tests/fuzz`).
    pub fn from_verified(
        dir: &Path,
        verified: bundle::Verified,
        read: impl Fn(&str) -> std::io::Result<Vec<u8>>,
    ) -> Result<Previous, EngineError> {
        let mut certs = BTreeMap::new();
        for cert in &verified.manifest.certificates {
            let pem = read(&cert.file)
                .map_err(|e| EngineError::Previous(format!("{}: {e}", cert.file)))?;
            let (_, parsed) = x509_parser::pem::parse_x509_pem(&pem)
                .map_err(|e| EngineError::Previous(format!("{}: {e}", cert.file)))?;
            certs.insert(cert.name.clone(), parsed.contents);
        }
        Ok(Previous {
            dir: dir.to_path_buf(),
            manifest: verified.manifest,
            seal: verified.seal,
            root_fingerprint: verified.root_fingerprint,
            certs,
        })
    }

    /// The serial the previous ceremony gave a token role.
    pub fn token_serial(&self, role: &str) -> Option<&str> {
        self.manifest
            .tokens
            .iter()
            .find(|t| t.role == role)
            .map(|t| t.serial.as_str())
    }

    /// A certificate's serial (hex) in the previous bundle.
    pub fn cert_serial(&self, name: &str) -> Option<&str> {
        self.manifest
            .certificates
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.serial.as_str())
    }
}

/// What a rotation takes over from its previous bundle: the state seeded from it, and
/// the serial each existing token role must have. Fails, before any key is made, when the
/// checklist and the bundle disagree or the CRL could not be signed later.
/// [`Engine::open`](super::Engine::open) starts from this; the fuzz targets in
/// `tests/fuzz` call it directly.
pub fn take_over(
    checklist: &Checklist,
    previous: &Previous,
) -> Result<(State, BTreeMap<String, String>), EngineError> {
    let mut state = State::default();
    let serials = seed(checklist, previous, &mut state)?;
    crl_revocations(checklist, Some(previous))?;
    if checklist.crl.is_some() {
        crl_number(checklist, Some(previous))?;
    }
    Ok((state, serials))
}

/// Puts what the checklist takes over from `previous` into `state`, checking that the
/// checklist and the bundle agree; returns the serial each existing token role must have.
pub fn seed(
    checklist: &Checklist,
    previous: &Previous,
    state: &mut State,
) -> Result<BTreeMap<String, String>, EngineError> {
    let mismatch = |what: String| EngineError::Previous(what);
    let mut serials = BTreeMap::new();
    for (role, spec) in &checklist.tokens {
        if let Some(old) = &spec.existing {
            let serial = previous.token_serial(old).ok_or_else(|| {
                mismatch(format!(
                    "tokens.{role}.existing: the previous bundle has no token {old}"
                ))
            })?;
            serials.insert(role.clone(), serial.to_string());
            if !is_identified(checklist, role) {
                state
                    .tokens
                    .insert(role.clone(), previous_token(previous, old)?);
            }
        }
    }
    for spec in &checklist.keys {
        let Some(old) = &spec.existing else { continue };
        let key = previous
            .manifest
            .keys
            .iter()
            .find(|k| &k.name == old)
            .ok_or_else(|| {
                mismatch(format!(
                    "key {}: the previous bundle has no key {old}",
                    spec.name
                ))
            })?;
        if key.id != spec.id.to_lowercase()
            || key.label != spec.label
            || key.curve != spec.curve.name()
        {
            return Err(mismatch(format!(
                "key {}: the checklist says id {} label {} {}, the previous bundle id {} label {} {}",
                spec.name,
                spec.id,
                spec.label,
                spec.curve.name(),
                key.id,
                key.label,
                key.curve
            )));
        }
        state.keys.insert(
            spec.name.clone(),
            KeyFact {
                token: spec.token.clone(),
                serial: key.serial.clone(),
                id: key.id.clone(),
                label: key.label.clone(),
                curve: spec.curve,
                point: key.public_key.clone(),
            },
        );
    }
    for (name, spec) in &checklist.certificates {
        let Some(old) = &spec.existing else { continue };
        let (entry, der) = previous
            .manifest
            .certificates
            .iter()
            .find(|c| &c.name == old)
            .zip(previous.certs.get(old))
            .ok_or_else(|| {
                mismatch(format!(
                    "certificates.{name}: the previous bundle has no certificate {old}"
                ))
            })?;
        if entry.subject != spec.subject.common_name {
            return Err(mismatch(format!(
                "certificates.{name}: the checklist names {:?}, the previous bundle's {old} is {:?}",
                spec.subject.common_name, entry.subject
            )));
        }
        state.certs.insert(
            name.clone(),
            CertFact {
                der: base64::engine::general_purpose::STANDARD.encode(der),
                sha256: entry.sha256.clone(),
                serial: entry.serial.clone(),
                subject: entry.subject.clone(),
                not_before: entry.not_before.clone(),
                not_after: entry.not_after.clone(),
            },
        );
    }
    Ok(serials)
}

/// Whether a step of the checklist identifies this token role.
fn is_identified(checklist: &Checklist, role: &str) -> bool {
    checklist
        .steps
        .iter()
        .any(|s| matches!(&s.action, StepAction::IdentifyToken { token } if token == role))
}

/// A token that stays away (no step uses it), as the previous bundle recorded it.
fn previous_token(previous: &Previous, old: &str) -> Result<TokenFact, EngineError> {
    let t = previous
        .manifest
        .tokens
        .iter()
        .find(|t| t.role == old)
        .ok_or_else(|| EngineError::Previous(format!("the previous bundle has no token {old}")))?;
    Ok(TokenFact {
        serial: t.serial.clone(),
        label: t.label.clone(),
        manufacturer: t.manufacturer.clone(),
        model: t.model.clone(),
    })
}

/// The previous bundle's CRL when this ceremony's CRL has the same issuer (the root
/// certificate is carried over): the CRL this one replaces.
fn previous_crl_of_same_root<'p>(
    checklist: &Checklist,
    previous: &'p Previous,
) -> Option<&'p crate::bundle::BundleCrl> {
    let spec = checklist.crl.as_ref()?;
    let carried = checklist
        .certificates
        .get(&spec.issuer)?
        .existing
        .as_deref()?;
    previous
        .manifest
        .crl
        .as_ref()
        .filter(|old| old.issuer == carried)
}

/// The number this ceremony's CRL gets: the checklist's, which must be above the number
/// of the CRL it replaces (CRL numbers only grow), or when the checklist leaves it out,
/// one more than that CRL's, or 1 under a new root.
pub fn crl_number(checklist: &Checklist, previous: Option<&Previous>) -> Result<u64, EngineError> {
    let Some(spec) = &checklist.crl else {
        return Err(EngineError::Rejected("the checklist has no [crl]".into()));
    };
    let replaced = previous.and_then(|p| previous_crl_of_same_root(checklist, p));
    let carried_root = previous.is_some()
        && checklist
            .certificates
            .get(&spec.issuer)
            .is_some_and(|c| c.existing.is_some());
    match (spec.number, replaced) {
        (Some(n), Some(old)) if n <= old.number => Err(EngineError::Previous(format!(
            "crl.number {n} is not above the previous CRL's number {}; CRL numbers only grow (leave crl.number out to count on from it)",
            old.number
        ))),
        (Some(n), _) => Ok(n),
        (None, Some(old)) => old.number.checked_add(1).ok_or_else(|| {
            EngineError::Previous("the previous CRL's number is the largest there is".into())
        }),
        (None, None) if carried_root => Err(EngineError::Previous(format!(
            "crl.number: the previous bundle has no CRL signed by {}, so the next number is not known here; write crl.number, above every CRL number this root has used (see the earlier fingerprint sheets)",
            spec.issuer
        ))),
        (None, None) => Ok(1),
    }
}

/// What this ceremony's CRL revokes, as (serial hex, reason): the revocations of the
/// previous CRL of the same root (a new CRL replaces the old one, so they are carried
/// forward), the checklist's `revoke` entries, and with `with_superseded` every older
/// certificate the previous bundle lists as superseded and not yet revoked. Checked when
/// the ceremony opens, so that a wrong name or CRL number stops it before any key is made.
pub fn crl_revocations(
    checklist: &Checklist,
    previous: Option<&Previous>,
) -> Result<Vec<(String, RevokeReason)>, EngineError> {
    let Some(spec) = &checklist.crl else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, RevokeReason)> = Vec::new();
    let mut add = |serial: &str, reason: RevokeReason| {
        if !out.iter().any(|(s, _)| s == serial) {
            out.push((serial.to_string(), reason));
        }
    };
    let Some(previous) = previous else {
        if let Some(r) = spec.revoke.first() {
            return Err(EngineError::Previous(format!(
                "crl.revoke names {} of a previous ceremony; give its bundle with --previous",
                r.certificate
            )));
        }
        return Ok(Vec::new());
    };
    if let Some(old) = previous_crl_of_same_root(checklist, previous) {
        for r in &old.revoked {
            let reason = serde_json::from_value(serde_json::Value::String(r.reason.clone()))
                .unwrap_or(RevokeReason::Unspecified);
            add(&r.serial, reason);
        }
    }
    for r in &spec.revoke {
        let serial = previous.cert_serial(&r.certificate).ok_or_else(|| {
            EngineError::Previous(format!(
                "crl.revoke: the previous bundle has no certificate {}",
                r.certificate
            ))
        })?;
        add(serial, r.reason);
        if r.with_superseded {
            for old in previous.manifest.superseded.iter().filter(|s| !s.revoked) {
                add(&old.serial, r.reason);
            }
        }
    }
    Ok(out)
}
