//! A card pulled at every APDU of a key generation and of an initialisation, through OpenSC and pcscd on the
//! project's emulated SmartCard-HSM: for each n, the card is cut after answering the
//! n-th command the key step sends (the card acted, the host never heard), plugged back
//! in, and the program started again on the same working folder, as after a power cut.
//! Every one of these must end in a verified bundle with exactly the checklist's keys on
//! each token: the key taken over, made again, or its lone half removed through the
//! exception procedure.

mod common;
use ceremony::engine::{Engine, PinKind};
use ceremony::hsm::Module;
use common::sc_hsm::{OPENSC, Run, finish_and_check, pin_prompt, run_until};
use common::*;
use std::path::Path;

/// More commands than any key step sends; the sweep stops at the first n that is never
/// reached.
const MOST_APDUS: usize = 400;

/// Cuts card 0 after the n-th command that answering the `kind` PIN of `step` sends, for
/// every n until one is never reached; after each cut the program starts again on the
/// same working folder and must finish with a verified bundle and exactly the
/// checklist's keys. Returns how each cut ended.
fn sweep(step: &'static str, kind: PinKind) -> Vec<String> {
    let mut outcomes = Vec::new();
    for n in 1..=MOST_APDUS {
        let Run {
            cards,
            tmp,
            mut eng,
            mut player,
            prompt,
        } = run_until(pin_prompt(kind, step));
        cards.control(&format!(
            r#"{{"tokens": {{"0": {{"cut": {{"ins": "*", "nth": {n}, "at": "after_answer"}}}}}}}}"#
        ));
        let answered = eng.answer(player.answer(&prompt));
        cards.control("{}");
        cards.wait_present(&cards.serials[0]);
        if let Ok(outcome) = answered {
            // The step sent fewer than n commands: every cut point was covered.
            assert!(n > 1, "the first command was never cut: {outcome:?}");
            outcomes.push(format!("{n}: not reached"));
            let _ = eng.close();
            return outcomes;
        }
        let err = answered.unwrap_err().to_string();
        assert!(err.contains(&cards.serials[0]), "{step} cut {n}: {err}");
        // The program starts again on the same working folder.
        drop(eng.close());
        let module = Module::load(Path::new(OPENSC)).unwrap();
        let eng = Engine::open(drill_config(module, tmp.path())).unwrap();
        finish_and_check(eng, player, tmp.path(), &cards);
        let transcript = std::fs::read_to_string(tmp.path().join("work/transcript.jsonl")).unwrap();
        let how = if transcript.contains("\"type\":\"exception\"") {
            "half removed"
        } else if transcript.contains("\"adopted\":true") {
            "taken over"
        } else {
            "redone"
        };
        outcomes.push(format!("{n}: {how}"));
    }
    panic!("{step} never ends");
}

#[test]
fn a_card_cut_at_every_apdu_of_a_key_generation_resumes_to_a_verified_bundle() {
    let outcomes = sweep("generate-root-key", PinKind::User);
    eprintln!("key generation cuts: {}", outcomes.join(", "));
}

#[test]
fn a_card_cut_at_every_apdu_of_an_initialisation_resumes_to_a_verified_bundle() {
    let outcomes = sweep("init-root-token", PinKind::NewUser);
    eprintln!("initialisation cuts: {}", outcomes.join(", "));
}
