//! Issuing the root and intermediate certificates, with nothing signed unchecked:
//! (a) the TBS is built and signed with a throwaway software key of the issuer's curve,
//! parsed back and linted; (b) the same parameters are signed through the `RemoteKey`;
//! (c) the result's signature is verified with the issuer's public key, its TBS is compared
//! byte for byte with the linted one, and its public key with the point read from the token.

use time::OffsetDateTime;

use super::curve::{Impostor, SoftKey, check_point};
use super::der::Fixup;
use super::fingerprint::Fingerprint;
use super::inspect::{self, parse_cert, spki_point};
use super::issuer::IssuerFacts;
use super::lint::{Expected, lint_cert};
use super::profile::{Role, ca_params, serial_from_random, serial_hex, validity};
use super::signer::{PublicPoint, self_signed, signed_by};
use super::{Curve, PkiError, RemoteKey};
use crate::checklist::model::CertificateSpec;

/// A certificate signed by the HSM and checked after signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub der: Vec<u8>,
    pub pem: String,
    pub fingerprint: Fingerprint,
    /// Lowercase hex of the serial as encoded (no leading zero bytes, no separators).
    pub serial_hex: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// Self-sign the root certificate with `key` (the root key on the token).
///
/// `serial` is 16 to 20 random bytes from the token's RNG; `not_before` is truncated to
/// whole seconds and the certificate is valid for `spec.validity_days` from then.
pub fn issue_root(
    spec: &CertificateSpec,
    key: &dyn RemoteKey,
    serial: &[u8],
    not_before: OffsetDateTime,
) -> Result<Issued, PkiError> {
    let role = Role::Root;
    let what = role.what();
    let curve = key.curve();
    let point = key.public_point();
    check_point(curve, point, what)?;
    if spec.crl_distribution_point.is_some() || spec.name_constraints.is_some() {
        return Err(PkiError::Build {
            what,
            detail: "a root carries no CRL distribution point or name constraints".into(),
        });
    }
    let serial = serial_from_random(serial)?;
    let (nb, na) = validity(not_before, spec.validity_days, what)?;
    let params = ca_params(spec, role, &serial, nb, na, point)?;
    let fixup = Fixup::cert(curve, curve);

    // (a) throwaway key, reporting the HSM's point so the TBS is the same
    let throwaway = SoftKey::generate(curve)?;
    let impostor = Impostor {
        point,
        signer: &throwaway,
    };
    let lint_der = self_signed(&params, &impostor, fixup).map_err(|e| e.lint_pass(what))?;
    let expected = Expected {
        role,
        subject: &spec.subject,
        issuer_name: None,
        serial: &serial,
        not_before: nb,
        not_after: na,
        issuer_validity: None,
        path_len: spec.path_length,
        subject_curve: curve,
        subject_point: point,
        issuer_curve: curve,
        aki: None,
        crl_dp: None,
        name_constraints: None,
        lint_key_point: throwaway.public_point(),
    };
    lint_or_fail(&lint_der, &expected, what)?;

    // (b) the HSM signs
    let der = self_signed(&params, key, fixup).map_err(|e| e.real_pass(what))?;

    // (c) checks after signing
    after_signing(&der, &lint_der, curve, point, curve, point, what)?;
    Ok(issued(der, &serial, nb, na))
}

