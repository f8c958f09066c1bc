//! Certificate revocation lists: signing one with the issuer's HSM key (lint with a
//! throwaway key first, verify and compare after) and the CRL profile checks shared with
//! offline verification: v2, signature algorithm of the issuer's curve, issuer name, AKI,
//! CRL number, thisUpdate < nextUpdate inside the issuer's validity.

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;
use x509_parser::revocation_list::CertificateRevocationList;

use super::curve::SoftKey;
use super::der::Fixup;
use super::inspect::{self, read_exts, serial_problems, sig_alg_curve};
use super::issuer::IssuerFacts;
use super::profile::{utc_seconds, validity};
use super::signer::{BuildFailure, RemoteSigner, signer_failure};
use super::{PkiError, RemoteKey};
use crate::checklist::model::CrlSpec;

const WHAT: &str = "CRL";

/// Why a certificate is revoked (RFC 5280 CRLReason). `Unspecified` is written as no
/// reasonCode extension, as RFC 5280 recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    CaCompromise,
    Superseded,
    CessationOfOperation,
}

impl RevocationReason {
    fn to_rcgen(self) -> rcgen::RevocationReason {
        match self {
            RevocationReason::Unspecified => rcgen::RevocationReason::Unspecified,
            RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            RevocationReason::CaCompromise => rcgen::RevocationReason::CaCompromise,
            RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
            RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
        }
    }

    /// The CRLReason code (absent extension = unspecified = 0).
    pub fn code(self) -> u8 {
        self.to_rcgen() as u8
    }
}

/// One revoked certificate: its serial (big-endian, as in the certificate), when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub serial: Vec<u8>,
    pub revoked_at: OffsetDateTime,
    pub reason: RevocationReason,
}

/// A CRL signed by the HSM and checked after signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCrl {
    pub der: Vec<u8>,
    pub number: u64,
    pub this_update: OffsetDateTime,
    pub next_update: OffsetDateTime,
}

/// Sign a CRL with the issuer's key; `spec.number` must be decided (the engine fills an
/// omitted one in from the previous bundle). nextUpdate = thisUpdate + `spec.validity_days`; both
/// must lie inside the issuer certificate's validity.
pub fn sign_crl(
    spec: &CrlSpec,
    issuer_der: &[u8],
    issuer_key: &dyn RemoteKey,
    this_update: OffsetDateTime,
    revoked: &[Revoked],
) -> Result<IssuedCrl, PkiError> {
    let number = spec.number.ok_or_else(|| PkiError::Build {
        what: WHAT,
        detail: "no CRL number was decided".into(),
    })?;
    let issuer = IssuerFacts::read(issuer_der, WHAT)?;
    if issuer_key.curve() != issuer.curve || issuer_key.public_point() != issuer.point.as_slice() {
        return Err(PkiError::IssuerKeyMismatch {
            what: WHAT,
            reason: "the key's public point is not the one in the issuer certificate".into(),
        });
    }
    let (this, next) = validity(this_update, spec.validity_days, WHAT)?;
    if this < issuer.not_before || next > issuer.not_after {
        return Err(PkiError::Validity {
            what: WHAT,
            reason: format!(
                "thisUpdate {this} .. nextUpdate {next} is not inside the issuer's validity {} .. {}",
                issuer.not_before, issuer.not_after
            ),
        });
    }
    let entries = revoked_params(revoked, this)?;
    let params = CertificateRevocationListParams {
        this_update: this,
        next_update: next,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs: entries,
        key_identifier_method: KeyIdMethod::PreSpecified(issuer.ski.clone()),
    };
    let issuer_params = issuer.params();
    let fixup = Fixup::crl(issuer.curve);
    let build = |key: &dyn RemoteKey| -> Result<Vec<u8>, BuildFailure> {
        let rc_issuer = Issuer::from_params(&issuer_params, RemoteSigner::new(key, fixup));
        let crl = params
            .signed_by(&rc_issuer)
            .map_err(|e| signer_failure(rc_issuer.key(), e))?;
        fixup
            .signed(crl.der().to_vec())
            .map_err(BuildFailure::Fixup)
    };

    // (a) throwaway key, lint
    let throwaway = SoftKey::generate(issuer.curve)?;
    let lint_der = build(&throwaway).map_err(|e| e.lint_pass(WHAT))?;
    let lint_issuer = IssuerFacts {
        point: throwaway.public_point().to_vec(),
        ..issuer.clone()
    };
    let mut problems = match parse_crl(&lint_der) {
        Ok(crl) => {
            let mut p = crl_problems(&crl, &lint_issuer);
            p.extend(expected_problems(&crl, number, this, next, revoked));
            p
        }
        Err(e) => vec![e],
    };
    if !problems.is_empty() {
        problems.dedup();
        return Err(PkiError::Lint {
            what: WHAT,
            problems,
        });
    }

    // (b) the HSM signs
    let der = build(issuer_key).map_err(|e| e.real_pass(WHAT))?;

    // (c) after signing
    let reparse = |detail: String| PkiError::Reparse { what: WHAT, detail };
    let crl = parse_crl(&der).map_err(reparse)?;
    let linted = parse_crl(&lint_der).map_err(reparse)?;
    let (tbs, lint_tbs) = (crl.tbs_cert_list.as_ref(), linted.tbs_cert_list.as_ref());
    if tbs != lint_tbs || crl.signature_algorithm != linted.signature_algorithm {
        return Err(PkiError::TbsMismatch {
            what: WHAT,
            detail: inspect::first_difference(tbs, lint_tbs),
        });
    }
    if !inspect::signature_verifies(
        &crl.signature_algorithm,
        &crl.signature_value,
        tbs,
        issuer.curve,
        &issuer.point,
    ) {
        return Err(PkiError::SignatureInvalid { what: WHAT });
    }
    Ok(IssuedCrl {
        der,
        number,
        this_update: this,
        next_update: next,
    })
}

