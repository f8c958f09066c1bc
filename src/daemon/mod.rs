//! `ceremonyd`: what the online CA host does with a bundle. It verifies the bundle (the
//! same [`crate::bundle::verify`] as `ceremony verify`), installs it for step-ca as a new
//! generation switched in with one `rename(2)`, checks that the online HSM holds the keys
//! `ca.json` names, and serves the trust material and expiry metrics over HTTP.
//!
//! Files: `config` (the strict TOML file), `error`, `log` (one line per event), `fsx`
//! (every write, with the test fault hook), `layout` and `generation` (the CA folder and
//! one installed generation), `bundlefiles` (the verified bundle in memory), `plan` (the
//! rules, decided before any write), `content` (the bytes of a generation), `cajson`,
//! `signing` (who may sign what, before and after: an import never widens it unasked),
//! `apply` (writing, switching, rollback), `checkhsm`, `serve/` (HTTP, metrics, inbox).
//! Operator documentation: `docs/ceremonyd.md`.

pub mod apply;
mod bundlefiles;
pub mod cajson;
pub mod checkhsm;
pub mod config;
mod content;
mod error;
pub mod fsx;
pub mod generation;
pub mod layout;
pub mod log;
pub mod plan;
pub mod serve;
pub mod signing;

pub use apply::{Imported, RolledBack, import, rollback};
pub use checkhsm::{CheckRequest, Report, check_hsm, read_pin_file};
pub use config::{Config, Owner};
pub use error::DaemonError;
pub use fsx::Fault;
pub use plan::Request;
