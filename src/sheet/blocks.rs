//! The blocks of the sheet, each drawn from the current baseline down: the header,
//! after a rotation what clients must do (the boxed NEW ROOT banner, or a line that the
//! root is unchanged) and the bundle it continues from, a certificate (hex as `step`
//! prints it, grouped hex for the eye, PGP words for the ear, a QR code for the camera),
//! the certificates a rotation superseded, the SSH CA keys and CRL with what it revokes,
//! the bundle seal and transcript head, the bootstrap command, the tokens with blank
//! bag-number fields, and the signatures.

use super::canvas::Font;
use super::pages::{BLACK, COLUMN, DARK, MID, Page, QR_SIZE, VALUE_X};
use super::qr::{MODULES, QUIET_MODULES};
use super::{
    NEW_ROOT, OLD_ROOT, ROOT_UNCHANGED, SheetCert, SheetError, SheetRevoked, SheetSuperseded,
    capitalise, human_time,
};

/// How many revoked serials the CRL block lists itself; any further ones flow on as
/// blocks of one line each, so that a long CRL never makes a block taller than a page.
pub const REVOKED_IN_BLOCK: usize = 12;
const WHITE: f32 = 1.0;

/// Room the text beside a QR code may use, in mm.
const BESIDE_QR: f32 = COLUMN - QR_SIZE - 2.0 * QUIET_MODULES * (QR_SIZE / MODULES as f32) - 2.0;

