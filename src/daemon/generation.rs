//! One installed generation: `generation.json` (what it came from, which roots it trusts
//! and until when, its CRL) and the names of the files under `publish/` that `serve` and
//! the trust folder take from it.

use super::error::DaemonError;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const INFO: &str = "generation.json";
pub const CERTS: &str = "certs";
pub const CONFIG: &str = "config";
pub const PUBLISH: &str = "publish";
/// The copy of the imported bundle, for the record.
pub const BUNDLE: &str = "bundle";

/// Files under `publish/`.
pub mod publish {
    /// The current root alone.
    pub const ROOT: &str = "root_ca.crt";
    /// Every trusted root: the current one first, then replaced ones still in overlap.
    pub const ROOTS: &str = "roots.pem";
    /// Each trusted root by its SHA-256: `roots/<sha256>.crt`.
    pub const ROOTS_DIR: &str = "roots";
    pub const INTERMEDIATES: &str = "intermediates.pem";
    pub const SSH_USER: &str = "ssh_user_ca.pub";
    pub const SSH_HOST: &str = "ssh_host_ca.pub";
    pub const KNOWN_HOSTS: &str = "known_hosts";
    pub const CRL: &str = "crl.der";
    /// What goes into the trust folder, in this order.
    pub const TRUST_FILES: &[&str] = &[ROOT, ROOTS, SSH_USER, SSH_HOST, KNOWN_HOSTS];
}

/// step-ca's own names in `certs/`.
pub mod step {
    pub const ROOT: &str = "root_ca.crt";
    pub const INTERMEDIATE: &str = "intermediate_ca.crt";
    pub const SSH_USER: &str = "ssh_user_ca_key.pub";
    pub const SSH_HOST: &str = "ssh_host_ca_key.pub";
    pub const CA_JSON: &str = "ca.json";
    pub const DEFAULTS_JSON: &str = "defaults.json";
}

pub const FORMAT: &str = "ceremonyd-generation";

/// `generation.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationInfo {
    pub format: String,
    pub version: u32,
    pub number: u32,
    /// The generation that was current when this one was made.
    pub previous: Option<u32>,
    /// UTC, RFC 3339.
    pub created: String,
    /// `bundle` or `migrated` (the plain step-ca folder found at the first import).
    pub source: String,
    pub bundle: Option<BundleRef>,
    /// Trusted roots, the current one first.
    pub roots: Vec<TrustedRoot>,
    pub crl: Option<CrlRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRef {
    pub seal: String,
    pub kind: String,
    pub ceremony: String,
    pub drill: bool,
    pub exported: String,
    pub root_fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedRoot {
    pub sha256: String,
    /// When a replaced root stops being trusted (RFC 3339); `None` for the current root.
    pub overlap_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlRef {
    /// SHA-256 of the issuing certificate.
    pub issuer_sha256: String,
    pub number: u64,
    pub this_update: String,
    pub next_update: String,
}

impl GenerationInfo {
    /// Reads `dir/generation.json`.
    pub fn load(dir: &Path) -> Result<GenerationInfo, DaemonError> {
        let path = dir.join(INFO);
        let bytes = super::fsx::read_regular(&path)?;
        let info: GenerationInfo = serde_json::from_slice(&bytes)
            .map_err(|e| DaemonError::layout(&path, format!("not a generation record: {e}")))?;
        if info.format != FORMAT || info.version != 1 {
            return Err(DaemonError::layout(&path, "unknown format or version"));
        }
        Ok(info)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("plain data serializes");
        bytes.push(b'\n');
        bytes
    }

    pub fn root_sha256(&self) -> Option<&str> {
        self.roots.first().map(|r| r.sha256.as_str())
    }
}

/// `0007`: a generation's folder name.
pub fn name(n: u32) -> String {
    format!("{n:04}")
}

/// The number of a folder named like [`name`], or of its unfinished `.0007.tmp`.
pub fn number_of(file_name: &str) -> Option<u32> {
    let digits = file_name
        .strip_prefix('.')
        .and_then(|s| s.strip_suffix(".tmp"))
        .unwrap_or(file_name);
    (digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}
