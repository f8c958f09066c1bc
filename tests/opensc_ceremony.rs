//! The production token path: the real `ceremony run` binary, in a pseudo-terminal and a
//! network namespace of its own, through OpenSC's `opensc-pkcs11.so` and pcscd, on two
//! emulated SmartCard-HSM (Nitrokey HSM 2) tokens in the factory state. Two people are
//! played from the screens; the SO PINs are changed from the factory value.
//!
//! The bundle is then checked by `ceremony verify`, `openssl verify -x509_strict`,
//! pkilint, and `ssh-keygen -D opensc-pkcs11.so`, which signs a user certificate with
//! the SSH CA key on the emulated intermediate token. No PIN may be drawn or written.
//! Last, `ceremonyd` installs the bundle and a real step-ca issues from the emulated
//! intermediate token through OpenSC.

mod common;
#[path = "stepca_support/mod.rs"]
mod stepca_support;
#[path = "daemon_support.rs"]
mod support;
use common::checks::{pkilint_findings, ssh_keygen_signs_with_the_token, token_serial};
use common::sc_hsm::{OPENSC, fresh_cards, offline};
use common::tty::*;
use common::*;
use std::path::Path;
use stepca_support::world::World;

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
    step_ca_on_the_emulated_token(&out, &cards.serials[1]);
}

/// `ceremonyd import` of the bundle into a step-ca installation shaped like the seed's
/// Phase 1, set up for OpenSC's module; `ceremonyd check-hsm` on the emulated
/// intermediate token (the intermediate and both SSH CA keys are found by their URIs and
/// sign for what is installed); then a real step-ca, built from Debian's sources, starts
/// on that installation, logs into the emulated token through `opensc-pkcs11.so`, serves
/// the bundle's root and issues an X.509 leaf that openssl verifies under the bundle.
fn step_ca_on_the_emulated_token(bundle: &Path, serial: &str) {
    let world = World::new().with_module(Path::new(OPENSC));
    let pin_file = world.write_secret("hsm-pin", INT_USER);
    let fp = support::root_fingerprint(bundle);
    let imported = world.import(bundle, &fp, &[]);
    assert!(imported.status.success(), "{}", support::text(&imported));
    let checked = world.check_hsm(serial, &pin_file);
    let report = support::text(&checked);
    assert!(checked.status.success(), "{report}");
    for line in ["[PASS] key ", "[PASS] ssh.userKey", "[PASS] ssh.hostKey"] {
        assert!(report.contains(line), "{line:?} missing:\n{report}");
    }
    assert!(!report.contains(INT_USER), "the PIN must never be printed");

    let ca = world
        .start()
        .unwrap_or_else(|log| panic!("step-ca on OpenSC:\n{log}"));
    assert!(
        ca.log_text()
            .contains(&format!("X.509 Root Fingerprint: {fp}")),
        "{}",
        ca.log_text()
    );
    let roots = ca.get("/roots.pem").unwrap();
    let root = std::fs::read(bundle.join("root_ca.crt")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&roots).trim(),
        String::from_utf8_lossy(&root).trim()
    );
    let leaf = world
        .x509(&ca, "prod-services", "opensc.test.example")
        .unwrap_or_else(|e| panic!("no leaf from step-ca on OpenSC: {e}"));
    let verified = run(std::process::Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(bundle.join("root_ca.crt"))
        .arg("-untrusted")
        .arg(bundle.join("intermediate_ca.crt"))
        .arg(&leaf));
    assert!(verified.status.success(), "{}", all_output(&verified));
    ca.stop();
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
