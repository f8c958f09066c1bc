//! Per-curve facts and arithmetic: the hash that goes with each curve, OIDs, point checks,
//! ECDSA signature encoding and verification (RustCrypto), and [`SoftKey`], the throwaway
//! software key used to lint before the HSM signs.

use sha2::{Digest, Sha256, Sha384, Sha512};

use super::{Curve, PkiError, RemoteKey};

/// ecdsa-with-SHA256/384/512 (RFC 5758) as dotted strings.
pub(crate) fn sig_oid(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "1.2.840.10045.4.3.2",
        Curve::P384 => "1.2.840.10045.4.3.3",
        Curve::P521 => "1.2.840.10045.4.3.4",
    }
}

/// The named-curve OID in an id-ecPublicKey SubjectPublicKeyInfo.
pub(crate) fn curve_oid(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "1.2.840.10045.3.1.7",
        Curve::P384 => "1.3.132.0.34",
        Curve::P521 => "1.3.132.0.35",
    }
}

pub(crate) const EC_PUBLIC_KEY_OID: &str = "1.2.840.10045.2.1";

pub(crate) fn curve_from_oid(oid: &str) -> Option<Curve> {
    [Curve::P256, Curve::P384, Curve::P521]
        .into_iter()
        .find(|c| curve_oid(*c) == oid)
}

pub(crate) fn curve_from_sig_oid(oid: &str) -> Option<Curve> {
    [Curve::P256, Curve::P384, Curve::P521]
        .into_iter()
        .find(|c| sig_oid(*c) == oid)
}

/// Bytes of one coordinate.
pub(crate) fn field_len(curve: Curve) -> usize {
    match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
        Curve::P521 => 66,
    }
}

