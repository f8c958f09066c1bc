//! The HSM layer's error type: each variant names the PKCS#11 function or the check
//! that failed, and says what state the token is in.

use super::module::PinFlags;

#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("loading PKCS#11 module {path}: {source}")]
    Load {
        path: String,
        #[source]
        source: cryptoki::error::Error,
    },
    /// A PKCS#11 call failed; cryptoki's message names the C_ function.
    #[error("{op}: {source}")]
    Pkcs11 {
        op: &'static str,
        #[source]
        source: cryptoki::error::Error,
    },
    #[error(
        "no token with serial {serial} is plugged in (present: {present}); plug it in and try again"
    )]
    TokenNotFound { serial: String, present: String },
    #[error("C_Login on token {serial}: wrong PIN; {flags}. Nothing was retried.")]
    PinIncorrect { serial: String, flags: PinFlags },
    #[error("C_Login on token {serial}: the {who} PIN is locked; the token refuses every login")]
    PinLocked { serial: String, who: &'static str },
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
}

impl HsmError {
    /// Wraps a cryptoki error with the operation it came from.
    pub fn op(op: &'static str) -> impl FnOnce(cryptoki::error::Error) -> HsmError {
        move |source| HsmError::Pkcs11 { op, source }
    }
}
