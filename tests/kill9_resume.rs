//! `kill -9` from outside the process, at instants spread over a whole rehearsal of the
//! root ceremony, then the same command again on the kept tokens and working folder:
//! every resumed run must end in a bundle `ceremony verify` accepts, on tokens that hold
//! exactly the checklist's keys (checked with OpenSC's `pkcs11-tool`, not with this
//! program), with no duplicate.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// How many kills, spread evenly over an uninterrupted run's duration.
const KILLS: u32 = 32;

fn rehearse(tokens_flag: &str, dir: &Path, out: &str) -> Command {
    let mut cmd = ceremony();
    cmd.args(["rehearse", ROOT_CEREMONY, tokens_flag])
        .arg(dir.join("T"))
        .arg("--work")
        .arg(dir.join("W"))
        .arg("--out")
        .arg(dir.join(out));
    cmd
}

/// The bundle folder a rehearsal printed.
fn bundle_of(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("bundle:"))
        .map(|b| b.trim().to_string())
        .unwrap_or_else(|| panic!("no bundle line in:\n{output}"))
}

/// A key object as `pkcs11-tool` lists it: its class ("Private Key Object") and id.
type Object = (String, String);

/// `(class, id)` of every key object on the token labelled `label`, by `pkcs11-tool`.
fn objects_on(dir: &Path, label: &str) -> Vec<Object> {
    let module = ceremony::drill::softhsm_module().unwrap();
    let out = run(Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", dir.join("T/softhsm2.conf"))
        .arg("--module")
        .arg(&module)
        .args(["--token-label", label, "--login", "--pin"])
        .arg(ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN)
        .arg("--list-objects"));
    assert!(out.status.success(), "pkcs11-tool:\n{}", all_output(&out));
    let text = stdout(&out);
    let mut found = Vec::new();
    let mut class = None;
    for line in text.lines() {
        if line.contains("Key Object") {
            class = Some(line.split(';').next().unwrap_or("").trim().to_string());
        } else if let (Some(c), Some(id)) = (&class, line.trim().strip_prefix("ID:")) {
            found.push((c.clone(), id.trim().to_string()));
            class = None;
        }
    }
    found.sort();
    found
}

/// What the checklist says each token role holds: one public and one private object per
/// key, by id.
fn expected_objects() -> Vec<(String, String, Vec<Object>)> {
    let loaded = ceremony::checklist::load(Path::new(ROOT_CEREMONY)).unwrap();
    let c = &loaded.checklist;
    c.tokens
        .iter()
        .map(|(role, spec)| {
            let mut objects: Vec<Object> = c
                .keys
                .iter()
                .filter(|k| &k.token == role)
                .flat_map(|k| {
                    let id = k.id.to_lowercase();
                    [
                        ("Private Key Object".to_string(), id.clone()),
                        ("Public Key Object".to_string(), id),
                    ]
                })
                .collect();
            objects.sort();
            (role.clone(), spec.label.clone(), objects)
        })
        .collect()
}

#[test]
fn every_kill_during_a_rehearsal_resumes_to_a_verified_bundle_with_exactly_the_keys() {
    require("pkcs11-tool");
    // One run without a kill: how long a whole rehearsal takes on this machine now.
    let probe = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let whole = run(&mut rehearse("--keep-tokens", probe.path(), "O1"));
    assert!(whole.status.success(), "{}", all_output(&whole));

    let expected = expected_objects();
    let mut length = started.elapsed();
    let mut exceptions = 0;
    let mut restored = 0;
    let mut i = 0;
    while i < KILLS {
        let at = length * i / KILLS;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut child = rehearse("--keep-tokens", dir, "O1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if finished {
            // This run was quicker than the first: aim earlier, same kill again.
            length = length * 9 / 10;
            continue;
        }
        i += 1;
        let context = format!("kill {i} at {} ms", at.as_millis());

        // The same command again, on what the killed run kept. A kill before the first
        // command made its tokens folder leaves nothing to go on from: run it again.
        let again = if dir.join("T/softhsm2.conf").exists() {
            run(&mut rehearse("--tokens", dir, "O2"))
        } else {
            run(&mut rehearse("--keep-tokens", dir, "O2"))
        };
        let text = all_output(&again);
        assert!(again.status.success(), "{context}: resume failed:\n{text}");
        restored += text.matches("left unreadable").count();
        let bundle = bundle_of(&text);
        let verified = run(ceremony().arg("verify").arg(&bundle));
        assert!(
            verified.status.success(),
            "{context}: verify {bundle}:\n{}",
            all_output(&verified)
        );
        let transcript = std::fs::read_to_string(dir.join("W/transcript.jsonl")).unwrap();
        exceptions += transcript.matches("\"type\":\"exception\"").count();
        for (role, label, objects) in &expected {
            assert_eq!(
                &objects_on(dir, label),
                objects,
                "{context}: the {role} token holds other keys than the checklist's"
            );
        }
    }
    eprintln!(
        "kill9: {KILLS} kills spread over {} ms, all resumed and verified; \
         {exceptions} half-made key exception(s), {restored} torn drill token(s) put back",
        length.as_millis()
    );
}
