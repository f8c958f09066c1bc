//! Reading certificates back with x509-parser, and the structural CA-profile checks that
//! both the pre-sign lint and the offline bundle checks apply. Every check appends a
//! human-readable problem instead of stopping, so a report lists everything wrong at once.

use std::collections::HashSet;

use x509_parser::asn1_rs::Oid;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension, X509Extension};
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use super::Curve;
use super::curve::{self, EC_PUBLIC_KEY_OID};
use super::profile::Role;

/// keyUsage flags as x509-parser stores them: keyCertSign (bit 5) + cRLSign (bit 6).
pub(crate) const CA_KEY_USAGE: u16 = (1 << 5) | (1 << 6);

pub(crate) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not a DER X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        ));
    }
    Ok(cert)
}

/// The ECDSA curve a signature AlgorithmIdentifier names (parameters must be absent).
pub(crate) fn sig_alg_curve(alg: &AlgorithmIdentifier) -> Result<Curve, String> {
    let oid = alg.algorithm.to_id_string();
    let curve = curve::curve_from_sig_oid(&oid)
        .ok_or_else(|| format!("signature algorithm {oid} is not ecdsa-with-SHA256/384/512"))?;
    if alg.parameters.is_some() {
        return Err(format!(
            "signature algorithm {oid} has parameters (must be absent)"
        ));
    }
    Ok(curve)
}

/// The curve and SEC1 point of an id-ecPublicKey SubjectPublicKeyInfo with a named curve.
pub(crate) fn spki_point(spki: &SubjectPublicKeyInfo) -> Result<(Curve, Vec<u8>), String> {
    let alg = spki.algorithm.algorithm.to_id_string();
    if alg != EC_PUBLIC_KEY_OID {
        return Err(format!("public key algorithm {alg} is not id-ecPublicKey"));
    }
    let named = spki
        .algorithm
        .parameters
        .clone()
        .and_then(|p| Oid::try_from(p).ok())
        .map(|o| o.to_id_string())
        .ok_or("EC public key without a named-curve OID")?;
    let curve =
        curve::curve_from_oid(&named).ok_or_else(|| format!("unsupported curve {named}"))?;
    if spki.subject_public_key.unused_bits != 0 {
        return Err("public key BIT STRING has unused bits".into());
    }
    let point = spki.subject_public_key.data.to_vec();
    if let Some(p) = curve::point_problem(curve, &point) {
        return Err(format!("public key: {p}"));
    }
    Ok((curve, point))
}

/// The extensions of a CA certificate, read into plain values.
#[derive(Default, Debug)]
pub(crate) struct Exts {
    pub ski: Option<Vec<u8>>,
    /// (critical, keyIdentifier, has authorityCertIssuer/SerialNumber)
    pub aki: Option<(bool, Option<Vec<u8>>, bool)>,
    /// (critical, cA, pathLenConstraint)
    pub basic: Option<(bool, bool, Option<u32>)>,
    /// (critical, flags)
    pub key_usage: Option<(bool, u16)>,
    pub crl_dp: Option<Vec<String>>,
    /// (critical, permitted DNS, excluded DNS)
    pub name_constraints: Option<(bool, Vec<String>, Vec<String>)>,
    pub crl_number: Option<Vec<u8>>,
    pub problems: Vec<String>,
}

