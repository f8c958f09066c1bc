//! The sheet as a PDF document: pages from `pages`, metadata from the bundle, and
//! byte-for-byte reproducible output.
//!
//! printpdf writes two things that would change from one run to the next: the
//! document dates (it takes them from [`PdfDocumentInfo`], which we fill from the
//! bundle's export time) and the trailer `/ID`, two 32-letter strings from a
//! process-wide counter. The `/ID` is replaced after saving, length for length so no
//! offset moves, by a hash of the sheet's text and the paper size.

use super::{Paper, Sheet, SheetError, pages};
use printpdf::{PdfDocument, PdfDocumentInfo, PdfParseErrorSeverity, PdfSaveOptions};
use sha2::{Digest, Sha256};
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Page width and height in millimetres.
pub fn page_size(paper: Paper) -> (f32, f32) {
    match paper {
        Paper::A4 => (210.0, 297.0),
        Paper::Letter => (215.9, 279.4),
    }
}

/// Renders the sheet; the same sheet and paper always give the same bytes.
pub fn render_pdf(sheet: &Sheet, paper: Paper) -> Result<Vec<u8>, SheetError> {
    let (width, height) = page_size(paper);
    let pages = pages::draw(sheet, width, height)?;
    let title = format!(
        "Fingerprint sheet: {}{}",
        sheet.ceremony,
        if sheet.drill { " (DRILL)" } else { "" }
    );
    let seconds = OffsetDateTime::parse(&sheet.exported, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .unwrap_or(0);
    let exported = printpdf::DateTime::from_unix_timestamp(seconds)
        .map_err(|e| SheetError::Pdf(format!("export time {}: {e}", sheet.exported)))?;
    let mut doc = PdfDocument::new(&title);
    doc.metadata.info = PdfDocumentInfo {
        creation_date: exported,
        modification_date: exported,
        metadata_date: exported,
        document_title: title,
        creator: "ceremony".into(),
        producer: "ceremony".into(),
        subject: format!("{} ceremony of {}", sheet.kind, sheet.date),
        identifier: sheet
            .root()
            .map(|r| r.fingerprint.hex())
            .unwrap_or_default(),
        ..PdfDocumentInfo::default()
    };
    doc.with_pages(pages);
    let opts = PdfSaveOptions {
        image_optimization: None,
        ..PdfSaveOptions::default()
    };
    let mut warnings = Vec::new();
    let bytes = doc.save(&opts, &mut warnings);
    if let Some(w) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        return Err(SheetError::Pdf(format!("page {}: {}", w.page, w.msg)));
    }
    let id = document_id(sheet, paper);
    fix_trailer_id(bytes, &id)
}

/// Whether `found` is exactly the PDF of `sheet` on `paper`.
///
/// Remembers the last rendering in this process, keyed by the whole sheet: verifying the
/// same bundle again and again (as the tamper tests do, a byte at a time) renders it once.
pub fn is_rendering(sheet: &Sheet, paper: Paper, found: &[u8]) -> Result<bool, SheetError> {
    static LAST: Mutex<Option<(Vec<u8>, Vec<u8>)>> = Mutex::new(None);
    let key = Sha256::digest(format!("{paper:?}\n{sheet:?}").as_bytes()).to_vec();
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((k, bytes)) = last.as_ref()
        && *k == key
    {
        return Ok(bytes == found);
    }
    let bytes = render_pdf(sheet, paper)?;
    let same = bytes == found;
    *last = Some((key, bytes));
    Ok(same)
}

/// 32 hex digits naming this sheet on this paper.
fn document_id(sheet: &Sheet, paper: Paper) -> String {
    let mut hash = Sha256::new();
    hash.update(b"ceremony fingerprint sheet\n");
    hash.update(format!("{paper:?}\n").as_bytes());
    hash.update(sheet.text().as_bytes());
    if let Some(seal) = &sheet.seal {
        hash.update(seal.as_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

/// Replaces the contents of both strings of the trailer's `/ID` array with `id`, which
/// has the same length as what printpdf wrote.
fn fix_trailer_id(mut bytes: Vec<u8>, id: &str) -> Result<Vec<u8>, SheetError> {
    let bad = |what: &str| SheetError::Pdf(format!("fixing the document id: {what}"));
    let trailer = rfind(&bytes, b"trailer").ok_or_else(|| bad("no trailer"))?;
    let start = find(&bytes[trailer..], b"/ID").ok_or_else(|| bad("no /ID in the trailer"))?;
    let mut at = trailer + start;
    for _ in 0..2 {
        let open = at + find(&bytes[at..], b"(").ok_or_else(|| bad("no id string"))?;
        let close = open + find(&bytes[open..], b")").ok_or_else(|| bad("unterminated id"))?;
        let old = &bytes[open + 1..close];
        if old.len() != id.len() || !old.iter().all(u8::is_ascii_alphanumeric) {
            return Err(bad("an id is not 32 letters"));
        }
        bytes[open + 1..close].copy_from_slice(id.as_bytes());
        at = close + 1;
    }
    Ok(bytes)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}
