//! Pages and the flow of blocks over them, in a 180 mm column that fits both A4 and US
//! Letter, with the drawing primitives the blocks (`blocks`) are made of.
//!
//! A block (a certificate, the seal, the signatures) never splits: when it would run
//! into the footer it starts a new page, measured by drawing it once on a scratch page.
//! The bundle's facts always start a new page, so a root ceremony prints as two pages:
//! the certificates, then the bundle, tokens and signatures. A rotation adds, on the
//! first page, what clients must do (the NEW ROOT banner or the root-unchanged line)
//! and the bundle it continues from, and after its certificates the superseded ones:
//! three pages. Every page gets a footer
//! with initials fields and "Page n of N", and in a drill a DRILL watermark under
//! everything.

use super::blocks::REVOKED_IN_BLOCK;
use super::canvas::{Canvas, Font};
use super::qr::{self, QUIET_MODULES};
use super::{Sheet, SheetError, grouped};
use printpdf::PdfPage;

/// Width of the printed column, in mm.
pub const COLUMN: f32 = 180.0;
/// Side of a QR code symbol (without its quiet zone), in mm: at least 25 mm so that a
/// phone reads it from paper.
pub const QR_SIZE: f32 = 30.0;
/// Left edge of values in a label/value row, relative to the column.
pub const VALUE_X: f32 = 24.0;
const TOP: f32 = 16.0;
/// From the page's bottom edge to the footer's baseline, and the room kept above it.
const FOOTER: f32 = 10.0;
const FOOTER_ROOM: f32 = 8.0;

pub const BLACK: f32 = 0.0;
pub const DARK: f32 = 0.25;
pub const MID: f32 = 0.45;
const WATERMARK: f32 = 0.87;

type Block<'b, 'a> = dyn Fn(&mut Page<'a>) -> Result<(), SheetError> + 'b;

/// Draws every page of the sheet.
pub fn draw(sheet: &Sheet, width: f32, height: f32) -> Result<Vec<PdfPage>, SheetError> {
    let mut flow = Flow {
        sheet,
        width,
        height,
        done: Vec::new(),
        page: Page::new(sheet, width, height),
    };
    flow.page.header();
    if sheet.new_root() {
        flow.block(&|p| {
            p.new_root_banner();
            Ok(())
        })?;
    } else if sheet.root_unchanged() {
        flow.block(&|p| {
            p.root_unchanged();
            Ok(())
        })?;
    }
    if sheet.previous.is_some() {
        flow.block(&|p| {
            p.continues_from();
            Ok(())
        })?;
    }
    for cert in &sheet.certificates {
        flow.block(&|p| p.certificate(cert))?;
    }
    for (i, cert) in sheet.superseded.iter().enumerate() {
        flow.block(&|p| {
            p.superseded(cert, i == 0);
            Ok(())
        })?;
    }
    if !sheet.ssh.is_empty() || sheet.crl.is_some() {
        flow.block(&|p| {
            p.ssh_and_crl();
            Ok(())
        })?;
    }
    let more_revoked = sheet.crl.iter().flat_map(|c| c.revoked.iter());
    for revoked in more_revoked.skip(REVOKED_IN_BLOCK) {
        flow.block(&|p| {
            p.revoked(revoked, false);
            Ok(())
        })?;
    }
    flow.new_page();
    flow.block(&|p| p.bundle())?;
    if sheet.bootstrap_command().is_some() {
        flow.block(&|p| {
            p.bootstrap();
            Ok(())
        })?;
    }
    flow.block(&|p| {
        p.tokens();
        Ok(())
    })?;
    flow.block(&|p| {
        p.signatures();
        Ok(())
    })?;
    Ok(flow.finish())
}

struct Flow<'a> {
    sheet: &'a Sheet,
    width: f32,
    height: f32,
    done: Vec<Page<'a>>,
    page: Page<'a>,
}

