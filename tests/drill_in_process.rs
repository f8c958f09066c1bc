//! A drill driven through the library, so that the test keeps the tokens and the
//! player's PINs: ssh-keygen signs with the HSM key, the tokens hold exactly the keys of
//! the checklist, and every single-byte corruption of the bundle is rejected.
//!
//! One test per binary: it sets SOFTHSM2_CONF for the process.

mod common;
use ceremony::{bundle, drill, engine, hsm};
use common::checks::ssh_keygen_signs_with_the_token;
use common::*;
use std::path::Path;

#[test]
fn drill_tokens_sign_with_ssh_keygen_and_every_corruption_is_caught() {
    require("ssh-keygen");
    let (_lock, module_path) = softhsm();
    let tmp = tempfile::tempdir().unwrap();
    let module = hsm::Module::load(&module_path).unwrap();
    let mut player = drill::Player::with_new_tokens(&module, 2).unwrap();
    let out = tmp.path().join("bundle");
    let mut eng = engine::Engine::open(drill_config(module, tmp.path())).unwrap();
    drill::play(&mut eng, &mut player, None).unwrap();
    let state = eng.state().clone();
    let module = eng.close();

    no_pin_in_any_file(tmp.path(), &player);
    check_token_contents(&module, &state, &player);
    let pin = player.drill_user_pin("intermediate").unwrap().expose();
    ssh_keygen_signs_with_the_token(&module_path, &out, pin, tmp.path());
    every_byte_matters(&out);
}

/// No PIN the player typed (user, SO, factory SO) appears in the transcript, the bundle
/// or anything else written in the test folder.
fn no_pin_in_any_file(dir: &Path, player: &drill::Player) {
    let pins = player.drill_pins();
    assert_eq!(pins.len(), 6, "2 factory SO, 2 new SO and 2 user PINs");
    let files = read_tree(dir);
    assert!(files.len() >= 10, "{} files", files.len());
    for (path, bytes) in files {
        for pin in &pins {
            let needle = pin.expose().as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "a PIN appears in {}",
                path.display()
            );
        }
    }
}

/// The root token holds one key pair, the intermediate token three, and no certificates.
fn check_token_contents(module: &hsm::Module, state: &engine::State, player: &drill::Player) {
    for (role, expected) in [("root", 1), ("intermediate", 3)] {
        let serial = state.serial(role).unwrap();
        let pin = player.drill_user_pin(role).unwrap();
        let session = hsm::UserSession::login(module, serial, pin).unwrap();
        let keys = session.list_keys().unwrap();
        assert_eq!(keys.len(), expected, "{role}: {keys:?}");
        for key in keys {
            let fact = state
                .keys
                .values()
                .find(|k| k.serial == serial && k.label == key.label)
                .unwrap();
            assert_eq!(hex::encode(&key.point), fact.point);
        }
        // Only key objects: 2 per pair, nothing else (no certificates on tokens).
        drop(session);
        assert_eq!(module.key_object_count(serial).unwrap(), expected);
    }
}

/// Changing any one byte of any file makes `verify` fail. Two threads, each flipping the
/// bytes of half the files in its own copy of the bundle.
fn every_byte_matters(dir: &Path) {
    bundle::verify(dir, None).expect("the untouched bundle verifies");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let halves: Vec<Vec<String>> = vec![
        names.iter().step_by(2).cloned().collect(),
        names.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let checked: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .into_iter()
            .map(|files| scope.spawn(move || flip_every_byte(dir, &files)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let total: usize = names
        .iter()
        .map(|n| std::fs::metadata(dir.join(n)).unwrap().len() as usize)
        .sum();
    assert_eq!(checked, total, "every byte of every file was changed once");
    bundle::verify(dir, None).expect("the original bundle still verifies");
}

fn flip_every_byte(original: &Path, files: &[String]) -> usize {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(original).unwrap().flatten() {
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let mut checked = 0;
    for name in files {
        let path = copy.path().join(name);
        let bytes = std::fs::read(&path).unwrap();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            std::fs::write(&path, &changed).unwrap();
            assert!(
                bundle::verify(copy.path(), None).is_err(),
                "{name} byte {i} changed and the bundle still verifies"
            );
            checked += 1;
        }
        std::fs::write(&path, &bytes).unwrap();
    }
    checked
}
