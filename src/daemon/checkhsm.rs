//! `check-hsm`: proves that the online token holds the keys the installed `ca.json` names,
//! and that they are the keys of the installed certificates: each public key is compared
//! bit for bit with the intermediate certificate or the SSH CA key file, and each private
//! key signs a fresh random challenge whose signature is verified with the *installed*
//! public key. The result is a plain-text report for the cutover log.
//!
//! The PIN comes from a file that only its owner can read; it is read once into a [`Pin`]
//! and dropped after `C_Login`.

use super::cajson::{self, InstalledKeys};
use super::error::DaemonError;
use super::generation::{self, step};
use super::layout::CaDir;
use crate::hsm::{HsmError, Module, UserSession};
use crate::pki::{self, Curve};
use crate::secret::Pin;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

pub struct CheckRequest<'a> {
    pub module: &'a Path,
    pub serial: &'a str,
    pub pin_file: &'a Path,
    pub ca_dir: &'a Path,
}

/// The report: lines to print, and whether every check passed.
#[derive(Debug, Clone)]
pub struct Report {
    pub lines: Vec<String>,
    pub passed: bool,
}

/// Reads the PIN file once. Refuses a link, anything but a regular file, and a file
/// that its group or others may read or write.
pub fn read_pin_file(path: &Path) -> Result<Pin, DaemonError> {
    let bad = |reason: String| DaemonError::PinFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| bad(format!("cannot open without following links: {e}")))?;
    let meta = file.metadata().map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(bad(format!(
            "mode {:04o} lets group or others at it; chmod 600 it",
            meta.mode() & 0o7777
        )));
    }
    // Sized up front so that the PIN is not left behind in a reallocated buffer.
    let mut text = String::with_capacity(meta.len() as usize + 1);
    file.read_to_string(&mut text)
        .map_err(|e| bad(format!("not readable as text: {e}")))?;
    let pin = Pin::new(text);
    let trimmed = pin.expose().trim_end_matches(['\n', '\r']).len();
    if trimmed == 0 {
        return Err(bad("empty".into()));
    }
    if trimmed == pin.expose().len() {
        return Ok(pin);
    }
    Ok(Pin::new(pin.expose()[..trimmed].to_owned()))
}

/// What a key must be: its curve and SEC1 point, and where that came from.
struct Expected {
    what: &'static str,
    uri: Option<String>,
    source: String,
    key: Result<(Curve, Vec<u8>), String>,
}

/// Runs every check; an error means the checks could not run at all.
pub fn check_hsm(req: &CheckRequest<'_>) -> Result<Report, DaemonError> {
    let pin = read_pin_file(req.pin_file)?;
    let ca = CaDir::new(req.ca_dir);
    let layout = ca.inspect()?;
    let certs = ca.installed_sub(&layout, generation::CERTS);
    let config = ca.installed_sub(&layout, generation::CONFIG);
    let ca_json_path = config.join(step::CA_JSON);
    let installed =
        cajson::installed_keys(&super::fsx::read_regular(&ca_json_path)?).map_err(|reason| {
            DaemonError::CaJson {
                path: ca_json_path.clone(),
                reason,
            }
        })?;
    let expected = expected_keys(&certs, &installed);
    let mut lines = header(req, &layout);
    let module = Module::load(req.module)?;
    let (manufacturer, description) = module.manufacturer()?;
    lines.push(format!(
        "module:      {} ({manufacturer}, {description})",
        req.module.display()
    ));
    let token = module.token(req.serial)?;
    lines.push(format!(
        "token:       serial {}, label {:?}, {} {}; user PIN: {}",
        token.serial, token.label, token.manufacturer, token.model, token.user_pin
    ));
    let mut passed = true;
    let kms_serial = installed.kms_uri.as_deref().and_then(cajson::kms_serial);
    if kms_serial.as_deref() == Some(req.serial) {
        lines.push(format!(
            "[PASS] {:<11} ca.json's kms URI names serial {}",
            "kms", req.serial
        ));
    } else {
        passed = false;
        lines.push(format!(
            "[FAIL] {:<11} ca.json's kms URI names serial {}, not --serial {}",
            "kms",
            kms_serial.as_deref().unwrap_or("(none)"),
            req.serial
        ));
    }
    lines.push(pin_source_line(installed.kms_uri.as_deref(), req.pin_file));
    let session = UserSession::login(&module, req.serial, &pin).map_err(|e| match e {
        HsmError::PinIncorrect { .. } => DaemonError::PinFile {
            path: req.pin_file.to_path_buf(),
            reason: format!("the token refuses the PIN in this file ({e})"),
        },
        other => other.into(),
    })?;
    drop(pin);
    for exp in &expected {
        let (ok, line) = check_key(&session, exp);
        passed &= ok;
        lines.push(line);
    }
    lines.push(format!(
        "result:      {}",
        if passed { "PASS" } else { "FAIL" }
    ));
    Ok(Report { lines, passed })
}