/// Sign an intermediate CA certificate for `subject_point` with the root.
///
/// `issuer_der` is the root certificate; `issuer_key` must be its key (checked against the
/// certificate before anything is signed). The validity must nest in the root's.
pub fn issue_intermediate(
    spec: &CertificateSpec,
    subject_point: &[u8],
    subject_curve: Curve,
    issuer_der: &[u8],
    issuer_key: &dyn RemoteKey,
    serial: &[u8],
    not_before: OffsetDateTime,
) -> Result<Issued, PkiError> {
    let role = Role::Intermediate;
    let what = role.what();
    check_point(subject_curve, subject_point, what)?;
    let issuer = IssuerFacts::read(issuer_der, what)?;
    if issuer_key.curve() != issuer.curve || issuer_key.public_point() != issuer.point.as_slice() {
        return Err(PkiError::IssuerKeyMismatch {
            what,
            reason: format!(
                "the key is {} with a different public point than the {} key in the certificate",
                issuer_key.curve().name(),
                issuer.curve.name()
            ),
        });
    }
    let serial = serial_from_random(serial)?;
    let (nb, na) = validity(not_before, spec.validity_days, what)?;
    if nb < issuer.not_before || na > issuer.not_after {
        return Err(PkiError::Validity {
            what,
            reason: format!(
                "{nb} .. {na} does not nest in the issuer's {} .. {}",
                issuer.not_before, issuer.not_after
            ),
        });
    }
    let params = ca_params(spec, role, &serial, nb, na, subject_point)?;
    let issuer_params = issuer.params();
    let subject_key = PublicPoint {
        point: subject_point,
        curve: subject_curve,
    };
    let fixup = Fixup::cert(issuer.curve, subject_curve);

    // (a) throwaway key of the issuer's curve
    let throwaway = SoftKey::generate(issuer.curve)?;
    let lint_der = signed_by(&params, &subject_key, &issuer_params, &throwaway, fixup)
        .map_err(|e| e.lint_pass(what))?;
    let expected = Expected {
        role,
        subject: &spec.subject,
        issuer_name: Some(&issuer.subject_raw),
        serial: &serial,
        not_before: nb,
        not_after: na,
        issuer_validity: Some((issuer.not_before, issuer.not_after)),
        path_len: spec.path_length,
        subject_curve,
        subject_point,
        issuer_curve: issuer.curve,
        aki: Some(&issuer.ski),
        crl_dp: spec.crl_distribution_point.as_deref(),
        name_constraints: spec.name_constraints.as_ref(),
        lint_key_point: throwaway.public_point(),
    };
    lint_or_fail(&lint_der, &expected, what)?;

    // (b) the HSM signs
    let der = signed_by(&params, &subject_key, &issuer_params, issuer_key, fixup)
        .map_err(|e| e.real_pass(what))?;

    // (c) checks after signing
    after_signing(
        &der,
        &lint_der,
        issuer.curve,
        &issuer.point,
        subject_curve,
        subject_point,
        what,
    )?;
    Ok(issued(der, &serial, nb, na))
}

fn lint_or_fail(der: &[u8], expected: &Expected, what: &'static str) -> Result<(), PkiError> {
    let problems = lint_cert(der, expected);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PkiError::Lint { what, problems })
    }
}

/// The post-signing comparisons shared by certificates: TBS, signature, public key.
fn after_signing(
    der: &[u8],
    lint_der: &[u8],
    issuer_curve: Curve,
    issuer_point: &[u8],
    subject_curve: Curve,
    subject_point: &[u8],
    what: &'static str,
) -> Result<(), PkiError> {
    let reparse = |detail: String| PkiError::Reparse { what, detail };
    let cert = parse_cert(der).map_err(reparse)?;
    let linted = parse_cert(lint_der).map_err(reparse)?;
    let (tbs, lint_tbs) = (
        cert.tbs_certificate.as_ref(),
        linted.tbs_certificate.as_ref(),
    );
    if tbs != lint_tbs {
        return Err(PkiError::TbsMismatch {
            what,
            detail: inspect::first_difference(tbs, lint_tbs),
        });
    }
    if cert.signature_algorithm != linted.signature_algorithm {
        return Err(PkiError::TbsMismatch {
            what,
            detail: "outer signature algorithm differs".into(),
        });
    }
    if !inspect::signature_verifies(
        &cert.signature_algorithm,
        &cert.signature_value,
        tbs,
        issuer_curve,
        issuer_point,
    ) {
        return Err(PkiError::SignatureInvalid { what });
    }
    match spki_point(&cert.tbs_certificate.subject_pki) {
        Ok((c, p)) if c == subject_curve && p == subject_point => Ok(()),
        _ => Err(PkiError::PublicKeyMismatch { what }),
    }
}

fn issued(
    der: Vec<u8>,
    serial: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Issued {
    Issued {
        pem: pem("CERTIFICATE", &der),
        fingerprint: Fingerprint::of(&der),
        serial_hex: serial_hex(serial),
        not_before,
        not_after,
        der,
    }
}

/// PEM with 64-character lines and a trailing newline.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
