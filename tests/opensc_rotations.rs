//! The rotation chain through OpenSC's real `opensc-pkcs11.so` and pcscd on the project's
//! emulated SmartCard-HSM tokens: commissioning, CRL renewal, planned intermediate
//! rotation, emergency intermediate rotation onto a new token, and root rotation onto a
//! new token, each continuing from the previous bundle, each bundle checked by
//! `ceremony verify`. Tokens are swapped in the two readers as people swap them.
//!
//! The ceremonies run in-process (drill mode: the network preflight only warns) with the
//! published factory PINs, as chained drills use them.

mod common;
use ceremony::drill::{self, Player};
use ceremony::engine::{Engine, EngineConfig, Mode, Previous};
use ceremony::hsm::Module;
use common::checks::token_serial;
use common::sc_hsm::{OPENSC, fresh_cards};
use common::*;
use std::path::Path;

const CHECKLISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists");

/// One ceremony of the chain on the tokens now plugged in; returns the bundle's manifest.
fn ceremony_on_opensc(
    dir: &Path,
    checklist: &str,
    previous: Option<&str>,
    out: &str,
    serials: &[String],
) -> serde_json::Value {
    let module = Module::load(Path::new(OPENSC)).expect("OpenSC's module loads");
    let previous = previous.map(|p| Previous::load(&dir.join(p), None).unwrap());
    let cfg = EngineConfig {
        checklist: ceremony::checklist::load(Path::new(&format!("{CHECKLISTS}/{checklist}")))
            .unwrap(),
        module,
        work_dir: dir.join(format!("{out}-work")),
        out_dir: dir.join(out),
        mode: Mode::Drill,
        binary_sha256: "0".repeat(64),
        previous,
    };
    let mut eng = Engine::open(cfg).unwrap();
    let mut player = Player::for_factory_tokens(serials, true);
    drill::play(&mut eng, &mut player, None).unwrap_or_else(|e| panic!("{checklist}: {e}"));
    drop(eng.close());
    let verified = run(ceremony().arg("verify").arg(dir.join(out)));
    assert!(
        verified.status.success(),
        "verify {out}:\n{}",
        all_output(&verified)
    );
    serde_json::from_slice(&std::fs::read(dir.join(out).join("bundle.json")).unwrap()).unwrap()
}

#[test]
fn the_rotation_chain_on_emulated_smartcard_hsm_tokens() {
    let mut cards = fresh_cards(2);
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (root, intermediate) = (cards.serials[0].clone(), cards.serials[1].clone());

    let b1 = ceremony_on_opensc(d, "root-ceremony.toml", None, "b1", &cards.serials);
    assert_eq!(token_serial(&b1, "root"), root);
    assert_eq!(token_serial(&b1, "intermediate"), intermediate);

    let b2 = ceremony_on_opensc(d, "crl-renewal.toml", Some("b1"), "b2", &cards.serials);
    assert_eq!(b2["kind"], "crl-renewal");
    assert_eq!(
        std::fs::read(d.join("b2/intermediate_ca.crt")).unwrap(),
        std::fs::read(d.join("b1/intermediate_ca.crt")).unwrap(),
        "a renewal changes only the CRL"
    );

    let b3 = ceremony_on_opensc(
        d,
        "intermediate-rotation.toml",
        Some("b2"),
        "b3",
        &cards.serials,
    );
    assert_eq!(token_serial(&b3, "intermediate"), intermediate);
    assert_ne!(
        std::fs::read(d.join("b3/intermediate_ca.crt")).unwrap(),
        std::fs::read(d.join("b1/intermediate_ca.crt")).unwrap()
    );

    // After a compromise the intermediate moves to a new token.
    let new_intermediate = cards.insert_new(1, 2);
    let b4 = ceremony_on_opensc(
        d,
        "intermediate-rotation-emergency.toml",
        Some("b3"),
        "b4",
        &cards.serials,
    );
    assert_eq!(token_serial(&b4, "intermediate"), new_intermediate);
    assert_eq!(token_serial(&b4, "root"), root);

    // The root moves to a new token; the intermediate token stays.
    let new_root = cards.insert_new(0, 3);
    let b5 = ceremony_on_opensc(d, "root-rotation.toml", Some("b4"), "b5", &cards.serials);
    assert_eq!(token_serial(&b5, "root"), new_root);
    assert_eq!(token_serial(&b5, "intermediate"), new_intermediate);
    assert_ne!(
        std::fs::read(d.join("b5/root_ca.crt")).unwrap(),
        std::fs::read(d.join("b1/root_ca.crt")).unwrap()
    );
}
