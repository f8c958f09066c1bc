//! Crash safety of apply: the library's fault hook stops an import (or a rollback) before
//! each of its writes in turn, as a power cut at that instant would. Every time, step-ca's
//! view of the CA folder (`certs/`, `config/`, links followed) is the complete old
//! installation or the complete new one, each trust file is old or new, and running the
//! same command again completes it without deleting anything that was there.

#[path = "daemon_support.rs"]
mod support;

use ceremony::daemon::{self, Config, DaemonError, Fault, Owner};
use ceremony::pki::Fingerprint;
use std::collections::BTreeMap;
use std::path::Path;
use support::*;

fn config(root: &Path) -> Config {
    let mut c = Config::default();
    c.ca.dir = Some(root.join("ca"));
    c.trust.dir = Some(root.join("trust"));
    c.ca.owner = Owner {
        uid: 4242,
        gid: 4242,
    };
    c.import.allow_drill = true;
    c
}

fn import(
    root: &Path,
    bundle: &Path,
    fp: &str,
    fault: Fault,
) -> Result<daemon::Imported, DaemonError> {
    let fp: Fingerprint = fp.parse().unwrap();
    let cfg = config(root);
    let req = daemon::Request {
        bundle,
        accepted_roots: &[fp],
        seal: None,
        config: &cfg,
        now: time::OffsetDateTime::now_utc(),
        widen_ssh: &[],
    };
    daemon::import(&req, fault)
}

fn trust_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(root.join("trust")) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                out.insert(name, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Each trust file is either its old or its new version (or absent, if it was).
fn old_or_new_files(
    found: &BTreeMap<String, Vec<u8>>,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
    n: usize,
) {
    for (name, bytes) in found {
        assert!(
            old.get(name) == Some(bytes) || new.get(name) == Some(bytes),
            "trust/{name} is neither old nor new after a crash before write {n}"
        );
    }
}

struct Ends {
    view: (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>),
    trust: (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>),
}

/// Stops `op` before each of its `writes` writes, in a copy of `base` each time.
fn sweep(
    tmp: &Path,
    base: &Path,
    writes: usize,
    ends: &Ends,
    op: &dyn Fn(&Path, Fault) -> Result<(), DaemonError>,
) {
    for n in 0..writes {
        let work = tmp.join(format!("crash-{n}"));
        copy_tree(base, &work);
        match op(&work, Fault::fail_at(n)) {
            Err(DaemonError::Injected(at)) => assert_eq!(at, n),
            other => panic!("write {n}: expected the injected fault, got {other:?}"),
        }
        let seen = view(&work.join("ca"));
        assert!(
            seen == ends.view.0 || seen == ends.view.1,
            "after a crash before write {n} step-ca sees a mix of old and new"
        );
        old_or_new_files(&trust_files(&work), &ends.trust.0, &ends.trust.1, n);
        let before = files(&work.join("ca"));
        let log = work.join("ca/.ceremonyd/history.jsonl");
        let log_before = std::fs::read(&log).unwrap_or_default();
        op(&work, Fault::none()).unwrap_or_else(|e| panic!("recovery after write {n}: {e}"));
        assert_eq!(
            view(&work.join("ca")),
            ends.view.1,
            "recovery after write {n}"
        );
        assert_eq!(
            trust_files(&work),
            ends.trust.1,
            "trust after recovery from write {n}"
        );
        let after = files(&work.join("ca"));
        for (hash, path) in before {
            assert!(
                after.contains_key(&hash),
                "{path} was deleted by the recovery"
            );
        }
        assert!(
            std::fs::read(&log).unwrap().starts_with(&log_before),
            "history is only appended to"
        );
        std::fs::remove_dir_all(&work).unwrap();
    }
}

#[test]
fn a_crash_before_any_write_leaves_the_old_or_the_new_installation() {
    require("cp");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    rehearse("root-ceremony.toml", &d.join("phase1"), None);
    let fp = rehearse(
        "root-ceremony.toml",
        &d.join("a1"),
        Some((&d.join("tokens"), None)),
    );
    rehearse(
        "intermediate-rotation.toml",
        &d.join("a2"),
        Some((&d.join("tokens"), Some(&d.join("a1")))),
    );

    // First cutover: migration of the plain folder, then the import.
    let base1 = d.join("base1");
    phase1_ca_dir(&base1.join("ca"), &d.join("phase1"));
    let ref1 = d.join("ref1");
    copy_tree(&base1, &ref1);
    let done = import(&ref1, &d.join("a1"), &fp, Fault::none()).unwrap();
    assert_eq!(done.migrated, Some(0));
    assert!(done.writes > 50, "{} writes", done.writes);
    let ends1 = Ends {
        view: (view(&base1.join("ca")), view(&ref1.join("ca"))),
        trust: (BTreeMap::new(), trust_files(&ref1)),
    };
    let a1 = d.join("a1");
    let op1 = |root: &Path, fault| import(root, &a1, &fp, fault).map(|_| ());
    sweep(d, &base1, done.writes, &ends1, &op1);
    assert!(op1(&copy_of(d, &base1, "all"), Fault::fail_at(done.writes)).is_ok());

    // An intermediate rotation on a managed folder.
    let ref2 = d.join("ref2");
    copy_tree(&ref1, &ref2);
    let done2 = import(&ref2, &d.join("a2"), &fp, Fault::none()).unwrap();
    assert_eq!((done2.generation, done2.previous), (2, Some(1)));
    let ends2 = Ends {
        view: (view(&ref1.join("ca")), view(&ref2.join("ca"))),
        trust: (trust_files(&ref1), trust_files(&ref2)),
    };
    let a2 = d.join("a2");
    let op2 = |root: &Path, fault| import(root, &a2, &fp, fault).map(|_| ());
    sweep(d, &ref1, done2.writes, &ends2, &op2);

    // Rollback: old or new after a crash; once switched it is done (no second step back).
    for n in 0..3 {
        let work = copy_of(d, &ref2, &format!("rollback-{n}"));
        let err = daemon::rollback(&config(&work), Fault::fail_at(n)).unwrap_err();
        assert!(matches!(err, DaemonError::Injected(_)), "{err}");
        let seen = view(&work.join("ca"));
        assert!(
            seen == ends2.view.1 || seen == ends2.view.0,
            "rollback crash before write {n}"
        );
        if seen == ends2.view.1 {
            let back = daemon::rollback(&config(&work), Fault::none()).unwrap();
            assert_eq!((back.from, back.to), (2, 1));
        }
        assert_eq!(view(&work.join("ca")), ends2.view.0);
    }
}

/// Every regular file's content hash (a file moved into `.ceremonyd/` is not deleted);
/// the history, which grows, is checked apart.
fn files(dir: &Path) -> BTreeMap<String, String> {
    tree(dir)
        .into_iter()
        .filter(|(path, _)| !path.ends_with("history.jsonl"))
        .filter_map(|(path, what)| {
            Some((
                what.strip_prefix("file ")?.split(' ').next()?.to_owned(),
                path,
            ))
        })
        .collect()
}

fn copy_of(d: &Path, base: &Path, name: &str) -> std::path::PathBuf {
    let to = d.join(name);
    copy_tree(base, &to);
    to
}
