//! `ceremony sheet`: the PDF of an existing bundle, printed again.
//!
//! The bundle is verified first (everything but the sheet), so a sheet is never made
//! from a bundle that does not check out. Without an output path the sheet goes into
//! the bundle when it is missing there, or the one there is confirmed intact; a file
//! that exists is never overwritten.

use super::{Paper, SHEET_FILE, Sheet, SheetError, render_pdf};
use crate::fsutil::write_once;
use std::path::{Path, PathBuf};

/// What [`regenerate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regenerated {
    /// A new file was written.
    Written { path: PathBuf, paper: Paper },
    /// The bundle's sheet is already exactly what the bundle renders to.
    Intact { path: PathBuf, paper: Paper },
}

/// Renders the sheet of the bundle in `dir` on `paper` (default: the paper recorded
/// in `bundle.json`, else A4) into `out` (default: the bundle's own sheet).
pub fn regenerate(
    dir: &Path,
    paper: Option<Paper>,
    out: Option<&Path>,
) -> Result<Regenerated, SheetError> {
    let verified =
        crate::bundle::verify_contents(dir, None).map_err(|problems| SheetError::Bundle {
            dir: dir.to_path_buf(),
            problems,
        })?;
    let recorded = verified.manifest.paper;
    let paper = paper.or(recorded).unwrap_or_default();
    let sheet = Sheet::from_manifest(&verified.manifest, Some(&verified.seal))?;
    let pdf = render_pdf(&sheet, paper)?;
    if let Some(path) = out {
        write_once(path, &pdf)?;
        return Ok(Regenerated::Written {
            path: path.to_path_buf(),
            paper,
        });
    }
    let path = dir.join(SHEET_FILE);
    if let Some(recorded) = recorded.filter(|r| *r != paper) {
        return Err(SheetError::PaperMismatch { recorded, paper });
    }
    match std::fs::read(&path) {
        Ok(found) if found == pdf => Ok(Regenerated::Intact { path, paper }),
        Ok(_) => Err(SheetError::Differs { path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_once(&path, &pdf)?;
            Ok(Regenerated::Written { path, paper })
        }
        Err(e) => Err(crate::fsutil::FsError::io("read", &path, e).into()),
    }
}
