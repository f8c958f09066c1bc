//! What each step kind does once its inputs are complete, what it shows beforehand, and
//! how keys on the tokens are reconciled with the transcript.

use super::error::EngineError;
use super::prompt::PinKind;
use super::run::{Engine, Mode};
use super::state::{CertFact, CrlFact, KeyFact, SshFact, StepFacts, TokenFact};
use crate::checklist::model::{KeySpec, StepAction};
use crate::hsm::{self, TokenInit, UserSession};
use crate::pki;
use crate::preflight::{NetworkState, group_hex};
use base64::Engine as _;

/// Random bytes drawn from the signing token for a certificate serial (>= 128 bits).
const SERIAL_BYTES: usize = 20;

impl Engine {
    /// Performs the current step's action and returns what it established.
    pub(super) fn execute(&mut self) -> Result<StepFacts, EngineError> {
        let action = self.checklist().steps[self.next].action.clone();
        match action {
            StepAction::Instruction => Ok(StepFacts::Instruction),
            StepAction::Preflight => self.preflight(),
            StepAction::IdentifyToken { token } => self.identify(&token),
            StepAction::InitToken { token } => self.init(&token),
            StepAction::GenerateKey { key } => self.generate(&key),
            StepAction::SelfSign { certificate } => self.self_sign(&certificate),
            StepAction::SignCertificate { certificate } => self.sign_certificate(&certificate),
            StepAction::SignCrl => self.sign_crl(),
            StepAction::ExportSsh { key } => self.export_ssh(&key),
            StepAction::RecordFingerprint { certificate } => {
                let sha256 = self.cert(&certificate)?.sha256.clone();
                Ok(StepFacts::RecordFingerprint {
                    certificate,
                    sha256,
                })
            }
            StepAction::ExportBundle => self.export_bundle(),
        }
    }

    fn preflight(&mut self) -> Result<StepFacts, EngineError> {
        let network = NetworkState::read();
        let problems = network.problems();
        if self.cfg.mode == Mode::Ceremony && !problems.is_empty() {
            return Err(EngineError::NetworkUp(problems.join("; ")));
        }
        Ok(StepFacts::Preflight {
            binary_sha256: self.cfg.binary_sha256.clone(),
            checklist_sha256: self.cfg.checklist.sha256_hex.clone(),
            clock_utc: super::clock::now_rfc3339(),
            network,
            warnings: problems,
        })
    }

    fn identify(&mut self, token: &str) -> Result<StepFacts, EngineError> {
        let chosen = self
            .chosen
            .take()
            .ok_or_else(|| EngineError::Rejected("no token was chosen".into()))?;
        // Read again: the token must still be there, as chosen.
        let info = self.cfg.module.token(&chosen.serial)?;
        Ok(StepFacts::IdentifyToken {
            token: token.to_string(),
            fact: TokenFact {
                serial: info.serial,
                label: info.label,
                manufacturer: info.manufacturer,
                model: info.model,
            },
        })
    }

