//! Writing an import and switching to it; rollback.
//!
//! The CA folder changes what step-ca sees in exactly one step: the rename of the
//! `.ceremonyd/current` link onto a generation that was written completely (every file
//! fsynced, the folder renamed from `.NNNN.tmp` into place, parents fsynced) before. Until
//! that rename step-ca sees the previous generation; after it, the new one. The first
//! import makes the plain folders generation 0 the same way and then swaps each plain
//! folder for its link with `renameat2(RENAME_EXCHANGE)`, which changes no content that
//! step-ca sees. The trust folder follows after the switch, one file at a time (temporary
//! file and rename). Nothing is ever deleted; rollback points `current` back.

use super::config::Config;
use super::content::{Migration, NewFile, dir_mode, rfc3339};
use super::error::DaemonError;
use super::fsx::{Fault, Writer, sync_dir};
use super::generation::{self, GenerationInfo, publish};
use super::layout::{CaDir, Layout, STATE, Sub};
use super::plan::{self, Decision, Plan, Request};
use std::collections::BTreeSet;
use std::os::fd::AsRawFd;
use std::path::Path;
use time::OffsetDateTime;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub generation: u32,
    pub previous: Option<u32>,
    /// The generation the plain folders became, on a first import.
    pub migrated: Option<u32>,
    /// The bundle was the current generation already; only the trust folder was checked.
    pub already: bool,
    pub root_changed: bool,
    pub seal: String,
    pub kind: String,
    pub drill: bool,
    /// Writes made (a test sweeps the fault hook over them).
    pub writes: usize,
    /// Who may sign what before and after (`None` when the bundle was installed already).
    pub signing: Option<super::signing::Table>,
}

/// Verifies, decides and installs a bundle; see the module documentation for the order.
pub fn import(req: &Request<'_>, fault: Fault) -> Result<Imported, DaemonError> {
    let ca_dir = req.config.ca.dir.as_deref().ok_or_else(|| {
        DaemonError::Refused("no CA folder given (--ca-dir or ca.dir in the config)".into())
    })?;
    let _lock = lock(ca_dir)?;
    let mut w = Writer::new(req.config.ca.owner, fault);
    match plan::decide(req)? {
        Decision::Installed {
            number,
            previous,
            bundle,
        } => {
            sync_trust(&mut w, req.config, &CaDir::new(ca_dir), number)?;
            Ok(Imported {
                generation: number,
                previous,
                migrated: None,
                already: true,
                root_changed: false,
                seal: bundle.seal,
                kind: bundle.kind,
                drill: bundle.drill,
                writes: w.count(),
                signing: None,
            })
        }
        Decision::Install(plan) => install(&mut w, req.config, *plan),
    }
}

/// Writes a decided plan: generation 0 first if the folder is plain, then the new
/// generation, the switch, the history line and the trust folder.
fn install(w: &mut Writer, cfg: &Config, plan: Plan) -> Result<Imported, DaemonError> {
    let Plan {
        ca,
        layout,
        verified,
        migrate,
        files,
        mut info,
        root_changed,
        signing,
    } = plan;
    ensure_state(w, &ca)?;
    let migrated = match migrate {
        Some(m) => Some(migrate_plain(w, &ca, m)?),
        None => None,
    };
    let previous = migrated.or(layout.current());
    link_plain_folders(w, &ca, &layout)?;
    let n = ca.next_number()?;
    info.number = n;
    info.previous = previous;
    write_generation(w, &ca, n, &files, &info)?;
    switch(w, &ca, n, "import")?;
    let m = &verified.manifest;
    history(
        w,
        &ca,
        "import",
        &[
            ("generation", n.to_string()),
            (
                "previous",
                previous.map_or("none".into(), |p| p.to_string()),
            ),
            ("seal", verified.seal.clone()),
            ("kind", m.kind.clone()),
            ("root", verified.root_fingerprint.clone()),
        ],
    )?;
    sync_trust(w, cfg, &ca, n)?;
    Ok(Imported {
        generation: n,
        previous,
        migrated,
        already: false,
        root_changed,
        seal: verified.seal.clone(),
        kind: m.kind.clone(),
        drill: m.drill,
        writes: w.count(),
        signing: Some(signing),
    })
}

