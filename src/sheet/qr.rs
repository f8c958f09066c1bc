//! QR codes as vector shapes: each horizontal run of dark modules becomes one rectangle
//! of a single filled path, so the code prints as sharp as the printer allows and scans
//! from paper. The caller keeps the four-module quiet zone around it free.

use super::SheetError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Light modules a scanner needs around a code.
pub const QUIET_MODULES: f32 = 4.0;
/// Modules across a version 5 code, which every 64-digit hash gets.
pub const MODULES: usize = 37;
const VERSION: i16 = 5;

/// A QR code of `value` laid out in a square of `size` mm at (`x`, `y`) (top-left):
/// the dark cells as `(x, y, w, h)` rectangles, and the module size in mm.
pub fn cells(
    what: &str,
    value: &str,
    x: f32,
    y: f32,
    size: f32,
) -> Result<(Vec<(f32, f32, f32, f32)>, f32), SheetError> {
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
    let module = size / n as f32;
    let colors = code.to_colors();
    let mut cells = Vec::new();
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
            cells.push((
                x + start as f32 * module,
                y + row as f32 * module,
                (col - start) as f32 * module,
                module,
            ));
        }
    }
    Ok((cells, module))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_a_version_5_code_of_dark_runs_inside_the_square() {
        let hash = "68ec99ebcb296221a13458679b65840e261470b1f0df1a405290d41c7fc4d8bd";
        let (cells, module) = cells("test", hash, 10.0, 20.0, 37.0).unwrap();
        assert!((module - 1.0).abs() < 1e-6, "37 modules in 37 mm");
        assert!(!cells.is_empty());
        for (x, y, w, h) in cells {
            assert!(x >= 10.0 && y >= 20.0 && x + w <= 47.0 + 1e-4 && y + h <= 57.0 + 1e-4);
            assert!(w >= module - 1e-4 && (h - module).abs() < 1e-6);
        }
    }
}
