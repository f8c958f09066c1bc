//! The rotation chain through OpenSC's real `opensc-pkcs11.so` and pcscd on the project's
//! emulated SmartCard-HSM tokens, each ceremony the real `ceremony run` binary in a
//! pseudo-terminal and a network namespace of its own, played from the screens:
//! commissioning, CRL renewal, planned intermediate rotation, emergency intermediate
//! rotation onto a new token, and root rotation onto a new token, each continuing from
//! the previous bundle and its root fingerprint, each bundle checked by
//! `ceremony verify`. Tokens are swapped in the two readers as people swap them.

mod common;
use common::checks::token_serial;
use common::sc_hsm::{OPENSC, fresh_cards, offline};
use common::tty::*;
use common::*;
use std::path::Path;

const CHECKLISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists");

/// The root fingerprint the sheet of a bundle shows (first line of FINGERPRINT.txt).
fn root_fingerprint(bundle: &Path) -> String {
    let sheet = std::fs::read_to_string(bundle.join("FINGERPRINT.txt")).unwrap();
    sheet.lines().next().unwrap().trim().to_string()
}

/// One ceremony of the chain on the tokens now plugged in; returns the bundle's manifest.
fn ceremony_run(
    dir: &Path,
    checklist: &str,
    previous: Option<&str>,
    out: &str,
) -> serde_json::Value {
    let mut args = format!(
        "run {CHECKLISTS}/{checklist} --module {OPENSC} --work {} --out {}",
        dir.join(format!("{out}-work")).display(),
        dir.join(out).display()
    );
    if let Some(p) = previous {
        let bundle = dir.join(p);
        args.push_str(&format!(
            " --previous {} --previous-root {}",
            bundle.display(),
            root_fingerprint(&bundle)
        ));
    }
    let mut tty = Tty::start_command(&offline(&args), &format!("opensc-chain-{out}"));
    play(&mut tty, None);
    quit(&mut tty);
    let verified = run(ceremony().arg("verify").arg(dir.join(out)));
    assert!(
        verified.status.success(),
        "verify {out}:\n{}",
        all_output(&verified)
    );
    serde_json::from_slice(&std::fs::read(dir.join(out).join("bundle.json")).unwrap()).unwrap()
}

#[test]
fn the_rotation_chain_through_ceremony_run_on_emulated_smartcard_hsm_tokens() {
    let mut cards = fresh_cards(2);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (root, intermediate) = (cards.serials[0].clone(), cards.serials[1].clone());

    let b1 = ceremony_run(d, "root-ceremony.toml", None, "b1");
    assert_eq!(token_serial(&b1, "root"), root);
    assert_eq!(token_serial(&b1, "intermediate"), intermediate);

    let b2 = ceremony_run(d, "crl-renewal.toml", Some("b1"), "b2");
    assert_eq!(b2["kind"], "crl-renewal");
    assert_eq!(
        std::fs::read(d.join("b2/intermediate_ca.crt")).unwrap(),
        std::fs::read(d.join("b1/intermediate_ca.crt")).unwrap(),
        "a renewal changes only the CRL"
    );

    let b3 = ceremony_run(d, "intermediate-rotation.toml", Some("b2"), "b3");
    assert_eq!(token_serial(&b3, "intermediate"), intermediate);
    assert_ne!(
        std::fs::read(d.join("b3/intermediate_ca.crt")).unwrap(),
        std::fs::read(d.join("b1/intermediate_ca.crt")).unwrap()
    );

    // After a compromise the intermediate moves to a new token.
    let new_intermediate = cards.insert_new(1, 2);
    let b4 = ceremony_run(d, "intermediate-rotation-emergency.toml", Some("b3"), "b4");
    assert_eq!(token_serial(&b4, "intermediate"), new_intermediate);
    assert_eq!(token_serial(&b4, "root"), root);

    // The root moves to a new token; the intermediate token stays.
    let new_root = cards.insert_new(0, 3);
    let b5 = ceremony_run(d, "root-rotation.toml", Some("b4"), "b5");
    assert_eq!(token_serial(&b5, "root"), new_root);
    assert_eq!(token_serial(&b5, "intermediate"), new_intermediate);
    assert_ne!(
        std::fs::read(d.join("b5/root_ca.crt")).unwrap(),
        std::fs::read(d.join("b1/root_ca.crt")).unwrap()
    );
}