/// The plain folders become a generation, which becomes current (same content).
fn migrate_plain(w: &mut Writer, ca: &CaDir, m: Migration) -> Result<u32, DaemonError> {
    let n = ca.next_number()?;
    let mut info = m.info;
    info.number = n;
    write_generation(w, ca, n, &m.files, &info)?;
    switch(w, ca, n, "migrate")?;
    history(w, ca, "migrate", &[("generation", n.to_string())])?;
    Ok(n)
}

/// An exclusive `flock` on the CA folder itself (no lock file: a refusal writes nothing),
/// held until dropped; a concurrent import waits.
pub fn lock(dir: &Path) -> Result<std::fs::File, DaemonError> {
    let file = std::fs::File::open(dir).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            DaemonError::Refused(format!("CA folder {} does not exist", dir.display()))
        } else {
            DaemonError::io("open", dir)(e)
        }
    })?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(DaemonError::io("flock", dir)(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(file)
}

fn ensure_state(w: &mut Writer, ca: &CaDir) -> Result<(), DaemonError> {
    for dir in [ca.state(), ca.generations()] {
        if dir.symlink_metadata().is_err() {
            w.mkdir(&dir, 0o755)?;
        }
    }
    Ok(())
}

/// Writes generation `n` into `.NNNN.tmp`, fsyncs it and renames it into place.
fn write_generation(
    w: &mut Writer,
    ca: &CaDir,
    n: u32,
    files: &[NewFile],
    info: &GenerationInfo,
) -> Result<(), DaemonError> {
    let tmp = ca
        .generations()
        .join(format!(".{}.tmp", generation::name(n)));
    w.mkdir(&tmp, 0o755)?;
    let mut dirs = BTreeSet::new();
    for f in files {
        let parent = Path::new(&f.rel).parent().unwrap_or(Path::new(""));
        let mut prefix = std::path::PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            if dirs.insert(prefix.clone()) {
                w.mkdir(&tmp.join(&prefix), dir_mode(&prefix.to_string_lossy()))?;
            }
        }
        let path = tmp.join(&f.rel);
        match f.owner {
            Some(owner) => w.create_as(&path, &f.bytes, f.mode, owner)?,
            None => w.create(&path, &f.bytes, f.mode)?,
        }
    }
    for sub in [generation::CERTS, generation::CONFIG] {
        if !dirs.contains(Path::new(sub)) {
            w.mkdir(&tmp.join(sub), dir_mode(sub))?;
            dirs.insert(sub.into());
        }
    }
    w.create(&tmp.join(generation::INFO), &info.to_json(), 0o644)?;
    for dir in dirs.iter().rev() {
        sync_dir(&tmp.join(dir))?;
    }
    sync_dir(&tmp)?;
    w.rename(&tmp, &ca.gen_dir(n))
}

/// The one step that changes what step-ca sees.
fn switch(w: &mut Writer, ca: &CaDir, n: u32, why: &str) -> Result<(), DaemonError> {
    let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let tmp = ca
        .state()
        .join(format!("current.{why}-{}-{stamp}.tmp", generation::name(n)));
    let target = format!("generations/{}", generation::name(n));
    w.point(&ca.current_link(), &target, &tmp)
}

