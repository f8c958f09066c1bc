//! What the ceremony has established so far, rebuilt from the transcript on resume.
//!
//! Every completed step records [`StepFacts`]; applying them in order gives the
//! [`State`]. Nothing here is secret: public keys, certificates, serials, names.

use super::prompt::Role;
use crate::checklist::model::Curve;
use crate::preflight::NetworkState;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub initials: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFact {
    pub serial: String,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFact {
    /// Token role.
    pub token: String,
    pub serial: String,
    pub id: String,
    pub label: String,
    pub curve: Curve,
    /// Uncompressed SEC1 point, hex.
    pub point: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertFact {
    /// DER, standard base64.
    pub der: String,
    pub sha256: String,
    pub serial: String,
    pub subject: String,
    pub not_before: String,
    pub not_after: String,
}

impl CertFact {
    pub fn der_bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.der)
            .expect("certificate DER in the state is base64 we wrote")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlFact {
    pub der: String,
    pub sha256: String,
    pub number: u64,
    pub this_update: String,
    pub next_update: String,
    /// (serial hex, reason) of each revoked certificate.
    #[serde(default)]
    pub revoked: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshFact {
    pub line: String,
    pub fingerprint: String,
}

/// What one completed step established.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StepFacts {
    Instruction,
    Preflight {
        binary_sha256: String,
        checklist_sha256: String,
        clock_utc: String,
        network: NetworkState,
        warnings: Vec<String>,
    },
    IdentifyToken {
        token: String,
        fact: TokenFact,
    },
    InitToken {
        token: String,
        serial: String,
        label: String,
    },
    GenerateKey {
        key: String,
        fact: KeyFact,
    },
    SelfSign {
        certificate: String,
        fact: CertFact,
    },
    SignCertificate {
        certificate: String,
        fact: CertFact,
    },
    SignCrl {
        fact: CrlFact,
    },
    ExportSsh {
        key: String,
        fact: SshFact,
    },
    RecordFingerprint {
        certificate: String,
        sha256: String,
    },
    ExportBundle {
        dir: String,
        seal: String,
        files: BTreeMap<String, String>,
    },
}

/// The ceremony's established facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub participants: BTreeMap<Role, Person>,
    pub tokens: BTreeMap<String, TokenFact>,
    pub initialised: BTreeSet<String>,
    pub keys: BTreeMap<String, KeyFact>,
    pub certs: BTreeMap<String, CertFact>,
    pub crl: Option<CrlFact>,
    pub ssh: BTreeMap<String, SshFact>,
    pub fingerprints_recorded: BTreeSet<String>,
    pub bundle: Option<(String, String)>,
}

impl State {
    pub fn apply(&mut self, facts: &StepFacts) {
        match facts {
            StepFacts::Instruction | StepFacts::Preflight { .. } => {}
            StepFacts::IdentifyToken { token, fact } => {
                self.tokens.insert(token.clone(), fact.clone());
            }
            StepFacts::InitToken { token, label, .. } => {
                self.initialised.insert(token.clone());
                if let Some(t) = self.tokens.get_mut(token) {
                    t.label = label.clone();
                }
            }
            StepFacts::GenerateKey { key, fact } => {
                self.keys.insert(key.clone(), fact.clone());
            }
            StepFacts::SelfSign { certificate, fact }
            | StepFacts::SignCertificate { certificate, fact } => {
                self.certs.insert(certificate.clone(), fact.clone());
            }
            StepFacts::SignCrl { fact } => self.crl = Some(fact.clone()),
            StepFacts::ExportSsh { key, fact } => {
                self.ssh.insert(key.clone(), fact.clone());
            }
            StepFacts::RecordFingerprint { certificate, .. } => {
                self.fingerprints_recorded.insert(certificate.clone());
            }
            StepFacts::ExportBundle { dir, seal, .. } => {
                self.bundle = Some((dir.clone(), seal.clone()));
            }
        }
    }

    /// The serial assigned to a token role.
    pub fn serial(&self, token: &str) -> Option<&str> {
        self.tokens.get(token).map(|t| t.serial.as_str())
    }
}
