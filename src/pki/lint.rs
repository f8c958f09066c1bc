//! Lint before signing: the certificate signed by the throwaway key is parsed back and
//! compared against the profile and against exactly what the checklist asked for (subject,
//! serial, validity, path length, key, key identifiers, CRL distribution point, name
//! constraints). Only if this finds nothing does the HSM get the same TBS to sign.

use time::OffsetDateTime;
use x509_parser::asn1_rs::Tag;
use x509_parser::certificate::X509Certificate;

use super::Curve;
use super::inspect::{self, parse_cert, profile_problems, sig_alg_curve, spki_point};
use super::profile::{Role, key_id};
use crate::checklist::model::{NameConstraintsSpec, Subject};

/// What the to-be-signed certificate must contain.
pub(crate) struct Expected<'a> {
    pub role: Role,
    pub subject: &'a Subject,
    /// Raw DER of the issuer's subject name; `None` for a self-signed root.
    pub issuer_name: Option<&'a [u8]>,
    pub serial: &'a [u8],
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// The issuer's notBefore/notAfter, for nesting; `None` for a root.
    pub issuer_validity: Option<(OffsetDateTime, OffsetDateTime)>,
    pub path_len: u8,
    pub subject_curve: Curve,
    pub subject_point: &'a [u8],
    pub issuer_curve: Curve,
    /// The issuer's SKI, which must be the AKI (intermediate only).
    pub aki: Option<&'a [u8]>,
    pub crl_dp: Option<&'a str>,
    pub name_constraints: Option<&'a NameConstraintsSpec>,
    /// Public point of the throwaway key that signed the lint copy.
    pub lint_key_point: &'a [u8],
}

/// Every way `der` departs from the profile or from `exp`.
pub(crate) fn lint_cert(der: &[u8], exp: &Expected) -> Vec<String> {
    let mut problems = Vec::new();
    let cert = match parse_cert(der) {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let exts = profile_problems(&cert, exp.role, &mut problems);
    let tbs = &cert.tbs_certificate;

    subject_problems(&cert, exp.subject, &mut problems);
    if let Some(issuer) = exp.issuer_name
        && tbs.issuer.as_raw() != issuer
    {
        problems.push("issuer name is not the issuer certificate's subject name".into());
    }
    if strip_zeros(tbs.raw_serial()) != strip_zeros(exp.serial) {
        problems.push("serial number is not the one requested".into());
    }
    let (nb, na) = (
        tbs.validity.not_before.to_datetime(),
        tbs.validity.not_after.to_datetime(),
    );
    if nb != exp.not_before || na != exp.not_after {
        problems.push(format!(
            "validity {nb} .. {na} is not the requested {} .. {}",
            exp.not_before, exp.not_after
        ));
    }
    if let Some((inb, ina)) = exp.issuer_validity
        && (nb < inb || na > ina)
    {
        problems.push(format!(
            "validity {nb} .. {na} does not nest in the issuer's {inb} .. {ina}"
        ));
    }
    if let Some((_, _, path_len)) = exts.basic
        && path_len != Some(u32::from(exp.path_len))
    {
        problems.push(format!(
            "pathLenConstraint {path_len:?}, expected {}",
            exp.path_len
        ));
    }
    match spki_point(&tbs.subject_pki) {
        Ok((curve, point)) if curve == exp.subject_curve && point == exp.subject_point => {}
        Ok(_) => problems.push("subject public key is not the key given".into()),
        Err(_) => {} // already reported by the profile checks
    }
    if sig_alg_curve(&cert.signature_algorithm).ok() != Some(exp.issuer_curve) {
        problems.push(format!(
            "signature algorithm does not match the issuer's {} key",
            exp.issuer_curve.name()
        ));
    }
    if exts.ski.as_deref() != Some(key_id(exp.subject_point).as_slice()) {
        problems.push("subjectKeyIdentifier is not SHA-256(public key)[..20]".into());
    }
    let aki = exts.aki.as_ref().and_then(|(_, k, _)| k.as_deref());
    if aki != exp.aki {
        problems.push("authorityKeyIdentifier is not the issuer's subjectKeyIdentifier".into());
    }
    let want_dp = exp.crl_dp.map(|u| vec![u.to_string()]);
    if exts.crl_dp != want_dp {
        problems.push(format!(
            "CRL distribution points {:?}, expected {want_dp:?}",
            exts.crl_dp
        ));
    }
    let want_nc = exp
        .name_constraints
        .filter(|nc| !(nc.permitted_dns.is_empty() && nc.excluded_dns.is_empty()))
        .map(|nc| (nc.permitted_dns.clone(), nc.excluded_dns.clone()));
    let got_nc = exts
        .name_constraints
        .as_ref()
        .map(|(_, p, e)| (p.clone(), e.clone()));
    if got_nc != want_nc {
        problems.push(format!("name constraints {got_nc:?}, expected {want_nc:?}"));
    }
    if !inspect::signature_verifies(
        &cert.signature_algorithm,
        &cert.signature_value,
        tbs.as_ref(),
        exp.issuer_curve,
        exp.lint_key_point,
    ) {
        problems
            .push("the throwaway key's signature does not verify (TBS or encoding broken)".into());
    }
    problems
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[first..]
}

/// The subject must be exactly [C (PrintableString)], [O], CN as the checklist says.
fn subject_problems(cert: &X509Certificate, subject: &Subject, problems: &mut Vec<String>) {
    let mut want: Vec<(&str, &str, Tag)> = Vec::new();
    if let Some(c) = &subject.country {
        want.push(("2.5.4.6", c, Tag::PrintableString));
    }
    if let Some(o) = &subject.organization {
        want.push(("2.5.4.10", o, Tag::Utf8String));
    }
    want.push(("2.5.4.3", &subject.common_name, Tag::Utf8String));

    let mut got = Vec::new();
    for rdn in cert.tbs_certificate.subject.iter() {
        let attrs: Vec<_> = rdn.iter().collect();
        if attrs.len() != 1 {
            problems.push("subject has a multi-valued RDN".into());
            return;
        }
        let a = attrs[0];
        got.push((
            a.attr_type().to_id_string(),
            a.as_str().unwrap_or("<not a string>").to_string(),
            a.attr_value().tag(),
        ));
    }
    let same = got.len() == want.len()
        && got
            .iter()
            .zip(&want)
            .all(|(g, w)| g.0 == w.0 && g.1 == w.1 && g.2 == w.2);
    if !same {
        problems.push(format!(
            "subject {} is not the checklist's {want:?}",
            cert.tbs_certificate.subject
        ));
    }
}
