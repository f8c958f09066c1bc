//! The inputs each step kind needs before it acts, in the order they are asked for.
//!
//! Confirmations come first (both people read the step), then typed confirmations that
//! name what a destructive step affects, and PINs last, so that a PIN is held for as
//! short a time as possible and used at once.

use super::prompt::{Challenge, Hashed, PinKind, Role};
use crate::checklist::model::{Checklist, StepAction};

/// One input the current step still needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Participant(Role),
    ChooseToken(String),
    /// The witness types the end of the chosen serial (the challenge is made once the
    /// token is chosen).
    SerialSuffix,
    TypeBack(Role, Challenge),
    Confirm(Role),
    /// A PIN for a token initialisation.
    InitPin(String, PinKind),
    /// The user PIN to log in to a token that has no open session.
    Login(String),
    /// The user PIN for a key generation, asked even when a session is open: after
    /// generating, the module is re-opened to read the new key back as the token reports
    /// it, and the step logs in again with this PIN (held until the step ends).
    KeyPin(String),
}

/// Characters of the serial the witness types back.
pub const SERIAL_SUFFIX: usize = 4;

/// The gates of a step, given what is known when the step starts.
pub fn plan(
    checklist: &Checklist,
    action: &StepAction,
    has_session: &dyn Fn(&str) -> bool,
    token_has_objects: Option<(String, String)>,
    fingerprint: Option<(String, Vec<usize>)>,
) -> Vec<Gate> {
    let both = [Gate::Confirm(Role::Operator), Gate::Confirm(Role::Witness)];
    let mut gates = Vec::new();
    let authorise =
        |phrase: String| Gate::TypeBack(Role::Operator, Challenge::Authorise { phrase });
    let login = |token: &str, gates: &mut Vec<Gate>| {
        if !has_session(token) {
            gates.push(Gate::Login(token.to_string()));
        }
    };
    match action {
        StepAction::Instruction
        | StepAction::Preflight
        | StepAction::ExportSsh { .. }
        | StepAction::ExportBundle => gates.extend(both),
        StepAction::IdentifyToken { token } => {
            gates.push(Gate::ChooseToken(token.clone()));
            gates.push(Gate::SerialSuffix);
            gates.extend(both);
        }
        StepAction::InitToken { token } => {
            gates.extend(both);
            if let Some((serial, label)) = token_has_objects {
                gates.push(Gate::TypeBack(
                    Role::Operator,
                    Challenge::EraseToken { serial, label },
                ));
            }
            let label = checklist
                .tokens
                .get(token)
                .map(|t| t.label.clone())
                .unwrap_or_default();
            gates.push(authorise(format!("initialise {label}")));
            for kind in [PinKind::CurrentSo, PinKind::NewSo, PinKind::NewUser] {
                gates.push(Gate::InitPin(token.clone(), kind));
            }
        }
        StepAction::GenerateKey { key } => {
            gates.extend(both);
            if let Some(spec) = checklist.keys.iter().find(|k| &k.name == key) {
                gates.push(authorise(format!("generate {}", spec.label)));
                gates.push(Gate::KeyPin(spec.token.clone()));
            }
        }
        StepAction::SelfSign { certificate } | StepAction::SignCertificate { certificate } => {
            gates.extend(both);
            gates.push(authorise(format!("sign {certificate}")));
            if let Some(token) = checklist.signing_token(certificate) {
                login(&token, &mut gates);
            }
        }
        StepAction::SignCrl => {
            gates.extend(both);
            gates.push(authorise("sign crl".to_string()));
            let issuer = checklist
                .crl
                .as_ref()
                .map(|c| c.issuer.clone())
                .unwrap_or_default();
            if let Some(token) = checklist.signing_token(&issuer) {
                login(&token, &mut gates);
            }
        }
        StepAction::RecordFingerprint { .. } => {
            if let Some((fingerprint, positions)) = fingerprint {
                gates.push(Gate::TypeBack(
                    Role::Witness,
                    Challenge::FingerprintGroups {
                        fingerprint,
                        positions,
                        of: Hashed::Certificate,
                    },
                ));
            }
            gates.extend(both);
        }
    }
    gates
}
