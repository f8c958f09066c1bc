//! The fingerprint sheet of a drill bundle, read back with independent tools: pdftotext
//! finds every value, zbarimg decodes every QR code to exactly its value, the layout
//! stays on the page without overlaps on A4 and US Letter, the bytes are reproducible,
//! and `ceremony verify` notices a changed or missing sheet. The same for the sheets of
//! rotations, made by chaining the four drill ceremonies on kept tokens: the emergency
//! rotation shows the revoked serial and the superseded fingerprint, and the root rotation
//! the re-bootstrap command with the new fingerprint and the old root. The expected values
//! are computed here from the bundle's files, not taken from the program's output.

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
        assert_fits(pdf);
    }
}

/// Every word inside the printable margins, and no two words on top of each other.
fn assert_fits(pdf: &Path) {
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
            b[0] >= margin && b[2] <= width - margin && b[1] >= margin && b[3] <= height - margin,
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

// ---- Rotations ----------------------------------------------------------------------

const CHECKLISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists");

/// The four drill ceremonies chained on the same kept tokens, as a team rehearses them:
/// `b1` root, `b2` planned and `b3` emergency intermediate rotation, `b4` root rotation;
/// each bundle's sheet also printed on Letter as `bN-letter.pdf`.
fn chain() -> &'static tempfile::TempDir {
    static CHAIN: OnceLock<tempfile::TempDir> = OnceLock::new();
    CHAIN.get_or_init(|| {
        for tool in TOOLS {
            require(tool);
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let tokens = dir.join("tokens");
        let ceremonies = [
            ("root-ceremony.toml", "b1", None),
            ("intermediate-rotation.toml", "b2", Some("b1")),
            ("intermediate-rotation-emergency.toml", "b3", Some("b2")),
            ("root-rotation.toml", "b4", Some("b3")),
        ];
        for (checklist, out, previous) in ceremonies {
            let mut cmd = ceremony();
            cmd.arg("rehearse")
                .arg(format!("{CHECKLISTS}/{checklist}"))
                .arg("--out")
                .arg(dir.join(out));
            match previous {
                None => cmd.arg("--keep-tokens").arg(&tokens),
                Some(p) => cmd
                    .arg("--tokens")
                    .arg(&tokens)
                    .arg("--previous")
                    .arg(dir.join(p)),
            };
            let result = run(&mut cmd);
            assert!(
                result.status.success(),
                "{checklist}: {}",
                all_output(&result)
            );
            let letter = dir.join(format!("{out}-letter.pdf"));
            let result = run(ceremony()
                .arg("sheet")
                .arg(dir.join(out))
                .args(["--paper", "letter", "--out"])
                .arg(&letter));
            assert!(result.status.success(), "{}", all_output(&result));
        }
        tmp
    })
}

/// A bundle of the chain, its A4 sheet and its Letter copy.
fn link(name: &str) -> (PathBuf, [PathBuf; 2]) {
    let dir = chain().path();
    let bundle = dir.join(name);
    let sheets = [
        bundle.join("fingerprint-sheet.pdf"),
        dir.join(format!("{name}-letter.pdf")),
    ];
    (bundle, sheets)
}

/// SHA-256 of a certificate's DER: its fingerprint as `step` prints it.
fn cert_fingerprint(path: &Path) -> String {
    sha256_hex(&pem_der(path))
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("bundle.json")).unwrap()).unwrap()
}

/// A serial as a number: lowercase hex without leading zeros.
fn serial_hex(openssl: &str) -> String {
    openssl
        .trim()
        .to_lowercase()
        .trim_start_matches('0')
        .to_string()
}