impl Page<'_> {
    /// The first page's title and the ceremony's facts.
    pub fn header(&mut self) {
        let s = self.sheet;
        self.title("Fingerprint sheet");
        self.text(0.0, Font::Sans, 12.0, BLACK, &s.ceremony);
        self.y += 7.0;
        self.pair(("Ceremony", &s.kind), ("Date (UTC)", &s.date));
        self.pair(
            ("Started", &human_time(&s.started)),
            ("Exported", &human_time(&s.exported)),
        );
        self.row("Checklist", Font::MonoBold, &s.checklist_sha256, COLUMN);
        self.row("CA URL", Font::Sans, &s.ca_url, COLUMN);
        self.drill_banner();
    }

    /// The boxed notice on the first page after a root rotation: a black title bar, the
    /// exact re-bootstrap command, and the new and the old root fingerprints.
    pub fn new_root_banner(&mut self) {
        let s = self.sheet;
        const BAR: f32 = 10.0;
        const INSET: f32 = 4.0;
        let inner = COLUMN - 2.0 * INSET;
        self.y += 1.0;
        let top = self.y;
        self.c.rect(self.left, top, COLUMN, BAR, None, BLACK);
        self.y = top + 7.3;
        self.fitted(INSET, inner, Font::SansBold, 16.0, WHITE, NEW_ROOT);
        self.y = top + BAR + 5.0;
        self.fitted(
            INSET,
            inner,
            Font::Sans,
            9.5,
            BLACK,
            "This ceremony made a new root. Every client, server and service that trusts this CA runs, exactly:",
        );
        self.y += 5.5;
        if let Some(command) = s.bootstrap_command() {
            for line in command_lines(&command, 9.5, inner - 2.0) {
                self.fitted(INSET + 2.0, inner - 2.0, Font::MonoBold, 9.5, BLACK, &line);
                self.y += 4.8;
            }
        }
        if let Some(root) = s.root() {
            self.y += 1.2;
            self.fitted(
                INSET,
                inner,
                Font::SansBold,
                9.0,
                BLACK,
                "NEW root, the one in the command (and the Root CA certificate below):",
            );
            self.y += 5.0;
            self.fitted(
                INSET + 2.0,
                inner - 2.0,
                Font::MonoBold,
                10.0,
                BLACK,
                &root.fingerprint.grouped(),
            );
            self.y += 6.5;
        }
        self.fitted(INSET, inner, Font::SansBold, 9.0, BLACK, OLD_ROOT);
        self.y += 5.0;
        match s.old_root() {
            Some(old) => {
                self.fitted(
                    INSET + 2.0,
                    inner - 2.0,
                    Font::MonoBold,
                    10.0,
                    BLACK,
                    &old.grouped(),
                );
            }
            None => self.fitted(
                INSET + 2.0,
                inner - 2.0,
                Font::Sans,
                9.5,
                BLACK,
                "as printed on the previous fingerprint sheet",
            ),
        }
        let bottom = self.y + 3.5;
        self.c
            .rect(self.left, top, COLUMN, bottom - top, Some(2.0), BLACK);
        self.y = bottom + 3.0;
    }

    /// The framed line on the first page after a rotation that kept the root.
    pub fn root_unchanged(&mut self) {
        self.y += 1.0;
        let top = self.y;
        self.c.rect(self.left, top, COLUMN, 7.5, Some(0.6), BLACK);
        self.y += 5.0;
        self.fitted(
            3.0,
            COLUMN - 6.0,
            Font::SansBold,
            10.0,
            BLACK,
            ROOT_UNCHANGED,
        );
        self.y += 5.0;
    }

    /// The bundle this ceremony continues, as its own sheet shows it.
    pub fn continues_from(&mut self) {
        let Some(previous) = &self.sheet.previous else {
            return;
        };
        self.heading("Continues from", None);
        self.label_line(
            "The bundle this ceremony started from; compare with the previous fingerprint sheet:",
        );
        self.row("Kind", Font::Sans, &previous.kind, COLUMN);
        self.grouped_row("Bundle seal", &super::grouped(&previous.seal));
        self.grouped_row("Root SHA-256", &previous.root.grouped());
    }

    /// A label and a grouped hash on one line.
    fn grouped_row(&mut self, label: &str, groups: &str) {
        self.text(0.0, Font::Sans, 8.5, DARK, label);
        self.fitted(
            VALUE_X,
            COLUMN - VALUE_X,
            Font::MonoBold,
            9.0,
            BLACK,
            groups,
        );
        self.y += 5.0;
    }

    /// A certificate of the previous bundle that this ceremony replaced; the first one
    /// carries the section's heading.
    pub fn superseded(&mut self, cert: &SheetSuperseded, first: bool) {
        if first {
            self.heading("Superseded certificates", None);
            self.label_line("Certificates of the previous bundle that this ceremony replaced:");
        } else {
            self.y += 2.0;
        }
        let title = format!("{} (superseded)", cert.title());
        self.text(0.0, Font::SansBold, 10.5, BLACK, &title);
        self.y += 5.0;
        self.row("Subject", Font::Sans, &cert.subject, COLUMN);
        self.row("Serial", Font::MonoBold, &cert.serial, COLUMN);
        self.row(
            "Not after",
            Font::Sans,
            &human_time(&cert.not_after),
            COLUMN,
        );
        self.row("SHA-256", Font::MonoBold, &cert.fingerprint.hex(), COLUMN);
        let status = self.sheet.superseded_status(cert);
        let font = if cert.revoked.is_some() {
            Font::SansBold
        } else {
            Font::Sans
        };
        self.row("Status", font, &status, COLUMN);
        self.y += 1.0;
    }

    /// The title of every further page.
    pub fn continued_header(&mut self) {
        let s = self.sheet;
        self.title("Fingerprint sheet, continued");
        let line = format!("{}, {}", s.ceremony, s.date);
        self.fitted(0.0, COLUMN, Font::Sans, 10.0, BLACK, &line);
        self.y += 5.0;
    }

    pub fn certificate(&mut self, cert: &SheetCert) -> Result<(), SheetError> {
        self.heading(&cert.title(), Some(&cert.file));
        let top = self.y - 3.5;
        let hex = cert.fingerprint.hex();
        self.row("Subject", Font::Sans, &cert.subject, BESIDE_QR);
        self.row("Serial", Font::MonoBold, &cert.serial, BESIDE_QR);
        let validity = format!(
            "{} to {}",
            human_time(&cert.not_before),
            human_time(&cert.not_after)
        );
        self.row("Valid", Font::Sans, &validity, BESIDE_QR);
        self.y += 1.0;
        self.label_line(
            "SHA-256 fingerprint, exactly as `step certificate fingerprint` prints it:",
        );
        self.text(0.0, Font::MonoBold, 9.5, BLACK, &hex);
        self.y += 5.0;
        self.label_line("The same, grouped for reading:");
        self.grouped_hex(&hex);
        let bottom = self.qr(&format!("{} SHA-256", cert.name), &hex, top)?;
        self.y = self.y.max(bottom + 4.0);
        self.label_line(
            "The same as PGP words, to read aloud (even bytes two syllables, odd bytes three):",
        );
        self.words(&cert.fingerprint.pgp_words());
        self.y += 2.0;
        Ok(())
    }

    pub fn ssh_and_crl(&mut self) {
        let s = self.sheet;
        let title = match (s.ssh.is_empty(), s.crl.is_some()) {
            (false, true) => "SSH certificate authorities and CRL",
            (false, false) => "SSH certificate authorities",
            _ => "Certificate revocation list",
        };
        self.heading(title, None);
        for ssh in &s.ssh {
            let label = format!("SSH {}", ssh.role);
            self.row(&label, Font::MonoBold, &ssh.fingerprint, COLUMN);
        }
        if let Some(crl) = &s.crl {
            let text = format!(
                "number {}, signed by {}; next update {}: re-sign before then",
                crl.number,
                crl.issuer,
                human_time(&crl.next_update)
            );
            self.row("CRL", Font::Sans, &text, COLUMN);
            if crl.revoked.is_empty() {
                self.row("Revokes", Font::Sans, "no certificate", COLUMN);
            }
            for (i, revoked) in crl.revoked.iter().take(REVOKED_IN_BLOCK).enumerate() {
                self.revoked(revoked, i == 0);
            }
        }
    }

    /// A serial the CRL revokes and the reason; the first one is labelled.
    pub fn revoked(&mut self, revoked: &SheetRevoked, first: bool) {
        if first {
            self.text(0.0, Font::Sans, 8.5, DARK, "Revokes");
        }
        let width = COLUMN - VALUE_X;
        let serial = Font::MonoBold.width(9.5, &revoked.serial).min(width * 0.7);
        self.fitted(VALUE_X, serial, Font::MonoBold, 9.5, BLACK, &revoked.serial);
        let x = VALUE_X + serial + 4.0;
        let reason = format!("({})", revoked.reason);
        self.fitted(x, COLUMN - x, Font::Sans, 10.0, BLACK, &reason);
        self.y += 5.0;
    }

    /// The seal and the transcript head, each with a QR code.
    pub fn bundle(&mut self) -> Result<(), SheetError> {
        self.heading("Bundle on the export stick", None);
        let s = self.sheet;
        match &s.seal {
            Some(seal) => self.hash(
                "Bundle seal",
                "SHA-256 of SHA256SUMS; check it with: sha256sum SHA256SUMS",
                seal,
            )?,
            None => {
                self.row(
                    "Bundle seal",
                    Font::Sans,
                    "written here by hand when the program shows it, after the export",
                    COLUMN,
                );
                // Sixteen groups of four in two rows, with room for handwriting.
                self.c
                    .rect(self.left, self.y - 1.0, COLUMN, 16.0, Some(0.6), BLACK);
                self.y += 19.0;
            }
        }
        self.hash(
            "Transcript head",
            "SHA-256 of the last line of transcript.jsonl",
            &s.transcript_head,
        )
    }

    /// A hash with its grouped form and a QR code at the right.
    fn hash(&mut self, title: &str, what: &str, hex: &str) -> Result<(), SheetError> {
        let top = self.y - 3.5;
        self.text(0.0, Font::SansBold, 10.5, BLACK, title);
        self.y += 4.5;
        self.label_line(what);
        self.text(0.0, Font::MonoBold, 9.5, BLACK, hex);
        self.y += 5.0;
        self.grouped_hex(hex);
        let bottom = self.qr(title, hex, top)?;
        // Room for the caption and the next code's quiet zone.
        self.y = self.y.max(bottom + 8.0);
        Ok(())
    }

    /// The `step ca bootstrap` command in a box: on one line if it fits at a legible
    /// size, else broken before `--fingerprint` with a backslash, as a shell reads it.
    pub fn bootstrap(&mut self) {
        let Some(command) = self.sheet.bootstrap_command() else {
            return;
        };
        const SIZE: f32 = 9.0;
        let s = self.sheet;
        let (title, what, frame) = if s.new_root() {
            (
                "Client bootstrap: NEW ROOT",
                "Every client re-bootstraps to the new root with exactly this command (--force replaces the old root):",
                1.5,
            )
        } else if s.root_unchanged() {
            (
                "Client bootstrap",
                "Each client trusts this root with exactly this command; clients bootstrapped before need do nothing:",
                0.6,
            )
        } else {
            (
                "Client bootstrap",
                "Each client trusts this root with exactly this command:",
                0.6,
            )
        };
        self.heading(title, None);
        self.label_line(what);
        let width = COLUMN - 6.0;
        let lines = command_lines(&command, SIZE, width);
        let top = self.y - 1.0;
        let height = lines.len() as f32 * 5.0 + 3.0;
        self.c
            .rect(self.left, top, COLUMN, height, Some(frame), BLACK);
        self.y = top + 5.5;
        for line in &lines {
            self.fitted(3.0, width, Font::MonoBold, SIZE, BLACK, line);
            self.y += 5.0;
        }
        self.y = top + height + 2.0;
    }

    /// Every token, with two empty boxes for the bag numbers written by hand.
    pub fn tokens(&mut self) {
        self.heading("Hardware tokens", None);
        let cols = [0.0, 28.0, 72.0, 112.0, 146.0];
        let heads = [
            "Role",
            "Label",
            "Serial",
            "Bag no. (opened)",
            "Bag no. (sealed)",
        ];
        for (x, head) in cols.iter().zip(heads) {
            self.text(*x, Font::SansBold, 8.5, DARK, head);
        }
        self.y += 2.0;
        let (left, right) = (self.left, self.right);
        self.c.line((left, self.y), (right, self.y), 0.5, MID);
        self.y += 6.0;
        for token in &self.sheet.tokens {
            self.fitted(cols[0], 27.0, Font::Sans, 10.0, BLACK, &token.role);
            self.fitted(cols[1], 43.0, Font::Sans, 10.0, BLACK, &token.label);
            self.fitted(cols[2], 39.0, Font::MonoBold, 9.5, BLACK, &token.serial);
            for x in [cols[3], cols[4]] {
                self.c
                    .rect(self.left + x, self.y - 5.0, 32.0, 8.0, Some(0.6), BLACK);
            }
            self.y += 3.8;
            self.fitted(cols[1], 70.0, Font::Sans, 7.0, MID, &token.model);
            self.y += 6.0;
        }
    }

    /// What the participants attest, and a signature and date line for each.
    pub fn signatures(&mut self) {
        self.heading("Signatures", None);
        for line in [
            "We were both present for the whole ceremony. We compared every serial and",
            "fingerprint on this sheet with the screen, read the root fingerprint aloud, and",
            "wrote the bag numbers above by hand.",
        ] {
            self.text(0.0, Font::Sans, 9.5, BLACK, line);
            self.y += 4.5;
        }
        self.y += 3.0;
        for p in &self.sheet.participants {
            let top = self.y;
            self.text(0.0, Font::SansBold, 10.0, BLACK, &capitalise(&p.role));
            self.y += 4.5;
            let name = format!("{} ({})", p.name, p.initials);
            self.fitted(0.0, 52.0, Font::Sans, 10.0, BLACK, &name);
            let base = top + 10.0;
            let (left, right) = (self.left, self.right);
            self.c
                .line((left + 56.0, base), (left + 136.0, base), 0.6, BLACK);
            self.c.line((left + 144.0, base), (right, base), 0.6, BLACK);
            self.y = base + 3.5;
            self.text(56.0, Font::Sans, 7.5, MID, "Signature");
            self.text(144.0, Font::Sans, 7.5, MID, "Date (UTC)");
            self.y += 6.0;
        }
    }
}

/// A shell command on one line if it fits `width` at `size`, else broken before
/// `--fingerprint` with a backslash, as a shell reads it.
fn command_lines(command: &str, size: f32, width: f32) -> Vec<String> {
    match command.split_once(" --fingerprint ") {
        Some((head, fp)) if Font::MonoBold.width(size, command) > width => {
            vec![format!("{head} \\"), format!("    --fingerprint {fp}")]
        }
        _ => vec![command.to_string()],
    }
}
