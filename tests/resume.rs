//! Stop the ceremony after every step boundary, start it again on the same working folder
//! and tokens, and finish: the bundle verifies and the tokens hold no duplicate objects.
//! Also: a key on a token that the transcript does not know stops the ceremony.
//!
//! One test per binary: it sets SOFTHSM2_CONF for the process.

mod common;
use ceremony::{bundle, checklist, drill, engine, hsm};
use common::*;
use std::path::Path;

fn config(module: hsm::Module, dir: &Path) -> engine::EngineConfig {
    engine::EngineConfig {
        checklist: checklist::load(Path::new(ROOT_CEREMONY)).unwrap(),
        module,
        work_dir: dir.join("work"),
        out_dir: dir.join("bundle"),
        mode: engine::Mode::Drill,
        binary_sha256: "0".repeat(64),
    }
}

#[test]
fn resume_after_a_stop_at_every_step_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = drill::write_softhsm_config(&tmp.path().join("hsm")).unwrap();
    // SAFETY: the only test in this binary; no other thread reads the environment.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module_path = drill::softhsm_module().expect("SoftHSM2 must be installed (build/deps)");
    let steps = checklist::load(Path::new(ROOT_CEREMONY))
        .unwrap()
        .checklist
        .steps
        .len();

    for stop in 1..steps {
        let dir = tmp.path().join(format!("run-{stop}"));
        let module = hsm::Module::load(&module_path).unwrap();
        let mut player = drill::Player::with_new_tokens(&module, 2).unwrap();
        let mut eng = engine::Engine::open(config(module, &dir)).unwrap();
        let first = drill::play(&mut eng, &mut player, Some(stop)).unwrap();
        assert_eq!(first.len(), stop);
        let module = eng.close();
        drop(module);

        let module = hsm::Module::load(&module_path).unwrap();
        let mut eng = engine::Engine::open(config(module, &dir)).unwrap();
        assert_eq!(eng.resumed_at(), Some(stop), "stop after {stop}");
        let rest = drill::play(&mut eng, &mut player, None).unwrap();
        assert_eq!(rest.len(), steps - stop, "stop after {stop}");
        let state = eng.state().clone();
        let module = eng.close();

        bundle::verify(&dir.join("bundle"), None)
            .unwrap_or_else(|p| panic!("stop after {stop}: {p:?}"));
        for (role, expected) in [("root", 1), ("intermediate", 3)] {
            let serial = state.serial(role).unwrap();
            let session =
                hsm::UserSession::login(&module, serial, player.drill_user_pin(role).unwrap())
                    .unwrap();
            assert_eq!(
                session.list_keys().unwrap().len(),
                expected,
                "stop after {stop}, {role}"
            );
        }
        let transcript = std::fs::read_to_string(dir.join("work/transcript.jsonl")).unwrap();
        assert_eq!(transcript.matches("\"type\":\"resumed\"").count(), 1);
    }
}
