//! Drawing on one page: text, rules, boxes and filled paths, placed in millimetres from
//! the page's top-left corner, turned into printpdf operations.
//!
//! Only the PDF standard fonts are used (Helvetica and Courier, not embedded), so text
//! widths come from their published metrics, kept here for printable ASCII. Positions
//! are rounded to 1/100 pt, which keeps the content streams short.

use printpdf::{
    BuiltinFont, Color, CurTransMat, Greyscale, Line, LinePoint, Op, PaintMode, PdfFontHandle,
    PdfPage, Point, Polygon, PolygonRing, Pt, Rect, TextItem, TextMatrix, WindingOrder,
};

const PT_PER_MM: f32 = 72.0 / 25.4;

/// The four faces the sheet uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Sans,
    SansBold,
    Mono,
    MonoBold,
}

impl Font {
    fn builtin(self) -> BuiltinFont {
        match self {
            Font::Sans => BuiltinFont::Helvetica,
            Font::SansBold => BuiltinFont::HelveticaBold,
            Font::Mono => BuiltinFont::Courier,
            Font::MonoBold => BuiltinFont::CourierBold,
        }
    }

    /// Advance width of `text` at `size` points, in millimetres.
    pub fn width(self, size: f32, text: &str) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| match self {
                Font::Mono | Font::MonoBold => 600,
                Font::Sans => sans_width(&HELVETICA, c),
                Font::SansBold => sans_width(&HELVETICA_BOLD, c),
            })
            .sum();
        units as f32 / 1000.0 * size / PT_PER_MM
    }
}

/// Helvetica advance widths (1/1000 em) for ' ' ..= '~'.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 222, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    222, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold advance widths (1/1000 em) for ' ' ..= '~'.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 278, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    278, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// Outside printable ASCII (accented Latin-1 letters in names) a wide letter's width,
/// so that a measured line is never narrower than the printed one.
fn sans_width(table: &[u16; 95], c: char) -> u32 {
    match c {
        ' '..='~' => u32::from(table[c as usize - 32]),
        _ => 778,
    }
}

/// One page being drawn.
pub struct Canvas {
    width: f32,
    height: f32,
    ops: Vec<Op>,
}

fn pt(mm: f32) -> Pt {
    Pt((mm * PT_PER_MM * 100.0).round() / 100.0)
}

fn grey(level: f32) -> Color {
    Color::Greyscale(Greyscale::new(level, None))
}

impl Canvas {
    /// A blank page of `width` x `height` millimetres.
    pub fn new(width: f32, height: f32) -> Canvas {
        Canvas {
            width,
            height,
            ops: Vec::new(),
        }
    }

    pub fn height(&self) -> f32 {
        self.height
    }

    fn point(&self, x: f32, y: f32) -> Point {
        Point {
            x: pt(x),
            y: pt(self.height - y),
        }
    }

    /// Text with its baseline starting at (`x`, `y`); `level` 0 is black, 1 white.
    pub fn text(&mut self, x: f32, y: f32, font: Font, size: f32, level: f32, text: &str) {
        self.text_scaled(x, y, font, size, level, 100.0, text);
    }

