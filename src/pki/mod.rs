//! Certificates, CRLs and SSH CA keys: profiles, lint-before-sign, issuance and checks.
//!
//! `pki` never knows where a key lives: it signs through [`RemoteKey`], which the HSM
//! layer (or a test's software key) implements. Certificates are built with rcgen,
//! checked with x509-parser, and signatures verified with the RustCrypto curves.
//!
//! Nothing is signed unchecked: [`issue_root`], [`issue_intermediate`] and [`sign_crl`]
//! first sign the to-be-signed content with a throwaway [`SoftKey`] and lint it, then
//! sign the same bytes through the `RemoteKey`, verify the signature, compare the TBS
//! byte for byte and the certified public key bit for bit. [`check_root`],
//! [`check_intermediate`] and [`check_crl`] re-check the published files offline.
//!
//! Files: `profile` (the step-ca CA profiles as rcgen parameters), `signer` (the rcgen
//! `SigningKey` seam), `der` (the P-521 OID fixup rcgen needs without a crypto backend),
//! `curve` (hashes, OIDs, verification, the throwaway key), `inspect` and `lint` (reading
//! back and linting), `issuer` (facts of a CA certificate to sign under), `issue`, `crl`,
//! `check`, `fingerprint` + `pgp_words`, `ssh`.

mod check;
mod crl;
mod curve;
mod der;
mod error;
mod fingerprint;
mod inspect;
mod issue;
mod issuer;
mod lint;
pub mod pgp_words;
mod profile;
mod signer;
mod ssh;
#[cfg(test)]
mod tests;

pub use crate::checklist::model::Curve;
pub use check::{
    CertFacts, CrlFacts, RevokedEntry, check_crl, check_intermediate, check_root, read_certificate,
};
pub use crl::{IssuedCrl, RevocationReason, Revoked, sign_crl};
pub use curve::{SoftKey, proves_possession};
pub use error::PkiError;
pub use fingerprint::Fingerprint;
pub use issue::{Issued, issue_intermediate, issue_root};
pub use profile::validity;
pub use ssh::{
    parse_ssh_public_key_line, ssh_fingerprint, ssh_key_type, ssh_public_key_blob,
    ssh_public_key_line,
};

/// An ECDSA key whose private half lives elsewhere (a PKCS#11 token).
///
/// `pki` hashes the to-be-signed bytes itself (SHA-256/384/512 by curve) and asks the key
/// to sign the digest, as `CKM_ECDSA` does.
pub trait RemoteKey {
    fn curve(&self) -> Curve;
    /// The SEC1 uncompressed point `04 || X || Y`.
    fn public_point(&self) -> &[u8];
    /// Sign a digest; returns the raw `r || s` signature the token produced.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, String>;
}
