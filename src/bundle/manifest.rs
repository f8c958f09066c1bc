//! `bundle.json`: the machine-readable description of a bundle (format version 1).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always "ceremony-bundle".
    pub format: String,
    pub version: u32,
    /// The ceremony kind (root, intermediate-rotation, ...).
    pub kind: String,
    pub ceremony: String,
    /// True for a drill on throwaway tokens; `ceremonyd` refuses those unless told.
    pub drill: bool,
    pub checklist_sha256: String,
    pub ca_url: String,
    /// When the ceremony started and when the bundle was written (UTC, RFC 3339).
    pub started: String,
    pub exported: String,
    /// `operator` and `witness`, each with name and initials.
    pub participants: BTreeMap<String, Participant>,
    pub tokens: Vec<BundleToken>,
    pub keys: Vec<BundleKey>,
    pub certificates: Vec<BundleCert>,
    pub crl: Option<BundleCrl>,
    pub ssh: Vec<BundleSsh>,
    pub transcript: TranscriptRef,
    /// The ceremony this one continues (rotations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousRef>,
    /// Certificates of the previous bundle that this one replaces (an old intermediate
    /// after a rotation). They stay valid unless the CRL revokes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<SupersededCert>,
    /// Paper size of `fingerprint-sheet.pdf` (the checklist's `paper`); `verify`
    /// renders the sheet again on it. Absent in bundles written before the sheet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<crate::checklist::Paper>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub name: String,
    pub initials: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleToken {
    pub role: String,
    pub serial: String,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    /// RFC 7512 token URI: `pkcs11:serial=...`.
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleKey {
    pub name: String,
    pub token: String,
    pub serial: String,
    /// CKA_ID, lowercase hex.
    pub id: String,
    pub label: String,
    pub curve: String,
    /// Uncompressed SEC1 public point, lowercase hex.
    pub public_key: String,
    /// RFC 7512 object URI as step-ca reads it: `pkcs11:id=%01;object=<label>`.
    pub uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleCert {
    pub name: String,
    pub file: String,
    pub key: String,
    pub issuer: Option<String>,
    pub subject: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the DER, as `step certificate fingerprint` prints it.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleCrl {
    pub file: String,
    pub issuer: String,
    pub number: u64,
    pub this_update: String,
    pub next_update: String,
    pub sha256: String,
    /// What it revokes (empty for a CRL that revokes nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<RevokedRef>,
}

/// Where a rotation started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousRef {
    pub kind: String,
    /// The previous bundle's seal (SHA-256 of its `SHA256SUMS`).
    pub seal: String,
    pub root_fingerprint: String,
}

/// A certificate of the previous bundle that this ceremony replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupersededCert {
    pub name: String,
    pub subject: String,
    pub serial: String,
    pub not_after: String,
    pub sha256: String,
    /// Whether this bundle's CRL revokes it.
    pub revoked: bool,
}

/// A certificate the CRL revokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedRef {
    /// Serial, lowercase hex.
    pub serial: String,
    /// RFC 5280 reason, e.g. `key-compromise`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSsh {
    /// `user` or `host`.
    pub role: String,
    pub file: String,
    pub key: String,
    /// `SHA256:...` as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptRef {
    pub file: String,
    /// SHA-256 of the transcript's last line.
    pub head: String,
}

/// `pkcs11:serial=<serial>`, percent-encoding what RFC 7512 requires.
pub fn token_uri(serial: &str) -> String {
    format!("pkcs11:serial={}", pct(serial.as_bytes(), false))
}

/// `pkcs11:id=%01;object=<label>`; the id is always percent-encoded, byte by byte, so
/// that smallstep and RFC 7512 readers agree on it.
pub fn key_uri(id: &[u8], label: &str) -> String {
    format!(
        "pkcs11:id={};object={}",
        pct(id, true),
        pct(label.as_bytes(), false)
    )
}

fn pct(bytes: &[u8], all: bool) -> String {
    bytes
        .iter()
        .map(|&b| {
            let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
            if unreserved && !all {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_as_step_ca_reads_them() {
        assert_eq!(
            key_uri(&[1], "ccat-root-key"),
            "pkcs11:id=%01;object=ccat-root-key"
        );
        assert_eq!(
            key_uri(&[0x0a, 0xff], "a b"),
            "pkcs11:id=%0A%FF;object=a%20b"
        );
        assert_eq!(token_uri("DENK0104512"), "pkcs11:serial=DENK0104512");
    }
}