impl<'a> Flow<'a> {
    /// Draws `block` on this page if it fits above the footer, else on a new page.
    fn block(&mut self, block: &Block<'_, 'a>) -> Result<(), SheetError> {
        let mut scratch = Page::new(self.sheet, self.width, self.height);
        scratch.measuring = true;
        scratch.y = self.page.y;
        block(&mut scratch)?;
        if scratch.y > self.page.limit() {
            self.new_page();
            let mut again = Page::new(self.sheet, self.width, self.height);
            again.measuring = true;
            again.y = self.page.y;
            block(&mut again)?;
            if again.y > self.page.limit() {
                return Err(SheetError::Pdf(
                    "a block of the sheet does not fit on one page".into(),
                ));
            }
        }
        block(&mut self.page)
    }

    fn new_page(&mut self) {
        let next = Page::new(self.sheet, self.width, self.height);
        self.done.push(std::mem::replace(&mut self.page, next));
        self.page.continued_header();
    }

    fn finish(mut self) -> Vec<PdfPage> {
        self.done.push(self.page);
        let total = self.done.len();
        self.done
            .into_iter()
            .enumerate()
            .map(|(i, page)| page.finish(i + 1, total))
            .collect()
    }
}

/// One page being filled from the top.
pub struct Page<'a> {
    pub sheet: &'a Sheet,
    pub c: Canvas,
    pub left: f32,
    pub right: f32,
    /// The next baseline, in mm from the top of the page.
    pub y: f32,
    /// A scratch page that only finds out how far a block reaches: QR codes are laid
    /// out but not computed.
    measuring: bool,
}

