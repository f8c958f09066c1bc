//! Offline checks of certificates and CRLs read from files (bundle verification, the
//! daemon's import): the CA profile, signatures, name chaining and validity nesting.
//! Each check reports every problem it finds, not just the first.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use super::Curve;
use super::crl::{crl_number, crl_problems, parse_crl};
use super::fingerprint::Fingerprint;
use super::inspect::{self, parse_cert, profile_problems, read_exts, spki_point};
use super::issuer::IssuerFacts;
use super::profile::{Role, serial_hex};

/// What a checked certificate says, for the sheet, bundle.json and the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// The subject in RFC 4514-like form, e.g. `C=DE, O=Example, CN=Example Root CA`.
    pub subject: String,
    pub serial_hex: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub fingerprint: Fingerprint,
    pub curve: Curve,
    /// SEC1 uncompressed point.
    pub public_point: Vec<u8>,
}

/// What a checked CRL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlFacts {
    pub issuer: String,
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
    pub revoked: Vec<RevokedEntry>,
}

/// One entry of a checked CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    pub serial_hex: String,
    pub revoked_at: OffsetDateTime,
    /// CRLReason code; 0 (unspecified) when the entry has no reasonCode.
    pub reason_code: u8,
}

/// What a certificate from an already verified bundle says, without checking it again
/// (the review beside a rotation's new certificate).
pub fn read_certificate(der: &[u8]) -> Result<CertFacts, String> {
    let cert = parse_cert(der)?;
    finish(&cert, der, Vec::new())
        .map_err(|_| "its public key is not an EC point this program reads".to_string())
}

/// A self-signed root: profile, issuer == subject, and its self-signature.
pub fn check_root(der: &[u8]) -> Result<CertFacts, Vec<String>> {
    let cert = parse_cert(der).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    profile_problems(&cert, Role::Root, &mut problems);
    if let Ok((curve, point)) = spki_point(&cert.tbs_certificate.subject_pki)
        && !verifies(&cert, curve, &point)
    {
        problems.push("self-signature does not verify with the certificate's own key".into());
    }
    finish(&cert, der, problems)
}

/// An intermediate under `root_der`: profile, signature by the root's key, issuer name ==
/// root subject, AKI == root SKI, validity inside the root's, path length below the root's.
pub fn check_intermediate(der: &[u8], root_der: &[u8]) -> Result<CertFacts, Vec<String>> {
    let cert = parse_cert(der).map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    let exts = profile_problems(&cert, Role::Intermediate, &mut problems);
    let root = match IssuerFacts::read(root_der, "intermediate certificate") {
        Ok(r) => r,
        Err(e) => {
            problems.push(e.to_string());
            return Err(problems);
        }
    };
    let tbs = &cert.tbs_certificate;
    if tbs.issuer.as_raw() != root.subject_raw.as_slice() {
        problems.push("issuer name is not the root's subject name".into());
    }
    if tbs.subject.as_raw() == root.subject_raw.as_slice() {
        problems.push("subject name is the same as the root's".into());
    }
    if exts.aki.as_ref().and_then(|(_, k, _)| k.as_deref()) != Some(root.ski.as_slice()) {
        problems.push("authorityKeyIdentifier is not the root's subjectKeyIdentifier".into());
    }
    if !verifies(&cert, root.curve, &root.point) {
        problems.push(format!(
            "signature does not verify with the root's {} key",
            root.curve.name()
        ));
    }
    let (nb, na) = (
        tbs.validity.not_before.to_datetime(),
        tbs.validity.not_after.to_datetime(),
    );
    if nb < root.not_before || na > root.not_after {
        problems.push(format!(
            "validity {nb} .. {na} does not nest in the root's {} .. {}",
            root.not_before, root.not_after
        ));
    }
    let root_path_len = parse_cert(root_der)
        .ok()
        .and_then(|r| read_exts(r.tbs_certificate.extensions()).basic)
        .and_then(|(_, _, p)| p);
    if let (Some(root_len), Some((_, _, Some(own)))) = (root_path_len, exts.basic)
        && own >= root_len
    {
        problems.push(format!(
            "pathLenConstraint {own} is not below the root's {root_len}"
        ));
    }
    finish(&cert, der, problems)
}

/// A CRL under `issuer_der`: signature, issuer name, AKI, number, times.
pub fn check_crl(crl_der: &[u8], issuer_der: &[u8]) -> Result<CrlFacts, Vec<String>> {
    let crl = parse_crl(crl_der).map_err(|e| vec![e])?;
    let issuer = IssuerFacts::read(issuer_der, "CRL").map_err(|e| vec![e.to_string()])?;
    let mut problems = crl_problems(&crl, &issuer);
    let number = crl_number(&crl);
    if crl.crl_number().is_some() && number.is_none() {
        problems.push("cRLNumber does not fit 64 bits".into());
    }
    let tbs = &crl.tbs_cert_list;
    match (problems.is_empty(), number, tbs.next_update) {
        (true, Some(number), Some(next)) => Ok(CrlFacts {
            issuer: tbs.issuer.to_string(),
            number,
            this_update: tbs.this_update.to_datetime(),
            next_update: next.to_datetime(),
            revoked: crl
                .iter_revoked_certificates()
                .map(|e| RevokedEntry {
                    serial_hex: serial_hex(e.raw_serial()),
                    revoked_at: e.revocation_date.to_datetime(),
                    reason_code: e.reason_code().map(|(_, c)| c.0).unwrap_or(0),
                })
                .collect(),
        }),
        _ => Err(problems),
    }
}

fn verifies(cert: &X509Certificate, curve: Curve, point: &[u8]) -> bool {
    inspect::signature_verifies(
        &cert.signature_algorithm,
        &cert.signature_value,
        cert.tbs_certificate.as_ref(),
        curve,
        point,
    )
}

fn finish(
    cert: &X509Certificate,
    der: &[u8],
    problems: Vec<String>,
) -> Result<CertFacts, Vec<String>> {
    let tbs = &cert.tbs_certificate;
    match spki_point(&tbs.subject_pki) {
        Ok((curve, public_point)) if problems.is_empty() => Ok(CertFacts {
            subject: tbs.subject.to_string(),
            serial_hex: serial_hex(tbs.raw_serial()),
            not_before: tbs.validity.not_before.to_datetime(),
            not_after: tbs.validity.not_after.to_datetime(),
            fingerprint: Fingerprint::of(der),
            curve,
            public_point,
        }),
        _ => Err(problems),
    }
}