pub(crate) fn read_exts(exts: &[X509Extension]) -> Exts {
    let mut out = Exts::default();
    let mut seen = HashSet::new();
    for ext in exts {
        let oid = ext.oid.to_id_string();
        if !seen.insert(oid.clone()) {
            out.problems
                .push(format!("extension {oid} appears more than once"));
            continue;
        }
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => {
                if ext.critical {
                    out.problems
                        .push("subjectKeyIdentifier is marked critical".into());
                }
                out.ski = Some(k.0.to_vec());
            }
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                let other = a.authority_cert_issuer.is_some() || a.authority_cert_serial.is_some();
                out.aki = Some((
                    ext.critical,
                    a.key_identifier.as_ref().map(|k| k.0.to_vec()),
                    other,
                ));
            }
            ParsedExtension::BasicConstraints(b) => {
                out.basic = Some((ext.critical, b.ca, b.path_len_constraint));
            }
            ParsedExtension::KeyUsage(k) => out.key_usage = Some((ext.critical, k.flags)),
            ParsedExtension::CRLDistributionPoints(points) => {
                let mut uris = Vec::new();
                for p in &points.points {
                    match &p.distribution_point {
                        Some(DistributionPointName::FullName(names)) => {
                            for n in names {
                                match n {
                                    GeneralName::URI(u) => uris.push(u.to_string()),
                                    other => out.problems.push(format!(
                                        "CRL distribution point name {other:?} is not a URI"
                                    )),
                                }
                            }
                        }
                        _ => out
                            .problems
                            .push("CRL distribution point without a full name".into()),
                    }
                    if p.reasons.is_some() || p.crl_issuer.is_some() {
                        out.problems
                            .push("CRL distribution point with reasons or cRLIssuer".into());
                    }
                }
                out.crl_dp = Some(uris);
            }
            ParsedExtension::NameConstraints(nc) => {
                let mut dns = |trees: &Option<Vec<x509_parser::extensions::GeneralSubtree>>| {
                    let mut names = Vec::new();
                    for t in trees.iter().flatten() {
                        match &t.base {
                            GeneralName::DNSName(d) => names.push(d.to_string()),
                            other => out
                                .problems
                                .push(format!("name constraint {other:?} is not a DNS name")),
                        }
                    }
                    names
                };
                let permitted = dns(&nc.permitted_subtrees);
                let excluded = dns(&nc.excluded_subtrees);
                out.name_constraints = Some((ext.critical, permitted, excluded));
            }
            ParsedExtension::CRLNumber(n) => out.crl_number = Some(n.to_bytes_be()),
            ParsedExtension::ParseError { error } => {
                out.problems
                    .push(format!("extension {oid} does not parse: {error}"));
            }
            ParsedExtension::ExtendedKeyUsage(_) => {
                out.problems
                    .push("extendedKeyUsage present (a CA certificate here has none)".into());
            }
            _ => out.problems.push(format!(
                "unexpected extension {oid}{}",
                if ext.critical { " (critical)" } else { "" }
            )),
        }
    }
    out
}

/// The serial's problems (positive, non-zero, at most 20 octets, at least 64 bits).
pub(crate) fn serial_problems(raw: &[u8], problems: &mut Vec<String>) {
    let magnitude: &[u8] = match raw.iter().position(|b| *b != 0) {
        Some(i) => &raw[i..],
        None => &[],
    };
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        problems.push("serial number is negative".into());
    } else if magnitude.is_empty() {
        problems.push("serial number is zero".into());
    } else if raw.len() > 20 {
        problems.push(format!(
            "serial number is {} octets (RFC 5280 allows 20)",
            raw.len()
        ));
    } else if magnitude.len() < 8 {
        problems.push(format!(
            "serial number has only {} octets (want random, at least 64 bits)",
            magnitude.len()
        ));
    }
}

