//! Every write ceremonyd makes, in one place: new files created with `create_new`, mode
//! and owner set on the open descriptor, fsynced; replaced files through a temporary file
//! in the same folder and `rename(2)`; symlinks swapped by renaming a new link over the
//! old; a plain folder and a symlink exchanged with `renameat2(RENAME_EXCHANGE)`; and the
//! parent folder fsynced after each of these. Nothing here deletes.
//!
//! Each operation first asks the [`Fault`] hook, which a test sets to stop before the
//! n-th write, as a crash at that instant would. The CLI never sets it.

use super::config::Owner;
use super::error::DaemonError;
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Where a test wants the writes to stop. `Fault::none()` in every real run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fault {
    stop_before: Option<usize>,
}

impl Fault {
    pub fn none() -> Fault {
        Fault::default()
    }

    /// Stop before write number `n` (0-based), returning [`DaemonError::Injected`].
    pub fn fail_at(n: usize) -> Fault {
        Fault {
            stop_before: Some(n),
        }
    }
}

/// Performs and counts writes, all owned by one owner.
pub struct Writer {
    owner: Owner,
    fault: Fault,
    count: usize,
}

impl Writer {
    pub fn new(owner: Owner, fault: Fault) -> Writer {
        Writer {
            owner,
            fault,
            count: 0,
        }
    }

    /// How many writes were made (a test learns from this how many points to try).
    pub fn count(&self) -> usize {
        self.count
    }

    fn tick(&mut self) -> Result<(), DaemonError> {
        if self.fault.stop_before == Some(self.count) {
            return Err(DaemonError::Injected(self.count));
        }
        self.count += 1;
        Ok(())
    }

    /// Creates one folder (its parent must exist) with `mode` and the owner.
    pub fn mkdir(&mut self, path: &Path, mode: u32) -> Result<(), DaemonError> {
        self.tick()?;
        std::fs::create_dir(path).map_err(DaemonError::io("create folder", path))?;
        std::os::unix::fs::chown(path, Some(self.owner.uid), Some(self.owner.gid))
            .map_err(DaemonError::io("chown", path))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(DaemonError::io("chmod", path))?;
        sync_parent(path)
    }

    /// Creates `path`, which must not exist, with `bytes`, `mode` and the owner; fsynced.
    pub fn create(&mut self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), DaemonError> {
        self.tick()?;
        write_new(path, bytes, mode, self.owner)
    }

    /// Like [`Writer::create`] but keeps the owner of the source (a copy into generation 0).
    pub fn create_as(
        &mut self,
        path: &Path,
        bytes: &[u8],
        mode: u32,
        owner: Owner,
    ) -> Result<(), DaemonError> {
        self.tick()?;
        write_new(path, bytes, mode, owner)
    }

    /// Replaces (or creates) the regular file `dir/name`: temporary file, fsync, rename,
    /// fsync of `dir`. Refuses when `name` is a symlink or not a regular file.
    pub fn replace(
        &mut self,
        dir: &Path,
        name: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), DaemonError> {
        self.tick()?;
        let target = dir.join(name);
        if let Some(problem) = not_a_regular_file(&target) {
            return Err(DaemonError::Refused(problem));
        }
        let tmp = dir.join(format!(".{name}.ceremonyd-new"));
        if tmp.symlink_metadata().is_ok() {
            // Left by a crash: our own unfinished copy, renamed away instead of deleted.
            let stale = dir.join(format!(".{name}.ceremonyd-stale-{}", unique()));
            std::fs::rename(&tmp, &stale).map_err(DaemonError::io("rename", &tmp))?;
        }
        write_new(&tmp, bytes, mode, self.owner)?;
        std::fs::rename(&tmp, &target).map_err(DaemonError::io("rename", &tmp))?;
        sync_dir(dir)
    }

    /// Points the symlink `link` at `target` (a relative path) atomically: a new link at
    /// `tmp` (which must not exist), renamed over `link`, parent fsynced.
    pub fn point(&mut self, link: &Path, target: &str, tmp: &Path) -> Result<(), DaemonError> {
        self.tick()?;
        self.new_link(tmp, target)?;
        self.tick()?;
        std::fs::rename(tmp, link).map_err(DaemonError::io("rename", tmp))?;
        sync_parent(link)
    }

