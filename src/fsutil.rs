//! Write-once files: created with `create_new`, fsynced, re-read and hashed.
//!
//! Everything the ceremony produces goes through [`write_once`], so an existing file is
//! never overwritten and a short write or a bad medium shows up as an error at once,
//! not when the bundle is read on the other side of the air gap.

use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{path}: already exists; ceremony never overwrites a file")]
    Exists { path: PathBuf },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path}: read back {found} after writing {wrote} (SHA-256 differs); the medium is not trustworthy"
    )]
    ReadBack {
        path: PathBuf,
        wrote: String,
        found: String,
    },
}

impl FsError {
    pub fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        FsError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Creates `path` (which must not exist), writes `bytes`, fsyncs file and directory,
/// reads the file back and checks its SHA-256. Returns the hash.
pub fn write_once(path: &Path, bytes: &[u8]) -> Result<String, FsError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => FsError::Exists {
                path: path.to_path_buf(),
            },
            _ => FsError::io("create", path, e),
        })?;
    file.write_all(bytes)
        .map_err(|e| FsError::io("write", path, e))?;
    file.sync_all().map_err(|e| FsError::io("fsync", path, e))?;
    drop(file);
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    let wrote = sha256_hex(bytes);
    let found = sha256_hex(&read(path)?);
    if wrote != found {
        return Err(FsError::ReadBack {
            path: path.to_path_buf(),
            wrote,
            found,
        });
    }
    Ok(wrote)
}

/// Appends one line and fsyncs; used for the transcript.
pub fn append_line(path: &Path, line: &str) -> Result<(), FsError> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| FsError::io("open for append", path, e))?;
    // One write of line and newline, so a power cut cannot leave a line without its end
    // while a later write succeeds.
    let mut record = Vec::with_capacity(line.len() + 1);
    record.extend_from_slice(line.as_bytes());
    record.push(b'\n');
    file.write_all(&record)
        .map_err(|e| FsError::io("append", path, e))?;
    file.sync_all().map_err(|e| FsError::io("fsync", path, e))?;
    if !existed && let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Cuts `path` back to its first `len` bytes and fsyncs it. Only the transcript's torn
/// tail is ever cut, after it was set aside with [`write_once`].
pub fn truncate(path: &Path, len: u64) -> Result<(), FsError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| FsError::io("open for truncation", path, e))?;
    file.set_len(len)
        .map_err(|e| FsError::io("truncate", path, e))?;
    file.sync_all().map_err(|e| FsError::io("fsync", path, e))
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| FsError::io("read", path, e))?;
    Ok(bytes)
}

/// fsync of a directory, so that a new entry in it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FsError::io("fsync directory", dir, e))
}

/// Creates `dir` if missing and checks that it is empty.
pub fn ensure_empty_dir(dir: &Path) -> Result<(), FsError> {
    std::fs::create_dir_all(dir).map_err(|e| FsError::io("create directory", dir, e))?;
    let mut entries = std::fs::read_dir(dir).map_err(|e| FsError::io("list", dir, e))?;
    if entries.next().is_some() {
        return Err(FsError::Exists {
            path: dir.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_once_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        let hash = write_once(&path, b"hello").unwrap();
        assert_eq!(hash, sha256_hex(b"hello"));
        let err = write_once(&path, b"other").unwrap_err();
        assert!(matches!(err, FsError::Exists { .. }), "{err}");
        assert_eq!(read(&path).unwrap(), b"hello");
    }
}
