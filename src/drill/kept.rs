//! Drill tokens kept between runs (`rehearse --keep-tokens`/`--tokens`, `drill`): a copy
//! of each token as it was made, and putting a token back to that state when a killed
//! run left it unreadable.
//!
//! SoftHSM rewrites a token's `token.object` in place during `C_InitToken`; a process
//! killed in that instant leaves the file empty or short, and SoftHSM then no longer
//! lists the token at all. A real SmartCard-HSM keeps its serial through such a cut, so
//! the drill does the same: a token that SoftHSM no longer lists, that has a copy from
//! when this drill made it, and that holds no key objects, is moved aside to
//! `torn-<folder>` and its factory copy put back. The ceremony then redoes its
//! initialisation. A token with keys is never touched.

use super::DrillError;
use crate::fsutil;
use std::path::{Path, PathBuf};

/// Folder beside `tokens` that holds the copies.
const FACTORY: &str = "factory";

/// The serial SoftHSM gives the token in folder `name` (its UUID's last 16 hex digits).
fn serial_of_folder(name: &str) -> Option<String> {
    let hex: String = name.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| hex[16..].to_string())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DrillError + '_ {
    move |source| DrillError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The token folders in `dir/tokens`, with their serials.
fn token_folders(dir: &Path) -> Result<Vec<(PathBuf, String)>, DrillError> {
    let tokens = dir.join("tokens");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&tokens).map_err(io(&tokens))? {
        let path = entry.map_err(io(&tokens))?.path();
        let serial = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(serial_of_folder);
        if let Some(serial) = serial
            && path.is_dir()
        {
            out.push((path, serial));
        }
    }
    Ok(out)
}

/// Copies every file of `from` into a new folder `to`, through a temporary folder
/// beside `dir/tokens` and a rename, so that `to` is whole or absent.
fn copy_folder(dir: &Path, from: &Path, to: &Path) -> Result<(), DrillError> {
    let tmp = dir.join("copy.tmp");
    if tmp.exists() {
        // Only ever this function's own unfinished copy.
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir(&tmp).map_err(io(&tmp))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let file = entry.map_err(io(from))?.path();
        if let Some(name) = file.file_name() {
            let bytes = std::fs::read(&file).map_err(io(&file))?;
            fsutil::write_once(&tmp.join(name), &bytes).map_err(|e| DrillError::Io {
                path: file.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
    }
    std::fs::rename(&tmp, to).map_err(io(to))?;
    if let Some(parent) = to.parent() {
        fsutil::sync_dir(parent).map_err(|e| DrillError::Io {
            path: parent.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    }
    Ok(())
}

/// Keeps a copy of each token in `serials` as it is now (just made, factory state) in
/// `dir/factory`; a copy already there is kept.
pub fn keep_factory_copies(dir: &Path, serials: &[String]) -> Result<(), DrillError> {
    let factory = dir.join(FACTORY);
    std::fs::create_dir_all(&factory).map_err(io(&factory))?;
    for (folder, serial) in token_folders(dir)? {
        let Some(name) = folder.file_name() else {
            continue;
        };
        let copy = factory.join(name);
        if serials.contains(&serial) && !copy.exists() {
            copy_folder(dir, &folder, &copy)?;
        }
    }
    Ok(())
}

/// Puts back, from their factory copies, the keyless tokens that SoftHSM no longer lists
/// (`listed` are the serials it does list). Returns their serials.
pub fn restore_torn_tokens(dir: &Path, listed: &[String]) -> Result<Vec<String>, DrillError> {
    let mut restored = Vec::new();
    for (folder, serial) in token_folders(dir)? {
        let Some(name) = folder.file_name().map(|n| n.to_os_string()) else {
            continue;
        };
        let copy = dir.join(FACTORY).join(&name);
        if listed.contains(&serial) || !copy.exists() || holds_keys(&folder)? {
            continue;
        }
        let mut aside = dir.join(format!("torn-{}", name.to_string_lossy()));
        for n in 2.. {
            if !aside.exists() {
                break;
            }
            aside = dir.join(format!("torn-{}-{n}", name.to_string_lossy()));
        }
        std::fs::rename(&folder, &aside).map_err(io(&folder))?;
        copy_folder(dir, &copy, &folder)?;
        restored.push(serial);
    }
    Ok(restored)
}

/// Whether a token folder holds any object besides the token's own.
fn holds_keys(folder: &Path) -> Result<bool, DrillError> {
    for entry in std::fs::read_dir(folder).map_err(io(folder))? {
        let name = entry.map_err(io(folder))?.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".object") && name != "token.object" {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serial_is_the_folder_uuid_tail() {
        assert_eq!(
            serial_of_folder("dde982d3-9fea-9067-3b0f-a46bea3bee07").as_deref(),
            Some("3b0fa46bea3bee07")
        );
        assert_eq!(serial_of_folder("factory"), None);
    }

    #[test]
    fn a_torn_keyless_token_is_put_back_and_the_torn_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let name = "dde982d3-9fea-9067-3b0f-a46bea3bee07";
        let token = dir.join("tokens").join(name);
        std::fs::create_dir_all(&token).unwrap();
        std::fs::write(token.join("token.object"), b"made").unwrap();
        keep_factory_copies(dir, &["3b0fa46bea3bee07".into()]).unwrap();
        std::fs::write(token.join("token.object"), b"").unwrap();

        assert!(
            restore_torn_tokens(dir, &["3b0fa46bea3bee07".into()])
                .unwrap()
                .is_empty(),
            "a listed token is left alone"
        );
        let restored = restore_torn_tokens(dir, &[]).unwrap();
        assert_eq!(restored, ["3b0fa46bea3bee07"]);
        assert_eq!(std::fs::read(token.join("token.object")).unwrap(), b"made");
        let aside = dir.join(format!("torn-{name}/token.object"));
        assert_eq!(std::fs::read(aside).unwrap(), b"");
    }

    #[test]
    fn a_token_with_keys_is_never_put_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let token = dir.join("tokens/dde982d3-9fea-9067-3b0f-a46bea3bee07");
        std::fs::create_dir_all(&token).unwrap();
        std::fs::write(token.join("token.object"), b"made").unwrap();
        keep_factory_copies(dir, &["3b0fa46bea3bee07".into()]).unwrap();
        std::fs::write(token.join("token.object"), b"").unwrap();
        std::fs::write(token.join("a1b2.object"), b"key").unwrap();
        assert!(restore_torn_tokens(dir, &[]).unwrap().is_empty());
        assert_eq!(std::fs::read(token.join("token.object")).unwrap(), b"");
    }
}
