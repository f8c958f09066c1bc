//! The exception procedure for a half-made key.
//!
//! A key generation cut short can leave only one half of the key pair on the token, or
//! (SoftHSM killed between creating an object and writing its attributes) a key object
//! with neither id nor label. Such pieces are removed only when all of this holds: they
//! are the only objects with the step's key id or label or with no names at all, at most
//! one half carries the key's names, their id, label and curve are the ones the transcript
//! announced in its last
//! intent record (so it was made in this ceremony, after that record, and no step has
//! used it since: it never signed anything), and the two people went through the
//! exception: the operator types a phrase naming the token serial and key id, both
//! confirm. The exception is recorded in the transcript with those confirmations and what
//! was found, the half is removed with `C_DestroyObject`, and the key is generated again.
//! Anything else on the token stops the ceremony with a message naming what is there.

use super::error::EngineError;
use super::gates::Gate;
use super::prompt::{Challenge, Role};
use super::run::Engine;
use super::transcript::RecordKind;
use crate::checklist::model::KeySpec;
use crate::hsm::KeyObject;
use serde::Serialize;

/// A lone half of the key a step announced, found on its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HalfMade {
    /// The step, by index and id.
    pub index: usize,
    pub step: String,
    pub serial: String,
    /// CKA_ID, hex.
    pub id: String,
    pub label: String,
    /// What is on the token, in words.
    pub found: String,
}

impl HalfMade {
    /// What the operator types to allow the removal.
    pub fn phrase(&self) -> String {
        format!("remove half key {} from token {}", self.id, self.serial)
    }

    /// The inputs the exception needs, asked before the step's own.
    pub fn gates(&self) -> Vec<Gate> {
        vec![
            Gate::TypeBack(
                Role::Operator,
                Challenge::Authorise {
                    phrase: self.phrase(),
                },
            ),
            Gate::Confirm(Role::Operator),
            Gate::Confirm(Role::Witness),
        ]
    }
}

impl Engine {
    /// Deals with the key objects found on the token before a generation, when some of
    /// them lack their other half. Returns Ok once an authorised half was removed.
    pub(super) fn clear_half_made(
        &mut self,
        key: &str,
        spec: &KeySpec,
        session_token: &str,
        objects: &[KeyObject],
    ) -> Result<(), EngineError> {
        let serial = self.session(session_token)?.serial().to_string();
        let found = HalfMade {
            index: self.next,
            step: self.step_id(self.next),
            serial: serial.clone(),
            id: spec.id.to_lowercase(),
            label: spec.label.clone(),
            found: describe(objects),
        };
        let id = spec.id_bytes();
        let named = |o: &&KeyObject| o.id == id && o.label == spec.label;
        let pieces = objects
            .iter()
            .all(|o| (o.unnamed() || named(&o)) && o.curve.is_none_or(|c| c == spec.curve));
        // At most one object of each half carries the key's names: a whole named pair
        // is a key, not a half.
        let named_halves: Vec<_> = objects.iter().filter(named).map(|o| o.half).collect();
        let whole_pair = named_halves.len() > 1;
        let announced = self
            .interrupted
            .as_ref()
            .is_some_and(|i| i.matches(self.next, key, &serial, spec));
        if !pieces || whole_pair || !announced {
            return Err(unknown(&serial, objects));
        }
        if self.exception_authorised.as_ref() != Some(&found) {
            self.half_made = Some(found.clone());
            return Err(EngineError::HalfMadeKey {
                serial,
                found: found.found.clone(),
                phrase: found.phrase(),
            });
        }
        self.record_exception(&found)?;
        for object in objects {
            self.session(session_token)?.destroy_half(object)?;
        }
        self.half_made = None;
        self.exception_authorised = None;
        Ok(())
    }

    fn record_exception(&mut self, found: &HalfMade) -> Result<(), EngineError> {
        let body = serde_json::json!({
            "index": found.index,
            "id": found.step,
            "exception": "half-made key removed",
            "token_serial": found.serial,
            "key_id": found.id,
            "label": found.label,
            "found": found.found,
            "phrase": found.phrase(),
            "confirmed_by": self.confirmations,
            "at": super::clock::now_rfc3339(),
        });
        self.transcript.append(RecordKind::Exception, body)?;
        Ok(())
    }
}

/// The key objects in one line.
fn describe(objects: &[KeyObject]) -> String {
    objects
        .iter()
        .map(KeyObject::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

fn unknown(serial: &str, objects: &[KeyObject]) -> EngineError {
    EngineError::UnknownKey {
        serial: serial.to_string(),
        found: describe(objects),
    }
}

/// Whether `objects` hold what a cut-short generation leaves: a lone half, or an
/// object without id and label.
pub(super) fn has_pieces(objects: &[KeyObject]) -> bool {
    objects.iter().any(KeyObject::unnamed) || !crate::hsm::lone_halves(objects).is_empty()
}