/// The digest the curve is paired with: SHA-256 / SHA-384 / SHA-512.
pub(crate) fn digest(curve: Curve, msg: &[u8]) -> Vec<u8> {
    match curve {
        Curve::P256 => Sha256::digest(msg).to_vec(),
        Curve::P384 => Sha384::digest(msg).to_vec(),
        Curve::P521 => Sha512::digest(msg).to_vec(),
    }
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Why `point` is not an uncompressed point on `curve`, if it is not.
pub(crate) fn point_problem(curve: Curve, point: &[u8]) -> Option<String> {
    let want = 1 + 2 * field_len(curve);
    if point.len() != want {
        return Some(format!("{} bytes, expected {want}", point.len()));
    }
    if point[0] != 0x04 {
        return Some(format!(
            "first byte {:#04x}, expected 0x04 (uncompressed)",
            point[0]
        ));
    }
    let on_curve = match curve {
        Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
        Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
        Curve::P521 => p521::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok(),
    };
    (!on_curve).then(|| "not a point on the curve".to_string())
}

pub(crate) fn check_point(curve: Curve, point: &[u8], what: &'static str) -> Result<(), PkiError> {
    match point_problem(curve, point) {
        None => Ok(()),
        Some(reason) => Err(PkiError::InvalidPoint {
            what,
            curve,
            reason,
        }),
    }
}

/// Encode a raw `r || s` signature as a DER ECDSA-Sig-Value, checking its size and range.
pub(crate) fn raw_to_der(curve: Curve, raw: &[u8]) -> Result<Vec<u8>, String> {
    let want = 2 * field_len(curve);
    if raw.len() != want {
        return Err(format!(
            "raw signature is {} bytes, expected {want} (r || s for {})",
            raw.len(),
            curve.name()
        ));
    }
    let bad = |_| format!("r or s out of range for {}", curve.name());
    Ok(match curve {
        Curve::P256 => p256::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .to_bytes()
            .into(),
        Curve::P384 => p384::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .to_bytes()
            .into(),
        Curve::P521 => p521::ecdsa::Signature::from_slice(raw)
            .map_err(bad)?
            .to_der()
            .to_bytes()
            .into(),
    })
}

/// Whether `key` holds the private half of `point`: it signs `challenge` (hashed with
/// the curve's digest) and the signature verifies under `point`. An error means the key
/// could not sign at all.
pub fn proves_possession(
    key: &dyn RemoteKey,
    point: &[u8],
    challenge: &[u8],
) -> Result<bool, String> {
    let curve = key.curve();
    let raw = key.sign_digest(&digest(curve, challenge))?;
    Ok(raw_to_der(curve, &raw).is_ok_and(|der| verify(curve, point, challenge, &der)))
}

/// Verify a DER ECDSA signature over `msg` (hashed with the curve's digest) under `point`.
pub(crate) fn verify(curve: Curve, point: &[u8], msg: &[u8], der_sig: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let prehash = digest(curve, msg);
    macro_rules! check {
        ($m:ident) => {{
            let (Ok(key), Ok(sig)) = (
                $m::ecdsa::VerifyingKey::from_sec1_bytes(point),
                $m::ecdsa::Signature::from_der(der_sig),
            ) else {
                return false;
            };
            key.verify_prehash(&prehash, &sig).is_ok()
        }};
    }
    match curve {
        Curve::P256 => check!(p256),
        Curve::P384 => check!(p384),
        Curve::P521 => check!(p521),
    }
}

enum SoftInner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

/// A software ECDSA key that lives only in memory: the throwaway key that signs the
/// to-be-signed content for linting, and the stand-in for an HSM in tests.
///
/// Never use it for a real CA: its private key is not protected by anything.
pub struct SoftKey {
    inner: SoftInner,
    point: Vec<u8>,
}

impl SoftKey {
    /// A fresh random key from the operating system's RNG.
    pub fn generate(curve: Curve) -> Result<SoftKey, PkiError> {
        let mut bytes = vec![0u8; field_len(curve)];
        for _ in 0..64 {
            getrandom::fill(&mut bytes).map_err(|e| PkiError::Random(e.to_string()))?;
            if curve == Curve::P521 {
                bytes[0] &= 0x01; // the P-521 order is just below 2^521
            }
            if let Some(key) = Self::from_scalar(curve, &bytes) {
                return Ok(key);
            }
        }
        Err(PkiError::Random("no valid scalar in 64 draws".into()))
    }

    /// A key from a big-endian scalar of exactly the field length; `None` if out of range.
    pub fn from_scalar(curve: Curve, scalar: &[u8]) -> Option<SoftKey> {
        macro_rules! make {
            ($m:ident, $v:ident) => {{
                let key = $m::ecdsa::SigningKey::from_slice(scalar).ok()?;
                let point = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
                SoftKey {
                    inner: SoftInner::$v(key),
                    point,
                }
            }};
        }
        Some(match curve {
            Curve::P256 => make!(p256, P256),
            Curve::P384 => make!(p384, P384),
            Curve::P521 => make!(p521, P521),
        })
    }
}

impl RemoteKey for SoftKey {
    fn curve(&self) -> Curve {
        match self.inner {
            SoftInner::P256(_) => Curve::P256,
            SoftInner::P384(_) => Curve::P384,
            SoftInner::P521(_) => Curve::P521,
        }
    }

    fn public_point(&self) -> &[u8] {
        &self.point
    }

    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let e = |e: p256::ecdsa::Error| format!("software ECDSA: {e}");
        Ok(match &self.inner {
            SoftInner::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign_prehash(digest).map_err(e)?;
                s.to_bytes().to_vec()
            }
            SoftInner::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign_prehash(digest).map_err(e)?;
                s.to_bytes().to_vec()
            }
            SoftInner::P521(k) => {
                let s: p521::ecdsa::Signature = k.sign_prehash(digest).map_err(e)?;
                s.to_bytes().to_vec()
            }
        })
    }
}

/// A key that reports one public point but signs with another key: the root's lint pass
/// uses it so that the throwaway-signed TBS carries the HSM's public key, byte for byte.
pub(crate) struct Impostor<'a> {
    pub point: &'a [u8],
    pub signer: &'a SoftKey,
}

impl RemoteKey for Impostor<'_> {
    fn curve(&self) -> Curve {
        self.signer.curve()
    }
    fn public_point(&self) -> &[u8] {
        self.point
    }
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, String> {
        self.signer.sign_digest(digest)
    }
}
