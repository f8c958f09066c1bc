//! `ceremony`: HSM key ceremonies for a private step-ca PKI.
//!
//! Module map (dependencies point downwards only):
//!
//! - [`engine`]: the ceremony state machine: steps, participants, confirmations,
//!   transcript and resume. The TUI and the unattended drill both drive it through
//!   [`engine::Prompt`] / [`engine::Answer`].
//! - [`hsm`]: PKCS#11 through cryptoki: tokens by serial, PIN flags, key generation,
//!   signing, read-back.
//! - [`pki`]: certificate and CRL profiles, lint-before-sign, issuance through rcgen,
//!   verification with x509-parser, SSH CA public keys, fingerprints.
//! - [`bundle`]: the export bundle: layout, `bundle.json`, `SHA256SUMS`, write-once files,
//!   offline verification.
//! - [`sheet`]: the fingerprint sheet: a plain model of a bundle's facts, rendered as the
//!   text of `FINGERPRINT.txt` and (feature `sheet`) as the PDF the witnesses sign.
//! - [`checklist`]: the TOML ceremony scripts: strict parse and validation with dotted paths.
//! - [`drill`]: throwaway SoftHSM2 tokens for rehearsals.
//! - [`errors`]: the text of an error and its causes, each said once.
//! - [`fsutil`]: write-once, fsynced, re-read-and-hashed files.
//! - [`secret`]: PINs in zeroizing types.
//! - [`tui`]: the ratatui front end of `ceremony` (feature `tui`).
//! - [`preflight`]: network and clock facts of the machine the ceremony runs on.
//! - [`daemon`]: `ceremonyd`: import, atomic apply, rollback, check-hsm, serve (feature `daemon`).

pub mod bundle;
pub mod checklist;
#[cfg(feature = "daemon")]
pub mod daemon;
pub mod drill;
pub mod engine;
pub mod errors;
pub mod fsutil;
pub mod hsm;
pub mod pki;
pub mod preflight;
pub mod secret;
pub mod sheet;
#[cfg(feature = "tui")]
pub mod tui;