    /// Creates the symlink `path -> target` (which must not exist) with the owner.
    pub fn link(&mut self, path: &Path, target: &str) -> Result<(), DaemonError> {
        self.tick()?;
        self.new_link(path, target)
    }

    fn new_link(&mut self, path: &Path, target: &str) -> Result<(), DaemonError> {
        std::os::unix::fs::symlink(target, path).map_err(DaemonError::io("symlink", path))?;
        std::os::unix::fs::lchown(path, Some(self.owner.uid), Some(self.owner.gid))
            .map_err(DaemonError::io("chown", path))?;
        sync_parent(path)
    }

    /// Renames `from` to `to` (which must not exist) and fsyncs both parents.
    pub fn rename(&mut self, from: &Path, to: &Path) -> Result<(), DaemonError> {
        self.tick()?;
        if to.symlink_metadata().is_ok() {
            return Err(DaemonError::layout(
                to,
                "exists; ceremonyd never replaces it",
            ));
        }
        std::fs::rename(from, to).map_err(DaemonError::io("rename", from))?;
        sync_parent(to)?;
        sync_parent(from)
    }

    /// Swaps the two paths in one step (`renameat2` with `RENAME_EXCHANGE`).
    pub fn exchange(&mut self, a: &Path, b: &Path) -> Result<(), DaemonError> {
        self.tick()?;
        let (ca, cb) = (c_path(a)?, c_path(b)?);
        // SAFETY: two valid NUL-terminated paths; AT_FDCWD resolves them as given.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc != 0 {
            return Err(DaemonError::io("renameat2(RENAME_EXCHANGE)", a)(
                std::io::Error::last_os_error(),
            ));
        }
        sync_parent(a)?;
        sync_parent(b)
    }

    /// Appends one line to a log file (created with `mode` if missing), fsynced.
    pub fn append(&mut self, path: &Path, line: &str, mode: u32) -> Result<(), DaemonError> {
        self.tick()?;
        let existed = path.symlink_metadata().is_ok();
        if let Some(problem) = not_a_regular_file(path) {
            return Err(DaemonError::Refused(problem));
        }
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(DaemonError::io("open for append", path))?;
        if !existed {
            std::os::unix::fs::fchown(&file, Some(self.owner.uid), Some(self.owner.gid))
                .map_err(DaemonError::io("chown", path))?;
        }
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(DaemonError::io("append", path))?;
        file.sync_all().map_err(DaemonError::io("fsync", path))?;
        if existed { Ok(()) } else { sync_parent(path) }
    }
}

fn write_new(path: &Path, bytes: &[u8], mode: u32, owner: Owner) -> Result<(), DaemonError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(DaemonError::io("create", path))?;
    std::os::unix::fs::fchown(&file, Some(owner.uid), Some(owner.gid))
        .map_err(DaemonError::io("chown", path))?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(DaemonError::io("chmod", path))?;
    file.write_all(bytes)
        .map_err(DaemonError::io("write", path))?;
    file.sync_all().map_err(DaemonError::io("fsync", path))?;
    Ok(())
}

/// Why `path` cannot be replaced as a regular file, if it cannot (absent is fine).
pub fn not_a_regular_file(path: &Path) -> Option<String> {
    let meta = path.symlink_metadata().ok()?;
    if meta.file_type().is_symlink() {
        Some(format!(
            "{} is a symlink; ceremonyd writes only regular files and does not follow links",
            path.display()
        ))
    } else if !meta.is_file() {
        Some(format!(
            "{} exists and is not a regular file",
            path.display()
        ))
    } else {
        None
    }
}

/// fsync of a folder, so that its new entries survive a power cut.
pub fn sync_dir(dir: &Path) -> Result<(), DaemonError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(DaemonError::io("fsync folder", dir))
}

fn sync_parent(path: &Path) -> Result<(), DaemonError> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

fn c_path(path: &Path) -> Result<CString, DaemonError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| DaemonError::layout(path, "path holds a NUL byte"))
}

fn unique() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", now.as_nanos(), std::process::id())
}

/// Reads a regular file without following a symlink at its last component.
pub fn read_regular(path: &Path) -> Result<Vec<u8>, DaemonError> {
    if let Some(problem) = not_a_regular_file(path) {
        return Err(DaemonError::Refused(problem));
    }
    std::fs::read(path).map_err(DaemonError::io("read", path))
}
