//! Offline verification of a bundle: checksums, chain, profiles, CRL, SSH keys,
//! transcript chain and head, the root fingerprint, and the fingerprint sheet (rendered
//! again and compared byte for byte). Every problem is reported.

use super::manifest::{FORMAT_VERSION, Manifest};
use super::{SHEET, SUMS};
use crate::engine::transcript::verify_chain;
use crate::fsutil::sha256_hex;
use crate::pki::{self, Fingerprint};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Files that may sit in a bundle without being listed in `SHA256SUMS`: the sheet prints
/// the seal, so the seal cannot cover the sheet (it is checked by regeneration).
const UNSUMMED: &[&str] = &[SUMS, SHEET];

/// What a successful verification established.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    pub root_fingerprint: String,
    /// SHA-256 of `SHA256SUMS`.
    pub seal: String,
    /// What was not checked, and why (e.g. the sheet in a build without the `sheet`
    /// feature). Notes are not failures.
    pub notes: Vec<String>,
}

/// Where a bundle's files are read from: its folder, or the same names and bytes held in
/// memory ([`verify_files`], which the fuzz targets use).
#[derive(Clone, Copy)]
enum Folder<'a> {
    Disk(&'a Path),
    Memory(&'a BTreeMap<String, Vec<u8>>),
}

impl Folder<'_> {
    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        match self {
            Folder::Disk(dir) => std::fs::read(dir.join(name)),
            Folder::Memory(files) => files
                .get(name)
                .cloned()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    /// The names of the files present.
    fn names(&self) -> Vec<String> {
        match self {
            Folder::Disk(dir) => std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Folder::Memory(files) => files.keys().cloned().collect(),
        }
    }
}

/// Checks the bundle in `dir`, its fingerprint sheet included; with `expected_root`, the
/// root must have that fingerprint.
pub fn verify(dir: &Path, expected_root: Option<&Fingerprint>) -> Result<Verified, Vec<String>> {
    verify_folder(Folder::Disk(dir), expected_root)
}

/// [`verify`] of a bundle folder held in memory: file name to bytes, exactly the files
/// the folder would hold. The same checks, for the fuzz targets (`tests/fuzz`).
pub fn verify_files(
    files: &BTreeMap<String, Vec<u8>>,
    expected_root: Option<&Fingerprint>,
) -> Result<Verified, Vec<String>> {
    verify_folder(Folder::Memory(files), expected_root)
}

fn verify_folder(
    folder: Folder<'_>,
    expected_root: Option<&Fingerprint>,
) -> Result<Verified, Vec<String>> {
    let mut verified = verify_contents_of(folder, expected_root)?;
    let mut problems = Vec::new();
    check_sheet(folder, &mut verified, &mut problems);
    if problems.is_empty() {
        Ok(verified)
    } else {
        Err(problems)
    }
}

/// [`verify`] without the fingerprint sheet: everything the sheet is made from. The
/// sheet is only compared once this passed (a bundle with other problems has no sheet
/// worth comparing), and `ceremony sheet` needs this to print a missing sheet again.
pub fn verify_contents(
    dir: &Path,
    expected_root: Option<&Fingerprint>,
) -> Result<Verified, Vec<String>> {
    verify_contents_of(Folder::Disk(dir), expected_root)
}

/// [`verify_contents`] of a bundle folder held in memory, as in [`verify_files`].
pub fn verify_contents_files(
    files: &BTreeMap<String, Vec<u8>>,
    expected_root: Option<&Fingerprint>,
) -> Result<Verified, Vec<String>> {
    verify_contents_of(Folder::Memory(files), expected_root)
}

fn verify_contents_of(
    folder: Folder<'_>,
    expected_root: Option<&Fingerprint>,
) -> Result<Verified, Vec<String>> {
    let mut problems = Vec::new();
    let files = match read_sums(folder, &mut problems) {
        Some(files) => files,
        None => return Err(problems),
    };
    let get = |name: &str| files.get(name).map(Vec::as_slice);
    let manifest: Option<Manifest> = match get("bundle.json").map(serde_json::from_slice) {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            problems.push(format!("bundle.json: {e}"));
            None
        }
        None => {
            problems.push("bundle.json: missing from SHA256SUMS".into());
            None
        }
    };
    let Some(manifest) = manifest else {
        return Err(problems);
    };
    if manifest.format != "ceremony-bundle" || manifest.version != FORMAT_VERSION {
        problems.push(format!(
            "bundle.json: format {} version {} is not ceremony-bundle version {FORMAT_VERSION}",
            manifest.format, manifest.version
        ));
    }
    let root_fingerprint = check_certificates(&manifest, &get, &mut problems);
    check_crl(&manifest, &get, &mut problems);
    check_ssh(&manifest, &get, &mut problems);
    check_transcript(&manifest, &get, &mut problems);
    check_fingerprint_file(&root_fingerprint, &get, &mut problems);
    if let (Some(expected), Some(found)) = (expected_root, &root_fingerprint)
        && &expected.hex() != found
    {
        problems.push(format!(
            "root fingerprint is {found}, not the expected {}",
            expected.hex()
        ));
    }
    match (problems.is_empty(), root_fingerprint) {
        (true, Some(root_fingerprint)) => Ok(Verified {
            manifest,
            root_fingerprint,
            seal: sha256_hex(get(SUMS).unwrap_or_default()),
            notes: Vec::new(),
        }),
        (true, None) => Err(vec!["the bundle has no root certificate".into()]),
        (false, _) => Err(problems),
    }
}

