//! The watcher thread: every `poll_seconds` it looks for bundles in the inbox (a mounted
//! export stick: the inbox itself or any folder in it that holds `SHA256SUMS`), imports a
//! new one under the same rules as `ceremonyd import`, and reloads the snapshot when the
//! current generation changed (by the inbox, a CLI import or a rollback) or a replaced
//! root's overlap ended.
//!
//! A folder is taken only when its listing (names, sizes, modification times) is the same
//! on two polls in a row, so a copy in progress is left alone; each state of a folder is
//! tried once per process (a folder that changes again is tried again).

use super::State;
use super::snapshot::Snapshot;
use crate::daemon::apply;
use crate::daemon::fsx::Fault;
use crate::daemon::log;
use crate::daemon::plan::Request;
use crate::fsutil::sha256_hex;
use crate::pki::Fingerprint;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

#[derive(Default)]
struct Seen {
    /// Folder -> its listing at the last poll.
    candidate: HashMap<PathBuf, String>,
    /// Folder -> the listing already tried.
    tried: HashMap<PathBuf, String>,
}

/// Runs until `state.stop` is set.
pub fn watch(state: Arc<State>) {
    let mut seen = Seen::default();
    let poll = std::time::Duration::from_secs(state.config.serve.poll_seconds);
    while !state.stop.load(Ordering::Relaxed) {
        sleep_unless_stopped(&state, poll);
        if state.stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(inbox) = state.config.serve.inbox.clone() {
            for dir in bundles_in(&inbox) {
                consider(&state, &mut seen, &dir);
            }
        }
        reload_if_stale(&state);
    }
}

fn sleep_unless_stopped(state: &State, total: std::time::Duration) {
    let step = std::time::Duration::from_millis(100);
    let mut slept = std::time::Duration::ZERO;
    while slept < total && !state.stop.load(Ordering::Relaxed) {
        std::thread::sleep(step);
        slept += step;
    }
}

fn bundles_in(inbox: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if inbox.join(crate::bundle::SUMS).is_file() {
        out.push(inbox.to_path_buf());
    }
    if let Ok(entries) = std::fs::read_dir(inbox) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && p.join(crate::bundle::SUMS).is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Names, sizes and modification times of a folder's entries, hashed.
fn listing(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mut lines = Vec::new();
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let m = e.metadata().ok()?;
        let name = e.file_name();
        lines.push(format!(
            "{name:?} {} {}.{}",
            m.len(),
            m.mtime(),
            m.mtime_nsec()
        ));
    }
    lines.sort();
    Some(sha256_hex(lines.join("\n").as_bytes()))
}

fn consider(state: &State, seen: &mut Seen, dir: &Path) {
    let Some(hash) = listing(dir) else {
        return;
    };
    if seen.tried.get(dir) == Some(&hash) {
        return;
    }
    if seen.candidate.get(dir) != Some(&hash) {
        seen.candidate.insert(dir.to_path_buf(), hash);
        return;
    }
    seen.tried.insert(dir.to_path_buf(), hash);
    import(state, dir);
}

/// The installed root and the configured one: the roots an inbox bundle may carry.
fn accepted_roots(state: &State) -> Vec<Fingerprint> {
    let mut roots = Vec::new();
    if let Some(ca_dir) = state.config.ca.dir.as_deref()
        && let Some(fp) = crate::daemon::plan::installed_root(ca_dir)
    {
        roots.push(fp);
    }
    if let Some(fp) = state.config.import.root_fingerprint
        && !roots.contains(&fp)
    {
        roots.push(fp);
    }
    roots
}

fn import(state: &State, dir: &Path) {
    let roots = accepted_roots(state);
    let shown = dir.display();
    let now = OffsetDateTime::now_utc();
    let result = if roots.is_empty() {
        Err(crate::daemon::error::DaemonError::Refused(
            "no root is installed and import.root_fingerprint is not set".into(),
        ))
    } else {
        let req = Request {
            bundle: dir,
            accepted_roots: &roots,
            seal: None,
            config: &state.config,
            now,
            // The inbox never widens who may sign; that takes an operator's --widen-ssh.
            widen_ssh: &[],
        };
        apply::import(&req, Fault::none())
    };
    let mut stats = state.stats.lock().unwrap_or_else(|e| e.into_inner());
    stats.last_unix = Some(now.unix_timestamp());
    match result {
        Ok(done) => {
            stats.last_ok = Some(true);
            if done.already {
                stats.already += 1;
            } else {
                stats.installed += 1;
            }
            let event = if done.already {
                "inbox.already"
            } else {
                "inbox.installed"
            };
            log::info(
                event,
                &[
                    ("bundle", &shown),
                    ("generation", &done.generation),
                    ("seal", &done.seal),
                    ("kind", &done.kind),
                ],
            );
            drop(stats);
            reload(state);
        }
        Err(e) => {
            stats.last_ok = Some(false);
            let refused = e.is_refusal();
            if refused {
                stats.refused += 1;
            } else {
                stats.failed += 1;
            }
            let event = if refused {
                "inbox.refused"
            } else {
                "inbox.failed"
            };
            log::warn(event, &[("bundle", &shown), ("reason", &e)]);
        }
    }
}

fn reload_if_stale(state: &State) {
    let snap = state.snapshot();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let current = state.config.ca.dir.as_deref().and_then(|d| {
        crate::daemon::layout::CaDir::new(d)
            .current()
            .ok()
            .flatten()
    });
    if current != snap.generation || snap.stale_at.is_some_and(|t| t <= now) {
        reload(state);
    }
}

/// Loads the current generation and swaps it in; on failure keeps serving the old one.
pub fn reload(state: &State) {
    let Some(ca_dir) = state.config.ca.dir.as_deref() else {
        return;
    };
    match Snapshot::load(ca_dir, OffsetDateTime::now_utc()) {
        Ok(s) => {
            let generation = s.generation.map_or(-1, i64::from);
            state.replace(s);
            log::info("serve.reload", &[("generation", &generation)]);
        }
        Err(e) => log::error("serve.reload_failed", &[("reason", &e)]),
    }
}
