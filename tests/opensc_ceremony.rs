//! The production token path: the real `ceremony run` binary, in a pseudo-terminal and a
//! network namespace of its own, through OpenSC's `opensc-pkcs11.so` and pcscd, on two
//! emulated SmartCard-HSM (Nitrokey HSM 2) tokens in the factory state. Two people are
//! played from the screens; the SO PINs are changed from the factory value.
//!
//! The bundle is then checked by `ceremony verify`, `openssl verify -x509_strict`,
//! pkilint, and `ssh-keygen -D opensc-pkcs11.so`, which signs a user certificate with
//! the SSH CA key on the emulated intermediate token. No PIN may be drawn or written.

mod common;
#[path = "daemon_support.rs"]
mod support;
use common::checks::{pkilint_findings, ssh_keygen_signs_with_the_token, token_serial};
use common::sc_hsm::{OPENSC, fresh_cards, offline};
use common::tty::*;
use common::*;
use std::path::Path;

fn run_args(dir: &Path) -> String {
    format!(
        "run {ROOT_CEREMONY} --module {OPENSC} --work {} --out {}",
        dir.join("work").display(),
        dir.join("bundle").display()
    )
}

#[test]
fn a_root_ceremony_through_opensc_on_factory_new_tokens() {
    let cards = fresh_cards(2);
    let tmp = tempfile::tempdir().unwrap();
    let mut tty = Tty::start_command(&offline(&run_args(tmp.path())), "ceremony-opensc-root");
    play(&mut tty, None);
    let done = tty.capture();
    assert!(done.contains(" CEREMONY "), "{done}");
    assert!(!done.contains("DRILL"), "{done}");
    println!("keystrokes for a root ceremony on OpenSC: {}", tty.keys);
    quit(&mut tty);

    let out = tmp.path().join("bundle");
    let verified = run(ceremony().arg("verify").arg(&out));
    assert!(verified.status.success(), "{}", all_output(&verified));
    common::checks::openssl_verifies_chain(&out);
    for cert in ["root_ca.crt", "intermediate_ca.crt"] {
        let (findings, text) = pkilint_findings(&out, cert);
        assert_eq!(findings, 0, "pkilint on {cert}: {text}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    let serials = vec![
        token_serial(&manifest, "root"),
        token_serial(&manifest, "intermediate"),
    ];
    assert_eq!(
        serials, cards.serials,
        "tokens are the emulated cards, in order"
    );

    // Before ssh-keygen leaves its PIN pipe in the folder.
    no_pin_shown_or_written(&tty, tmp.path());
    ssh_keygen_signs_with_the_token(Path::new(OPENSC), &out, INT_USER, tmp.path());
    check_hsm_through_opensc(&out, &cards.serials[1], tmp.path());
}

/// `ceremonyd import` of the bundle into a step-ca installation shaped like the seed's
/// Phase 1, then `ceremonyd check-hsm` on the emulated intermediate token through OpenSC:
/// the intermediate and both SSH CA keys are found by their URIs and sign for the
/// installed certificate and public keys.
fn check_hsm_through_opensc(bundle: &Path, serial: &str, dir: &Path) {
    use support::{ceremonyd, phase1_ca_dir, rehearse, root_fingerprint, text};
    let phase1 = dir.join("phase1");
    rehearse("root-ceremony.toml", &phase1, None);
    let ca = dir.join("ca");
    phase1_ca_dir(&ca, &phase1);
    let imported = ceremonyd()
        .arg("import")
        .arg(bundle)
        .args(["--root-fingerprint", &root_fingerprint(bundle), "--ca-dir"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", text(&imported));
    let pin_file = dir.join("hsm-pin");
    std::fs::write(&pin_file, format!("{INT_USER}\n")).unwrap();
    std::fs::set_permissions(
        &pin_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let out = ceremonyd()
        .args([
            "check-hsm",
            "--module",
            OPENSC,
            "--serial",
            serial,
            "--pin-file",
        ])
        .arg(&pin_file)
        .arg("--ca-dir")
        .arg(&ca)
        .output()
        .unwrap();
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
    assert!(!report.contains(INT_USER), "the PIN must never be printed");
}

fn no_pin_shown_or_written(tty: &Tty, dir: &Path) {
    for pin in [ROOT_SO, INT_SO, ROOT_USER, INT_USER, FACTORY_SO] {
        assert!(!tty.screens.contains(pin), "PIN {pin} was drawn on screen");
        for (path, bytes) in read_tree(dir) {
            assert!(
                !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
                "PIN {pin} found in {}",
                path.display()
            );
        }
    }
}