    fn init(&mut self, token: &str) -> Result<StepFacts, EngineError> {
        let serial = self.serial_of(token)?;
        let label = self.checklist().tokens[token].label.clone();
        let pins = std::mem::take(&mut self.init_pins);
        let pin = |kind: PinKind| {
            pins.iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, p)| p)
                .ok_or_else(|| EngineError::Rejected(format!("the {} is missing", kind.describe())))
        };
        let init = TokenInit {
            serial: &serial,
            label: &label,
            current_so_pin: pin(PinKind::CurrentSo)?,
            new_so_pin: pin(PinKind::NewSo)?,
            user_pin: pin(PinKind::NewUser)?,
        };
        hsm::init_token(&self.cfg.module, &init)?;
        // Keep a user session: the user PIN was just set and need not be typed again.
        let session = UserSession::login(&self.cfg.module, &serial, init.user_pin)?;
        drop(pins);
        self.sessions.insert(token.to_string(), session);
        Ok(StepFacts::InitToken {
            token: token.to_string(),
            serial,
            label,
        })
    }

    pub(super) fn key_spec(&self, key: &str) -> Result<KeySpec, EngineError> {
        self.checklist()
            .keys
            .iter()
            .find(|k| k.name == key)
            .cloned()
            .ok_or_else(|| EngineError::Rejected(format!("no key named {key}")))
    }

    pub(super) fn session(&self, token: &str) -> Result<&UserSession, EngineError> {
        self.sessions
            .get(token)
            .ok_or_else(|| EngineError::Rejected(format!("not logged in to token {token}")))
    }

    /// After a login: every key the transcript recorded on this token must be there
    /// with the same public key.
    pub(super) fn reconcile(&self, token: &str, session: &UserSession) -> Result<(), EngineError> {
        for fact in self.state.keys.values().filter(|k| k.token == token) {
            let id = hex::decode(&fact.id).unwrap_or_default();
            let mismatch = |problem: &str| EngineError::KeyMismatch {
                serial: session.serial().to_string(),
                label: fact.label.clone(),
                id: fact.id.clone(),
                problem: problem.to_string(),
            };
            let found = session
                .find_key(&id, &fact.label)?
                .ok_or_else(|| mismatch("it is not on the token"))?;
            if hex::encode(&found.facts.point) != fact.point {
                return Err(mismatch("its public key differs"));
            }
        }
        Ok(())
    }

    fn signer_key(&self, key: &str) -> Result<(hsm::TokenKey<'_>, KeyFact), EngineError> {
        let fact =
            self.state.keys.get(key).cloned().ok_or_else(|| {
                EngineError::Rejected(format!("key {key} has not been generated"))
            })?;
        let session = self.session(&fact.token)?;
        let id = hex::decode(&fact.id).unwrap_or_default();
        let found =
            session
                .find_key(&id, &fact.label)?
                .ok_or_else(|| EngineError::KeyMismatch {
                    serial: fact.serial.clone(),
                    label: fact.label.clone(),
                    id: fact.id.clone(),
                    problem: "it is not on the token".into(),
                })?;
        if hex::encode(&found.facts.point) != fact.point {
            return Err(EngineError::KeyMismatch {
                serial: fact.serial.clone(),
                label: fact.label.clone(),
                id: fact.id.clone(),
                problem: "its public key differs from the one generated".into(),
            });
        }
        Ok((found, fact))
    }

    fn cert(&self, name: &str) -> Result<&CertFact, EngineError> {
        self.state
            .certs
            .get(name)
            .ok_or_else(|| EngineError::Rejected(format!("certificate {name} has not been signed")))
    }

    fn self_sign(&mut self, name: &str) -> Result<StepFacts, EngineError> {
        let spec = self.checklist().certificates[name].clone();
        let (key, _) = self.signer_key(&spec.key)?;
        let serial = self
            .session(&key_token(&self.state, &spec.key))?
            .random(SERIAL_BYTES)?;
        let issued = pki::issue_root(&spec, &key, &serial, self.signing_time())?;
        Ok(StepFacts::SelfSign {
            certificate: name.to_string(),
            fact: cert_fact(&issued, &spec.subject.common_name),
        })
    }

    fn sign_certificate(&mut self, name: &str) -> Result<StepFacts, EngineError> {
        let spec = self.checklist().certificates[name].clone();
        let issuer_name = spec.issuer.clone().unwrap_or_default();
        let issuer_spec = self.checklist().certificates[&issuer_name].clone();
        let issuer_der = self.cert(&issuer_name)?.der_bytes();
        let subject = self.state.keys.get(&spec.key).cloned().ok_or_else(|| {
            EngineError::Rejected(format!("key {} has not been generated", spec.key))
        })?;
        let point = hex::decode(&subject.point).unwrap_or_default();
        let (key, _) = self.signer_key(&issuer_spec.key)?;
        let serial = self
            .session(&key_token(&self.state, &issuer_spec.key))?
            .random(SERIAL_BYTES)?;
        let issued = pki::issue_intermediate(
            &spec,
            &point,
            subject.curve,
            &issuer_der,
            &key,
            &serial,
            self.signing_time(),
        )?;
        Ok(StepFacts::SignCertificate {
            certificate: name.to_string(),
            fact: cert_fact(&issued, &spec.subject.common_name),
        })
    }

    fn sign_crl(&mut self) -> Result<StepFacts, EngineError> {
        let spec = self
            .checklist()
            .crl
            .clone()
            .ok_or_else(|| EngineError::Rejected("the checklist has no [crl]".into()))?;
        let issuer_key = self.checklist().certificates[&spec.issuer].key.clone();
        let issuer_der = self.cert(&spec.issuer)?.der_bytes();
        let (key, _) = self.signer_key(&issuer_key)?;
        let now = self.signing_time();
        let revoked = self.revocations(now)?;
        let spec = crate::checklist::model::CrlSpec {
            number: Some(super::previous::crl_number(
                self.checklist(),
                self.cfg.previous.as_ref(),
            )?),
            ..spec
        };
        let crl = pki::sign_crl(&spec, &issuer_der, &key, now, &revoked)?;
        Ok(StepFacts::SignCrl {
            fact: CrlFact {
                der: b64(&crl.der),
                sha256: crate::fsutil::sha256_hex(&crl.der),
                number: crl.number,
                this_update: super::clock::rfc3339(crl.this_update),
                next_update: super::clock::rfc3339(crl.next_update),
                revoked: revoked
                    .iter()
                    .map(|r| (hex::encode(&r.serial), reason_name(r.reason).to_string()))
                    .collect(),
            },
        })
    }

    /// The CRL's revoked entries (see [`super::previous::crl_revocations`]).
    fn revocations(&self, at: time::OffsetDateTime) -> Result<Vec<pki::Revoked>, EngineError> {
        super::previous::crl_revocations(self.checklist(), self.cfg.previous.as_ref())?
            .into_iter()
            .map(|(serial, reason)| {
                let serial = hex::decode(&serial).map_err(|_| {
                    EngineError::Previous(format!("revoked serial {serial} is not hex"))
                })?;
                Ok(pki::Revoked {
                    serial,
                    revoked_at: at,
                    reason: revocation_reason(reason),
                })
            })
            .collect()
    }

    fn export_ssh(&mut self, key: &str) -> Result<StepFacts, EngineError> {
        let fact =
            self.state.keys.get(key).cloned().ok_or_else(|| {
                EngineError::Rejected(format!("key {key} has not been generated"))
            })?;
        let point = hex::decode(&fact.point).unwrap_or_default();
        Ok(StepFacts::ExportSsh {
            key: key.to_string(),
            fact: SshFact {
                line: pki::ssh_public_key_line(fact.curve, &point, &fact.label),
                fingerprint: pki::ssh_fingerprint(fact.curve, &point),
            },
        })
    }

    fn export_bundle(&mut self) -> Result<StepFacts, EngineError> {
        let input = crate::bundle::ExportInput {
            checklist: &self.cfg.checklist,
            drill: self.cfg.mode == Mode::Drill,
            state: &self.state,
            transcript_path: self.transcript.path(),
            transcript_head: self.transcript.head(),
            previous: self
                .cfg
                .previous
                .as_ref()
                .map(|p| crate::bundle::PreviousRef {
                    kind: p.manifest.kind.clone(),
                    seal: p.seal.clone(),
                    root_fingerprint: p.root_fingerprint.clone(),
                }),
            superseded: self.superseded(),
        };
        let exported = crate::bundle::export(&self.cfg.out_dir, &input)?;
        Ok(StepFacts::ExportBundle {
            dir: self.cfg.out_dir.display().to_string(),
            seal: exported.seal,
            files: exported.files,
        })
    }

    /// The previous bundle's certificates this ceremony does not carry over, plus the ones
    /// that bundle already listed as superseded and not revoked (so the list reaches back
    /// to every older certificate still valid), each with whether this CRL revokes it.
    fn superseded(&self) -> Vec<crate::bundle::SupersededCert> {
        let Some(previous) = &self.cfg.previous else {
            return Vec::new();
        };
        let carried: Vec<&str> = self
            .checklist()
            .certificates
            .values()
            .filter_map(|c| c.existing.as_deref())
            .collect();
        let revoked: Vec<&str> = self
            .state
            .crl
            .iter()
            .flat_map(|c| c.revoked.iter().map(|(serial, _)| serial.as_str()))
            .collect();
        let replaced = previous
            .manifest
            .certificates
            .iter()
            .filter(|c| !carried.contains(&c.name.as_str()))
            .map(|c| crate::bundle::SupersededCert {
                name: c.name.clone(),
                subject: c.subject.clone(),
                serial: c.serial.clone(),
                not_after: c.not_after.clone(),
                sha256: c.sha256.clone(),
                revoked: false,
            });
        let older = previous
            .manifest
            .superseded
            .iter()
            .filter(|s| !s.revoked)
            .cloned();
        replaced
            .chain(older)
            .map(|mut c| {
                c.revoked = revoked.contains(&c.serial.as_str());
                c
            })
            .collect()
    }

    /// When a token about to be initialised is in use ([`crate::hsm::Module::in_use`]),
    /// the serial and label for the erase confirmation. OpenSC's profile object does not
    /// count, nor does the PIN every new SmartCard-HSM comes with.
    pub(super) fn erase_check(
        &self,
        action: &StepAction,
    ) -> Result<Option<(String, String)>, EngineError> {
        let StepAction::InitToken { token } = action else {
            return Ok(None);
        };
        let Some(serial) = self.state.serial(token) else {
            return Ok(None);
        };
        let info = self.cfg.module.token(serial)?;
        let in_use = self.cfg.module.in_use(&info)?;
        Ok(in_use.then_some((info.serial, info.label)))
    }

    /// One line of what the program is about to do.
    pub(super) fn describe_action(&self, action: &StepAction) -> String {
        let c = self.checklist();
        match action {
            StepAction::Instruction => "nothing: read, check and confirm".into(),
            StepAction::Preflight => {
                "check that this machine is offline and record the clock and hashes".into()
            }
            StepAction::IdentifyToken { token } => {
                format!("assign the {token} role to a token by its serial")
            }
            StepAction::InitToken { token } => format!(
                "ERASE and initialise token {} as {:?}, set its SO and user PINs",
                self.state.serial(token).unwrap_or("?"),
                c.tokens.get(token).map(|t| t.label.as_str()).unwrap_or("?")
            ),
            StepAction::GenerateKey { key } => match c.keys.iter().find(|k| &k.name == key) {
                Some(k) => format!(
                    "generate a {} key {:?} (id {}) on token {}",
                    k.curve.name(),
                    k.label,
                    k.id,
                    self.state.serial(&k.token).unwrap_or("?")
                ),
                None => format!("generate key {key}"),
            },
            StepAction::SelfSign { certificate } => {
                format!("self-sign the {certificate} certificate")
            }
            StepAction::SignCertificate { certificate } => format!(
                "sign the {certificate} certificate with the {} key",
                c.certificates
                    .get(certificate)
                    .and_then(|s| s.issuer.clone())
                    .unwrap_or_default()
            ),
            StepAction::SignCrl => "sign the CRL with the root key".into(),
            StepAction::ExportSsh { key } => format!("write the OpenSSH public key line of {key}"),
            StepAction::RecordFingerprint { certificate } => {
                format!("show the {certificate} fingerprint to be written down and read back")
            }
            StepAction::ExportBundle => {
                format!("write the bundle to {}", self.cfg.out_dir.display())
            }
        }
    }

    /// The facts shown with a confirmation: what the step will act on or has computed.
    pub(super) fn preview(&self) -> Vec<(String, String)> {
        let action = &self.checklist().steps[self.next].action;
        let mut out = Vec::new();
        if let Some(half) = &self.exception_authorised {
            out.push((
                "EXCEPTION".into(),
                format!(
                    "token {} holds only {}; it is removed, then the key is generated again",
                    half.serial, half.found
                ),
            ));
        }
        match action {
            StepAction::Preflight => {
                out.push(("binary SHA-256".into(), group_hex(&self.cfg.binary_sha256)));
                out.push((
                    "checklist SHA-256".into(),
                    group_hex(&self.cfg.checklist.sha256_hex),
                ));
                out.push(("UTC clock".into(), super::clock::now_rfc3339()));
                let network = NetworkState::read();
                let problems = network.problems();
                out.push((
                    "network".into(),
                    if problems.is_empty() {
                        "offline (loopback only)".into()
                    } else {
                        format!("NOT OFFLINE: {}", problems.join("; "))
                    },
                ));
                let interfaces: Vec<String> = network
                    .interfaces
                    .iter()
                    .map(|i| format!("{} {}", i.name, i.state))
                    .collect();
                out.push(("interfaces".into(), interfaces.join(", ")));
                let routes = if network.default_routes.is_empty() {
                    "none".to_string()
                } else {
                    network.default_routes.join(", ")
                };
                out.push(("default routes".into(), routes));
            }
            StepAction::IdentifyToken { .. } => {
                if let Some(t) = &self.chosen {
                    out.push(("serial".into(), t.serial.clone()));
                    out.push(("label now".into(), t.label.clone()));
                    out.push((
                        "manufacturer / model".into(),
                        format!("{} / {}", t.manufacturer, t.model),
                    ));
                }
            }
            StepAction::RecordFingerprint { certificate } => {
                if let Some(c) = self.state.certs.get(certificate) {
                    out.push(("subject".into(), c.subject.clone()));
                    out.push(("SHA-256 fingerprint".into(), c.sha256.clone()));
                    out.push(("grouped".into(), group_hex(&c.sha256)));
                }
            }
            StepAction::SelfSign { certificate } | StepAction::SignCertificate { certificate } => {
                out.extend(self.review_certificate(certificate));
            }
            StepAction::SignCrl => out.extend(self.review_crl()),
            StepAction::ExportSsh { key } => {
                if let Some(k) = self.state.keys.get(key) {
                    let point = hex::decode(&k.point).unwrap_or_default();
                    out.push(("fingerprint".into(), pki::ssh_fingerprint(k.curve, &point)));
                }
            }
            _ => {}
        }
        out.push(("action".into(), self.describe_action(action)));
        out
    }
}