/// Everything the CA profile requires of `cert` on its own (no issuer needed).
/// Returns the read extensions so callers can compare values.
pub(crate) fn profile_problems(
    cert: &X509Certificate,
    role: Role,
    problems: &mut Vec<String>,
) -> Exts {
    let tbs = &cert.tbs_certificate;
    if tbs.version.0 != 2 {
        problems.push(format!(
            "version field is {}, expected 2 (v3)",
            tbs.version.0
        ));
    }
    serial_problems(tbs.raw_serial(), problems);
    if tbs.signature != cert.signature_algorithm {
        problems.push("signature algorithm inside the TBS differs from the outer one".into());
    }
    if let Err(e) = sig_alg_curve(&cert.signature_algorithm) {
        problems.push(e);
    }
    if let Err(e) = spki_point(&tbs.subject_pki) {
        problems.push(e);
    }
    if tbs.issuer_uid.is_some() || tbs.subject_uid.is_some() {
        problems.push("issuer/subject unique identifiers present".into());
    }
    let v = tbs.validity();
    if v.not_before >= v.not_after {
        problems.push("notBefore is not before notAfter".into());
    }
    let cns = tbs.subject.iter_common_name().count();
    if cns != 1 {
        problems.push(format!(
            "subject has {cns} commonName attributes, expected 1"
        ));
    }
    let exts = read_exts(tbs.extensions());
    problems.extend(exts.problems.iter().cloned());
    match exts.basic {
        None => problems.push("basicConstraints missing".into()),
        Some((critical, ca, path_len)) => {
            if !critical {
                problems.push("basicConstraints not critical".into());
            }
            if !ca {
                problems.push("basicConstraints cA is FALSE".into());
            }
            if path_len.is_none() {
                problems.push("basicConstraints has no pathLenConstraint".into());
            }
        }
    }
    match exts.key_usage {
        None => problems.push("keyUsage missing".into()),
        Some((critical, flags)) => {
            if !critical {
                problems.push("keyUsage not critical".into());
            }
            if flags != CA_KEY_USAGE {
                problems.push(format!(
                    "keyUsage flags {flags:#06x}, expected keyCertSign+cRLSign only"
                ));
            }
        }
    }
    match &exts.ski {
        None => problems.push("subjectKeyIdentifier missing".into()),
        Some(k) if k.is_empty() => problems.push("subjectKeyIdentifier is empty".into()),
        Some(_) => {}
    }
    if let Some((critical, key_id, other)) = &exts.aki {
        if *critical {
            problems.push("authorityKeyIdentifier is marked critical".into());
        }
        if *other {
            problems.push("authorityKeyIdentifier carries issuer name/serial (key id only)".into());
        }
        if key_id.as_ref().is_none_or(|k| k.is_empty()) {
            problems.push("authorityKeyIdentifier has no keyIdentifier".into());
        }
    }
    if let Some((critical, permitted, excluded)) = &exts.name_constraints {
        if !critical {
            problems.push("nameConstraints not critical".into());
        }
        if permitted.is_empty() && excluded.is_empty() {
            problems.push("nameConstraints with no subtrees".into());
        }
    }
    match role {
        Role::Root => {
            if tbs.issuer.as_raw() != tbs.subject.as_raw() {
                problems.push("root issuer name differs from its subject name".into());
            }
            if let (Some((_, Some(aki), _)), Some(ski)) = (&exts.aki, &exts.ski)
                && aki != ski
            {
                problems.push(
                    "root authorityKeyIdentifier differs from its subjectKeyIdentifier".into(),
                );
            }
            if exts.name_constraints.is_some() {
                problems.push("nameConstraints on a root".into());
            }
        }
        Role::Intermediate => {
            if exts.aki.is_none() {
                problems.push("authorityKeyIdentifier missing".into());
            }
        }
    }
    exts
}

/// Whether the outer signature of a certificate or CRL verifies under (`curve`, `point`).
pub(crate) fn signature_verifies(
    signature_algorithm: &AlgorithmIdentifier,
    signature: &x509_parser::asn1_rs::BitString,
    tbs: &[u8],
    curve: Curve,
    point: &[u8],
) -> bool {
    sig_alg_curve(signature_algorithm).ok() == Some(curve)
        && signature.unused_bits == 0
        && curve::verify(curve, point, tbs, &signature.data)
}

/// Index of the first differing byte (or the shorter length) of two byte strings.
pub(crate) fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first difference at byte {i}"),
        None => format!("lengths {} and {}", a.len(), b.len()),
    }
}