    /// Text squeezed horizontally to `percent` of its natural width.
    #[allow(clippy::too_many_arguments)]
    pub fn text_scaled(
        &mut self,
        x: f32,
        y: f32,
        font: Font,
        size: f32,
        level: f32,
        percent: f32,
        text: &str,
    ) {
        let at = self.point(x, y);
        let percent = (percent * 10.0).round() / 10.0;
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetFillColor { col: grey(level) });
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::Builtin(font.builtin()),
            size: Pt(size),
        });
        if percent != 100.0 {
            self.ops.push(Op::SetHorizontalScaling { percent });
        }
        self.ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(at.x, at.y),
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        });
        self.ops.push(Op::EndTextSection);
        self.ops.push(Op::RestoreGraphicsState);
    }

    /// Text centred on the page, rising at 45 degrees: the DRILL watermark.
    pub fn diagonal_text(&mut self, font: Font, size: f32, level: f32, text: &str) {
        // cos 45 = sin 45, written out so that no platform's libm changes the bytes.
        const C: f32 = 0.707_106_77;
        let half = font.width(size, text) / 2.0;
        let cap = size / PT_PER_MM * 0.36;
        let (cx, cy) = (self.width / 2.0, self.height / 2.0);
        // Start so that the middle of the string lands on the page centre.
        let x = cx - C * half + C * cap;
        let y = cy + C * half + C * cap;
        let at = self.point(x, y);
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetFillColor { col: grey(level) });
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFont {
            font: PdfFontHandle::Builtin(font.builtin()),
            size: Pt(size),
        });
        self.ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Raw([C, C, -C, C, at.x.0, at.y.0]),
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        });
        self.ops.push(Op::EndTextSection);
        self.ops.push(Op::RestoreGraphicsState);
    }

    /// A straight line, `thickness` in points.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), thickness: f32, level: f32) {
        let points = [from, to]
            .iter()
            .map(|&(x, y)| LinePoint {
                p: self.point(x, y),
                bezier: false,
            })
            .collect();
        self.ops.push(Op::SaveGraphicsState);
        self.ops.push(Op::SetOutlineColor { col: grey(level) });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(thickness) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points,
                is_closed: false,
            },
        });
        self.ops.push(Op::RestoreGraphicsState);
    }

    /// A rectangle with its top-left corner at (`x`, `y`): outlined when `thickness`
    /// is given, filled with `level` otherwise.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, thickness: Option<f32>, level: f32) {
        let bottom_left = self.point(x, y + h);
        let rectangle = Rect {
            x: bottom_left.x,
            y: bottom_left.y,
            width: pt(w),
            height: pt(h),
            mode: Some(if thickness.is_some() {
                PaintMode::Stroke
            } else {
                PaintMode::Fill
            }),
            winding_order: Some(WindingOrder::NonZero),
        };
        self.ops.push(Op::SaveGraphicsState);
        match thickness {
            Some(t) => {
                self.ops.push(Op::SetOutlineColor { col: grey(level) });
                self.ops.push(Op::SetOutlineThickness { pt: Pt(t) });
            }
            None => self.ops.push(Op::SetFillColor { col: grey(level) }),
        }
        self.ops.push(Op::DrawRectangle { rectangle });
        self.ops.push(Op::RestoreGraphicsState);
    }

    /// One filled black path on a grid of `module` mm squares whose top-left corner is
    /// at (`x`, `y`): a rectangle ring per run of dark modules `(row, column, length)`,
    /// painted together so that touching runs leave no seam. The grid is set up with
    /// one transformation, so the path itself is small whole numbers.
    pub fn fill_grid(&mut self, x: f32, y: f32, module: f32, runs: &[(u16, u16, u16)]) {
        let corner = self.point(x, y);
        let unit = pt(module).0;
        let at = |col: u16, row: u16| LinePoint {
            p: Point {
                x: Pt(f32::from(col)),
                y: Pt(f32::from(row)),
            },
            bezier: false,
        };
        let rings = runs
            .iter()
            .map(|&(row, col, len)| PolygonRing {
                points: vec![
                    at(col, row),
                    at(col + len, row),
                    at(col + len, row + 1),
                    at(col, row + 1),
                ],
            })
            .collect();
        self.ops.push(Op::SaveGraphicsState);
        // Rows count downwards from the corner: y is scaled by -unit.
        self.ops.push(Op::SetTransformationMatrix {
            matrix: CurTransMat::Raw([unit, 0.0, 0.0, -unit, corner.x.0, corner.y.0]),
        });
        self.ops.push(Op::SetFillColor { col: grey(0.0) });
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings,
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
        self.ops.push(Op::RestoreGraphicsState);
    }

    pub fn into_page(self) -> PdfPage {
        PdfPage::new(
            printpdf::Mm(self.width),
            printpdf::Mm(self.height),
            self.ops,
        )
    }
}
