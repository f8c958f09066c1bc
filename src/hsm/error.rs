//! The HSM layer's error type: each variant names the PKCS#11 function or the check
//! that failed, and says what state the token is in. A PKCS#11 failure is shown as the
//! function, the `CKR_` name and one sentence ([`super::ckr`]), never as the standard's
//! paragraph.

use super::ckr;
use super::module::PinFlags;
use cryptoki::error::{Error as CkError, RvError};

#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("loading PKCS#11 module {path}: {}", ckr::describe(.error))]
    Load { path: String, error: CkError },
    /// A PKCS#11 call failed.
    #[error("{op} failed: {}", ckr::describe(.error))]
    Pkcs11 { op: &'static str, error: CkError },
    /// A PKCS#11 call on a known token failed.
    #[error("{op} on token {serial} failed: {}", ckr::describe(.error))]
    TokenCall {
        op: &'static str,
        serial: String,
        error: CkError,
    },
    #[error(
        "no token with serial {serial} is plugged in (present: {present}); plug it in and try again"
    )]
    TokenNotFound { serial: String, present: String },
    #[error(
        "{op} on token {serial}: wrong {who} PIN (CKR_PIN_INCORRECT); {state}. Nothing was retried."
    )]
    PinIncorrect {
        op: &'static str,
        serial: String,
        who: &'static str,
        /// The user-PIN flags after the attempt (all clear for an SO PIN: the
        /// SmartCard-HSM reports no SO-PIN counters through PKCS#11).
        flags: PinFlags,
        /// What is known about the tries left, in words.
        state: String,
    },
    #[error(
        "{op} on token {serial}: the {who} PIN is locked (CKR_PIN_LOCKED); the token refuses every login with it"
    )]
    PinLocked {
        op: &'static str,
        serial: String,
        who: &'static str,
    },
    #[error(
        "token {serial} already holds a key with {what}; refusing to generate another (keys are never replaced)"
    )]
    KeyExists { serial: String, what: String },
    #[error("token {serial}: key {label} (id {id}) failed the read-back check: {problem}")]
    UnsafeKey {
        serial: String,
        label: String,
        id: String,
        problem: String,
    },
    #[error("token {serial}: unexpected public key data: {problem}")]
    BadPublicKey { serial: String, problem: String },
    #[error("token {serial}: {problem}")]
    Token { serial: String, problem: String },
    #[error(
        "token {serial} stopped answering during {op} ({}) and is no longer seen: it was pulled out or lost power",
        ckr::ckr_name_of(.error)
    )]
    Pulled {
        op: &'static str,
        serial: String,
        error: CkError,
    },
}

impl HsmError {
    /// Wraps a cryptoki error with the operation it came from.
    pub fn op(op: &'static str) -> impl FnOnce(CkError) -> HsmError {
        move |error| HsmError::Pkcs11 { op, error }
    }

    /// Like [`op`](Self::op), but names the token when it was pulled out.
    pub fn on(op: &'static str, serial: &str) -> impl FnOnce(CkError) -> HsmError {
        let serial = serial.to_string();
        move |error| {
            if is_pulled(&error) {
                HsmError::Pulled { op, serial, error }
            } else {
                HsmError::TokenCall { op, serial, error }
            }
        }
    }

    /// The PKCS#11 return code behind this error, if there is one.
    pub fn rv(&self) -> Option<RvError> {
        match self {
            HsmError::Load { error, .. }
            | HsmError::Pkcs11 { error, .. }
            | HsmError::TokenCall { error, .. }
            | HsmError::Pulled { error, .. } => ckr::rv_of(error),
            _ => None,
        }
    }

    /// True when the token went away: the step can be redone after it is plugged in.
    pub fn token_gone(&self) -> bool {
        matches!(
            self,
            HsmError::Pulled { .. } | HsmError::TokenNotFound { .. }
        )
    }
}

/// Return codes that mean the token (or its reader) is gone.
pub fn is_pulled(error: &CkError) -> bool {
    matches!(
        ckr::rv_of(error),
        Some(
            RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceError
                | RvError::TokenNotRecognized
        )
    )
}
