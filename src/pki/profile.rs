//! The CA certificate profiles, as step-ca's `--profile root-ca` / `intermediate-ca` make
//! them, turned into rcgen parameters: keyUsage keyCertSign+cRLSign (critical),
//! basicConstraints CA:TRUE with the spec's path length (critical), SKI on both (RFC 7093
//! method 1), AKI on the intermediate, no EKU; optional CRL distribution point and DNS name
//! constraints. Also the serial number and validity rules both issuance and lint share.

use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DistinguishedName, DnType, DnValue,
    GeneralSubtree, IsCa, KeyIdMethod, KeyUsagePurpose, NameConstraints,
};
use time::{Duration, OffsetDateTime};

use super::PkiError;
use super::curve::sha256;
use crate::checklist::model::{CertificateSpec, Subject};

/// Which of the two CA profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Root,
    Intermediate,
}

impl Role {
    pub fn what(self) -> &'static str {
        match self {
            Role::Root => "root certificate",
            Role::Intermediate => "intermediate certificate",
        }
    }
}

/// Shortest and longest serial (in random bytes) accepted from the caller.
pub(crate) const SERIAL_MIN_BYTES: usize = 16;
pub(crate) const SERIAL_MAX_BYTES: usize = 20;

/// The serial number from the token's random bytes: top bit cleared so the INTEGER is
/// positive and fits 20 octets; all-zero is refused. 16 bytes give 127 random bits.
pub(crate) fn serial_from_random(random: &[u8]) -> Result<Vec<u8>, PkiError> {
    if !(SERIAL_MIN_BYTES..=SERIAL_MAX_BYTES).contains(&random.len()) {
        return Err(PkiError::Serial(format!(
            "{} random bytes given, need {SERIAL_MIN_BYTES} to {SERIAL_MAX_BYTES}",
            random.len()
        )));
    }
    let mut serial = random.to_vec();
    serial[0] &= 0x7F;
    if serial.iter().all(|b| *b == 0) {
        return Err(PkiError::Serial(
            "the random bytes are all zero (is the token's RNG working?)".into(),
        ));
    }
    Ok(serial)
}

/// The serial as it appears in DER (leading zero bytes dropped), in lowercase hex.
pub(crate) fn serial_hex(serial: &[u8]) -> String {
    let first = serial
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(serial.len().saturating_sub(1));
    hex::encode(&serial[first..])
}

/// Key identifier, RFC 7093 method 1: leftmost 160 bits of SHA-256 of the public key point.
pub(crate) fn key_id(point: &[u8]) -> Vec<u8> {
    sha256(point)[..20].to_vec()
}

/// not_before truncated to whole seconds and not_before + `days`.
/// `not_before` cut to whole UTC seconds, and that plus `days`.
pub fn validity(
    not_before: OffsetDateTime,
    days: u32,
    what: &'static str,
) -> Result<(OffsetDateTime, OffsetDateTime), PkiError> {
    if days == 0 {
        return Err(PkiError::Validity {
            what,
            reason: "validity_days is 0".into(),
        });
    }
    let nb = utc_seconds(not_before).ok_or_else(|| PkiError::Validity {
        what,
        reason: format!("not_before {not_before} is not a UTC time between 1950 and 9999"),
    })?;
    let na = nb
        .checked_add(Duration::days(i64::from(days)))
        .filter(|t| t.year() <= 9999)
        .ok_or_else(|| PkiError::Validity {
            what,
            reason: format!("not_before + {days} days is past the year 9999"),
        })?;
    Ok((nb, na))
}

/// `t` in UTC, truncated to whole seconds, if it is between 1950 and 9999.
pub(crate) fn utc_seconds(t: OffsetDateTime) -> Option<OffsetDateTime> {
    t.checked_to_offset(time::UtcOffset::UTC)
        .and_then(|t| t.replace_nanosecond(0).ok())
        .filter(|t| (1950..=9999).contains(&t.year()))
}

/// The subject name: C, O, CN in that order (countryName as PrintableString).
pub(crate) fn subject_name(
    subject: &Subject,
    what: &'static str,
) -> Result<DistinguishedName, PkiError> {
    let bad = |reason: String| PkiError::Subject { what, reason };
    let mut dn = DistinguishedName::new();
    if let Some(c) = &subject.country {
        if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(format!(
                "country {c:?} is not two capital letters (ISO 3166)"
            )));
        }
        let printable = c
            .as_str()
            .try_into()
            .map_err(|e| bad(format!("country: {e}")))?;
        dn.push(DnType::CountryName, DnValue::PrintableString(printable));
    }
    if let Some(o) = &subject.organization {
        check_name_part("organization", o).map_err(bad)?;
        dn.push(DnType::OrganizationName, o.as_str());
    }
    check_name_part("common_name", &subject.common_name).map_err(bad)?;
    dn.push(DnType::CommonName, subject.common_name.as_str());
    Ok(dn)
}

fn check_name_part(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if value.chars().count() > 64 {
        return Err(format!(
            "{field} is longer than 64 characters (RFC 5280 upper bound)"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} contains control characters"));
    }
    Ok(())
}

/// Everything but the issuer: rcgen parameters of a CA certificate under `role`.
pub(crate) fn ca_params(
    spec: &CertificateSpec,
    role: Role,
    serial: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    subject_point: &[u8],
) -> Result<CertificateParams, PkiError> {
    let what = role.what();
    let mut p = CertificateParams::default();
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
    p.distinguished_name = subject_name(&spec.subject, what)?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(spec.path_length));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.key_identifier_method = KeyIdMethod::PreSpecified(key_id(subject_point));
    p.use_authority_key_identifier_extension = role == Role::Intermediate;
    if let Some(uri) = &spec.crl_distribution_point {
        if !uri.is_ascii() || uri.is_empty() {
            return Err(PkiError::Build {
                what,
                detail: format!("crl_distribution_point {uri:?} is not an ASCII URI"),
            });
        }
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![uri.clone()],
        }];
    }
    if let Some(nc) = &spec.name_constraints {
        let dns = |names: &[String]| -> Result<Vec<GeneralSubtree>, PkiError> {
            names
                .iter()
                .map(|n| {
                    if n.is_empty() || !n.is_ascii() || n.contains(char::is_whitespace) {
                        Err(PkiError::Build {
                            what,
                            detail: format!("name constraint {n:?} is not a DNS name"),
                        })
                    } else {
                        Ok(GeneralSubtree::DnsName(n.clone()))
                    }
                })
                .collect()
        };
        let constraints = NameConstraints {
            permitted_subtrees: dns(&nc.permitted_dns)?,
            excluded_subtrees: dns(&nc.excluded_dns)?,
        };
        if !(constraints.permitted_subtrees.is_empty() && constraints.excluded_subtrees.is_empty())
        {
            p.name_constraints = Some(constraints);
        }
    }
    Ok(p)
}
