//! What the witness checks before a signature, and what a signature or key generation
//! produced.
//!
//! The signing time of a sign step is fixed when the step is planned, so the dates shown
//! here are the ones the certificate or CRL will carry, to the second. The serial is
//! drawn from the token's random generator at signing and is shown with the result. In a
//! rotation, each certificate is shown beside the previous bundle's certificate of the
//! same name, with what changed marked.

use super::run::Engine;
use crate::checklist::model::{CertificateSpec, StepAction};
use crate::pki;
use crate::preflight::group_hex;
use time::OffsetDateTime;

/// A preview line: label and value.
type Fact = (String, String);

impl Engine {
    /// The moment a sign step signs at: fixed when the step is planned.
    pub(super) fn signing_time(&self) -> OffsetDateTime {
        self.sign_at.unwrap_or_else(super::clock::now)
    }

    /// The review of a certificate about to be signed.
    pub(super) fn review_certificate(&self, name: &str) -> Vec<Fact> {
        let Some(spec) = self.checklist().certificates.get(name) else {
            return Vec::new();
        };
        let mut out = vec![("subject".to_string(), subject_text(spec))];
        let issuer = match &spec.issuer {
            None => "the same (self-signed root)".to_string(),
            Some(issuer) => self
                .checklist()
                .certificates
                .get(issuer)
                .map(subject_text)
                .unwrap_or_default(),
        };
        out.push(("issuer".into(), issuer));
        let (nb, na) = match pki::validity(self.signing_time(), spec.validity_days, "review") {
            Ok((nb, na)) => (super::clock::rfc3339(nb), super::clock::rfc3339(na)),
            Err(e) => (e.to_string(), String::new()),
        };
        out.push(("not before".into(), nb.clone()));
        out.push((
            "not after".into(),
            format!("{na} ({} days)", spec.validity_days),
        ));
        out.push((
            "basic constraints".into(),
            format!("CA, path length {} (critical)", spec.path_length),
        ));
        out.push((
            "key usage".into(),
            "certificate signing, CRL signing (critical)".into(),
        ));
        out.push(("name constraints".into(), name_constraints(spec)));
        out.push((
            "CRL distribution point".into(),
            spec.crl_distribution_point
                .clone()
                .unwrap_or_else(|| "none".into()),
        ));
        let key = self.state.keys.get(&spec.key);
        let key_text = key.map_or_else(
            || format!("key {} (not generated yet)", spec.key),
            |k| format!("{} {}", k.curve.name(), point_digest(&k.point)),
        );
        out.push(("subject key SHA-256".into(), key_text.clone()));
        out.push((
            "serial".into(),
            "random, from the token, shown once signed".into(),
        ));
        out.extend(self.compare_with_previous(name, &nb, key.map(|k| k.point.as_str())));
        out
    }

    /// The same certificate in the previous bundle, and what changed.
    fn compare_with_previous(
        &self,
        name: &str,
        not_before: &str,
        point: Option<&str>,
    ) -> Vec<Fact> {
        let Some(previous) = &self.cfg.previous else {
            return Vec::new();
        };
        let Some(der) = previous.certs.get(name) else {
            return vec![("previous".into(), format!("no {name} certificate"))];
        };
        let facts = match pki::read_certificate(der) {
            Ok(facts) => facts,
            Err(e) => return vec![("previous".into(), e)],
        };
        let old_point = hex::encode(&facts.public_point);
        let key_changed = point.is_some_and(|p| p != old_point);
        vec![
            ("previous subject".into(), facts.subject),
            (
                "previous validity".into(),
                format!(
                    "{} .. {} (CHANGED: the new one starts {not_before})",
                    super::clock::rfc3339(facts.not_before),
                    super::clock::rfc3339(facts.not_after)
                ),
            ),
            (
                "previous key SHA-256".into(),
                format!(
                    "{} {}{}",
                    facts.curve.name(),
                    point_digest(&old_point),
                    if key_changed {
                        " (CHANGED: a new key)"
                    } else {
                        " (same key)"
                    }
                ),
            ),
        ]
    }

    /// The review of the CRL about to be signed: number, both dates and every revoked
    /// serial.
    pub(super) fn review_crl(&self) -> Vec<Fact> {
        let mut out = Vec::new();
        let Some(spec) = &self.checklist().crl else {
            return out;
        };
        let number = super::previous::crl_number(self.checklist(), self.cfg.previous.as_ref())
            .map_or_else(|e| e.to_string(), |n| n.to_string());
        out.push(("CRL number".into(), number));
        match pki::validity(self.signing_time(), spec.validity_days, "review") {
            Ok((this, next)) => {
                out.push(("this update".into(), super::clock::rfc3339(this)));
                out.push((
                    "next update".into(),
                    format!(
                        "{} ({} days): note it, a new CRL must be signed before then",
                        super::clock::rfc3339(next),
                        spec.validity_days
                    ),
                ));
            }
            Err(e) => out.push(("next update".into(), e.to_string())),
        }
        match super::previous::crl_revocations(self.checklist(), self.cfg.previous.as_ref()) {
            Ok(list) if list.is_empty() => out.push(("revokes".into(), "nothing".into())),
            Ok(list) => {
                for (serial, reason) in list {
                    out.push(("revokes".into(), format!("{serial} ({reason:?})")));
                }
            }
            Err(e) => out.push(("revokes".into(), e.to_string())),
        }
        out
    }

    /// One line on what a completed step produced, for the screen after it.
    pub(super) fn result_summary(&self, facts: &super::state::StepFacts) -> Option<String> {
        use super::state::StepFacts as F;
        match facts {
            F::GenerateKey { fact, .. } => Some(format!(
                "new {} public key SHA-256 {}",
                fact.curve.name(),
                point_digest(&fact.point)
            )),
            F::SelfSign { fact, .. } | F::SignCertificate { fact, .. } => Some(format!(
                "serial {}, valid {} .. {}",
                fact.serial, fact.not_before, fact.not_after
            )),
            F::SignCrl { fact } => Some(format!(
                "CRL number {}, next update {}",
                fact.number, fact.next_update
            )),
            _ => None,
        }
    }
}

/// Whether a step signs, and so fixes its signing time when planned.
pub(super) fn signs(action: &StepAction) -> bool {
    matches!(
        action,
        StepAction::SelfSign { .. } | StepAction::SignCertificate { .. } | StepAction::SignCrl
    )
}

/// The subject as the certificate will carry it.
fn subject_text(spec: &CertificateSpec) -> String {
    let s = &spec.subject;
    let mut parts = Vec::new();
    if let Some(c) = &s.country {
        parts.push(format!("C={c}"));
    }
    if let Some(o) = &s.organization {
        parts.push(format!("O={o}"));
    }
    parts.push(format!("CN={}", s.common_name));
    parts.join(", ")
}

fn name_constraints(spec: &CertificateSpec) -> String {
    match &spec.name_constraints {
        None => "none".into(),
        Some(nc) => {
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            format!(
                "permitted DNS: {}; excluded DNS: {} (critical)",
                list(&nc.permitted_dns),
                list(&nc.excluded_dns)
            )
        }
    }
}

/// The first eight groups of the SHA-256 of a public point given in hex.
fn point_digest(point_hex: &str) -> String {
    let bytes = hex::decode(point_hex).unwrap_or_default();
    let digest = crate::fsutil::sha256_hex(&bytes);
    format!("{} ...", group_hex(&digest[..32]))
}
