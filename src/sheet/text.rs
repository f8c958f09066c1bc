//! The sheet as plain text: the bundle's `FINGERPRINT.txt` and, later, the TUI's view.
//!
//! The first line is the root fingerprint alone, exactly as `step certificate
//! fingerprint` prints it, so that `head -1 FINGERPRINT.txt` is a usable value. Right
//! under it comes what clients must do: after a root rotation a framed "NEW ROOT" notice
//! with the `step ca bootstrap --force` command and the old root, after an intermediate
//! rotation a line that the root is unchanged. The rest carries the same facts as the
//! PDF for people. Signature lines and the blank fields for bag numbers exist only on
//! paper.

use super::{
    NEW_ROOT, OLD_ROOT, ROOT_UNCHANGED, Sheet, SheetCert, SheetCrl, SheetPrevious, SheetSuperseded,
    grouped, human_time,
};
use std::fmt::Write as _;

impl Sheet {
    /// The text rendering; its first line is the root fingerprint (empty without a root).
    pub fn text(&self) -> String {
        let mut out = String::new();
        let root = self.root().map(|r| r.fingerprint.hex()).unwrap_or_default();
        line(&mut out, &root);
        if self.new_root() {
            self.new_root_notice(&mut out);
        } else if self.root_unchanged() {
            line(&mut out, ROOT_UNCHANGED);
        }
        line(&mut out, "");
        line(&mut out, &format!("FINGERPRINT SHEET: {}", self.ceremony));
        if self.drill {
            line(
                &mut out,
                "DRILL: throwaway tokens; this bundle must never be installed in production.",
            );
        }
        line(&mut out, &format!("kind:              {}", self.kind));
        line(&mut out, &format!("date (UTC):        {}", self.date));
        line(&mut out, &format!("started:           {}", self.started));
        line(&mut out, &format!("exported:          {}", self.exported));
        line(
            &mut out,
            &format!("checklist SHA-256: {}", self.checklist_sha256),
        );
        line(&mut out, &format!("CA URL:            {}", self.ca_url));
        if let Some(previous) = &self.previous {
            line(&mut out, "");
            continues_from(&mut out, previous);
        }
        for cert in &self.certificates {
            line(&mut out, "");
            certificate(&mut out, cert);
        }
        if !self.superseded.is_empty() {
            line(&mut out, "");
            line(
                &mut out,
                "superseded: certificates of the previous bundle that this ceremony replaced",
            );
            for cert in &self.superseded {
                self.superseded(&mut out, cert);
            }
        }
        if !self.ssh.is_empty() || self.crl.is_some() {
            line(&mut out, "");
        }
        for ssh in &self.ssh {
            line(
                &mut out,
                &format!("SSH {} CA ({}): {}", ssh.role, ssh.file, ssh.fingerprint),
            );
        }
        if let Some(crl) = &self.crl {
            self::crl(&mut out, crl);
        }
        line(&mut out, "");
        line(&mut out, "tokens:");
        for t in &self.tokens {
            line(
                &mut out,
                &format!(
                    "  {:<14} label {:<24} serial {}  ({})",
                    t.role, t.label, t.serial, t.model
                ),
            );
        }
        line(&mut out, "participants:");
        for p in &self.participants {
            line(
                &mut out,
                &format!("  {:<14} {} ({})", p.role, p.name, p.initials),
            );
        }
        line(&mut out, "");
        match &self.seal {
            Some(seal) => line(&mut out, &format!("bundle seal:       {seal}")),
            None => line(
                &mut out,
                "bundle seal:       SHA-256 of SHA256SUMS (`sha256sum SHA256SUMS`); printed on fingerprint-sheet.pdf",
            ),
        }
        line(
            &mut out,
            &format!("transcript head:   {}", self.transcript_head),
        );
        if let Some(bootstrap) = self.bootstrap_command() {
            line(&mut out, "");
            line(&mut out, "bootstrap:");
            line(&mut out, &format!("  {bootstrap}"));
        }
        out
    }
}

impl Sheet {
    /// The framed notice under the first line after a root rotation.
    fn new_root_notice(&self, out: &mut String) {
        let rule = "=".repeat(80);
        line(out, &rule);
        line(out, &format!("{NEW_ROOT}, with exactly:"));
        if let Some(command) = self.bootstrap_command() {
            line(out, &format!("  {command}"));
        }
        if let Some(root) = self.root() {
            line(out, "NEW root:");
            line(out, &format!("  {}", root.fingerprint.hex()));
            line(out, &format!("  {}", root.fingerprint.grouped()));
        }
        line(out, &format!("{OLD_ROOT}:"));
        match self.old_root() {
            Some(old) => {
                line(out, &format!("  {}", old.hex()));
                line(out, &format!("  {}", old.grouped()));
            }
            None => line(out, "  see the previous fingerprint sheet"),
        }
        line(out, &rule);
    }

    fn superseded(&self, out: &mut String, cert: &SheetSuperseded) {
        line(out, &format!("  {} (superseded)", cert.title()));
        line(out, &format!("    subject:   {}", cert.subject));
        line(out, &format!("    serial:    {}", cert.serial));
        line(
            out,
            &format!("    not after: {}", human_time(&cert.not_after)),
        );
        line(out, &format!("    SHA-256:   {}", cert.fingerprint.hex()));
        line(
            out,
            &format!("    status:    {}", self.superseded_status(cert)),
        );
    }
}

fn continues_from(out: &mut String, previous: &SheetPrevious) {
    line(out, "continues from the previous bundle:");
    line(out, &format!("  kind:            {}", previous.kind));
    line(out, &format!("  bundle seal:     {}", previous.seal));
    line(
        out,
        &format!("                   {}", grouped(&previous.seal)),
    );
    line(out, &format!("  root SHA-256:    {}", previous.root.hex()));
    line(
        out,
        &format!("                   {}", previous.root.grouped()),
    );
}

fn crl(out: &mut String, crl: &SheetCrl) {
    line(
        out,
        &format!(
            "CRL number {} signed by {}: next update {} (re-sign before then)",
            crl.number, crl.issuer, crl.next_update
        ),
    );
    if crl.revoked.is_empty() {
        line(out, "  revokes: no certificate");
    }
    for r in &crl.revoked {
        line(out, &format!("  revokes: {} ({})", r.serial, r.reason));
    }
}

fn certificate(out: &mut String, cert: &SheetCert) {
    line(out, &format!("{} ({})", cert.title(), cert.file));
    line(out, &format!("  subject: {}", cert.subject));
    line(out, &format!("  serial:  {}", cert.serial));
    line(
        out,
        &format!(
            "  valid:   {} to {}",
            human_time(&cert.not_before),
            human_time(&cert.not_after)
        ),
    );
    line(out, &format!("  SHA-256: {}", cert.fingerprint.hex()));
    line(
        out,
        &format!("  grouped: {}", grouped(&cert.fingerprint.hex())),
    );
    for (i, words) in cert.fingerprint.pgp_words().chunks(8).enumerate() {
        let label = if i == 0 { "  words:  " } else { "         " };
        line(out, &format!("{label} {}", words.join(" ")));
    }
}

fn line(out: &mut String, text: &str) {
    let _ = writeln!(out, "{text}");
}
