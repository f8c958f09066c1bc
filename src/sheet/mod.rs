//! The fingerprint sheet: the facts of a bundle that people compare and sign on paper.
//!
//! [`Sheet`] is plain data taken from `bundle.json` and, once `SHA256SUMS` exists, the
//! bundle seal. It has two renderings: [`Sheet::text`] (the bundle's `FINGERPRINT.txt`,
//! later the TUI) and, with the `sheet` feature, [`render_pdf`] (the bundle's
//! `fingerprint-sheet.pdf`, which the witnesses sign). The PDF is a pure function of the
//! sheet and the paper size, so `ceremony verify` checks the sheet in a bundle by
//! rendering it again and comparing bytes.
//!
//! Files: `text` (the text rendering); with the feature, `pdf` (document, metadata and
//! the fixed trailer id), `pages` (pages, page breaks, footers), `blocks` (what each part
//! of the sheet shows), `canvas` (drawing primitives and font metrics), `qr` (QR codes
//! as vector paths) and `regen` (printing the sheet of an existing bundle again).

#[cfg(feature = "sheet")]
mod blocks;
#[cfg(feature = "sheet")]
mod canvas;
#[cfg(feature = "sheet")]
mod pages;
#[cfg(feature = "sheet")]
mod pdf;
#[cfg(feature = "sheet")]
mod qr;
#[cfg(feature = "sheet")]
mod regen;
mod text;

pub use crate::checklist::model::Paper;
#[cfg(feature = "sheet")]
pub use pdf::{is_rendering, page_size, render_pdf};
#[cfg(feature = "sheet")]
pub use regen::{Regenerated, regenerate};

use crate::bundle::Manifest;
use crate::pki::{Fingerprint, PkiError};

/// File name of the PDF sheet inside a bundle.
pub const SHEET_FILE: &str = "fingerprint-sheet.pdf";

#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("building the sheet: certificate {certificate} in bundle.json: {source}")]
    Fingerprint {
        certificate: String,
        #[source]
        source: PkiError,
    },
    #[error("drawing the QR code for {what}: {reason}")]
    Qr { what: String, reason: String },
    #[error("writing the PDF: {0}")]
    Pdf(String),
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    #[error("{}: the bundle does not verify, so no sheet is printed from it:\n  {}", dir.display(), problems.join("\n  "))]
    Bundle {
        dir: std::path::PathBuf,
        problems: Vec<String>,
    },
    #[error(
        "the bundle's sheet is on {recorded:?} paper (bundle.json); write a {paper:?} copy elsewhere with --out FILE"
    )]
    PaperMismatch { recorded: Paper, paper: Paper },
    #[error(
        "{}: differs from the sheet this bundle renders to; do not sign it. Write a fresh one with --out FILE", path.display()
    )]
    Differs { path: std::path::PathBuf },
}

