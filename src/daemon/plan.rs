//! An import decided in full before anything is written: the bundle verified, the rules
//! applied (drill, root continuity, CRL number), and every byte of the new generation
//! computed in memory. A refusal here leaves the CA folder and the trust folder as they
//! were, to the byte.

use super::bundlefiles::{BundleFiles, Parts, pem_der};
use super::config::Config;
use super::content::{self, NewFile};
use super::error::DaemonError;
use super::fsx::not_a_regular_file;
use super::generation::{self, BundleRef, GenerationInfo, publish, step};
use super::layout::{self, CaDir, FoundFile, Layout, Sub};
use super::signing;
use crate::bundle::{self, Verified};
use crate::pki::Fingerprint;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// What to import, and under which rules.
pub struct Request<'a> {
    pub bundle: &'a Path,
    /// Roots the bundle may carry. The CLI passes exactly the `--root-fingerprint`.
    pub accepted_roots: &'a [Fingerprint],
    /// The seal (SHA-256 of `SHA256SUMS`) from the paper sheet, when the operator typed
    /// it: it also pins what the root does not sign (the SSH CA keys, bundle.json).
    pub seal: Option<&'a str>,
    pub config: &'a Config,
    pub now: OffsetDateTime,
    /// Provisioners the operator allows to sign SSH certificates they could not sign
    /// before (`--widen-ssh`); any other widening is refused.
    pub widen_ssh: &'a [String],
}

pub enum Decision {
    /// The bundle is the current generation already (same seal).
    Installed {
        number: u32,
        previous: Option<u32>,
        bundle: BundleRef,
    },
    Install(Box<Plan>),
}

/// Everything apply will write.
pub struct Plan {
    pub ca: CaDir,
    pub layout: Layout,
    pub verified: Verified,
    /// The plain folders to keep as generation 0 first (first import only).
    pub migrate: Option<content::Migration>,
    /// Files of the new generation, relative to its folder.
    pub files: Vec<NewFile>,
    /// `number` and `previous` are filled in by apply.
    pub info: GenerationInfo,
    /// An installed root is replaced (it stays trusted for the overlap).
    pub root_changed: bool,
    /// Who may sign what, before and after.
    pub signing: signing::Table,
}

/// What is installed now: the current generation, or the plain folders.
pub struct Installed {
    pub info: Option<GenerationInfo>,
    pub dir: Option<PathBuf>,
    pub certs: Vec<FoundFile>,
    pub config: Vec<FoundFile>,
}

impl Installed {
    pub fn read(ca: &CaDir, layout: &Layout) -> Result<Installed, DaemonError> {
        let dir = layout.current().map(|n| ca.gen_dir(n));
        Ok(Installed {
            info: layout::current_info(ca, layout)?,
            certs: layout::read_flat(&ca.installed_sub(layout, generation::CERTS))?,
            config: layout::read_flat(&ca.installed_sub(layout, generation::CONFIG))?,
            dir,
        })
    }

    pub fn file(&self, sub: &str, name: &str) -> Option<&FoundFile> {
        let list = if sub == generation::CERTS {
            &self.certs
        } else {
            &self.config
        };
        list.iter().find(|f| f.name == name)
    }

    /// A file under the current generation's `publish/`.
    pub fn published(&self, rel: &str) -> Option<Vec<u8>> {
        let path = self.dir.as_ref()?.join(generation::PUBLISH).join(rel);
        super::fsx::read_regular(&path).ok()
    }

    pub fn root_der(&self) -> Option<Vec<u8>> {
        pem_der(&self.file(generation::CERTS, step::ROOT)?.bytes)
    }
}