/// Where step-ca reads its PIN (the kms URI's `pin-source`, a path inside its
/// container), next to the file this check read.
fn pin_source_line(kms_uri: Option<&str>, pin_file: &Path) -> String {
    let source = kms_uri.and_then(cajson::kms_pin_source);
    let same = source.as_deref().map(Path::new) == Some(pin_file);
    match source {
        Some(s) if same => {
            format!("pin-source:  step-ca reads its PIN from {s}, the file checked here")
        }
        Some(s) => format!(
            "pin-source:  step-ca reads its PIN from {s} (as its container sees it); this check read {}",
            pin_file.display()
        ),
        None => {
            "pin-source:  ca.json's kms URI names no pin-source; step-ca will not log in".into()
        }
    }
}

fn header(req: &CheckRequest<'_>, layout: &super::layout::Layout) -> Vec<String> {
    let now = super::content::rfc3339(time::OffsetDateTime::now_utc());
    let generation = layout
        .current()
        .map_or("not managed by ceremonyd".to_owned(), |n| {
            format!("generation {}", generation::name(n))
        });
    vec![
        "ceremonyd check-hsm report".to_owned(),
        format!("time:        {now}"),
        format!("ca folder:   {} ({generation})", req.ca_dir.display()),
    ]
}

fn expected_keys(certs: &Path, installed: &InstalledKeys) -> Vec<Expected> {
    let read = |name: &str| super::fsx::read_regular(&certs.join(name)).map_err(|e| e.to_string());
    let intermediate = read(step::INTERMEDIATE).and_then(|pem| {
        let der = super::bundlefiles::pem_der(&pem).ok_or("not a PEM certificate")?;
        let root = read(step::ROOT)
            .and_then(|r| super::bundlefiles::pem_der(&r).ok_or("root is not PEM".into()))?;
        pki::check_intermediate(&der, &root)
            .map(|f| (f.curve, f.public_point))
            .map_err(|p| p.join("; "))
    });
    let intermediate_source = match read(step::INTERMEDIATE)
        .ok()
        .and_then(|pem| super::bundlefiles::pem_der(&pem))
    {
        Some(der) => format!(
            "certs/{} (SHA-256 {})",
            step::INTERMEDIATE,
            pki::Fingerprint::of(&der).hex()
        ),
        None => format!("certs/{}", step::INTERMEDIATE),
    };
    let ssh = |name: &str| {
        read(name).and_then(|line| {
            pki::parse_ssh_public_key_line(String::from_utf8_lossy(&line).trim())
                .map_err(|e| e.to_string())
        })
    };
    vec![
        Expected {
            what: "key",
            uri: Some(installed.key.clone()),
            source: intermediate_source,
            key: intermediate,
        },
        Expected {
            what: "ssh.userKey",
            uri: installed.ssh_user.clone(),
            source: format!("certs/{}", step::SSH_USER),
            key: ssh(step::SSH_USER),
        },
        Expected {
            what: "ssh.hostKey",
            uri: installed.ssh_host.clone(),
            source: format!("certs/{}", step::SSH_HOST),
            key: ssh(step::SSH_HOST),
        },
    ]
}

/// One key: found by its URI, same public key, signs a challenge that verifies.
fn check_key(session: &UserSession, exp: &Expected) -> (bool, String) {
    let fail = |why: String| (false, format!("[FAIL] {:<11} {why}", exp.what));
    let Some(uri) = &exp.uri else {
        return fail("ca.json names no key".into());
    };
    let (curve, point) = match &exp.key {
        Ok(k) => k,
        Err(e) => return fail(format!("{uri}: cannot read {}: {e}", exp.source)),
    };
    let (id, label) = match cajson::parse_key_uri(uri) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let key = match session.find_key(&id, &label) {
        Ok(Some(k)) => k,
        Ok(None) => {
            return fail(format!(
                "{uri}: no private key with this id and label on the token"
            ));
        }
        Err(e) => return fail(format!("{uri}: {e}")),
    };
    if key.facts.curve != *curve || key.facts.point != *point {
        return fail(format!(
            "{uri}: the token's public key ({}) is NOT the one in {} ({}); step-ca would sign \
             with a key that does not match its certificate",
            key.facts.curve.name(),
            exp.source,
            curve.name()
        ));
    }
    let mut challenge = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut challenge) {
        return fail(format!("random challenge: {e}"));
    }
    match pki::proves_possession(&key, point, &challenge) {
        Ok(true) => (
            true,
            format!(
                "[PASS] {:<11} {uri} {}: public key = {}; a signature over a random challenge \
                 verifies with it",
                exp.what,
                curve.name(),
                exp.source
            ),
        ),
        Ok(false) => fail(format!("{uri}: the token's signature does not verify")),
        Err(e) => fail(format!("{uri}: {e}")),
    }
}
