//! Writing a bundle: every file created once in an empty folder, fsynced, re-read and
//! hashed, then `SHA256SUMS` over them. The seal is the SHA-256 of `SHA256SUMS`; the
//! fingerprint sheet, which prints the seal, is written after it and not listed in it.

use super::manifest::*;
use super::{BundleError, SUMS};
use crate::checklist::Loaded;
use crate::engine::State;
use crate::fsutil::{self, write_once};
use crate::sheet::Sheet;
use std::collections::BTreeMap;
use std::path::Path;

/// Everything the bundle is made from.
pub struct ExportInput<'a> {
    pub checklist: &'a Loaded,
    pub drill: bool,
    pub state: &'a State,
    pub transcript_path: &'a Path,
    pub transcript_head: &'a str,
    /// For a rotation: where it started and what it replaced.
    pub previous: Option<PreviousRef>,
    pub superseded: Vec<SupersededCert>,
}

pub struct Exported {
    /// SHA-256 of `SHA256SUMS`.
    pub seal: String,
    /// File name -> SHA-256 of every file written, `SHA256SUMS` and the sheet included.
    pub files: BTreeMap<String, String>,
}

/// Writes the bundle into `dir`, which must be empty or absent.
pub fn export(dir: &Path, input: &ExportInput<'_>) -> Result<Exported, BundleError> {
    fsutil::ensure_empty_dir(dir).map_err(|e| match e {
        fsutil::FsError::Exists { path } => BundleError::NotEmpty(path.display().to_string()),
        other => other.into(),
    })?;
    let transcript = fsutil::read(input.transcript_path)?;
    let (manifest, contents) = build(input, &transcript)?;
    let mut files = BTreeMap::new();
    for (name, bytes) in &contents {
        files.insert(name.clone(), write_once(&dir.join(name), bytes)?);
    }
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
    files.insert(
        "bundle.json".into(),
        write_once(&dir.join("bundle.json"), &json)?,
    );
    let sums: String = files
        .iter()
        .map(|(name, hash)| format!("{hash}  {name}\n"))
        .collect();
    let seal = write_once(&dir.join(SUMS), sums.as_bytes())?;
    files.insert(SUMS.into(), seal.clone());
    // Last: the sheet prints the seal, so SHA256SUMS cannot list it.
    #[cfg(feature = "sheet")]
    {
        let sheet = Sheet::from_manifest(&manifest, Some(&seal))?;
        let pdf = crate::sheet::render_pdf(&sheet, input.checklist.checklist.ceremony.paper)?;
        let name = super::SHEET;
        files.insert(name.into(), write_once(&dir.join(name), &pdf)?);
    }
    Ok(Exported { seal, files })
}

type Contents = Vec<(String, Vec<u8>)>;

