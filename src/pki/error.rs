//! `PkiError`: every way issuance, signing or parsing in `pki` can fail.
//!
//! Variants name the operation that failed and the object it was working on (`what`, e.g.
//! "root certificate", "CRL"), so an operator can tell whether anything was signed yet.
//! Errors before [`PkiError::Sign`] mean the HSM was never asked to sign.

use super::Curve;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The serial number bytes from the token's RNG are unusable.
    #[error("serial number: {0}")]
    Serial(String),

    /// not_before/not_after cannot be computed or do not nest in the issuer's validity.
    #[error("validity of the {what}: {reason}")]
    Validity { what: &'static str, reason: String },

    /// A public key point is not a valid uncompressed point on the curve it claims.
    #[error("public key of the {what}: not a valid uncompressed {} point ({reason})", curve.name())]
    InvalidPoint {
        what: &'static str,
        curve: Curve,
        reason: String,
    },

    /// A subject field of the checklist cannot be encoded.
    #[error("subject of the {what}: {reason}")]
    Subject { what: &'static str, reason: String },

    /// The issuer certificate given could not be parsed or lacks what issuing needs.
    #[error("issuer certificate for the {what}: {reason}")]
    Issuer { what: &'static str, reason: String },

    /// The key offered for signing is not the key of the issuer certificate.
    #[error("issuer key for the {what} does not match the issuer certificate: {reason}")]
    IssuerKeyMismatch { what: &'static str, reason: String },

    /// rcgen refused to build the to-be-signed structure (nothing was signed by the HSM).
    #[error("building the {what}: {detail}")]
    Build { what: &'static str, detail: String },

    /// The to-be-signed content failed the lint; the HSM was not asked to sign.
    #[error("lint of the {what} before signing found {} problem(s): {}", problems.len(), problems.join("; "))]
    Lint {
        what: &'static str,
        problems: Vec<String>,
    },

    /// The HSM (through `RemoteKey::sign_digest`) failed or returned an unusable signature.
    #[error("signing the {what} with the HSM key: {detail}")]
    Sign { what: &'static str, detail: String },

    /// The signed object could not be parsed back.
    #[error("re-reading the signed {what}: {detail}")]
    Reparse { what: &'static str, detail: String },

    /// After signing: the signature does not verify under the issuer's public key.
    #[error(
        "after signing: the signature on the {what} does not verify with the issuer's public key"
    )]
    SignatureInvalid { what: &'static str },

    /// After signing: the signed TBS bytes differ from the linted ones.
    #[error(
        "after signing: the to-be-signed bytes of the {what} differ from the linted ones ({detail})"
    )]
    TbsMismatch { what: &'static str, detail: String },

    /// After signing: the certified public key is not the point read back from the token.
    #[error("after signing: the public key in the {what} is not the key read back from the token")]
    PublicKeyMismatch { what: &'static str },

    /// A DER structure did not have the shape expected (internal re-encoding step).
    #[error("DER structure of the {what}: {detail}")]
    Der { what: &'static str, detail: String },

    /// A fingerprint string could not be read.
    #[error("fingerprint {input:?}: {reason}")]
    Fingerprint { input: String, reason: String },

    /// An OpenSSH public key line could not be read.
    #[error("OpenSSH public key line: {0}")]
    SshKey(String),

    /// The operating system's random number generator failed (throwaway key generation).
    #[error("generating the throwaway lint key: {0}")]
    Random(String),
}
