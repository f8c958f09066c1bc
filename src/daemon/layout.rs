//! The CA folder as ceremonyd arranges it, and reading back what is installed there.
//!
//! ```text
//! DIR/certs   -> .ceremonyd/current/certs      (relative links: they resolve the same
//! DIR/config  -> .ceremonyd/current/config      inside step-ca's container)
//! DIR/.ceremonyd/current -> generations/0002    (switched by one rename(2))
//! DIR/.ceremonyd/generations/0000/              (the plain folder found at the first import)
//! DIR/.ceremonyd/generations/0001/, 0002/ ...   {certs, config, publish, bundle, generation.json}
//! DIR/.ceremonyd/pre-ceremonyd/{certs,config}   (the original plain folders, kept)
//! DIR/.ceremonyd/history.jsonl                  (one line per import and rollback)
//! ```
//! Everything else in DIR (db/, secrets/, templates/) is step-ca's and never touched.

use super::error::DaemonError;
use super::fsx::{not_a_regular_file, read_regular};
use super::generation::{self, GenerationInfo};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const STATE: &str = ".ceremonyd";
/// The two folders step-ca reads that ceremonyd manages.
pub const MANAGED: [&str; 2] = [generation::CERTS, generation::CONFIG];

/// What a managed name (`certs`, `config`) is right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// The link to `.ceremonyd/current/<name>`.
    Linked,
    /// A plain folder (before or during the first migration).
    Plain,
    Missing,
}

/// The state of a CA folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// No `.ceremonyd/current`: a folder as `step ca init` left it (or empty).
    Plain { certs: Sub, config: Sub },
    /// Managed; `certs`/`config` may still be plain if a migration was interrupted.
    Managed {
        current: u32,
        certs: Sub,
        config: Sub,
    },
}

impl Layout {
    pub fn subs(&self) -> [(&'static str, Sub); 2] {
        let (Layout::Plain { certs, config } | Layout::Managed { certs, config, .. }) = self;
        [(MANAGED[0], *certs), (MANAGED[1], *config)]
    }

    pub fn current(&self) -> Option<u32> {
        match self {
            Layout::Managed { current, .. } => Some(*current),
            Layout::Plain { .. } => None,
        }
    }
}

/// A CA folder and the paths inside it.
#[derive(Debug, Clone)]
pub struct CaDir {
    pub root: PathBuf,
}

impl CaDir {
    pub fn new(root: &Path) -> CaDir {
        CaDir {
            root: root.to_path_buf(),
        }
    }
    pub fn state(&self) -> PathBuf {
        self.root.join(STATE)
    }
    pub fn generations(&self) -> PathBuf {
        self.state().join("generations")
    }
    pub fn current_link(&self) -> PathBuf {
        self.state().join("current")
    }
    pub fn gen_dir(&self, n: u32) -> PathBuf {
        self.generations().join(generation::name(n))
    }
    pub fn history(&self) -> PathBuf {
        self.state().join("history.jsonl")
    }
    pub fn pre_ceremonyd(&self) -> PathBuf {
        self.state().join("pre-ceremonyd")
    }

    /// The generation `current` points at, if any.
    pub fn current(&self) -> Result<Option<u32>, DaemonError> {
        let link = self.current_link();
        let target = match std::fs::read_link(&link) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DaemonError::io("read link", &link)(e)),
        };
        let text = target.to_string_lossy();
        let n = text
            .strip_prefix("generations/")
            .and_then(generation::number_of)
            .filter(|n| text == format!("generations/{}", generation::name(*n)))
            .ok_or_else(|| DaemonError::layout(&link, format!("points at {text:?}")))?;
        if !self.gen_dir(n).is_dir() {
            return Err(DaemonError::layout(&link, format!("{text} is missing")));
        }
        Ok(Some(n))
    }

    /// The first unused generation number (unfinished `.NNNN.tmp` folders count as used).
    pub fn next_number(&self) -> Result<u32, DaemonError> {
        let dir = self.generations();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(DaemonError::io("list", &dir)(e)),
        };
        let max = entries
            .flatten()
            .filter_map(|e| generation::number_of(&e.file_name().to_string_lossy()))
            .max();
        Ok(max.map_or(0, |m| m + 1))
    }

    /// Reads the layout; an arrangement ceremonyd did not make is an error that says what.
    pub fn inspect(&self) -> Result<Layout, DaemonError> {
        if !self.root.is_dir() {
            return Err(DaemonError::Refused(format!(
                "CA folder {} does not exist",
                self.root.display()
            )));
        }
        let current = self.current()?;
        let sub = |name: &str| -> Result<Sub, DaemonError> {
            let path = self.root.join(name);
            let Ok(meta) = path.symlink_metadata() else {
                return Ok(Sub::Missing);
            };
            if meta.is_dir() {
                return Ok(Sub::Plain);
            }
            let target = std::fs::read_link(&path).ok();
            let ours = format!("{STATE}/current/{name}");
            match target {
                Some(t) if t == Path::new(&ours) && current.is_some() => Ok(Sub::Linked),
                Some(t) => Err(DaemonError::layout(
                    &self.root,
                    format!(
                        "{name} is a link to {}, not one ceremonyd made",
                        t.display()
                    ),
                )),
                None => Err(DaemonError::layout(
                    &self.root,
                    format!("{name} is neither a folder nor a link"),
                )),
            }
        };
        let (certs, config) = (sub(MANAGED[0])?, sub(MANAGED[1])?);
        Ok(match current {
            Some(current) => Layout::Managed {
                current,
                certs,
                config,
            },
            None => Layout::Plain { certs, config },
        })
    }

    /// Where the installed `certs`/`config` files are: the current generation, or the plain
    /// folders of an unmigrated CA folder.
    pub fn installed_sub(&self, layout: &Layout, name: &str) -> PathBuf {
        match layout {
            Layout::Managed { current, .. } => self.gen_dir(*current).join(name),
            Layout::Plain { .. } => self.root.join(name),
        }
    }
}

/// A regular file found in an installed folder, with what a copy must keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The regular files of a flat folder (absent folder: none). A link, subfolder or other
/// entry is refused: ceremonyd copies only what it can copy faithfully.
pub fn read_flat(dir: &Path) -> Result<Vec<FoundFile>, DaemonError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DaemonError::io("list", dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(DaemonError::io("list", dir))?;
        let path = entry.path();
        if let Some(problem) = not_a_regular_file(&path) {
            return Err(DaemonError::Refused(format!(
                "{problem}; move it out of the folder before importing"
            )));
        }
        let meta = path
            .symlink_metadata()
            .map_err(DaemonError::io("stat", &path))?;
        files.push(FoundFile {
            name: entry.file_name().to_string_lossy().into_owned(),
            bytes: read_regular(&path)?,
            mode: meta.permissions().mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// The current generation's record, if the folder is managed.
pub fn current_info(ca: &CaDir, layout: &Layout) -> Result<Option<GenerationInfo>, DaemonError> {
    match layout.current() {
        Some(n) => GenerationInfo::load(&ca.gen_dir(n)).map(Some),
        None => Ok(None),
    }
}