fn revoked_params(
    revoked: &[Revoked],
    this: OffsetDateTime,
) -> Result<Vec<RevokedCertParams>, PkiError> {
    revoked
        .iter()
        .map(|r| {
            let mut problems = Vec::new();
            let mut encoded = r.serial.clone();
            if encoded.first().is_some_and(|b| b & 0x80 != 0) {
                encoded.insert(0, 0); // a certificate serial is a positive INTEGER
            }
            serial_problems(&encoded, &mut problems);
            if let Some(p) = problems.into_iter().next() {
                return Err(PkiError::Serial(format!(
                    "revoked {}: {p}",
                    hex::encode(&r.serial)
                )));
            }
            let at = utc_seconds(r.revoked_at).ok_or_else(|| PkiError::Validity {
                what: WHAT,
                reason: format!(
                    "revocation time {} is not a UTC time between 1950 and 9999",
                    r.revoked_at
                ),
            })?;
            if at > this {
                return Err(PkiError::Validity {
                    what: WHAT,
                    reason: format!(
                        "revocation of {} at {at} is after thisUpdate {this}",
                        hex::encode(&r.serial)
                    ),
                });
            }
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&r.serial),
                revocation_time: at,
                reason_code: Some(r.reason.to_rcgen()),
                invalidity_date: None,
            })
        })
        .collect()
}

pub(crate) fn parse_crl(der: &[u8]) -> Result<CertificateRevocationList<'_>, String> {
    let (rest, crl) =
        x509_parser::parse_x509_crl(der).map_err(|e| format!("not a DER CRL: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes after the CRL", rest.len()));
    }
    Ok(crl)
}

