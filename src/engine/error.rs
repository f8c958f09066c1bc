//! The engine's error type. Each variant says what failed and, where it matters, the
//! state the tokens and outputs are in and the safe next action.

use super::transcript::TranscriptError;
use crate::hsm::HsmError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("transcript: {0}")]
    Transcript(#[from] TranscriptError),
    #[error(transparent)]
    Hsm(#[from] HsmError),
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    #[error("bundle: {0}")]
    Bundle(#[from] crate::bundle::BundleError),
    #[error(
        "the working folder's transcript belongs to checklist {found}, not to this one ({expected}); use another working folder or the checklist it was started with"
    )]
    WrongChecklist { expected: String, found: String },
    #[error(
        "the working folder's transcript was made in {found} mode and cannot be resumed in {expected} mode"
    )]
    WrongMode { expected: String, found: String },
    #[error("transcript record {seq} does not fit this checklist: {problem}")]
    Replay { seq: u64, problem: String },
    #[error("that answer does not fit the question ({0}); nothing was done")]
    UnexpectedAnswer(String),
    #[error("{0}")]
    Rejected(String),
    #[error(
        "this machine is not offline: {0}. A ceremony does not start with a network; unplug or disable it and confirm again"
    )]
    NetworkUp(String),
    #[error(
        "token {serial} holds {found} that the transcript does not record. Nothing was generated. Find out where it came from before going on; never delete keys to make a step pass"
    )]
    UnknownKey { serial: String, found: String },
    #[error(
        "token {serial} holds only {found}: the half a key generation cut short left, of the key this step announced before the program stopped; nothing has used it. The exception procedure removes it and generates the key again: the operator types `{phrase}`, then both confirm"
    )]
    HalfMadeKey {
        serial: String,
        found: String,
        phrase: String,
    },
    #[error(
        "token {serial}: key {label} (id {id}) is not the key the transcript recorded ({problem}). Stop: this is not the token or key of this ceremony"
    )]
    KeyMismatch {
        serial: String,
        label: String,
        id: String,
        problem: String,
    },
    #[error("previous ceremony: {0}")]
    Previous(String),
    #[error(
        "token {found} is not the {role} token of the previous ceremony, which has serial {expected}; choose that one"
    )]
    NotThePreviousToken {
        role: String,
        expected: String,
        found: String,
    },
    #[error("injected fault: the program stopped {0}, as a power cut would")]
    InjectedCrash(&'static str),
    #[error("the ceremony is finished; there is nothing more to do")]
    Finished,
}