/// Verifies, applies every rule and computes the new generation.
pub fn decide(req: &Request<'_>) -> Result<Decision, DaemonError> {
    let cfg = req.config;
    let ca_dir = cfg.ca.dir.as_deref().ok_or_else(|| {
        DaemonError::Refused("no CA folder given (--ca-dir or ca.dir in the config)".into())
    })?;
    let verified = verify(req)?;
    if verified.manifest.drill && !cfg.import.allow_drill {
        return Err(DaemonError::Refused(format!(
            "{} is a DRILL bundle, made on throwaway tokens; only a rehearsal host takes it \
             (--allow-drill, or import.allow_drill = true)",
            req.bundle.display()
        )));
    }
    check_trust_dir(cfg.trust.dir.as_deref())?;
    let files = BundleFiles::read(req.bundle, &verified)?;
    let parts = Parts::pick(&verified.manifest, &files)?;
    let ca = CaDir::new(ca_dir);
    let layout = ca.inspect()?;
    let old = Installed::read(&ca, &layout)?;
    if let (Some(number), Some(info)) = (layout.current(), &old.info)
        && let Some(bundle) = info.bundle.as_ref().filter(|b| b.seal == verified.seal)
    {
        return Ok(Decision::Installed {
            number,
            previous: info.previous,
            bundle: bundle.clone(),
        });
    }
    check_interrupted_migration(&ca, &layout, &old)?;
    let root_changed = check_root(&verified.manifest.kind, &parts, &old)?;
    check_renewal(&verified.manifest.kind, &parts, &old)?;
    check_crl(&parts, &old)?;
    let ca_json = old.file(generation::CONFIG, step::CA_JSON).ok_or_else(|| {
        DaemonError::Refused(format!(
            "{} has no config/ca.json; ceremonyd updates step-ca's existing configuration \
             (provisioners, address, db) and does not invent one",
            ca_dir.display()
        ))
    })?;
    let ca_json_error = |reason| DaemonError::CaJson {
        path: ca
            .installed_sub(&layout, generation::CONFIG)
            .join(step::CA_JSON),
        reason,
    };
    let new_ca_json =
        content::ca_json(cfg, &parts, &ca_json.bytes, req.widen_ssh).map_err(ca_json_error)?;
    let signing = signing::compare(&ca_json.bytes, &new_ca_json).map_err(ca_json_error)?;
    signing.check(req.widen_ssh).map_err(DaemonError::Refused)?;
    let roots = content::trusted_roots(&parts, &old, cfg.trust.root_overlap_days, req.now);
    let mut files_out = content::generation_files(cfg, &parts, &old, &roots, new_ca_json, req.now);
    files_out.extend(content::bundle_copy(&files));
    let info = generation_info(&verified, &parts, &old, &roots, req.now);
    let migrate = match layout {
        Layout::Plain { .. } => Some(content::migration(&old, req.now)),
        Layout::Managed { .. } => None,
    };
    Ok(Decision::Install(Box::new(Plan {
        ca,
        layout,
        verified,
        migrate,
        files: files_out,
        info,
        root_changed,
        signing,
    })))
}

/// A CRL renewal changes only the CRL: its intermediate and SSH CA keys must be the
/// installed ones byte for byte (a renewal made from an older bundle would otherwise put
/// an old intermediate back).
fn check_renewal(kind: &str, parts: &Parts, old: &Installed) -> Result<(), DaemonError> {
    if kind != "crl-renewal" {
        return Ok(());
    }
    let installed = |name: &str| old.file(generation::CERTS, name).map(|f| f.bytes.clone());
    let mismatch = [
        (step::INTERMEDIATE, parts.intermediate.pem.as_slice()),
        (step::SSH_USER, parts.ssh_user.0.as_slice()),
        (step::SSH_HOST, parts.ssh_host.0.as_slice()),
    ]
    .into_iter()
    .filter(|(name, new)| installed(name).as_deref() != Some(*new))
    .map(|(name, _)| name)
    .collect::<Vec<_>>();
    if mismatch.is_empty() {
        return Ok(());
    }
    Err(DaemonError::Refused(format!(
        "crl-renewal bundle, but its {} differ from the installed ones; a CRL renewal \
         changes only the CRL (was it made from the last bundle?)",
        mismatch.join(", ")
    )))
}

/// An intermediate rotation or a CRL renewal keeps the installed root byte for byte.
/// Returns whether an installed root is being replaced.
fn check_root(kind: &str, parts: &Parts, old: &Installed) -> Result<bool, DaemonError> {
    let old_root = old.root_der();
    let same_root = old_root.as_deref() == Some(parts.root.der.as_slice());
    let keeps_root = kind.starts_with("intermediate-rotation") || kind == "crl-renewal";
    if keeps_root && !same_root {
        return Err(DaemonError::Refused(match &old_root {
            None => format!("{kind} bundle, but no root is installed to continue from"),
            Some(der) => format!(
                "{kind} bundle carries root {}, but the installed root is {}; an intermediate \
                 rotation or CRL renewal keeps the root byte for byte",
                parts.root.sha256,
                Fingerprint::of(der).hex()
            ),
        }));
    }
    Ok(old_root.is_some() && !same_root)
}

