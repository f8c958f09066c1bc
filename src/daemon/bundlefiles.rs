//! The files of a verified bundle, read once into memory and checked against the seal that
//! `bundle::verify` reported, so that what is installed is exactly what was verified even
//! if the stick changes underneath; and the parts step-ca needs, picked out by role.

use super::error::DaemonError;
use crate::bundle::{self, Manifest, Verified};
use crate::fsutil::sha256_hex;
use crate::pki::{self, CrlFacts, Fingerprint};
use std::path::Path;

/// Every file of the bundle (`SHA256SUMS`, the files it lists, the sheet if present).
#[derive(Debug, Clone)]
pub struct BundleFiles {
    pub files: Vec<(String, Vec<u8>)>,
}

impl BundleFiles {
    /// Reads the bundle again; refuses if `SHA256SUMS` is not the verified seal or a file
    /// differs from it.
    pub fn read(dir: &Path, verified: &Verified) -> Result<BundleFiles, DaemonError> {
        let changed = |what: String| {
            DaemonError::Refused(format!(
                "{}: {what} since it was verified; is the stick still being written?",
                dir.display()
            ))
        };
        let sums_path = dir.join(bundle::SUMS);
        let sums = super::fsx::read_regular(&sums_path)?;
        if sha256_hex(&sums) != verified.seal {
            return Err(changed(format!("{} changed", bundle::SUMS)));
        }
        let mut files = vec![(bundle::SUMS.to_owned(), sums.clone())];
        for line in String::from_utf8_lossy(&sums).lines() {
            let (hash, name) = line.split_once("  ").unwrap_or_default();
            let bytes = super::fsx::read_regular(&dir.join(name))?;
            if sha256_hex(&bytes) != hash {
                return Err(changed(format!("{name} changed")));
            }
            files.push((name.to_owned(), bytes));
        }
        let sheet = dir.join(bundle::SHEET);
        if sheet.exists() {
            files.push((bundle::SHEET.to_owned(), super::fsx::read_regular(&sheet)?));
        }
        Ok(BundleFiles { files })
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

/// One certificate of the bundle: the file as shipped and its DER.
#[derive(Debug, Clone)]
pub struct CertPart {
    pub pem: Vec<u8>,
    pub der: Vec<u8>,
    pub sha256: String,
}

/// What step-ca and the trust folder need from a bundle.
#[derive(Debug, Clone)]
pub struct Parts {
    pub root: CertPart,
    pub intermediate: CertPart,
    pub intermediate_serial: String,
    /// The intermediate key's URI and its token's serial (the kms URI names it).
    pub key_uri: String,
    pub token_serial: String,
    pub ssh_user: (Vec<u8>, String),
    pub ssh_host: (Vec<u8>, String),
    /// The CRL, its facts and the SHA-256 of its issuer's certificate.
    pub crl: Option<(Vec<u8>, CrlFacts, String)>,
}

fn refuse(what: impl Into<String>) -> DaemonError {
    DaemonError::Refused(format!(
        "the bundle {}; ceremonyd installs a root, one intermediate under it and both SSH CA keys",
        what.into()
    ))
}

impl Parts {
    pub fn pick(m: &Manifest, files: &BundleFiles) -> Result<Parts, DaemonError> {
        let roots: Vec<_> = m
            .certificates
            .iter()
            .filter(|c| c.issuer.is_none())
            .collect();
        let [root] = roots.as_slice() else {
            return Err(refuse(format!("has {} root certificates", roots.len())));
        };
        let inters: Vec<_> = m
            .certificates
            .iter()
            .filter(|c| c.issuer.as_deref() == Some(root.name.as_str()))
            .collect();
        let [inter] = inters.as_slice() else {
            return Err(refuse(format!("has {} intermediates", inters.len())));
        };
        let cert = |c: &crate::bundle::BundleCert| -> Result<CertPart, DaemonError> {
            let pem = files
                .get(&c.file)
                .ok_or_else(|| refuse(format!("lacks {}", c.file)))?;
            let der = pem_der(pem).ok_or_else(|| refuse(format!("{} is not PEM", c.file)))?;
            Ok(CertPart {
                sha256: Fingerprint::of(&der).hex(),
                pem: pem.to_vec(),
                der,
            })
        };
        let key = m
            .keys
            .iter()
            .find(|k| k.name == inter.key)
            .ok_or_else(|| refuse(format!("names no key {}", inter.key)))?;
        let ssh = |role: &str| -> Result<(Vec<u8>, String), DaemonError> {
            let s = m
                .ssh
                .iter()
                .find(|s| s.role == role)
                .ok_or_else(|| refuse(format!("has no SSH {role} CA key")))?;
            let k = m.keys.iter().find(|k| k.name == s.key);
            let line = files.get(&s.file);
            match (k, line) {
                (Some(k), Some(line)) => Ok((line.to_vec(), k.uri.clone())),
                _ => Err(refuse(format!("lacks the SSH {role} CA key or its file"))),
            }
        };
        let root_part = cert(root)?;
        let crl = match &m.crl {
            None => None,
            Some(c) => {
                let bytes = files
                    .get(&c.file)
                    .ok_or_else(|| refuse(format!("lacks {}", c.file)))?;
                let issuer = m.certificates.iter().find(|x| x.name == c.issuer);
                let issuer = issuer.ok_or_else(|| refuse("names no CRL issuer"))?;
                let issuer_part = cert(issuer)?;
                let facts = pki::check_crl(bytes, &issuer_part.der)
                    .map_err(|p| refuse(format!("CRL: {}", p.join("; "))))?;
                Some((bytes.to_vec(), facts, issuer_part.sha256))
            }
        };
        Ok(Parts {
            intermediate: cert(inter)?,
            intermediate_serial: inter.serial.clone(),
            root: root_part,
            key_uri: key.uri.clone(),
            token_serial: key.serial.clone(),
            ssh_user: ssh("user")?,
            ssh_host: ssh("host")?,
            crl,
        })
    }
}

/// The DER of a single PEM certificate.
pub fn pem_der(pem: &[u8]) -> Option<Vec<u8>> {
    match x509_parser::pem::parse_x509_pem(pem) {
        Ok((_, p)) if p.label == "CERTIFICATE" => Some(p.contents),
        _ => None,
    }
}

/// Every certificate in a PEM file, as DER.
pub fn pem_ders(pem: &[u8]) -> Vec<Vec<u8>> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .flatten()
        .filter(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .collect()
}

/// A certificate as PEM with 64-column lines.
pub fn to_pem(der: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out.into_bytes()
}