/// The text of one page (or all with `None`) as lines rebuilt from the words' boxes,
/// without the watermark, so that a label and its value stay together; lines joined by
/// single spaces and a shell line continuation (` \`) joined too.
fn page_text(pdf: &Path, page: Option<usize>) -> String {
    let (words, _) = words(pdf);
    let mut words: Vec<Word> = words
        .into_iter()
        .filter(|(p, b, _)| b[3] - b[1] < 20.0 && page.is_none_or(|n| n == *p))
        .collect();
    words.sort_by(|a, b| (a.0, a.1[3]).partial_cmp(&(b.0, b.1[3])).unwrap());
    // Words on one baseline differ in their box bottoms by their fonts' descent; rows of
    // the sheet are 5 mm (14 pt) apart.
    let mut lines: Vec<Vec<Word>> = Vec::new();
    for word in words {
        match lines.last_mut() {
            Some(line) if line[0].0 == word.0 && word.1[3] - line[0].1[3] <= 3.0 => line.push(word),
            _ => lines.push(vec![word]),
        }
    }
    lines
        .into_iter()
        .map(|mut line| {
            line.sort_by(|a, b| a.1[0].partial_cmp(&b.1[0]).unwrap());
            line.into_iter().map(|w| w.2).collect::<Vec<_>>().join(" ")
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" \\ ", " ")
}

fn ca_url(checklist: &str) -> String {
    let toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(format!("{CHECKLISTS}/{checklist}")).unwrap())
            .unwrap();
    toml["ceremony"]["ca_url"].as_str().unwrap().to_string()
}

#[test]
fn every_bundle_of_the_chain_verifies() {
    for name in ["b1", "b2", "b3", "b4"] {
        let (dir, _) = link(name);
        let out = run(ceremony().arg("verify").arg(&dir));
        assert!(out.status.success(), "{name}: {}", all_output(&out));
    }
}

/// What a CRL revokes as openssl reads it: (serial as a number, reason as bundle.json
/// spells it, `Key Compromise` as `key-compromise`).
fn crl_entries(crl: &Path) -> Vec<(String, String)> {
    let text = tool(
        Command::new("openssl")
            .args(["crl", "-noout", "-text", "-in"])
            .arg(crl),
    );
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if let Some(serial) = line.strip_prefix("Serial Number:") {
            entries.push((serial_hex(serial), String::new()));
        } else if line.starts_with("X509v3 CRL Reason Code") {
            let reason = lines.next().unwrap().to_lowercase().replace(' ', "-");
            entries.last_mut().expect("a reason follows a serial").1 = reason;
        }
    }
    entries.sort();
    entries
}

/// The serial (as a number) and fingerprint of a certificate file, read by openssl and
/// hashed here.
fn serial_and_fingerprint(cert: &Path) -> (String, String) {
    let serial = tool(
        Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(cert),
    );
    let serial = serial_hex(serial.trim().trim_start_matches("serial="));
    (serial, cert_fingerprint(cert))
}

/// A certificate's notAfter as openssl reads it, written as the sheet prints times:
/// `May 20 10:17:10 2054 GMT` as `2054-05-20 10:17:10 UTC`.
fn not_after(cert: &Path) -> String {
    let out = tool(
        Command::new("openssl")
            .args(["x509", "-noout", "-enddate", "-in"])
            .arg(cert),
    );
    let fields: Vec<&str> = out
        .trim()
        .trim_start_matches("notAfter=")
        .split_whitespace()
        .collect();
    let [month, day, time, year, "GMT"] = fields[..] else {
        panic!("openssl printed {out}");
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == month).unwrap() + 1;
    let day: u32 = day.parse().unwrap();
    format!("{year}-{month:02}-{day:02} {time} UTC")
}

/// Asserts that after `anchor` in `text`, the next `label` is followed by `value`.
fn next_after(text: &str, anchor: &str, label: &str, value: &str) {
    let at = text
        .find(anchor)
        .unwrap_or_else(|| panic!("{anchor} missing from\n{text}"));
    let rest = &text[at..];
    let found = rest.find(label).map(|i| &rest[i + label.len()..]);
    assert!(
        found.is_some_and(|f| f.trim_start().starts_with(value)),
        "after {anchor}: {label} is not followed by {value}:\n{rest}"
    );
}

