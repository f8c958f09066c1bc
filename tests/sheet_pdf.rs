//! The fingerprint sheet of a drill bundle, read back with independent tools: pdftotext
//! finds every value, zbarimg decodes every QR code to exactly its value, the layout
//! stays on the page without overlaps on A4 and US Letter, the bytes are reproducible,
//! and `ceremony verify` notices a changed or missing sheet. The expected values are
//! computed here from the bundle's files, not taken from the program's output.

mod common;
use common::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TOOLS: [&str; 6] = [
    "pdftotext",
    "pdftoppm",
    "pdfinfo",
    "zbarimg",
    "openssl",
    "ssh-keygen",
];

/// One drill bundle for the whole file, plus its sheet rendered on Letter.
fn bundle() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static BUNDLE: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        for tool in TOOLS {
            require(tool);
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("bundle");
        rehearse_root(&dir);
        let letter = tmp.path().join("letter.pdf");
        let out = run(ceremony()
            .arg("sheet")
            .arg(&dir)
            .args(["--paper", "letter", "--out"])
            .arg(&letter));
        assert!(out.status.success(), "{}", all_output(&out));
        (tmp, dir, letter)
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn tool(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{:?}: {}", cmd, all_output(&out));
    stdout(&out)
}

/// The DER inside a PEM file, decoded here rather than by the program.
fn pem_der(path: &Path) -> Vec<u8> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// Everything the sheet must show, worked out from the bundle's files.
struct Expected {
    root: String,
    intermediate: String,
    serials: Vec<String>,
    ssh: Vec<String>,
    seal: String,
    head: String,
    checklist: String,
    bootstrap: String,
    token_serials: Vec<String>,
}

fn expected(dir: &Path) -> Expected {
    let root = sha256_hex(&pem_der(&dir.join("root_ca.crt")));
    let intermediate = sha256_hex(&pem_der(&dir.join("intermediate_ca.crt")));
    let serials = ["root_ca.crt", "intermediate_ca.crt"]
        .iter()
        .map(|f| {
            let out = tool(
                Command::new("openssl")
                    .args(["x509", "-noout", "-serial", "-in"])
                    .arg(dir.join(f)),
            );
            out.trim()
                .trim_start_matches("serial=")
                .to_lowercase()
                .trim_start_matches('0')
                .to_string()
        })
        .collect();
    let ssh = ["ssh_user_ca.pub", "ssh_host_ca.pub"]
        .iter()
        .map(|f| {
            let out = tool(Command::new("ssh-keygen").arg("-lf").arg(dir.join(f)));
            out.split_whitespace().nth(1).unwrap().to_string()
        })
        .collect();
    let seal = sha256_hex(&std::fs::read(dir.join("SHA256SUMS")).unwrap());
    let transcript = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
    let head = sha256_hex(transcript.lines().last().unwrap().as_bytes());
    let checklist = sha256_hex(&std::fs::read(ROOT_CEREMONY).unwrap());
    let toml: toml::Table = toml::from_str(&std::fs::read_to_string(ROOT_CEREMONY).unwrap())
        .expect("the root ceremony checklist parses as TOML");
    let ca_url = toml["ceremony"]["ca_url"].as_str().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.json")).unwrap()).unwrap();
    let token_serials = manifest["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["serial"].as_str().unwrap().to_string())
        .collect();
    Expected {
        bootstrap: format!("step ca bootstrap --ca-url {ca_url} --fingerprint {root}"),
        root,
        intermediate,
        serials,
        ssh,
        seal,
        head,
        checklist,
        token_serials,
    }
}

/// The two printed lines of a hash grouped by four digits.
fn grouped(hex: &str) -> [String; 2] {
    let groups: Vec<&str> = (0..16).map(|i| &hex[i * 4..i * 4 + 4]).collect();
    [groups[..8].join(" "), groups[8..].join(" ")]
}

/// The text of a PDF with runs of white space made single spaces, and a shell line
/// continuation (` \` at the end of a line) joined.
fn pdf_text(pdf: &Path, layout: bool) -> String {
    let mut cmd = Command::new("pdftotext");
    if layout {
        cmd.arg("-layout");
    }
    let text = tool(cmd.arg(pdf).arg("-"));
    text.replace(" \\\n", " ")
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn page_count(pdf: &Path) -> usize {
    let info = tool(Command::new("pdfinfo").arg(pdf));
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn every_value_is_in_the_text_of_both_papers() {
    let (_, dir, letter) = bundle();
    let want = expected(dir);
    let a4 = dir.join("fingerprint-sheet.pdf");
    for (pdf, size) in [(&a4, "A4"), (letter, "letter")] {
        assert_eq!(page_count(pdf), 2, "{size}");
        let info = tool(Command::new("pdfinfo").arg(pdf));
        assert!(info.contains(&format!("({size})")), "{info}");
        for layout in [false, true] {
            let text = pdf_text(pdf, layout);
            let flat = squeeze(&text);
            let mut values = vec![
                want.root.clone(),
                want.intermediate.clone(),
                want.seal.clone(),
                want.head.clone(),
                want.checklist.clone(),
                want.bootstrap.clone(),
                "DRILL".to_string(),
            ];
            values.extend(want.serials.iter().cloned());
            values.extend(want.ssh.iter().cloned());
            values.extend(want.token_serials.iter().cloned());
            for hex in [&want.root, &want.intermediate, &want.seal, &want.head] {
                values.extend(grouped(hex));
            }
            for value in values {
                assert!(
                    flat.contains(&value),
                    "{size} (layout {layout}): {value} missing from\n{text}"
                );
            }
        }
    }
}

#[test]
fn every_qr_code_decodes_to_exactly_its_value() {
    let (tmp, dir, letter) = bundle();
    let want = expected(dir);
    let pages: [BTreeSet<String>; 2] = [
        [want.root.clone(), want.intermediate.clone()].into(),
        [want.seal.clone(), want.head.clone()].into(),
    ];
    let a4 = dir.join("fingerprint-sheet.pdf");
    for (pdf, name) in [(&a4, "a4"), (letter, "letter")] {
        let prefix = tmp.path().join(format!("qr-{name}"));
        tool(
            Command::new("pdftoppm")
                .args(["-png", "-r", "150"])
                .arg(pdf)
                .arg(&prefix),
        );
        for (i, expected) in pages.iter().enumerate() {
            let png = PathBuf::from(format!("{}-{}.png", prefix.display(), i + 1));
            let out = run(Command::new("zbarimg").args(["--raw", "-q"]).arg(&png));
            let found: BTreeSet<String> = stdout(&out).lines().map(str::to_string).collect();
            assert_eq!(&found, expected, "{name} page {}", i + 1);
        }
    }
}

#[test]
fn the_same_bundle_gives_the_same_bytes() {
    let (tmp, dir, letter) = bundle();
    let original = std::fs::read(dir.join("fingerprint-sheet.pdf")).unwrap();
    for (paper, reference) in [
        ("a4", original.clone()),
        ("letter", std::fs::read(letter).unwrap()),
    ] {
        let again = tmp.path().join(format!("again-{paper}.pdf"));
        let out = run(ceremony()
            .arg("sheet")
            .arg(dir)
            .args(["--paper", paper, "--out"])
            .arg(&again));
        assert!(out.status.success(), "{}", all_output(&out));
        assert!(
            std::fs::read(&again).unwrap() == reference,
            "{paper} differs"
        );
    }
    // Nothing in the file depends on the clock or on the process.
    let text = String::from_utf8_lossy(&original);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.json")).unwrap()).unwrap();
    let exported = manifest["exported"].as_str().unwrap();
    let stamp: String = exported.chars().filter(char::is_ascii_digit).collect();
    assert!(text.contains(&format!("/CreationDate(D:{stamp}+00'00')")));
    // An intact sheet in the bundle is confirmed, not written again.
    let out = run(ceremony().arg("sheet").arg(dir));
    assert!(stdout(&out).contains("intact"), "{}", all_output(&out));
}

/// A word as pdftotext -bbox places it: page number, [x0, y0, x1, y1] in points, text.
type Word = (usize, [f64; 4], String);

/// Every word of a PDF, and the page size in points.
fn words(pdf: &Path) -> (Vec<Word>, (f64, f64)) {
    let html = tool(Command::new("pdftotext").arg("-bbox").arg(pdf).arg("-"));
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + line[start..].find('"').unwrap();
        line[start..end].parse().unwrap()
    };
    let mut page = 0;
    let mut size = (0.0, 0.0);
    let mut out = Vec::new();
    for line in html.lines().map(str::trim) {
        if line.starts_with("<page ") {
            page += 1;
            size = (attr(line, "width"), attr(line, "height"));
        } else if line.starts_with("<word ") {
            let text =
                line[line.find('>').unwrap() + 1..line.rfind("</word>").unwrap()].to_string();
            let b = [
                attr(line, "xMin"),
                attr(line, "yMin"),
                attr(line, "xMax"),
                attr(line, "yMax"),
            ];
            out.push((page, b, text));
        }
    }
    (out, size)
}

#[test]
fn nothing_runs_off_the_page_or_overlaps() {
    let (_, dir, letter) = bundle();
    let a4 = dir.join("fingerprint-sheet.pdf");
    for pdf in [&a4, letter] {
        let (words, (width, height)) = words(pdf);
        // The watermark (the only text taller than 20 pt) overlaps on purpose; nothing
        // else may.
        let words: Vec<_> = words
            .into_iter()
            .filter(|(_, b, _)| b[3] - b[1] < 20.0)
            .collect();
        assert!(words.len() > 200, "{} words", words.len());
        // Printers leave about 5 mm unprinted; the sheet keeps at least 8 mm.
        let margin = 8.0 / 25.4 * 72.0;
        for (page, b, text) in &words {
            assert!(
                b[0] >= margin
                    && b[2] <= width - margin
                    && b[1] >= margin
                    && b[3] <= height - margin,
                "{}: page {page}: {text:?} at {b:?} is outside the margins",
                pdf.display()
            );
        }
        for (i, (pa, a, ta)) in words.iter().enumerate() {
            for (pb, b, tb) in &words[i + 1..] {
                let overlap_x = a[2].min(b[2]) - a[0].max(b[0]);
                let overlap_y = a[3].min(b[3]) - a[1].max(b[1]);
                assert!(
                    pa != pb || overlap_x <= 0.5 || overlap_y <= 0.5,
                    "{}: page {pa}: {ta:?} {a:?} overlaps {tb:?} {b:?}",
                    pdf.display()
                );
            }
        }
    }
}

#[test]
fn verify_notices_a_changed_or_missing_sheet() {
    let (tmp, dir, _) = bundle();
    let copy = tmp.path().join("tampered");
    std::fs::create_dir(&copy).unwrap();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let sheet = copy.join("fingerprint-sheet.pdf");
    let original = std::fs::read(&sheet).unwrap();
    let verify = || run(ceremony().arg("verify").arg(&copy));
    assert!(verify().status.success(), "{}", all_output(&verify()));

    let mut changed = original.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x01;
    std::fs::write(&sheet, &changed).unwrap();
    let out = verify();
    assert!(!out.status.success(), "a changed sheet verifies");
    assert!(
        stdout(&out).contains("fingerprint-sheet.pdf: differs"),
        "{}",
        all_output(&out)
    );

    std::fs::remove_file(&sheet).unwrap();
    let out = verify();
    assert!(!out.status.success(), "a missing sheet verifies");
    assert!(
        stdout(&out).contains("fingerprint-sheet.pdf: missing"),
        "{}",
        all_output(&out)
    );

    // `ceremony sheet` puts the very same sheet back.
    let out = run(ceremony().arg("sheet").arg(&copy));
    assert!(out.status.success(), "{}", all_output(&out));
    assert!(std::fs::read(&sheet).unwrap() == original);
    assert!(verify().status.success(), "{}", all_output(&verify()));
}
