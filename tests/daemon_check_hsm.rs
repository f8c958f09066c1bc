//! `ceremonyd check-hsm` against the SoftHSM tokens of a drill run in this process (which
//! keeps the player's PINs): after the import it passes for all three keys; it refuses a
//! PIN file others can read, reports a wrong PIN, and fails clearly when the installed
//! intermediate certificate is not the token key's.
//!
//! One test per binary: it sets SOFTHSM2_CONF for the process (and the child inherits it).

mod common;
#[path = "daemon_support.rs"]
mod support;

use ceremony::{drill, engine, hsm};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::{ceremonyd, phase1_ca_dir, rehearse, root_fingerprint, text};

fn check(module: &Path, serial: &str, pin_file: &Path, ca: &Path) -> std::process::Output {
    ceremonyd()
        .arg("check-hsm")
        .arg("--module")
        .arg(module)
        .args(["--serial", serial, "--pin-file"])
        .arg(pin_file)
        .arg("--ca-dir")
        .arg(ca)
        .output()
        .unwrap()
}

fn pin_file(path: &Path, pin: &str, mode: u32) {
    std::fs::write(path, format!("{pin}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn check_hsm_passes_on_the_drill_tokens_and_fails_on_a_foreign_certificate() {
    let (_lock, module_path) = common::softhsm();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let module = hsm::Module::load(&module_path).unwrap();
    let mut player = drill::Player::with_new_tokens(&module, 2).unwrap();
    let mut eng = engine::Engine::open(common::drill_config(module, d)).unwrap();
    drill::play(&mut eng, &mut player, None).unwrap();
    let serial = eng.state().serial("intermediate").unwrap().to_owned();
    drop(eng.close());
    let bundle = d.join("bundle");
    let pin = player
        .drill_user_pin("intermediate")
        .unwrap()
        .expose()
        .to_owned();

    rehearse("root-ceremony.toml", &d.join("phase1"), None);
    let ca = d.join("ca");
    phase1_ca_dir(&ca, &d.join("phase1"));
    let imported = ceremonyd()
        .arg("import")
        .arg(&bundle)
        .args([
            "--root-fingerprint",
            &root_fingerprint(&bundle),
            "--allow-drill",
            "--ca-dir",
        ])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", text(&imported));

    let pins = d.join("secrets");
    std::fs::create_dir(&pins).unwrap();
    let good = pins.join("hsm-pin");
    pin_file(&good, &pin, 0o600);
    let out = check(&module_path, &serial, &good, &ca);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for line in [
        "[PASS] kms",
        "[PASS] key ",
        "[PASS] ssh.userKey",
        "[PASS] ssh.hostKey",
        "result:      PASS",
    ] {
        assert!(report.contains(line), "{line:?} missing:\n{report}");
    }
    assert!(report.contains(&format!("serial {serial}")), "{report}");
    assert!(!report.contains(&pin), "the PIN must never be printed");

    // A PIN file the group can read is refused before anything else happens.
    let loose = pins.join("loose");
    pin_file(&loose, &pin, 0o640);
    let out = check(&module_path, &serial, &loose, &ca);
    assert!(!out.status.success());
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    assert!(!text(&out).contains(&pin));

    // A wrong PIN: C_Login says so, nothing is retried.
    let wrong = pins.join("wrong");
    pin_file(&wrong, "not-the-pin", 0o600);
    let out = check(&module_path, &serial, &wrong, &ca);
    assert!(!out.status.success());
    assert!(text(&out).contains("wrong PIN"), "{}", text(&out));

    // The installed certificates of another PKI (a consistent chain, another key): the
    // token's key is found by its URI but is not the certificate's.
    let current = ca.join(".ceremonyd/current/certs");
    for f in ["root_ca.crt", "intermediate_ca.crt"] {
        std::fs::copy(d.join("phase1").join(f), current.join(f)).unwrap();
    }
    let out = check(&module_path, &serial, &good, &ca);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("[FAIL] key"), "{report}");
    assert!(
        report.contains("is NOT the one in certs/intermediate_ca.crt"),
        "{report}"
    );
    assert!(report.contains("[PASS] ssh.userKey"), "{report}");
    assert!(report.contains("result:      FAIL"), "{report}");
}