fn build(input: &ExportInput<'_>, transcript: &[u8]) -> Result<(Manifest, Contents), BundleError> {
    let c = &input.checklist.checklist;
    let s = input.state;
    let missing =
        |what: &str| BundleError::Incomplete(format!("{what} is missing from the ceremony state"));
    let mut contents: Contents = Vec::new();

    let mut certificates = Vec::new();
    for (name, spec) in &c.certificates {
        let fact = s
            .certs
            .get(name)
            .ok_or_else(|| missing(&format!("certificate {name}")))?;
        let file = format!("{name}_ca.crt");
        contents.push((
            file.clone(),
            pem("CERTIFICATE", &fact.der_bytes()).into_bytes(),
        ));
        certificates.push(BundleCert {
            name: name.clone(),
            file,
            key: spec.key.clone(),
            issuer: spec.issuer.clone(),
            subject: fact.subject.clone(),
            serial: fact.serial.clone(),
            not_before: fact.not_before.clone(),
            not_after: fact.not_after.clone(),
            sha256: fact.sha256.clone(),
        });
    }
    let crl = match &c.crl {
        Some(spec) => {
            let fact = s.crl.as_ref().ok_or_else(|| missing("the CRL"))?;
            let file = format!("{}_ca.crl", spec.issuer);
            contents.push((file.clone(), b64d(&fact.der)));
            Some(BundleCrl {
                file,
                issuer: spec.issuer.clone(),
                number: fact.number,
                this_update: fact.this_update.clone(),
                next_update: fact.next_update.clone(),
                sha256: fact.sha256.clone(),
                revoked: fact
                    .revoked
                    .iter()
                    .map(|(serial, reason)| RevokedRef {
                        serial: serial.clone(),
                        reason: reason.clone(),
                    })
                    .collect(),
            })
        }
        None => None,
    };
    let mut ssh = Vec::new();
    if let Some(spec) = &c.ssh {
        for (role, key) in [("user", &spec.user_ca_key), ("host", &spec.host_ca_key)] {
            let fact = s
                .ssh
                .get(key)
                .ok_or_else(|| missing(&format!("SSH key {key}")))?;
            let file = format!("ssh_{role}_ca.pub");
            contents.push((file.clone(), format!("{}\n", fact.line).into_bytes()));
            ssh.push(BundleSsh {
                role: role.into(),
                file,
                key: key.clone(),
                fingerprint: fact.fingerprint.clone(),
            });
        }
    }
    contents.push(("transcript.jsonl".into(), transcript.to_vec()));
    if input.drill {
        let report = super::drill_report(&c.ceremony.name, transcript);
        contents.push(("drill-report.txt".into(), report.into_bytes()));
    }

    let manifest = Manifest {
        format: "ceremony-bundle".into(),
        version: FORMAT_VERSION,
        kind: c.ceremony.kind.as_str().into(),
        ceremony: c.ceremony.name.clone(),
        drill: input.drill,
        checklist_sha256: input.checklist.sha256_hex.clone(),
        ca_url: c.ceremony.ca_url.clone(),
        started: first_record_time(transcript),
        exported: crate::engine::clock::now_rfc3339(),
        participants: s
            .participants
            .iter()
            .map(|(role, p)| {
                (
                    role.name().to_string(),
                    Participant {
                        name: p.name.clone(),
                        initials: p.initials.clone(),
                    },
                )
            })
            .collect(),
        tokens: s
            .tokens
            .iter()
            .map(|(role, t)| BundleToken {
                role: role.clone(),
                serial: t.serial.clone(),
                label: t.label.clone(),
                manufacturer: t.manufacturer.clone(),
                model: t.model.clone(),
                uri: token_uri(&t.serial),
            })
            .collect(),
        keys: c
            .keys
            .iter()
            .map(|spec| {
                let fact = s
                    .keys
                    .get(&spec.name)
                    .ok_or_else(|| missing(&format!("key {}", spec.name)))?;
                Ok(BundleKey {
                    name: spec.name.clone(),
                    token: fact.token.clone(),
                    serial: fact.serial.clone(),
                    id: fact.id.clone(),
                    label: fact.label.clone(),
                    curve: fact.curve.name().into(),
                    public_key: fact.point.clone(),
                    uri: key_uri(&hex::decode(&fact.id).unwrap_or_default(), &fact.label),
                })
            })
            .collect::<Result<_, BundleError>>()?,
        certificates,
        crl,
        ssh,
        transcript: TranscriptRef {
            file: "transcript.jsonl".into(),
            head: input.transcript_head.to_string(),
        },
        paper: Some(c.ceremony.paper),
        previous: input.previous.clone(),
        superseded: input.superseded.clone(),
    };
    // The seal covers this file, so it cannot carry the seal; the PDF sheet does.
    let text = Sheet::from_manifest(&manifest, None)?.text();
    contents.push(("FINGERPRINT.txt".into(), text.into_bytes()));
    Ok((manifest, contents))
}

fn first_record_time(transcript: &[u8]) -> String {
    let first = transcript.split(|b| *b == b'\n').next().unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(first)
        .ok()
        .and_then(|v| v["at"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn b64d(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}

/// PEM with 64-character lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
