//! OpenSSH public keys of the SSH CA keys: the wire blob (RFC 5656: string algorithm,
//! string curve identifier, string Q), the `authorized_keys`-style line, the SHA256
//! fingerprint exactly as `ssh-keygen -lf` prints it, and a strict parser for verification.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use super::curve::{point_problem, sha256};
use super::{Curve, PkiError};

/// `ecdsa-sha2-nistp256` / `-nistp384` / `-nistp521`.
pub fn ssh_key_type(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "ecdsa-sha2-nistp256",
        Curve::P384 => "ecdsa-sha2-nistp384",
        Curve::P521 => "ecdsa-sha2-nistp521",
    }
}

fn curve_id(curve: Curve) -> &'static str {
    match curve {
        Curve::P256 => "nistp256",
        Curve::P384 => "nistp384",
        Curve::P521 => "nistp521",
    }
}

/// The SSH wire encoding of the public key (what step-ca's `/ssh/roots` serves in base64).
pub fn ssh_public_key_blob(curve: Curve, point: &[u8]) -> Vec<u8> {
    let mut blob = Vec::new();
    for field in [
        ssh_key_type(curve).as_bytes(),
        curve_id(curve).as_bytes(),
        point,
    ] {
        blob.extend_from_slice(&(field.len() as u32).to_be_bytes());
        blob.extend_from_slice(field);
    }
    blob
}

/// `ecdsa-sha2-nistp384 AAAA... comment` (no trailing space when `comment` is empty).
pub fn ssh_public_key_line(curve: Curve, point: &[u8], comment: &str) -> String {
    let b64 = STANDARD.encode(ssh_public_key_blob(curve, point));
    let line = format!("{} {b64}", ssh_key_type(curve));
    if comment.is_empty() {
        line
    } else {
        format!("{line} {comment}")
    }
}

/// `SHA256:` + unpadded base64 of SHA-256(blob), as `ssh-keygen -lf` prints it.
pub fn ssh_fingerprint(curve: Curve, point: &[u8]) -> String {
    format!(
        "SHA256:{}",
        STANDARD_NO_PAD.encode(sha256(&ssh_public_key_blob(curve, point)))
    )
}

/// Read an `ecdsa-sha2-nistp*` public key line back into its curve and SEC1 point.
/// The type word must agree with the blob, and the point must be on the curve.
pub fn parse_ssh_public_key_line(line: &str) -> Result<(Curve, Vec<u8>), PkiError> {
    let bad = |m: String| PkiError::SshKey(m);
    let mut words = line.split_whitespace();
    let (Some(kind), Some(b64)) = (words.next(), words.next()) else {
        return Err(bad("expected `<type> <base64> [comment]`".into()));
    };
    let curve = [Curve::P256, Curve::P384, Curve::P521]
        .into_iter()
        .find(|c| ssh_key_type(*c) == kind)
        .ok_or_else(|| {
            bad(format!(
                "key type {kind:?} is not ecdsa-sha2-nistp256/384/521"
            ))
        })?;
    let blob = STANDARD
        .decode(b64)
        .map_err(|e| bad(format!("base64: {e}")))?;
    let mut rest = blob.as_slice();
    let mut field = |name: &str| -> Result<Vec<u8>, PkiError> {
        let len_bytes: [u8; 4] = rest
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad(format!("blob truncated before {name}")))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let value = rest
            .get(4..4 + len)
            .ok_or_else(|| bad(format!("blob truncated in {name}")))?;
        rest = &rest[4 + len..];
        Ok(value.to_vec())
    };
    let algo = field("the algorithm name")?;
    let id = field("the curve name")?;
    let point = field("the public point")?;
    if algo != kind.as_bytes() {
        return Err(bad(format!(
            "blob says {:?}, line says {kind:?}",
            String::from_utf8_lossy(&algo)
        )));
    }
    if id != curve_id(curve).as_bytes() {
        return Err(bad(format!(
            "curve {:?} does not match {kind}",
            String::from_utf8_lossy(&id)
        )));
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} trailing bytes in the blob", rest.len())));
    }
    if let Some(p) = point_problem(curve, &point) {
        return Err(bad(format!("public point: {p}")));
    }
    Ok((curve, point))
}
