//! `DaemonError`: every way `ceremonyd` can fail, each naming the operation and the path
//! or field involved. A [`DaemonError::Refused`] import changed nothing.

use crate::checklist::Problem;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// `bundle::verify` found problems; nothing was installed.
    #[error("verifying bundle {}: {} problem(s), nothing changed:\n  {}", dir.display(), problems.len(), problems.join("\n  "))]
    Verify { dir: PathBuf, problems: Vec<String> },

    /// An import or rollback rule said no before anything was written.
    #[error("refused, nothing changed: {0}")]
    Refused(String),

    /// A file system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The test hook stopped the apply before write number `n` (never set by the CLI).
    #[error("stopped before write {0} (injected fault)")]
    Injected(usize),

    /// The configuration file has problems; each names its dotted field path.
    #[error("configuration {}: {} problem(s):\n  {}", path.display(), problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Config {
        path: PathBuf,
        problems: Vec<Problem>,
    },

    /// The installed state of a CA folder is not what ceremonyd wrote.
    #[error("CA folder {}: {reason}", dir.display())]
    Layout { dir: PathBuf, reason: String },

    /// The existing or generated `ca.json` could not be read or written.
    #[error("ca.json {}: {reason}", path.display())]
    CaJson { path: PathBuf, reason: String },

    /// The PIN file is missing, unsafe or unreadable.
    #[error("PIN file {}: {reason}", path.display())]
    PinFile { path: PathBuf, reason: String },

    /// A PKCS#11 operation of `check-hsm` failed.
    #[error("check-hsm: {0}")]
    Hsm(#[from] crate::hsm::HsmError),

    /// The HTTP server could not start or stopped with an error.
    #[error("serve: {0}")]
    Serve(String),
}

impl DaemonError {
    pub fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> DaemonError {
        let path = path.to_path_buf();
        move |source| DaemonError::Io { op, path, source }
    }

    pub fn layout(dir: &Path, reason: impl Into<String>) -> DaemonError {
        DaemonError::Layout {
            dir: dir.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// True when the error says nothing was changed because a rule refused.
    pub fn is_refusal(&self) -> bool {
        matches!(self, DaemonError::Refused(_) | DaemonError::Verify { .. })
    }
}