/// The CRL profile and its relation to the issuer, signature included.
pub(crate) fn crl_problems(crl: &CertificateRevocationList, issuer: &IssuerFacts) -> Vec<String> {
    let mut problems = Vec::new();
    let tbs = &crl.tbs_cert_list;
    if tbs.version.map(|v| v.0) != Some(1) {
        problems.push("CRL version is not v2".into());
    }
    if tbs.signature != crl.signature_algorithm {
        problems.push("signature algorithm inside the TBS differs from the outer one".into());
    }
    match sig_alg_curve(&crl.signature_algorithm) {
        Ok(c) if c == issuer.curve => {}
        Ok(c) => problems.push(format!(
            "signed with {} but the issuer key is {}",
            c.name(),
            issuer.curve.name()
        )),
        Err(e) => problems.push(e),
    }
    if tbs.issuer.as_raw() != issuer.subject_raw.as_slice() {
        problems.push("CRL issuer name is not the issuer certificate's subject name".into());
    }
    let this = tbs.this_update.to_datetime();
    match tbs.next_update.map(|t| t.to_datetime()) {
        None => problems.push("nextUpdate missing".into()),
        Some(next) => {
            if next <= this {
                problems.push("nextUpdate is not after thisUpdate".into());
            }
            if this < issuer.not_before || next > issuer.not_after {
                problems.push(format!(
                    "thisUpdate {this} .. nextUpdate {next} is not inside the issuer's validity {} .. {}",
                    issuer.not_before, issuer.not_after
                ));
            }
        }
    }
    let exts = read_exts(tbs.extensions());
    problems.extend(exts.problems);
    match exts.aki {
        None => problems.push("authorityKeyIdentifier missing".into()),
        Some((_, key_id, _)) if key_id.as_deref() != Some(issuer.ski.as_slice()) => {
            problems.push("authorityKeyIdentifier is not the issuer's subjectKeyIdentifier".into());
        }
        Some((critical, _, other)) => {
            if critical || other {
                problems.push(
                    "authorityKeyIdentifier is critical or carries issuer name/serial".into(),
                );
            }
        }
    }
    if exts.crl_number.is_none() {
        problems.push("cRLNumber missing".into());
    }
    for entry in crl.iter_revoked_certificates() {
        let mut p = Vec::new();
        serial_problems(entry.raw_serial(), &mut p);
        if entry.revocation_date.to_datetime() > this {
            p.push("revocation date after thisUpdate".into());
        }
        for problem in p {
            problems.push(format!(
                "revoked entry {}: {problem}",
                hex::encode(entry.raw_serial())
            ));
        }
    }
    if !inspect::signature_verifies(
        &crl.signature_algorithm,
        &crl.signature_value,
        tbs.as_ref(),
        issuer.curve,
        &issuer.point,
    ) {
        problems.push("signature does not verify with the issuer's public key".into());
    }
    problems
}

/// The CRL carries exactly what was asked for.
fn expected_problems(
    crl: &CertificateRevocationList,
    number: u64,
    this: OffsetDateTime,
    next: OffsetDateTime,
    revoked: &[Revoked],
) -> Vec<String> {
    let mut problems = Vec::new();
    let tbs = &crl.tbs_cert_list;
    if crl_number(crl) != Some(number) {
        problems.push(format!("cRLNumber is not {number}"));
    }
    if tbs.this_update.to_datetime() != this
        || tbs.next_update.map(|t| t.to_datetime()) != Some(next)
    {
        problems.push(format!("thisUpdate/nextUpdate are not {this} / {next}"));
    }
    let got: Vec<_> = crl.iter_revoked_certificates().collect();
    if got.len() != revoked.len() {
        problems.push(format!(
            "{} revoked entries, expected {}",
            got.len(),
            revoked.len()
        ));
        return problems;
    }
    for (entry, want) in got.iter().zip(revoked) {
        let strip = |b: &[u8]| {
            b.iter()
                .skip_while(|x| **x == 0)
                .copied()
                .collect::<Vec<_>>()
        };
        let reason = entry.reason_code().map(|(_, c)| c.0).unwrap_or(0);
        if strip(entry.raw_serial()) != strip(&want.serial)
            || entry.revocation_date.to_datetime().unix_timestamp()
                != want.revoked_at.unix_timestamp()
            || reason != want.reason.code()
        {
            problems.push(format!(
                "revoked entry {} differs from the request",
                hex::encode(&want.serial)
            ));
        }
    }
    problems
}

/// The cRLNumber as u64, if present and small enough.
pub(crate) fn crl_number(crl: &CertificateRevocationList) -> Option<u64> {
    let bytes = crl.crl_number()?.to_bytes_be();
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}
