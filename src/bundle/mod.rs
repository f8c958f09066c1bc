//! The export bundle: the only thing that leaves the ceremony laptop.
//!
//! A folder of public files (certificates, CRL, SSH CA keys, `FINGERPRINT.txt`,
//! `bundle.json`, the transcript) and `SHA256SUMS` over all of them, written once into an
//! empty folder, then `fingerprint-sheet.pdf`, which prints the seal. [`verify`] checks a
//! bundle offline; `ceremonyd` uses the same code. The format is documented in
//! `docs/bundle-format.md`.

mod export;
mod manifest;
mod report;
mod verify;

pub use export::{ExportInput, Exported, export};
pub use manifest::{
    BundleCert, BundleCrl, BundleKey, BundleSsh, BundleToken, FORMAT_VERSION, Manifest,
    PreviousRef, RevokedRef, SupersededCert, key_uri, token_uri,
};
pub use report::drill_report;
pub use verify::{
    Verified, problems_report, verify, verify_contents, verify_contents_files, verify_files,
};

/// Name of the checksum file; it covers every other file but the sheet.
pub const SUMS: &str = "SHA256SUMS";

/// The PDF fingerprint sheet: it prints the seal, so `SHA256SUMS` cannot cover it;
/// `verify` checks it by rendering it again.
pub const SHEET: &str = crate::sheet::SHEET_FILE;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    #[error("{0} is not empty; a bundle is only written into an empty folder (choose a new one)")]
    NotEmpty(String),
    #[error("cannot export: {0}")]
    Incomplete(String),
    #[error(transparent)]
    Sheet(#[from] crate::sheet::SheetError),
}
