//! The signing seam: rcgen's `PublicKeyData` + `SigningKey` over a `&dyn RemoteKey`.
//!
//! rcgen hands over the DER to-be-signed bytes; the adapter applies the P-521 OID fixup
//! (see `der`), hashes with the curve's digest, asks the key to sign the digest and
//! DER-encodes the raw `r || s`. rcgen's only error for an external key is
//! `RemoteKeyError`, so the adapter keeps the underlying text for `PkiError` to report.
//!
//! Also the two rcgen calls every issuance makes (self-signed, signed by an issuer), run
//! once with the throwaway key and once with the HSM key.

use std::cell::RefCell;

use rcgen::{CertificateParams, Issuer, PublicKeyData, SignatureAlgorithm, SigningKey};

use super::curve::{digest, raw_to_der};
use super::der::{Fixup, rcgen_stand_in};
use super::{Curve, PkiError, RemoteKey};

/// The rcgen algorithm written for `curve` (P-521 goes in under P-384's, then `der` fixes it).
pub(crate) fn rcgen_algorithm(curve: Curve) -> &'static SignatureAlgorithm {
    match rcgen_stand_in(curve) {
        Curve::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        _ => &rcgen::PKCS_ECDSA_P384_SHA384,
    }
}

/// A `RemoteKey` as an rcgen signer.
pub(crate) struct RemoteSigner<'a> {
    key: &'a dyn RemoteKey,
    fixup: Fixup,
    failure: RefCell<Option<String>>,
}

impl<'a> RemoteSigner<'a> {
    pub fn new(key: &'a dyn RemoteKey, fixup: Fixup) -> Self {
        RemoteSigner {
            key,
            fixup,
            failure: RefCell::new(None),
        }
    }

    /// The error text behind rcgen's `RemoteKeyError`, if signing failed.
    pub fn failure(&self) -> Option<String> {
        self.failure.borrow().clone()
    }

    fn sign_inner(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let curve = self.key.curve();
        let tbs = self
            .fixup
            .tbs(msg)
            .map_err(|e| format!("P-521 OID fixup: {e}"))?;
        let raw = self.key.sign_digest(&digest(curve, &tbs))?;
        raw_to_der(curve, &raw)
    }
}

impl PublicKeyData for RemoteSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.key.public_point()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        rcgen_algorithm(self.key.curve())
    }
}

impl SigningKey for RemoteSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.sign_inner(msg).map_err(|e| {
            *self.failure.borrow_mut() = Some(e);
            rcgen::Error::RemoteKeyError
        })
    }
}

/// The public half of a key that is certified but does not sign here.
pub(crate) struct PublicPoint<'a> {
    pub point: &'a [u8],
    pub curve: Curve,
}

impl PublicKeyData for PublicPoint<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        rcgen_algorithm(self.curve)
    }
}

/// How an rcgen build failed: in the key's signing (with its text) or in rcgen itself.
pub(crate) enum BuildFailure {
    Signer(String),
    Rcgen(String),
    Fixup(String),
}

impl BuildFailure {
    /// As an error of the throwaway (lint) pass: the HSM was not involved.
    pub fn lint_pass(self, what: &'static str) -> PkiError {
        match self {
            BuildFailure::Signer(d) => PkiError::Build {
                what,
                detail: format!("throwaway lint key: {d}"),
            },
            BuildFailure::Rcgen(d) => PkiError::Build { what, detail: d },
            BuildFailure::Fixup(d) => PkiError::Der { what, detail: d },
        }
    }

    /// As an error of the real pass.
    pub fn real_pass(self, what: &'static str) -> PkiError {
        match self {
            BuildFailure::Signer(detail) => PkiError::Sign { what, detail },
            BuildFailure::Rcgen(d) => PkiError::Build { what, detail: d },
            BuildFailure::Fixup(d) => PkiError::Der { what, detail: d },
        }
    }
}

pub(crate) fn signer_failure(signer: &RemoteSigner, e: rcgen::Error) -> BuildFailure {
    match signer.failure() {
        Some(text) => BuildFailure::Signer(text),
        None => BuildFailure::Rcgen(e.to_string()),
    }
}

pub(crate) fn self_signed(
    params: &CertificateParams,
    key: &dyn RemoteKey,
    fixup: Fixup,
) -> Result<Vec<u8>, BuildFailure> {
    let signer = RemoteSigner::new(key, fixup);
    let cert = params
        .self_signed(&signer)
        .map_err(|e| signer_failure(&signer, e))?;
    fixup
        .signed(cert.der().to_vec())
        .map_err(BuildFailure::Fixup)
}

pub(crate) fn signed_by(
    params: &CertificateParams,
    subject: &impl PublicKeyData,
    issuer_params: &CertificateParams,
    key: &dyn RemoteKey,
    fixup: Fixup,
) -> Result<Vec<u8>, BuildFailure> {
    let issuer = Issuer::from_params(issuer_params, RemoteSigner::new(key, fixup));
    let cert = params
        .signed_by(subject, &issuer)
        .map_err(|e| signer_failure(issuer.key(), e))?;
    fixup
        .signed(cert.der().to_vec())
        .map_err(BuildFailure::Fixup)
}