/// Reads `SHA256SUMS`, checks every listed file and that nothing else is present.
/// Returns every listed file's bytes, and `SHA256SUMS` itself.
fn read_sums(folder: Folder<'_>, problems: &mut Vec<String>) -> Option<BTreeMap<String, Vec<u8>>> {
    let text = folder.read(SUMS).and_then(|bytes| {
        String::from_utf8(bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        })
    });
    let sums = match text {
        Ok(s) => s,
        Err(e) => {
            problems.push(format!("{SUMS}: {e}"));
            return None;
        }
    };
    let mut files = BTreeMap::new();
    for (n, line) in sums.lines().enumerate() {
        let Some((hash, name)) = line.split_once("  ") else {
            problems.push(format!("{SUMS} line {}: not `<sha256>  <file>`", n + 1));
            continue;
        };
        if name.contains('/') || name.starts_with('.') || UNSUMMED.contains(&name) {
            problems.push(format!(
                "{SUMS} line {}: {name:?} is not a bundle file name",
                n + 1
            ));
            continue;
        }
        match folder.read(name) {
            Ok(bytes) if sha256_hex(&bytes) == hash => {
                files.insert(name.to_string(), bytes);
            }
            Ok(_) => problems.push(format!("{name}: SHA-256 does not match {SUMS}")),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    for name in folder.names() {
        if !UNSUMMED.contains(&name.as_str()) && !sums_lists(&sums, &name) {
            problems.push(format!("{name}: present but not listed in {SUMS}"));
        }
    }
    // The seal is the hash of this file, so its bytes must be exactly the canonical
    // form the export writes: sorted lines, LF endings, no duplicates, final newline.
    let canonical: String = files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect();
    if problems.is_empty() && canonical != sums {
        problems.push(format!(
            "{SUMS}: not in the canonical form (sorted `<sha256>  <file>` lines, LF, final newline, no duplicates)"
        ));
    }
    // Kept with the files, so that the seal is the hash of the bytes checked here.
    files.insert(SUMS.to_string(), sums.into_bytes());
    Some(files)
}

fn sums_lists(sums: &str, name: &str) -> bool {
    sums.lines()
        .any(|l| l.split_once("  ").map(|(_, n)| n) == Some(name))
}

/// Whether following issuers from `name` reaches `root` (without loops).
fn chains_to(m: &Manifest, name: &str, root: &str) -> bool {
    let mut current = name;
    for _ in 0..=m.certificates.len() {
        if current == root {
            return true;
        }
        match m
            .certificates
            .iter()
            .find(|c| c.name == current)
            .and_then(|c| c.issuer.as_deref())
        {
            Some(issuer) => current = issuer,
            None => return false,
        }
    }
    false
}

type Get<'a> = dyn Fn(&str) -> Option<&'a [u8]> + 'a;

fn pem_der(name: &str, bytes: &[u8], problems: &mut Vec<String>) -> Option<Vec<u8>> {
    match x509_parser::pem::parse_x509_pem(bytes) {
        Ok((rest, pem))
            if pem.label == "CERTIFICATE" && rest.iter().all(u8::is_ascii_whitespace) =>
        {
            Some(pem.contents)
        }
        _ => {
            problems.push(format!("{name}: not a single PEM certificate"));
            None
        }
    }
}

/// Checks the root and every issued certificate; returns the root fingerprint.
fn check_certificates(m: &Manifest, get: &Get<'_>, problems: &mut Vec<String>) -> Option<String> {
    let roots: Vec<&str> = m
        .certificates
        .iter()
        .filter(|c| c.issuer.is_none())
        .map(|c| c.name.as_str())
        .collect();
    let [root] = roots.as_slice() else {
        problems.push(format!(
            "bundle.json: {} self-signed certificates ({}); a bundle has exactly one root",
            roots.len(),
            roots.join(", ")
        ));
        return None;
    };
    for cert in &m.certificates {
        if !chains_to(m, &cert.name, root) {
            problems.push(format!("{}: does not chain to the root {root}", cert.file));
        }
    }
    if let Some(crl) = &m.crl
        && !chains_to(m, &crl.issuer, root)
    {
        problems.push(format!(
            "{}: its issuer {} does not chain to the root",
            crl.file, crl.issuer
        ));
    }
    let mut ders = BTreeMap::new();
    for cert in &m.certificates {
        match get(&cert.file) {
            Some(bytes) => {
                if let Some(der) = pem_der(&cert.file, bytes, problems) {
                    ders.insert(cert.name.clone(), der);
                }
            }
            None => problems.push(format!("{}: missing from {SUMS}", cert.file)),
        }
    }
    let mut root_fp = None;
    for cert in &m.certificates {
        let Some(der) = ders.get(&cert.name) else {
            continue;
        };
        let facts = match &cert.issuer {
            None => pki::check_root(der),
            Some(issuer) => match ders.get(issuer) {
                Some(issuer_der) => pki::check_intermediate(der, issuer_der),
                None => Err(vec![format!("issuer certificate {issuer} is missing")]),
            },
        };
        match facts {
            Ok(facts) => {
                compare_cert(m, cert, &facts, problems);
                if cert.issuer.is_none() {
                    root_fp = Some(facts.fingerprint.hex());
                }
            }
            Err(found) => problems.extend(found.into_iter().map(|p| format!("{}: {p}", cert.file))),
        }
    }
    root_fp
}

fn compare_cert(
    m: &Manifest,
    cert: &super::BundleCert,
    facts: &pki::CertFacts,
    problems: &mut Vec<String>,
) {
    let file = &cert.file;
    if facts.fingerprint.hex() != cert.sha256 {
        problems.push(format!("{file}: fingerprint differs from bundle.json"));
    }
    if facts.serial_hex != cert.serial {
        problems.push(format!("{file}: serial differs from bundle.json"));
    }
    match m.keys.iter().find(|k| k.name == cert.key) {
        Some(key) if key.public_key == hex::encode(&facts.public_point) => {}
        Some(_) => problems.push(format!(
            "{file}: public key differs from key {} in bundle.json",
            cert.key
        )),
        None => problems.push(format!("{file}: key {} is not in bundle.json", cert.key)),
    }
}

fn check_crl(m: &Manifest, get: &Get<'_>, problems: &mut Vec<String>) {
    let Some(crl) = &m.crl else { return };
    let issuer = m.certificates.iter().find(|c| c.name == crl.issuer);
    let (Some(bytes), Some(issuer)) = (get(&crl.file), issuer) else {
        problems.push(format!(
            "{}: CRL or its issuer {} is missing",
            crl.file, crl.issuer
        ));
        return;
    };
    let Some(issuer_der) =
        get(&issuer.file).and_then(|b| pem_der(&issuer.file, b, &mut Vec::new()))
    else {
        return;
    };
    match pki::check_crl(bytes, &issuer_der) {
        Ok(facts) if facts.number != crl.number => {
            problems.push(format!("{}: CRL number differs from bundle.json", crl.file))
        }
        Ok(facts) => {
            let mut listed: Vec<&str> = crl.revoked.iter().map(|r| r.serial.as_str()).collect();
            let mut found: Vec<&str> = facts
                .revoked
                .iter()
                .map(|r| r.serial_hex.as_str())
                .collect();
            listed.sort_unstable();
            found.sort_unstable();
            if listed != found {
                problems.push(format!(
                    "{}: revoked serials differ from bundle.json",
                    crl.file
                ));
            }
        }
        Err(found) => problems.extend(found.into_iter().map(|p| format!("{}: {p}", crl.file))),
    }
    if sha256_hex(bytes) != crl.sha256 {
        problems.push(format!("{}: SHA-256 differs from bundle.json", crl.file));
    }
}

fn check_ssh(m: &Manifest, get: &Get<'_>, problems: &mut Vec<String>) {
    for ssh in &m.ssh {
        let Some(bytes) = get(&ssh.file) else {
            problems.push(format!("{}: missing from {SUMS}", ssh.file));
            continue;
        };
        let line = String::from_utf8_lossy(bytes);
        match pki::parse_ssh_public_key_line(line.trim_end()) {
            Ok((curve, point)) => {
                if pki::ssh_fingerprint(curve, &point) != ssh.fingerprint {
                    problems.push(format!(
                        "{}: fingerprint differs from bundle.json",
                        ssh.file
                    ));
                }
                let key = m.keys.iter().find(|k| k.name == ssh.key);
                if key.is_none_or(|k| k.public_key != hex::encode(&point)) {
                    problems.push(format!(
                        "{}: key differs from key {} in bundle.json",
                        ssh.file, ssh.key
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", ssh.file)),
        }
    }
}

fn check_transcript(m: &Manifest, get: &Get<'_>, problems: &mut Vec<String>) {
    let Some(bytes) = get(&m.transcript.file) else {
        problems.push(format!("{}: missing from {SUMS}", m.transcript.file));
        return;
    };
    match verify_chain(bytes) {
        Ok((records, head)) => {
            if head != m.transcript.head {
                problems.push(format!(
                    "{}: head {head} is not bundle.json's",
                    m.transcript.file
                ));
            }
            let header = records.first().map(|r| &r.body);
            if header.and_then(|h| h["checklist_sha256"].as_str())
                != Some(m.checklist_sha256.as_str())
            {
                problems.push(format!(
                    "{}: checklist SHA-256 differs from bundle.json",
                    m.transcript.file
                ));
            }
            if header.and_then(|h| h["drill"].as_bool()) != Some(m.drill) {
                problems.push(format!(
                    "{}: drill flag differs from bundle.json",
                    m.transcript.file
                ));
            }
        }
        Err((line, problem)) => {
            problems.push(format!("{} line {line}: {problem}", m.transcript.file))
        }
    }
}

fn check_fingerprint_file(root: &Option<String>, get: &Get<'_>, problems: &mut Vec<String>) {
    let Some(bytes) = get("FINGERPRINT.txt") else {
        problems.push(format!("FINGERPRINT.txt: missing from {SUMS}"));
        return;
    };
    let first = String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    if root.as_deref().is_some_and(|r| r != first) {
        problems.push("FINGERPRINT.txt: first line is not the root fingerprint".into());
    }
}

/// The sheet must be present and exactly the PDF this build renders from the bundle, on
/// the paper recorded in `bundle.json` (either size for bundles that record none).
#[cfg(feature = "sheet")]
fn check_sheet(folder: Folder<'_>, verified: &mut Verified, problems: &mut Vec<String>) {
    use crate::sheet::{Paper, Sheet, is_rendering};
    let found = match folder.read(SHEET) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(format!(
                "{SHEET}: missing; print it again with `ceremony sheet <bundle>`"
            ));
            return;
        }
        Err(e) => {
            problems.push(format!("{SHEET}: {e}"));
            return;
        }
    };
    let sheet = match Sheet::from_manifest(&verified.manifest, Some(&verified.seal)) {
        Ok(sheet) => sheet,
        Err(e) => {
            problems.push(format!("{SHEET}: {e}"));
            return;
        }
    };
    let papers = match verified.manifest.paper {
        Some(paper) => vec![paper],
        None => vec![Paper::A4, Paper::Letter],
    };
    for paper in papers {
        match is_rendering(&sheet, paper, &found) {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                problems.push(format!("{SHEET}: {e}"));
                return;
            }
        }
    }
    problems.push(format!(
        "{SHEET}: differs from the sheet rendered from this bundle; do not sign or trust it"
    ));
}

#[cfg(not(feature = "sheet"))]
fn check_sheet(_folder: Folder<'_>, verified: &mut Verified, _problems: &mut Vec<String>) {
    verified.notes.push(format!(
        "{SHEET}: not checked (built without sheet support)"
    ));
}

impl Verified {
    /// Compares the seal with the one typed from the paper sheet: the root signs the
    /// certificates and the CRL, the seal also pins the SSH CA keys and bundle.json.
    /// Checks the seal against the one written on the paper sheet. Case, colons and
    /// spaces (however the people grouped it) do not matter.
    pub fn check_seal(&self, expected: Option<&str>) -> Result<(), String> {
        let Some(seal) = expected else {
            return Ok(());
        };
        let typed: String = seal
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        if typed.eq_ignore_ascii_case(&self.seal) {
            Ok(())
        } else {
            Err(format!(
                "the seal is {}, not the {} on the paper sheet",
                self.seal,
                seal.trim()
            ))
        }
    }

    /// What `ceremony verify` and `ceremonyd verify` print for a good bundle.
    pub fn summary(&self, dir: &Path) -> String {
        let drill = if self.manifest.drill { " (DRILL)" } else { "" };
        let mut out = format!(
            "{}: ok\nkind:    {}{drill}\nroot:    {}\nseal:    {}\n",
            dir.display(),
            self.manifest.kind,
            self.root_fingerprint,
            self.seal
        );
        for note in &self.notes {
            out.push_str(&format!("note:    {note}\n"));
        }
        out
    }
}

/// What both programs print for a bundle that does not verify: one problem a line.
pub fn problems_report(dir: &Path, problems: &[String]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {p}\n", dir.display()))
        .collect()
}