/// Everything printed on the sheet, in the order it is printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// A drill on throwaway tokens: every page says DRILL.
    pub drill: bool,
    pub ceremony: String,
    /// `root`, `intermediate-rotation`, ...
    pub kind: String,
    /// The day the ceremony started, `YYYY-MM-DD` in UTC.
    pub date: String,
    /// When the ceremony started and the bundle was written (RFC 3339, UTC).
    pub started: String,
    pub exported: String,
    pub checklist_sha256: String,
    pub ca_url: String,
    /// Operator first, then witness, then anyone else.
    pub participants: Vec<SheetParticipant>,
    pub tokens: Vec<SheetToken>,
    /// The root (self-signed) first.
    pub certificates: Vec<SheetCert>,
    pub ssh: Vec<SheetSsh>,
    pub crl: Option<SheetCrl>,
    /// The bundle this ceremony continues (rotations).
    pub previous: Option<SheetPrevious>,
    /// Certificates of the previous bundle that this ceremony replaced.
    pub superseded: Vec<SheetSuperseded>,
    pub transcript_head: String,
    /// SHA-256 of `SHA256SUMS`; `None` while the checksums are not written yet (for
    /// `FINGERPRINT.txt`, which the seal covers).
    pub seal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetParticipant {
    pub role: String,
    pub name: String,
    pub initials: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetToken {
    pub role: String,
    pub label: String,
    pub serial: String,
    /// Manufacturer and model as the token reports them.
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetCert {
    /// The checklist's name for it (`root`, `intermediate`).
    pub name: String,
    /// The bundle file (`root_ca.crt`).
    pub file: String,
    /// True for a self-signed root.
    pub root: bool,
    pub subject: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetSsh {
    /// `user` or `host`.
    pub role: String,
    pub file: String,
    /// `SHA256:...` as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetCrl {
    pub issuer: String,
    pub number: u64,
    pub next_update: String,
    /// Every serial the CRL revokes, in bundle order.
    pub revoked: Vec<SheetRevoked>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRevoked {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// RFC 5280 reason, e.g. `key-compromise`.
    pub reason: String,
}

/// The bundle a rotation started from, as its own sheet shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetPrevious {
    pub kind: String,
    /// The previous bundle's seal (SHA-256 of its `SHA256SUMS`).
    pub seal: String,
    pub root: Fingerprint,
}

/// A certificate of the previous bundle that this ceremony replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetSuperseded {
    pub name: String,
    pub subject: String,
    pub serial: String,
    pub not_after: String,
    pub fingerprint: Fingerprint,
    /// `Some(reason)` when this bundle's CRL revokes it.
    pub revoked: Option<String>,
}

impl Sheet {
    /// The sheet of the bundle described by `manifest`, sealed by `seal` (if known).
    pub fn from_manifest(manifest: &Manifest, seal: Option<&str>) -> Result<Sheet, SheetError> {
        let mut certificates = manifest
            .certificates
            .iter()
            .map(|c| {
                Ok(SheetCert {
                    name: c.name.clone(),
                    file: c.file.clone(),
                    root: c.issuer.is_none(),
                    subject: c.subject.clone(),
                    serial: c.serial.clone(),
                    not_before: c.not_before.clone(),
                    not_after: c.not_after.clone(),
                    fingerprint: c.sha256.parse().map_err(|source| SheetError::Fingerprint {
                        certificate: c.name.clone(),
                        source,
                    })?,
                })
            })
            .collect::<Result<Vec<_>, SheetError>>()?;
        // Stable: the root first, the rest in bundle order.
        certificates.sort_by_key(|c| !c.root);
        let mut participants: Vec<SheetParticipant> = manifest
            .participants
            .iter()
            .map(|(role, p)| SheetParticipant {
                role: role.clone(),
                name: p.name.clone(),
                initials: p.initials.clone(),
            })
            .collect();
        participants.sort_by_key(|p| match p.role.as_str() {
            "operator" => 0,
            "witness" => 1,
            _ => 2,
        });
        let previous = manifest
            .previous
            .as_ref()
            .map(|p| {
                Ok::<_, SheetError>(SheetPrevious {
                    kind: p.kind.clone(),
                    seal: p.seal.clone(),
                    root: p
                        .root_fingerprint
                        .parse()
                        .map_err(|source| SheetError::Fingerprint {
                            certificate: "root of the previous bundle".into(),
                            source,
                        })?,
                })
            })
            .transpose()?;
        let revoked = manifest.crl.as_ref().map(|c| c.revoked.as_slice());
        let superseded = manifest
            .superseded
            .iter()
            .map(|c| {
                let reason = revoked
                    .unwrap_or_default()
                    .iter()
                    .find(|r| same_serial(&r.serial, &c.serial))
                    .map(|r| r.reason.clone());
                Ok(SheetSuperseded {
                    name: c.name.clone(),
                    subject: c.subject.clone(),
                    serial: c.serial.clone(),
                    not_after: c.not_after.clone(),
                    fingerprint: c.sha256.parse().map_err(|source| SheetError::Fingerprint {
                        certificate: format!("superseded {}", c.name),
                        source,
                    })?,
                    revoked: c
                        .revoked
                        .then(|| reason.unwrap_or_else(|| "reason not recorded".into())),
                })
            })
            .collect::<Result<Vec<_>, SheetError>>()?;
        Ok(Sheet {
            drill: manifest.drill,
            ceremony: manifest.ceremony.clone(),
            kind: manifest.kind.clone(),
            date: manifest.started.get(..10).unwrap_or_default().to_string(),
            started: manifest.started.clone(),
            exported: manifest.exported.clone(),
            checklist_sha256: manifest.checklist_sha256.clone(),
            ca_url: manifest.ca_url.clone(),
            participants,
            tokens: manifest
                .tokens
                .iter()
                .map(|t| SheetToken {
                    role: t.role.clone(),
                    label: t.label.clone(),
                    serial: t.serial.clone(),
                    model: format!("{} {}", t.manufacturer, t.model).trim().to_string(),
                })
                .collect(),
            certificates,
            ssh: manifest
                .ssh
                .iter()
                .map(|s| SheetSsh {
                    role: s.role.clone(),
                    file: s.file.clone(),
                    fingerprint: s.fingerprint.clone(),
                })
                .collect(),
            crl: manifest.crl.as_ref().map(|c| SheetCrl {
                issuer: c.issuer.clone(),
                number: c.number,
                next_update: c.next_update.clone(),
                revoked: c
                    .revoked
                    .iter()
                    .map(|r| SheetRevoked {
                        serial: r.serial.clone(),
                        reason: r.reason.clone(),
                    })
                    .collect(),
            }),
            previous,
            superseded,
            transcript_head: manifest.transcript.head.clone(),
            seal: seal.map(str::to_string),
        })
    }

    /// The self-signed root certificate, if the bundle has one.
    pub fn root(&self) -> Option<&SheetCert> {
        self.certificates.iter().find(|c| c.root)
    }

    /// `step ca bootstrap --ca-url <url> --fingerprint <root>`: the exact line clients run.
    /// After a new root it has `--force`, which replaces the root a client already has.
    pub fn bootstrap_command(&self) -> Option<String> {
        self.root().map(|root| {
            format!(
                "step ca bootstrap {}--ca-url {} --fingerprint {}",
                if self.new_root() { "--force " } else { "" },
                self.ca_url,
                root.fingerprint.hex()
            )
        })
    }

    /// Whether clients must trust a new root: a root rotation, or (which a rotation of
    /// another kind never does) a root that differs from the previous bundle's.
    pub fn new_root(&self) -> bool {
        self.kind == "root-rotation"
            || self
                .previous
                .as_ref()
                .zip(self.root())
                .is_some_and(|(p, r)| p.root != r.fingerprint)
    }

    /// The root that clients trusted before this ceremony, when this one replaces it.
    pub fn old_root(&self) -> Option<&Fingerprint> {
        self.previous
            .as_ref()
            .map(|p| &p.root)
            .filter(|_| self.new_root())
    }

    /// Whether this ceremony continues a previous one with the very same root, so that
    /// clients need do nothing.
    pub fn root_unchanged(&self) -> bool {
        self.previous.is_some() && self.root().is_some() && !self.new_root()
    }

    /// What the sheet says about a superseded certificate: revoked, or valid until when.
    pub fn superseded_status(&self, cert: &SheetSuperseded) -> String {
        let mut status = match &cert.revoked {
            Some(reason) => format!("REVOKED by this CRL ({reason})"),
            None => format!("still valid until {}", human_time(&cert.not_after)),
        };
        if self.old_root() == Some(&cert.fingerprint) {
            status.push_str("; OLD root: no longer trusted after the overlap");
        }
        status
    }
}

/// Two hex serials are the same number whatever their case and leading zeros.
fn same_serial(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim_start_matches('0').to_ascii_lowercase();
    norm(a) == norm(b)
}

/// The words of the new-root banner, the same on paper and in `FINGERPRINT.txt`.
pub const NEW_ROOT: &str = "NEW ROOT: every client must re-bootstrap";
pub const OLD_ROOT: &str = "OLD root (no longer trusted after the overlap)";
pub const ROOT_UNCHANGED: &str =
    "Root unchanged: the same root fingerprint as the previous sheet; clients need do nothing.";

impl SheetCert {
    /// "Root CA certificate", "Intermediate CA certificate".
    pub fn title(&self) -> String {
        format!("{} CA certificate", capitalise(&self.name))
    }
}

impl SheetSuperseded {
    /// "Intermediate CA certificate", as the previous sheet called it.
    pub fn title(&self) -> String {
        format!("{} CA certificate", capitalise(&self.name))
    }
}

/// The first letter in upper case.
fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// 64 hex digits in groups of four, for reading.
pub fn grouped(hex: &str) -> String {
    crate::preflight::group_hex(hex)
}

/// `2026-11-23T09:43:22Z` as `2026-11-23 09:43:22 UTC`; anything else unchanged.
pub fn human_time(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z').and_then(|t| t.split_once('T')) {
        Some((date, time)) => format!("{date} {time} UTC"),
        None => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests;