/// Replaces each plain `certs`/`config` folder by its link, keeping the folder under
/// `.ceremonyd/pre-ceremonyd/`; creates missing links.
fn link_plain_folders(w: &mut Writer, ca: &CaDir, layout: &Layout) -> Result<(), DaemonError> {
    for (name, sub) in layout.subs() {
        let target = format!("{STATE}/current/{name}");
        let here = ca.root.join(name);
        match sub {
            Sub::Linked => {}
            Sub::Missing => {
                let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos();
                let tmp = ca.root.join(format!(".{name}.ceremonyd-link-{stamp}"));
                w.point(&here, &target, &tmp)?;
            }
            Sub::Plain => {
                let keep = ca.pre_ceremonyd();
                if keep.symlink_metadata().is_err() {
                    w.mkdir(&keep, 0o755)?;
                }
                let kept = keep.join(name);
                // A link of ours there is left from an interrupted first import: reuse it.
                let ours = std::fs::read_link(&kept).is_ok_and(|t| t == Path::new(&target));
                if !ours {
                    if kept.symlink_metadata().is_ok() {
                        return Err(DaemonError::layout(
                            &kept,
                            "exists already; a plain folder is migrated once",
                        ));
                    }
                    w.link(&kept, &target)?;
                }
                w.exchange(&here, &kept)?;
            }
        }
    }
    Ok(())
}

fn history(
    w: &mut Writer,
    ca: &CaDir,
    event: &str,
    fields: &[(&str, String)],
) -> Result<(), DaemonError> {
    let mut map = serde_json::Map::new();
    map.insert("at".into(), rfc3339(OffsetDateTime::now_utc()).into());
    map.insert("event".into(), event.into());
    for (k, v) in fields {
        map.insert((*k).into(), v.clone().into());
    }
    let line = serde_json::Value::Object(map).to_string();
    w.append(&ca.history(), &line, 0o644)
}

/// Makes the trust folder hold generation `n`'s trust files; writes only what differs.
fn sync_trust(w: &mut Writer, cfg: &Config, ca: &CaDir, n: u32) -> Result<(), DaemonError> {
    let Some(dir) = cfg.trust.dir.as_deref() else {
        return Ok(());
    };
    if dir.symlink_metadata().is_err() {
        make_dirs(w, dir)?;
    }
    let from = ca.gen_dir(n).join(generation::PUBLISH);
    for name in publish::TRUST_FILES {
        let Ok(bytes) = super::fsx::read_regular(&from.join(name)) else {
            continue;
        };
        if std::fs::read(dir.join(name)).ok().as_deref() != Some(bytes.as_slice()) {
            w.replace(dir, name, &bytes, 0o644)?;
        }
    }
    Ok(())
}

fn make_dirs(w: &mut Writer, dir: &Path) -> Result<(), DaemonError> {
    if let Some(parent) = dir.parent()
        && parent.symlink_metadata().is_err()
    {
        make_dirs(w, parent)?;
    }
    w.mkdir(dir, 0o755)
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub from: u32,
    pub to: u32,
}

/// Points `current` back at the generation the current one replaced.
pub fn rollback(cfg: &Config, fault: Fault) -> Result<RolledBack, DaemonError> {
    let ca_dir = cfg.ca.dir.as_deref().ok_or_else(|| {
        DaemonError::Refused("no CA folder given (--ca-dir or ca.dir in the config)".into())
    })?;
    let _lock = lock(ca_dir)?;
    let ca = CaDir::new(ca_dir);
    let layout = ca.inspect()?;
    let Layout::Managed {
        current,
        certs: Sub::Linked,
        config: Sub::Linked,
    } = layout
    else {
        return Err(DaemonError::Refused(format!(
            "{} is not a CA folder ceremonyd manages (or its first import was interrupted; \
             run the import again)",
            ca_dir.display()
        )));
    };
    let info = GenerationInfo::load(&ca.gen_dir(current))?;
    let to = info.previous.ok_or_else(|| {
        DaemonError::Refused(format!("generation {current} has no previous generation"))
    })?;
    GenerationInfo::load(&ca.gen_dir(to))?;
    super::plan::check_trust_dir(cfg.trust.dir.as_deref())?;
    let mut w = Writer::new(cfg.ca.owner, fault);
    switch(&mut w, &ca, to, "rollback")?;
    history(
        &mut w,
        &ca,
        "rollback",
        &[("from", current.to_string()), ("to", to.to_string())],
    )?;
    sync_trust(&mut w, cfg, &ca, to)?;
    Ok(RolledBack { from: current, to })
}
