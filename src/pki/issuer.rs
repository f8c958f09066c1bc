//! What signing under an existing CA certificate needs from it: its subject name (rebuilt
//! for rcgen with the same string types, so the issuer name encodes byte for byte as the
//! issuer's subject), its key identifier, key, curve and validity. Used for the
//! intermediate, the CRL and the offline checks.

use rcgen::{CertificateParams, KeyIdMethod, KeyUsagePurpose};
use time::OffsetDateTime;

use super::inspect::{self, parse_cert, spki_point};
use super::{Curve, PkiError};

/// What issuing needs from the issuer's certificate.
#[derive(Clone)]
pub(crate) struct IssuerFacts {
    pub subject_raw: Vec<u8>,
    pub subject_dn: rcgen::DistinguishedName,
    pub ski: Vec<u8>,
    pub curve: Curve,
    pub point: Vec<u8>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl IssuerFacts {
    pub fn read(der: &[u8], what: &'static str) -> Result<IssuerFacts, PkiError> {
        let bad = |reason: String| PkiError::Issuer { what, reason };
        let cert = parse_cert(der).map_err(bad)?;
        let tbs = &cert.tbs_certificate;
        let exts = inspect::read_exts(tbs.extensions());
        if exts.basic.is_none_or(|(_, ca, _)| !ca) {
            return Err(bad(
                "not a CA certificate (basicConstraints cA is not TRUE)".into(),
            ));
        }
        if exts
            .key_usage
            .is_some_and(|(_, flags)| flags & inspect::CA_KEY_USAGE != inspect::CA_KEY_USAGE)
        {
            return Err(bad("keyUsage lacks keyCertSign or cRLSign".into()));
        }
        let ski = exts
            .ski
            .filter(|k| !k.is_empty())
            .ok_or_else(|| bad("no subjectKeyIdentifier".into()))?;
        let (curve, point) = spki_point(&tbs.subject_pki).map_err(bad)?;
        Ok(IssuerFacts {
            subject_raw: tbs.subject.as_raw().to_vec(),
            subject_dn: dn_from_name(&tbs.subject).map_err(bad)?,
            ski,
            curve,
            point,
            not_before: tbs.validity.not_before.to_datetime(),
            not_after: tbs.validity.not_after.to_datetime(),
        })
    }

    /// rcgen issuer parameters: the name and key identifier as they are in the certificate.
    pub fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = self.subject_dn.clone();
        p.key_identifier_method = KeyIdMethod::PreSpecified(self.ski.clone());
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p
    }
}

/// Rebuild a parsed Name for rcgen, keeping each attribute's string type so the issuer
/// name is encoded exactly as the issuer's subject (the lint compares the raw bytes).
fn dn_from_name(name: &x509_parser::x509::X509Name) -> Result<rcgen::DistinguishedName, String> {
    use rcgen::{DnType, DnValue};
    use x509_parser::asn1_rs::Tag;
    let mut dn = rcgen::DistinguishedName::new();
    for rdn in name.iter() {
        let attrs: Vec<_> = rdn.iter().collect();
        let [attr] = attrs.as_slice() else {
            return Err("subject has a multi-valued or empty RDN".into());
        };
        let oid: Vec<u64> = attr
            .attr_type()
            .iter()
            .ok_or("attribute OID arc too large")?
            .collect();
        let data = attr.attr_value().data;
        let text =
            || std::str::from_utf8(data).map_err(|_| "attribute is not valid text".to_string());
        let value = match attr.attr_value().tag() {
            Tag::PrintableString => {
                DnValue::PrintableString(text()?.try_into().map_err(|e| format!("{e}"))?)
            }
            Tag::Utf8String => DnValue::Utf8String(text()?.to_string()),
            Tag::Ia5String => DnValue::Ia5String(text()?.try_into().map_err(|e| format!("{e}"))?),
            other => {
                return Err(format!(
                    "subject attribute string type {other} is not supported"
                ));
            }
        };
        let ty = DnType::from_oid(&oid);
        if dn.get(&ty).is_some() {
            return Err("subject repeats an attribute type".into());
        }
        dn.push(ty, value);
    }
    Ok(dn)
}