fn reason_name(reason: pki::RevocationReason) -> &'static str {
    match reason {
        pki::RevocationReason::Unspecified => "unspecified",
        pki::RevocationReason::KeyCompromise => "key-compromise",
        pki::RevocationReason::CaCompromise => "ca-compromise",
        pki::RevocationReason::Superseded => "superseded",
        pki::RevocationReason::CessationOfOperation => "cessation-of-operation",
    }
}

fn revocation_reason(reason: crate::checklist::model::RevokeReason) -> pki::RevocationReason {
    use crate::checklist::model::RevokeReason as R;
    match reason {
        R::Unspecified => pki::RevocationReason::Unspecified,
        R::KeyCompromise => pki::RevocationReason::KeyCompromise,
        R::CaCompromise => pki::RevocationReason::CaCompromise,
        R::Superseded => pki::RevocationReason::Superseded,
        R::CessationOfOperation => pki::RevocationReason::CessationOfOperation,
    }
}

fn key_token(state: &super::state::State, key: &str) -> String {
    state
        .keys
        .get(key)
        .map(|k| k.token.clone())
        .unwrap_or_default()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn cert_fact(issued: &pki::Issued, subject: &str) -> CertFact {
    CertFact {
        der: b64(&issued.der),
        sha256: issued.fingerprint.hex(),
        serial: issued.serial_hex.clone(),
        subject: subject.to_string(),
        not_before: super::clock::rfc3339(issued.not_before),
        not_after: super::clock::rfc3339(issued.not_after),
    }
}
