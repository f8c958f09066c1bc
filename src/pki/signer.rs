//! The signing seam: rcgen's `PublicKeyData` + `SigningKey` over a `&dyn RemoteKey`.
//!
//! rcgen hands over the DER to-be-signed bytes; the adapter applies the P-521 OID fixup
//! (see `der`), hashes with the curve's digest, asks the key to sign the digest and
//! DER-encodes the raw `r || s`. rcgen's only error for an external key is
//! `RemoteKeyError`, so the adapter keeps the underlying text for `PkiError` to report.

use std::cell::RefCell;

use rcgen::{PublicKeyData, SignatureAlgorithm, SigningKey};

use super::curve::{digest, raw_to_der};
use super::der::{Fixup, rcgen_stand_in};
use super::{Curve, RemoteKey};

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
        RemoteSigner { key, fixup, failure: RefCell::new(None) }
    }

    /// The error text behind rcgen's `RemoteKeyError`, if signing failed.
    pub fn failure(&self) -> Option<String> {
        self.failure.borrow().clone()
    }

    fn sign_inner(&self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let curve = self.key.curve();
        let tbs = self.fixup.tbs(msg).map_err(|e| format!("P-521 OID fixup: {e}"))?;
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