impl<'a> Page<'a> {
    fn new(sheet: &'a Sheet, width: f32, height: f32) -> Page<'a> {
        let mut c = Canvas::new(width, height);
        if sheet.drill {
            // First, so that everything else is printed over it.
            c.diagonal_text(Font::SansBold, 150.0, WATERMARK, "DRILL");
        }
        let left = (width - COLUMN) / 2.0;
        Page {
            sheet,
            c,
            left,
            right: left + COLUMN,
            y: TOP,
            measuring: false,
        }
    }

    /// The lowest baseline a block may reach.
    fn limit(&self) -> f32 {
        self.c.height() - FOOTER - FOOTER_ROOM
    }

    /// The page title, with a black DRILL box at the right in a drill.
    pub fn title(&mut self, title: &str) {
        self.text(0.0, Font::SansBold, 18.0, BLACK, title);
        if self.sheet.drill {
            let w = Font::SansBold.width(12.0, "DRILL") + 6.0;
            let x = COLUMN - w;
            self.c
                .rect(self.left + x, self.y - 6.0, w, 8.0, None, BLACK);
            self.text(x + 3.0, Font::SansBold, 12.0, 1.0, "DRILL");
        }
        self.y += 7.5;
    }

    pub fn drill_banner(&mut self) {
        if !self.sheet.drill {
            return;
        }
        self.y += 1.0;
        let (left, top) = (self.left, self.y);
        self.c.rect(left, top, COLUMN, 7.5, Some(1.2), BLACK);
        self.y += 5.0;
        self.text(
            3.0,
            Font::SansBold,
            10.0,
            BLACK,
            "DRILL: throwaway SoftHSM tokens. Nothing on this sheet may be used in production.",
        );
        self.y += 5.0;
    }

    /// A section heading with a rule under it, and an optional note at the right.
    pub fn heading(&mut self, title: &str, note: Option<&str>) {
        self.y += 4.0;
        self.text(0.0, Font::SansBold, 12.5, BLACK, title);
        if let Some(note) = note {
            let x = COLUMN - Font::Mono.width(8.5, note);
            self.text(x, Font::Mono, 8.5, MID, note);
        }
        self.y += 1.8;
        let (left, right) = (self.left, self.right);
        self.c.line((left, self.y), (right, self.y), 0.8, BLACK);
        self.y += 5.0;
    }

    /// A label and its value on one line, the value kept within `width` of the column.
    pub fn row(&mut self, label: &str, font: Font, value: &str, width: f32) {
        self.text(0.0, Font::Sans, 8.5, DARK, label);
        let size = if font == Font::MonoBold { 9.5 } else { 10.0 };
        self.fitted(VALUE_X, width - VALUE_X, font, size, BLACK, value);
        self.y += 5.0;
    }

    /// Two label/value pairs on one line.
    pub fn pair(&mut self, first: (&str, &str), second: (&str, &str)) {
        for (x, (label, value)) in [(0.0, first), (92.0, second)] {
            self.text(x, Font::Sans, 8.5, DARK, label);
            self.fitted(x + VALUE_X, 64.0, Font::Sans, 10.0, BLACK, value);
        }
        self.y += 5.0;
    }

    /// A small explanatory line.
    pub fn label_line(&mut self, text: &str) {
        self.fitted(0.0, COLUMN, Font::Sans, 8.0, DARK, text);
        self.y += 4.5;
    }

    /// 64 hex digits as two lines of eight groups, large.
    pub fn grouped_hex(&mut self, hex: &str) {
        let groups = grouped(hex);
        let groups: Vec<&str> = groups.split(' ').collect();
        for line in groups.chunks(8) {
            self.y += 1.0;
            self.text(2.0, Font::MonoBold, 13.0, BLACK, &line.join(" "));
            self.y += 5.5;
        }
    }

    /// Words in rows of eight columns, each row numbered by its first word.
    pub fn words(&mut self, words: &[&str]) {
        let column = (COLUMN - 8.0) / 8.0;
        for (row, chunk) in words.chunks(8).enumerate() {
            let number = format!("{:>2}", row * 8 + 1);
            self.text(0.0, Font::Mono, 8.0, MID, &number);
            for (i, word) in chunk.iter().enumerate() {
                let x = 8.0 + i as f32 * column;
                self.fitted(x, column - 1.5, Font::Sans, 9.0, BLACK, word);
            }
            self.y += 4.8;
        }
    }

    /// A QR code of `value` at the right edge of the column, its top at `top`, with a
    /// caption under its quiet zone; returns the caption's baseline.
    pub fn qr(&mut self, what: &str, value: &str, top: f32) -> Result<f32, SheetError> {
        let x = self.right - QR_SIZE;
        let module = if self.measuring {
            // The largest module any code on the sheet has (version 5).
            QR_SIZE / qr::MODULES as f32
        } else {
            let (runs, n) = qr::runs(what, value)?;
            let module = QR_SIZE / n as f32;
            self.c.fill_grid(x, top, module, &runs);
            module
        };
        let caption = format!("QR: {what}");
        let cx = COLUMN - QR_SIZE / 2.0 - Font::Sans.width(7.0, &caption) / 2.0;
        let baseline = top + QR_SIZE + QUIET_MODULES * module + 1.5;
        self.c
            .text(self.left + cx, baseline, Font::Sans, 7.0, MID, &caption);
        Ok(baseline)
    }

    /// Text at `x` (relative to the column) on the current baseline.
    pub fn text(&mut self, x: f32, font: Font, size: f32, level: f32, text: &str) {
        self.c.text(self.left + x, self.y, font, size, level, text);
    }

    /// Text that never runs past `width` mm: first set smaller (down to three quarters
    /// of `size`), then squeezed.
    pub fn fitted(&mut self, x: f32, width: f32, font: Font, size: f32, level: f32, text: &str) {
        let natural = font.width(size, text);
        if natural <= width {
            return self.text(x, font, size, level, text);
        }
        let smaller = (size * width / natural).max(size * 0.75);
        let percent = (100.0 * width / font.width(smaller, text))
            .min(100.0)
            .floor();
        self.c
            .text_scaled(self.left + x, self.y, font, smaller, level, percent, text);
    }

    fn finish(mut self, number: usize, total: usize) -> PdfPage {
        let base = self.c.height() - FOOTER;
        let (left, right) = (self.left, self.right);
        self.c
            .line((left, base - 4.5), (right, base - 4.5), 0.4, MID);
        self.y = base;
        let who = format!(
            "{}{}, {}",
            if self.sheet.drill { "DRILL: " } else { "" },
            self.sheet.ceremony,
            self.sheet.date
        );
        self.fitted(0.0, 80.0, Font::Sans, 7.5, DARK, &who);
        self.text(86.0, Font::Sans, 7.5, DARK, "Initials");
        self.c
            .line((left + 98.0, base), (left + 118.0, base), 0.5, BLACK);
        self.c
            .line((left + 122.0, base), (left + 142.0, base), 0.5, BLACK);
        let page = format!("Page {number} of {total}");
        let x = COLUMN - Font::Sans.width(7.5, &page);
        self.text(x, Font::Sans, 7.5, DARK, &page);
        self.c.into_page()
    }
}