#[test]
fn the_emergency_sheet_shows_the_revocations_and_an_unchanged_root() {
    let (dir, sheets) = link("b3");
    let (previous, _) = link("b2");
    // The emergency rotation revokes the intermediate it replaces and, carried forward
    // as superseded, the one the planned rotation replaced.
    let olds: Vec<(String, String)> = ["b2", "b1"]
        .iter()
        .map(|b| serial_and_fingerprint(&link(b).0.join("intermediate_ca.crt")))
        .collect();
    let revoked = crl_entries(&dir.join("root_ca.crl"));
    let mut old_numbers: Vec<&str> = olds.iter().map(|(s, _)| s.as_str()).collect();
    old_numbers.sort();
    let revoked_numbers: Vec<&str> = revoked.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(revoked_numbers, old_numbers);
    let reason_of = |serial: &str| {
        let number = serial_hex(serial);
        revoked
            .iter()
            .find(|(s, _)| *s == number)
            .unwrap()
            .1
            .clone()
    };
    let number = tool(
        Command::new("openssl")
            .args(["crl", "-noout", "-crlnumber", "-in"])
            .arg(dir.join("root_ca.crl")),
    );
    let number = u64::from_str_radix(number.trim().trim_start_matches("crlNumber=0x"), 16).unwrap();
    // The sheet prints serials as bundle.json spells them (leading zeros kept); each must
    // be one that openssl found.
    let manifest = json(&dir);
    let listed: Vec<String> = manifest["crl"]["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["serial"].as_str().unwrap().to_string())
        .collect();
    let superseded: Vec<String> = manifest["superseded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), olds.len());
    assert_eq!(superseded.len(), olds.len());
    let fingerprint_of = |serial: &str| {
        let number = serial_hex(serial);
        olds.iter().find(|(s, _)| *s == number).unwrap().1.clone()
    };
    let root = cert_fingerprint(&dir.join("root_ca.crt"));
    assert_eq!(root, cert_fingerprint(&previous.join("root_ca.crt")));
    let previous_seal = sha256_hex(&std::fs::read(previous.join("SHA256SUMS")).unwrap());

    for pdf in &sheets {
        let text = page_text(pdf, None);
        let mut values = vec![
            format!("number {number},"),
            format!("Revokes {} ({})", listed[0], reason_of(&listed[0])),
            format!("Kind {}", json(&previous)["kind"].as_str().unwrap()),
            format!("Bundle seal {}", grouped(&previous_seal).join(" ")),
            format!("Root SHA-256 {}", grouped(&root).join(" ")),
        ];
        values.extend(listed.iter().map(|s| format!("{s} ({})", reason_of(s))));
        for value in values {
            assert!(
                text.contains(&value),
                "{}: {value} missing from\n{text}",
                pdf.display()
            );
        }
        for serial in &superseded {
            let anchor = format!("Serial {serial}");
            next_after(&text, &anchor, "SHA-256", &fingerprint_of(serial));
            let status = format!("REVOKED by this CRL ({})", reason_of(serial));
            next_after(&text, &anchor, "Status", &status);
        }
        let first = page_text(pdf, Some(1));
        assert!(first.contains("Root unchanged"), "{first}");
        assert!(first.contains("clients need do nothing"), "{first}");
        assert!(!text.contains("NEW ROOT"), "{text}");
        assert_fits(pdf);
    }
    let fingerprint = std::fs::read_to_string(dir.join("FINGERPRINT.txt")).unwrap();
    let lines: Vec<&str> = fingerprint.lines().collect();
    assert_eq!(lines[0], root);
    assert!(lines[1].contains("Root unchanged") && lines[1].contains("clients need do nothing"));
    let mut values = vec![previous_seal];
    values.extend(listed.iter().map(|s| format!("{s} ({})", reason_of(s))));
    values.extend(olds.iter().map(|(_, fp)| fp.clone()));
    for value in values {
        assert!(
            fingerprint.contains(&value),
            "{value} missing from\n{fingerprint}"
        );
    }
}

#[test]
fn the_root_rotation_sheet_says_every_client_must_re_bootstrap() {
    let (dir, sheets) = link("b4");
    let (previous, _) = link("b3");
    let new = cert_fingerprint(&dir.join("root_ca.crt"));
    let old = cert_fingerprint(&previous.join("root_ca.crt"));
    assert_ne!(new, old);
    let old_intermediate = cert_fingerprint(&previous.join("intermediate_ca.crt"));
    // The new root's first CRL revokes nothing; the old certificates stay valid.
    assert!(crl_entries(&dir.join("root_ca.crl")).is_empty());
    let root_until = not_after(&previous.join("root_ca.crt"));
    let intermediate_until = not_after(&previous.join("intermediate_ca.crt"));
    let url = ca_url("root-rotation.toml");
    let command = format!("step ca bootstrap --force --ca-url {url} --fingerprint {new}");
    let banner = "NEW ROOT: every client must re-bootstrap";
    let old_label = "OLD root (no longer trusted after the overlap)";

    for pdf in &sheets {
        // All of it on the first page, the old root labelled as such.
        let first = page_text(pdf, Some(1));
        for value in [
            banner.to_string(),
            command.clone(),
            format!("{old_label} {}", grouped(&old).join(" ")),
            grouped(&new).join(" "),
        ] {
            assert!(
                first.contains(&value),
                "{}: {value} missing from page 1:\n{first}",
                pdf.display()
            );
        }
        assert!(!first.contains("Root unchanged"), "{first}");
        // The superseded certificates with their fingerprints, and the bootstrap block.
        let text = page_text(pdf, None);
        next_after(
            &text,
            &format!("SHA-256 {old}"),
            "Status",
            &format!(
                "still valid until {root_until}; OLD root: no longer trusted after the overlap"
            ),
        );
        next_after(
            &text,
            &format!("SHA-256 {old_intermediate}"),
            "Status",
            &format!("still valid until {intermediate_until}"),
        );
        for value in [
            "Revokes no certificate".to_string(),
            "Client bootstrap: NEW ROOT".to_string(),
        ] {
            assert!(
                text.contains(&value),
                "{}: {value} missing from\n{text}",
                pdf.display()
            );
        }
        assert_eq!(text.matches(&command).count(), 2, "{text}");
        assert_fits(pdf);
    }
    // FINGERPRINT.txt: the new root alone on the first line, the notice right under it.
    let fingerprint = std::fs::read_to_string(dir.join("FINGERPRINT.txt")).unwrap();
    let (first, rest) = fingerprint.split_once('\n').unwrap();
    assert_eq!(first, new);
    let notice = &rest[..rest.find("FINGERPRINT SHEET").unwrap()];
    for value in [banner, &command, old_label, &old] {
        assert!(notice.contains(value), "{value} missing from\n{notice}");
    }
    assert!(notice.find(old_label) < notice.find(old.as_str()));
}

#[test]
fn every_qr_code_of_the_rotations_decodes_to_exactly_its_value() {
    let tmp = chain();
    for name in ["b3", "b4"] {
        let (dir, sheets) = link(name);
        let transcript = std::fs::read_to_string(dir.join("transcript.jsonl")).unwrap();
        let mut expected = vec![
            cert_fingerprint(&dir.join("root_ca.crt")),
            cert_fingerprint(&dir.join("intermediate_ca.crt")),
            sha256_hex(&std::fs::read(dir.join("SHA256SUMS")).unwrap()),
            sha256_hex(transcript.lines().last().unwrap().as_bytes()),
        ];
        expected.sort();
        for (pdf, paper) in sheets.iter().zip(["a4", "letter"]) {
            let prefix = tmp.path().join(format!("qr-{name}-{paper}"));
            tool(
                Command::new("pdftoppm")
                    .args(["-png", "-r", "150"])
                    .arg(pdf)
                    .arg(&prefix),
            );
            let mut found = Vec::new();
            for page in 1..=page_count(pdf) {
                let png = format!("{}-{page}.png", prefix.display());
                let out = run(Command::new("zbarimg").args(["--raw", "-q"]).arg(&png));
                found.extend(stdout(&out).lines().map(str::to_string));
            }
            found.sort();
            assert_eq!(found, expected, "{name} on {paper}");
        }
    }
}

#[test]
fn a_rotation_sheet_is_reproducible() {
    let tmp = chain();
    for name in ["b3", "b4"] {
        let (dir, sheets) = link(name);
        for (reference, paper) in sheets.iter().zip(["a4", "letter"]) {
            let again = tmp.path().join(format!("again-{name}-{paper}.pdf"));
            let out = run(ceremony()
                .arg("sheet")
                .arg(&dir)
                .args(["--paper", paper, "--out"])
                .arg(&again));
            assert!(out.status.success(), "{}", all_output(&out));
            assert!(
                std::fs::read(&again).unwrap() == std::fs::read(reference).unwrap(),
                "{name} on {paper} differs"
            );
        }
    }
}
