//! Key generation, and taking over a key whose generation a crash interrupted.
//!
//! Before `C_GenerateKeyPair` the engine records an intent (token serial, key id, label,
//! curve) in the transcript. If the program dies before the step is recorded, the token
//! holds a key the transcript has no step for. On resume, a key that matches the
//! recorded intent exactly, and whose attributes prove it was generated on the token and
//! never left it, is taken over and its step recorded with `"adopted": true`. Any other
//! key that collides with the checklist's id or label stops the ceremony.

use super::error::EngineError;
use super::run::Engine;
use super::state::{KeyFact, StepFacts};
use super::transcript::{Record, RecordKind};
use crate::checklist::model::{Curve, KeySpec};
use crate::hsm::KeyFacts;
use serde::{Deserialize, Serialize};

/// What the engine was about to generate, recorded before it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyIntent {
    /// Index and id of the step.
    pub index: usize,
    pub step: String,
    /// The checklist's key name.
    pub key: String,
    pub serial: String,
    /// CKA_ID, hex.
    pub id: String,
    pub label: String,
    pub curve: Curve,
}

impl KeyIntent {
    /// The intent left open by the last records of a transcript: recorded, and not
    /// followed by a completed step.
    pub fn interrupted(records: &[Record]) -> Option<KeyIntent> {
        let last = records
            .iter()
            .rev()
            .find(|r| matches!(r.kind, RecordKind::Intent | RecordKind::Step))?;
        match last.kind {
            RecordKind::Intent => serde_json::from_value(last.body.clone()).ok(),
            _ => None,
        }
    }

    pub(super) fn matches(&self, index: usize, key: &str, serial: &str, spec: &KeySpec) -> bool {
        self.index == index
            && self.key == key
            && self.serial == serial
            && self.id == spec.id.to_lowercase()
            && self.label == spec.label
            && self.curve == spec.curve
    }
}

impl Engine {
    pub(super) fn generate(&mut self, key: &str) -> Result<StepFacts, EngineError> {
        let spec = self.key_spec(key)?;
        let session = self.session(&spec.token)?;
        let serial = session.serial().to_string();
        let id = spec.id_bytes();
        let objects = session.key_objects(&id, &spec.label)?;
        if super::exception::has_pieces(&objects) {
            // Removed only through the exception procedure; then generated afresh.
            self.clear_half_made(key, &spec, &spec.token, &objects)?;
        }
        let session = self.session(&spec.token)?;
        let clashes: Vec<KeyFacts> = session
            .list_keys()?
            .into_iter()
            .filter(|k| k.id == id || k.label == spec.label)
            .collect();
        let adopted = match clashes.as_slice() {
            [] => false,
            [only] if self.may_adopt(key, &serial, &spec, only) => true,
            _ => {
                return Err(EngineError::UnknownKey {
                    serial,
                    found: clashes
                        .iter()
                        .map(describe_key)
                        .collect::<Vec<_>>()
                        .join("; "),
                });
            }
        };
        let point = if adopted {
            // Read the token afresh before judging a key made by an earlier run.
            self.rebind_and_login(&spec.token)?;
            let session = self.session(&spec.token)?;
            session.adopt_key(&id, &spec.label, spec.curve)?.facts.point
        } else {
            self.record_intent(key, &serial, &spec)?;
            let generated =
                self.session(&spec.token)?
                    .generate_key(&id, &spec.label, spec.curve)?;
            self.injected_crash_after_keygen()?;
            // OpenSC shows the new key's protection only once it reads the token again.
            self.rebind_and_login(&spec.token)?;
            if let Err(e) = self.session(&spec.token)?.read_back(&generated) {
                // The key failed its check: it is never taken over on a retry.
                self.interrupted = None;
                return Err(e.into());
            }
            generated.point
        };
        Ok(StepFacts::GenerateKey {
            key: key.to_string(),
            fact: KeyFact {
                token: spec.token.clone(),
                serial,
                id: spec.id.to_lowercase(),
                label: spec.label.clone(),
                curve: spec.curve,
                point: hex::encode(point),
            },
            adopted,
        })
    }

    /// The only clashing key is the one an interrupted run of this very step was
    /// generating: same step, token, id, label and curve.
    fn may_adopt(&self, key: &str, serial: &str, spec: &KeySpec, found: &KeyFacts) -> bool {
        let id = spec.id_bytes();
        found.id == id
            && found.label == spec.label
            && self
                .interrupted
                .as_ref()
                .is_some_and(|i| i.matches(self.next, key, serial, spec))
    }

    fn record_intent(
        &mut self,
        key: &str,
        serial: &str,
        spec: &KeySpec,
    ) -> Result<(), EngineError> {
        let intent = KeyIntent {
            index: self.next,
            step: self.step_id(self.next),
            key: key.to_string(),
            serial: serial.to_string(),
            id: spec.id.to_lowercase(),
            label: spec.label.clone(),
            curve: spec.curve,
        };
        let body = serde_json::to_value(&intent).expect("an intent always serialises");
        self.transcript.append(RecordKind::Intent, body)?;
        self.interrupted = Some(intent);
        Ok(())
    }
}

/// One line about a key on a token, for error messages.
fn describe_key(k: &KeyFacts) -> String {
    format!(
        "a {} key with id {} and label {:?} (public key {}...)",
        k.curve.name(),
        hex::encode(&k.id),
        k.label,
        hex::encode(&k.point[..k.point.len().min(12)])
    )
}