/// The new generation's record; apply fills in `number` and `previous`.
fn generation_info(
    verified: &Verified,
    parts: &Parts,
    old: &Installed,
    roots: &[(generation::TrustedRoot, Vec<u8>)],
    now: OffsetDateTime,
) -> GenerationInfo {
    let m = &verified.manifest;
    GenerationInfo {
        format: generation::FORMAT.into(),
        version: 1,
        number: 0,
        previous: None,
        created: content::rfc3339(now),
        source: "bundle".into(),
        bundle: Some(BundleRef {
            seal: verified.seal.clone(),
            kind: m.kind.clone(),
            ceremony: m.ceremony.clone(),
            drill: m.drill,
            exported: m.exported.clone(),
            root_fingerprint: verified.root_fingerprint.clone(),
        }),
        roots: roots.iter().map(|(r, _)| r.clone()).collect(),
        crl: content::crl_ref(parts, old),
    }
}

fn verify(req: &Request<'_>) -> Result<Verified, DaemonError> {
    let failed = |problems| DaemonError::Verify {
        dir: req.bundle.to_path_buf(),
        problems,
    };
    let verified = verify_root(req)?;
    verified.check_seal(req.seal).map_err(|p| failed(vec![p]))?;
    Ok(verified)
}

fn verify_root(req: &Request<'_>) -> Result<Verified, DaemonError> {
    let failed = |problems| DaemonError::Verify {
        dir: req.bundle.to_path_buf(),
        problems,
    };
    match req.accepted_roots {
        [one] => bundle::verify(req.bundle, Some(one)).map_err(failed),
        many => {
            let v = bundle::verify(req.bundle, None).map_err(failed)?;
            if many.iter().any(|f| f.hex() == v.root_fingerprint) {
                Ok(v)
            } else {
                let list: Vec<String> = many.iter().map(Fingerprint::hex).collect();
                Err(failed(vec![format!(
                    "root fingerprint is {}, not one of the accepted [{}]",
                    v.root_fingerprint,
                    list.join(", ")
                )]))
            }
        }
    }
}

/// Boulder's rule: a CRL from the same issuer replaces the served one only with a higher
/// number; and a CRL that revokes the intermediate being installed is a contradiction.
fn check_crl(parts: &Parts, old: &Installed) -> Result<(), DaemonError> {
    let Some((_, facts, issuer)) = &parts.crl else {
        return Ok(());
    };
    if facts
        .revoked
        .iter()
        .any(|r| r.serial_hex == parts.intermediate_serial)
    {
        return Err(DaemonError::Refused(
            "the bundle's CRL revokes the bundle's own intermediate".into(),
        ));
    }
    if let Some(prev) = old.info.as_ref().and_then(|i| i.crl.as_ref())
        && &prev.issuer_sha256 == issuer
        && facts.number <= prev.number
    {
        return Err(DaemonError::Refused(format!(
            "CRL number {} is not above the installed CRL number {} of the same issuer; a CRL \
             is only replaced by a newer one",
            facts.number, prev.number
        )));
    }
    Ok(())
}

/// After an interrupted first migration, the plain folder left must still hold exactly
/// what generation 0 copied; otherwise someone changed it and a person must look.
fn check_interrupted_migration(
    ca: &CaDir,
    layout: &Layout,
    old: &Installed,
) -> Result<(), DaemonError> {
    for (name, sub) in layout.subs() {
        if sub == Sub::Plain && layout.current().is_some() {
            let plain = layout::read_flat(&ca.root.join(name))?;
            let installed = if name == generation::CERTS {
                &old.certs
            } else {
                &old.config
            };
            let same = plain.len() == installed.len()
                && plain
                    .iter()
                    .zip(installed)
                    .all(|(a, b)| a.name == b.name && a.bytes == b.bytes);
            if !same {
                return Err(DaemonError::layout(
                    &ca.root,
                    format!(
                        "{name}/ is still a plain folder and differs from the current \
                         generation's copy (an interrupted first import, then edits?); \
                         compare them by hand"
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn check_trust_dir(dir: Option<&Path>) -> Result<(), DaemonError> {
    let Some(dir) = dir else { return Ok(()) };
    if let Ok(meta) = dir.symlink_metadata()
        && !meta.is_dir()
    {
        return Err(DaemonError::Refused(format!(
            "trust folder {} is not a folder",
            dir.display()
        )));
    }
    for name in publish::TRUST_FILES {
        if let Some(problem) = not_a_regular_file(&dir.join(name)) {
            return Err(DaemonError::Refused(problem));
        }
    }
    Ok(())
}

/// The fingerprint of the installed root (`certs/root_ca.crt`), if one is installed.
pub fn installed_root(ca_dir: &Path) -> Option<Fingerprint> {
    let ca = CaDir::new(ca_dir);
    let layout = ca.inspect().ok()?;
    let certs = ca.installed_sub(&layout, generation::CERTS);
    let pem = super::fsx::read_regular(&certs.join(step::ROOT)).ok()?;
    pem_der(&pem).map(|der| Fingerprint::of(&der))
}
