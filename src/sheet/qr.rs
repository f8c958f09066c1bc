//! QR codes as vector shapes: each horizontal run of dark modules becomes one rectangle
//! of a single filled path (drawn on a grid of whole modules, see
//! `Canvas::fill_grid`), so the code prints as sharp as the printer allows and scans from
//! paper. The caller keeps the four-module quiet zone around it free.

use super::SheetError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Light modules a scanner needs around a code.
pub const QUIET_MODULES: f32 = 4.0;
/// Modules across a version 5 code, which every 64-digit hash gets.
pub const MODULES: usize = 37;
const VERSION: i16 = 5;

/// A run of dark modules in one row: `(row, first column, length)`.
pub type Run = (u16, u16, u16);

/// The QR code of `value`: its dark runs and the number of modules across.
pub fn runs(what: &str, value: &str) -> Result<(Vec<Run>, usize), SheetError> {
    // Version 5 at level M (15 % of the code may be lost) holds 84 bytes: every 64-digit
    // hash gets the same 37-module code, about 0.8 mm a module at the sheet's size.
    // Anything longer takes the smallest version that holds it.
    let code = QrCode::with_version(value.as_bytes(), Version::Normal(VERSION), EcLevel::M)
        .or_else(|_| QrCode::with_error_correction_level(value.as_bytes(), EcLevel::M))
        .map_err(|e| SheetError::Qr {
            what: what.to_string(),
            reason: e.to_string(),
        })?;
    let n = code.width();
    let colors = code.to_colors();
    let mut runs = Vec::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && colors[row * n + col] == Color::Dark {
                col += 1;
            }
            runs.push((row as u16, start as u16, (col - start) as u16));
        }
    }
    Ok((runs, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_a_version_5_code_of_dark_runs_inside_the_square() {
        let hash = "68ec99ebcb296221a13458679b65840e261470b1f0df1a405290d41c7fc4d8bd";
        let (runs, n) = runs("test", hash).unwrap();
        assert_eq!(n, MODULES);
        assert!(!runs.is_empty());
        for &(row, col, len) in &runs {
            assert!(usize::from(row) < n && len > 0 && usize::from(col + len) <= n);
        }
        // The top-left finder pattern: a run of seven dark modules.
        assert!(runs.contains(&(0, 0, 7)));
    }
}
