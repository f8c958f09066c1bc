//! The engine through OpenSC's real `opensc-pkcs11.so` and pcscd on the project's
//! emulated SmartCard-HSM tokens, with the mistakes people make and the faults a token
//! has: a wrong current SO PIN, three wrong user PINs, a token pulled during key
//! generation or signing, and a key the card made whose PKCS#15 description was never
//! written. Each ends in a clear error naming the token, the PKCS#11 function and the
//! `CKR_` code, and a ceremony that can be completed or is safely stopped.
//!
//! The ceremony runs in-process (drill mode, so the network preflight only warns) so the
//! test can answer each prompt itself; the real binary on the same path is
//! `opensc_ceremony.rs`.

mod common;
use ceremony::engine::{Answer, EngineError, PinKind};
use ceremony::hsm::HsmError;
use ceremony::secret::Pin;
use common::sc_hsm::{Run, finish_and_check, pin_prompt, run_until};

#[test]
fn a_wrong_current_so_pin_is_named_before_the_new_pins_are_asked() {
    let Run {
        cards,
        tmp,
        mut eng,
        player,
        ..
    } = run_until(pin_prompt(PinKind::CurrentSo, "init-root-token"));
    let err = eng
        .answer(Answer::Pin(Pin::new("0011223344556677".into())))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            EngineError::Hsm(HsmError::PinIncorrect { who: "SO", .. })
        ),
        "{text}"
    );
    assert!(text.contains("wrong SO PIN"), "{text}");
    assert!(text.contains("CKR_PIN_INCORRECT"), "{text}");
    assert!(text.contains(&cards.serials[0]), "{text}");
    assert!(text.contains("15 wrong SO PINs"), "{text}");
    // Still at the SO PIN prompt: nothing else was typed or changed.
    let again = eng.prompt().unwrap();
    assert!(
        pin_prompt(PinKind::CurrentSo, "init-root-token")(&again),
        "{again:?}"
    );
    finish_and_check(eng, player, tmp.path(), &cards);
}

#[test]
fn three_wrong_user_pins_lock_the_pin_and_say_so() {
    let Run {
        cards: _cards,
        tmp: _tmp,
        mut eng,
        player,
        ..
    } = run_until(pin_prompt(PinKind::User, "generate-root-key"));
    let wrong = || Answer::Pin(Pin::new("not-the-pin".into()));
    for expected_flag in ["LOW", "FINAL TRY"] {
        let err = eng.answer(wrong()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                EngineError::Hsm(HsmError::PinIncorrect { who: "user", .. })
            ),
            "{text}"
        );
        assert!(text.contains("CKR_PIN_INCORRECT"), "{text}");
        assert!(text.contains(expected_flag), "{text}");
        assert!(text.contains("Nothing was retried"), "{text}");
    }
    let err = eng.answer(wrong()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            EngineError::Hsm(HsmError::PinLocked { who: "user", .. })
        ),
        "{text}"
    );
    assert!(text.contains("CKR_PIN_LOCKED"), "{text}");
    // The right PIN no longer opens the token, and the program says why without
    // sending it.
    let right = player.drill_user_pin("root").unwrap();
    let err = eng
        .answer(Answer::Pin(Pin::new(right.expose().into())))
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Hsm(HsmError::PinLocked { .. })),
        "{err}"
    );
    assert_eq!(
        err.to_string().matches("locked").count(),
        1,
        "said once: {err}"
    );
}

#[test]
fn a_token_pulled_during_key_generation_is_named_and_the_step_completes_after_replug() {
    let Run {
        cards,
        tmp,
        mut eng,
        mut player,
        prompt,
    } = run_until(pin_prompt(PinKind::User, "generate-root-key"));
    cards.control(r#"{"tokens": {"0": {"cut": {"ins": "GENERATE_KEY_PAIR", "at": "before"}}}}"#);
    let err = eng.answer(player.answer(&prompt)).unwrap_err();
    let text = err.to_string();
    // OpenSC answers the call in flight with CKR_GENERAL_ERROR and may still list the
    // token for a moment: the message names it either way and says to check it.
    assert!(
        matches!(
            err,
            EngineError::Hsm(HsmError::Pulled { .. } | HsmError::TokenCall { .. })
        ),
        "{text}"
    );
    assert!(
        text.contains("no longer seen") || text.contains("still plugged in"),
        "{text}"
    );
    assert!(text.contains("C_GenerateKeyPair"), "{text}");
    assert!(text.contains(&cards.serials[0]), "{text}");
    assert!(text.contains("CKR_"), "{text}");
    assert!(
        !text.contains("One example"),
        "no standard paragraph: {text}"
    );
    cards.control("{}");
    cards.wait_present(&cards.serials[0]);
    finish_and_check(eng, player, tmp.path(), &cards);
}

#[test]
fn a_key_made_by_the_card_but_never_described_does_not_stop_the_ceremony() {
    let Run {
        cards,
        tmp,
        mut eng,
        mut player,
        prompt,
    } = run_until(pin_prompt(PinKind::User, "generate-intermediate-key"));
    // The card makes the key and is pulled before OpenSC writes its PKCS#15 files.
    cards.control(r#"{"tokens": {"1": {"cut": {"ins": "GENERATE_KEY_PAIR", "at": "after"}}}}"#);
    let err = eng.answer(player.answer(&prompt)).unwrap_err();
    assert!(err.to_string().contains(&cards.serials[1]), "{err}");
    cards.control("{}");
    cards.wait_present(&cards.serials[1]);
    finish_and_check(eng, player, tmp.path(), &cards);
}

#[test]
fn a_token_pulled_while_signing_is_named_and_the_signature_is_made_after_replug() {
    let Run {
        cards,
        tmp,
        mut eng,
        mut player,
        ..
    } = run_until(|p| p.step.id == "sign-root");
    cards.control(r#"{"tokens": {"0": {"cut": {"ins": "SIGN", "at": "before"}}}}"#);
    let err = loop {
        let prompt = eng.prompt().unwrap();
        match eng.answer(player.answer(&prompt)) {
            Ok(_) => assert_eq!(prompt.step.id, "sign-root", "the signature was made"),
            Err(e) => break e,
        }
    };
    let text = err.to_string();
    assert!(text.contains(&cards.serials[0]), "{text}");
    assert!(text.contains("C_Sign"), "{text}");
    cards.control("{}");
    cards.wait_present(&cards.serials[0]);
    finish_and_check(eng, player, tmp.path(), &cards);
}
