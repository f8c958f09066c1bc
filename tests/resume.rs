//! The engine on real SoftHSM tokens: stop and resume at every step boundary, a crash
//! between a key's generation and its record, a key the transcript does not know, a
//! wrong PIN, and the network check of a real ceremony.

mod common;
use ceremony::engine::{Answer, Engine, EngineError, Fault, Mode, Need, PinKind};
use ceremony::hsm::{HsmError, Module, UserSession};
use ceremony::secret::Pin;
use ceremony::{bundle, drill};
use common::*;
use cryptoki::object::ObjectClass;

fn step_count() -> usize {
    ceremony::checklist::load(std::path::Path::new(ROOT_CEREMONY))
        .unwrap()
        .checklist
        .steps
        .len()
}

/// Index of the first generate-key step (after both tokens are initialised).
const FIRST_KEYGEN: usize = 6;

/// A root drill on two fresh SoftHSM tokens: the lock on SoftHSM, its module, the
/// folder, the player and the engine at the first prompt.
fn start() -> (
    std::sync::MutexGuard<'static, ()>,
    std::path::PathBuf,
    tempfile::TempDir,
    drill::Player,
    Engine,
) {
    let (lock, module_path) = softhsm();
    let tmp = tempfile::tempdir().unwrap();
    let module = Module::load(&module_path).unwrap();
    let player = drill::Player::with_new_tokens(&module, 2).unwrap();
    let eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    (lock, module_path, tmp, player, eng)
}

/// [`start`], played to the first key generation and stopped right after
/// `C_GenerateKeyPair` returned (the injected crash), the engine closed as a dead
/// process leaves it. Returns the root token's serial in place of the engine.
fn crashed_after_first_keygen() -> (
    std::sync::MutexGuard<'static, ()>,
    std::path::PathBuf,
    tempfile::TempDir,
    drill::Player,
    String,
) {
    let (lock, module_path, tmp, mut player, mut eng) = start();
    drill::play(&mut eng, &mut player, Some(FIRST_KEYGEN)).unwrap();
    let serial = eng.state().serial("root").unwrap().to_string();
    eng.inject_fault(Fault::CrashAfterKeyGeneration);
    let err = drill::play(&mut eng, &mut player, None).unwrap_err();
    assert!(matches!(err, EngineError::InjectedCrash(_)), "{err}");
    drop(eng.close());
    (lock, module_path, tmp, player, serial)
}

#[test]
fn resume_after_a_stop_at_every_step_boundary() {
    let (_lock, module_path) = softhsm();
    let tmp = tempfile::tempdir().unwrap();
    let steps = step_count();
    for stop in 1..steps {
        let dir = tmp.path().join(format!("run-{stop}"));
        let module = Module::load(&module_path).unwrap();
        let mut player = drill::Player::with_new_tokens(&module, 2).unwrap();
        let mut eng = Engine::open(drill_config(module, &dir)).unwrap();
        let first = drill::play(&mut eng, &mut player, Some(stop)).unwrap();
        assert_eq!(first.len(), stop);
        drop(eng.close());

        let module = Module::load(&module_path).unwrap();
        let mut eng = Engine::open(drill_config(module, &dir)).unwrap();
        assert_eq!(eng.resumed_at(), Some(stop), "stop after {stop}");
        let rest = drill::play(&mut eng, &mut player, None).unwrap();
        assert_eq!(rest.len(), steps - stop, "stop after {stop}");
        let state = eng.state().clone();
        let module = eng.close();

        bundle::verify(&dir.join("bundle"), None)
            .unwrap_or_else(|p| panic!("stop after {stop}: {p:?}"));
        for (role, expected) in [("root", 1), ("intermediate", 3)] {
            let serial = state.serial(role).unwrap();
            let pin = player.drill_user_pin(role).unwrap();
            let session = UserSession::login(&module, serial, pin).unwrap();
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

/// The transcript's records of one type, parsed.
fn records_of(dir: &std::path::Path, kind: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("work/transcript.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == kind)
        .collect()
}

#[test]
fn a_key_whose_generation_was_cut_short_is_taken_over_on_resume() {
    let (_lock, _, tmp, mut player, mut eng) = start();
    drill::play(&mut eng, &mut player, Some(FIRST_KEYGEN)).unwrap();
    let serial = eng.state().serial("root").unwrap().to_string();
    eng.inject_fault(Fault::CrashAfterKeyGeneration);
    let err = drill::play(&mut eng, &mut player, None).unwrap_err();
    assert!(matches!(err, EngineError::InjectedCrash(_)), "{err}");
    let module = eng.close();

    // The token made the key; the transcript announced it but has no step for it.
    let intents = records_of(tmp.path(), "intent");
    assert_eq!(intents.len(), 1, "{intents:?}");
    assert_eq!(intents[0]["body"]["serial"], serial.as_str());
    assert_eq!(intents[0]["body"]["id"], "01");
    assert_eq!(records_of(tmp.path(), "step").len(), FIRST_KEYGEN);
    let on_token = {
        let session =
            UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
        let keys = session.list_keys().unwrap();
        assert_eq!(keys.len(), 1);
        hex::encode(&keys[0].point)
    };

    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    assert_eq!(eng.resumed_at(), Some(FIRST_KEYGEN));
    drill::play(&mut eng, &mut player, None).unwrap();
    assert_eq!(eng.state().keys["root"].point, on_token);
    let module = eng.close();

    let steps = records_of(tmp.path(), "step");
    let adopted: Vec<_> = steps
        .iter()
        .filter(|r| r["body"]["facts"]["adopted"] == true)
        .map(|r| r["body"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        adopted,
        [steps[FIRST_KEYGEN]["body"]["id"].as_str().unwrap()]
    );
    assert_eq!(
        steps[FIRST_KEYGEN]["body"]["facts"]["fact"]["point"],
        on_token.as_str()
    );
    // Later keys were generated normally, each announced first.
    assert_eq!(records_of(tmp.path(), "intent").len(), 4);
    let session =
        UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
    assert_eq!(session.list_keys().unwrap().len(), 1, "no second root key");
    drop(session);
    bundle::verify(&tmp.path().join("bundle"), None).unwrap();
}

/// A kill inside `C_GenerateKeyPair` left one half of the announced key: the resume
/// names it and offers the exception; played through, the exception is recorded with
/// both confirmations, the half removed and the key generated again.
fn half_made_key_is_removed_through_the_exception(left: ObjectClass) {
    let (_lock, module_path, tmp, mut player, serial) = crashed_after_first_keygen();
    let removed = if left == ObjectClass::PUBLIC_KEY {
        ObjectClass::PRIVATE_KEY
    } else {
        ObjectClass::PUBLIC_KEY
    };
    let pin = player.drill_user_pin("root").unwrap();
    destroy_objects(
        &module_path,
        &serial,
        pin.expose(),
        "ccat-root-key",
        Some(removed),
    );

    let module = Module::load(&module_path).unwrap();
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let err = loop {
        let prompt = eng.prompt().unwrap();
        if let Err(e) = eng.answer(player.answer(&prompt)) {
            break e;
        }
    };
    let half = if left == ObjectClass::PUBLIC_KEY {
        "public"
    } else {
        "private"
    };
    assert_eq!(
        err.to_string(),
        format!(
            "token {serial} holds only a {half} key object with id 01 and label \"ccat-root-key\" \
             on P-384: the half a key generation cut short left, of the key this step announced \
             before the program stopped; nothing has used it. The exception procedure removes it \
             and generates the key again: the operator types `remove half key 01 from token \
             {serial}`, then both confirm"
        )
    );
    assert!(records_of(tmp.path(), "exception").is_empty());
    // The exception's inputs come first: the phrase naming token and key, then both.
    match eng.prompt().unwrap().need {
        Need::TypeBack { challenge, .. } => assert_eq!(
            challenge.expected(),
            format!("remove half key 01 from token {serial}")
        ),
        other => panic!("expected the exception's phrase, got {other:?}"),
    }
    drill::play(&mut eng, &mut player, None).unwrap();
    let module = eng.close();

    let exceptions = records_of(tmp.path(), "exception");
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    let body = &exceptions[0]["body"];
    assert_eq!(body["token_serial"], serial.as_str());
    assert_eq!(body["key_id"], "01");
    let roles: Vec<&str> = body["confirmed_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"operator") && roles.contains(&"witness"),
        "{roles:?}"
    );
    let session =
        UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
    let keys = session.list_keys().unwrap();
    assert_eq!(keys.len(), 1, "exactly one root key pair");
    let steps = records_of(tmp.path(), "step");
    assert_eq!(
        steps[FIRST_KEYGEN]["body"]["facts"]["fact"]["point"],
        hex::encode(&keys[0].point).as_str(),
        "the key generated again is the one recorded"
    );
    assert_ne!(
        steps[FIRST_KEYGEN]["body"]["facts"]["adopted"], true,
        "made again, not taken over"
    );
    drop(session);
    bundle::verify(&tmp.path().join("bundle"), None).unwrap();
}

#[test]
fn a_lone_public_half_is_removed_through_the_exception_and_the_key_made_again() {
    half_made_key_is_removed_through_the_exception(ObjectClass::PUBLIC_KEY);
}

#[test]
fn a_lone_private_half_is_removed_through_the_exception_and_the_key_made_again() {
    half_made_key_is_removed_through_the_exception(ObjectClass::PRIVATE_KEY);
}

#[test]
fn pieces_without_names_beside_the_announced_half_go_through_the_exception() {
    let (_lock, module_path, tmp, mut player, serial) = crashed_after_first_keygen();
    let pin = player.drill_user_pin("root").unwrap();
    destroy_objects(
        &module_path,
        &serial,
        pin.expose(),
        "ccat-root-key",
        Some(ObjectClass::PRIVATE_KEY),
    );
    let stray = ceremony::pki::SoftKey::generate(ceremony::pki::Curve::P384).unwrap();
    use ceremony::pki::RemoteKey;
    add_unnamed_public_key(&module_path, &serial, pin.expose(), stray.public_point());

    let module = Module::load(&module_path).unwrap();
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    drill::play(&mut eng, &mut player, None).unwrap();
    let module = eng.close();
    let exceptions = records_of(tmp.path(), "exception");
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    let found = exceptions[0]["body"]["found"].as_str().unwrap();
    assert!(found.contains("with no id and no label"), "{found}");
    assert!(found.contains("with id 01"), "{found}");
    let session =
        UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
    assert_eq!(
        session.list_keys().unwrap().len(),
        1,
        "one root key, nothing else"
    );
}

#[test]
fn a_lone_half_nobody_announced_stops_the_ceremony() {
    let (_lock, module_path, tmp, mut player, mut eng) = start();
    drill::play(&mut eng, &mut player, Some(FIRST_KEYGEN)).unwrap();
    let serial = eng.state().serial("root").unwrap().to_string();
    let module = eng.close();
    // Outside the ceremony: a key pair with the checklist's id, its private half gone.
    {
        let session =
            UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
        session
            .generate_key(&[0x01], "ccat-root-key", ceremony::pki::Curve::P384)
            .unwrap();
    }
    drop(module);
    let pin = player.drill_user_pin("root").unwrap();
    destroy_objects(
        &module_path,
        &serial,
        pin.expose(),
        "ccat-root-key",
        Some(ObjectClass::PRIVATE_KEY),
    );
    let module = Module::load(&module_path).unwrap();
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let err = drill::play(&mut eng, &mut player, None).unwrap_err();
    assert!(matches!(err, EngineError::UnknownKey { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("a public key object with id 01 and label \"ccat-root-key\""),
        "{err}"
    );
    assert!(records_of(tmp.path(), "exception").is_empty());
}

#[test]
fn a_step_record_torn_by_a_crash_is_set_aside_and_the_step_redone() {
    let (_lock, module_path, tmp, mut player, mut eng) = start();
    drill::play(&mut eng, &mut player, Some(FIRST_KEYGEN)).unwrap();
    eng.inject_fault(Fault::CrashAfterKeyGeneration);
    drill::play(&mut eng, &mut player, None).unwrap_err();
    drop(eng.close());
    // The power went while the step record was being written: half a line, no newline.
    let path = tmp.path().join("work/transcript.jsonl");
    let whole = std::fs::read(&path).unwrap();
    let torn = format!(r#"{{"seq":{},"prev":"0f3a","at":"2026-"#, FIRST_KEYGEN + 3);
    std::fs::write(&path, [whole.as_slice(), torn.as_bytes()].concat()).unwrap();

    let module = Module::load(&module_path).unwrap();
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let tail = eng
        .torn_tail()
        .expect("the torn record is reported")
        .clone();
    assert_eq!(tail.bytes, torn.len());
    assert_eq!(
        std::fs::read(tmp.path().join("work").join(&tail.file)).unwrap(),
        torn.as_bytes(),
        "the torn bytes are kept"
    );
    assert!(std::fs::read(&path).unwrap().starts_with(&whole));
    drill::play(&mut eng, &mut player, None).unwrap();
    drop(eng.close());

    let resumed = records_of(tmp.path(), "resumed");
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0]["body"]["torn_tail"]["file"], tail.file.as_str());
    assert_eq!(
        resumed[0]["body"]["torn_tail"]["sha256"],
        tail.sha256.as_str()
    );
    let steps = records_of(tmp.path(), "step");
    assert_eq!(steps[FIRST_KEYGEN]["body"]["facts"]["adopted"], true);
    bundle::verify(&tmp.path().join("bundle"), None).unwrap();
}

#[test]
fn an_announced_key_whose_public_half_was_swapped_is_not_taken_over() {
    let (_lock, module_path, tmp, mut player, serial) = crashed_after_first_keygen();
    // Someone else's public key, stored beside the ceremony's private key.
    let other = ceremony::pki::SoftKey::generate(ceremony::pki::Curve::P384).unwrap();
    let pin = player.drill_user_pin("root").unwrap();
    use ceremony::pki::RemoteKey;
    swap_public_key(
        &module_path,
        &serial,
        pin.expose(),
        "ccat-root-key",
        other.public_point(),
    );

    let module = Module::load(&module_path).unwrap();
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let err = drill::play(&mut eng, &mut player, None).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("does not sign for the public key stored beside it"),
        "{text}"
    );
    assert_eq!(records_of(tmp.path(), "step").len(), FIRST_KEYGEN);
    assert!(!eng.state().keys.contains_key("root"), "nothing recorded");
}

#[test]
fn an_announced_key_with_another_label_is_not_taken_over() {
    let (_lock, module_path, tmp, mut player, serial) = crashed_after_first_keygen();
    // Between the crash and the resume, the key is replaced by one with the same id
    // and another label: not the key the intent announced.
    let pin = player.drill_user_pin("root").unwrap();
    destroy_key_pair(&module_path, &serial, pin.expose(), "ccat-root-key");
    let module = Module::load(&module_path).unwrap();
    {
        let session = UserSession::login(&module, &serial, pin).unwrap();
        session
            .generate_key(&[0x01], "someone-else", ceremony::pki::Curve::P384)
            .unwrap();
    }
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let err = drill::play(&mut eng, &mut player, None).unwrap_err();
    assert!(matches!(err, EngineError::UnknownKey { .. }), "{err}");
    assert!(err.to_string().contains("someone-else"), "{err}");
    assert!(records_of(tmp.path(), "step").len() == FIRST_KEYGEN);
}

#[test]
fn a_key_the_transcript_does_not_know_stops_the_ceremony() {
    let (_lock, _, tmp, mut player, mut eng) = start();
    drill::play(&mut eng, &mut player, Some(FIRST_KEYGEN)).unwrap();
    let serial = eng.state().serial("root").unwrap().to_string();
    let module = eng.close();

    // Someone generated a key on the root token outside the ceremony.
    {
        let session =
            UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
        session
            .generate_key(&[0x01], "ccat-root-key", ceremony::pki::Curve::P384)
            .unwrap();
    }
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let err = drill::play(&mut eng, &mut player, None).unwrap_err();
    assert!(matches!(err, EngineError::UnknownKey { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(&serial), "{message}");
    assert!(message.contains("id 01"), "{message}");
    assert!(message.contains("ccat-root-key"), "{message}");
    assert!(message.contains("Nothing was generated"), "{message}");
    let module = eng.close();
    let session =
        UserSession::login(&module, &serial, player.drill_user_pin("root").unwrap()).unwrap();
    assert_eq!(
        session.list_keys().unwrap().len(),
        1,
        "no second key was generated"
    );
    let transcript = std::fs::read_to_string(tmp.path().join("work/transcript.jsonl")).unwrap();
    assert!(transcript.contains("\"type\":\"error\""));
}

#[test]
fn a_wrong_pin_is_reported_with_the_token_flags_and_never_retried() {
    let (_lock, _, tmp, mut player, mut eng) = start();
    drill::play(&mut eng, &mut player, Some(FIRST_KEYGEN)).unwrap();
    let module = eng.close();
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();

    // Answer everything up to the login of the root token.
    let prompt = loop {
        let prompt = eng.prompt().unwrap();
        if matches!(
            prompt.need,
            Need::Pin {
                kind: PinKind::User,
                ..
            }
        ) {
            break prompt;
        }
        let answer = player.answer(&prompt);
        eng.answer(answer).unwrap();
    };
    let Need::Pin { flags, .. } = &prompt.need else {
        unreachable!()
    };
    assert!(!flags.count_low, "no wrong PIN yet");

    let err = eng
        .answer(Answer::Pin(Pin::new("wrong-pin-1".into())))
        .unwrap_err();
    match &err {
        EngineError::Hsm(HsmError::PinIncorrect { flags, .. }) => assert!(flags.count_low, "{err}"),
        other => panic!("expected a wrong-PIN error, got {other}"),
    }
    assert!(err.to_string().contains("Nothing was retried"), "{err}");

    // The engine asks again, showing the low count; it did not try anything by itself.
    let again = eng.prompt().unwrap();
    match &again.need {
        Need::Pin {
            kind: PinKind::User,
            flags,
            ..
        } => {
            assert!(flags.count_low);
            assert!(flags.describe().contains("LOW"));
        }
        other => panic!("expected the PIN prompt again, got {other:?}"),
    }
    drill::play(&mut eng, &mut player, None).unwrap();
    assert!(eng.state().bundle.is_some());
}

#[test]
fn a_real_ceremony_refuses_to_pass_preflight_with_a_network() {
    let (_lock, module_path) = softhsm();
    let tmp = tempfile::tempdir().unwrap();
    let module = Module::load(&module_path).unwrap();
    let mut player = drill::Player::with_new_tokens(&module, 2).unwrap();
    let mut cfg = drill_config(module, tmp.path());
    cfg.mode = Mode::Ceremony;
    let mut eng = Engine::open(cfg).unwrap();
    let network = ceremony::preflight::NetworkState::read().problems();
    let result = drill::play(&mut eng, &mut player, Some(1));
    if network.is_empty() {
        assert_eq!(
            result.unwrap().len(),
            1,
            "an offline machine passes preflight"
        );
    } else {
        let err = result.unwrap_err();
        assert!(matches!(err, EngineError::NetworkUp(_)), "{err}");
        assert!(err.to_string().contains(&network[0]), "{err}");
        assert!(eng.progress()[0] == ceremony::engine::StepStatus::Current);
    }
}

#[test]
fn the_seal_is_read_back_from_the_sheet_right_after_the_export() {
    let (_lock, _, _tmp, mut player, mut eng) = start();
    let export = eng
        .checklist()
        .steps
        .iter()
        .position(|s| s.id == "export-bundle")
        .unwrap();
    drill::play(&mut eng, &mut player, Some(export + 1)).unwrap();
    let (_, seal) = eng.state().bundle.clone().expect("exported");
    let prompt = eng.prompt().unwrap();
    assert_eq!(prompt.step.index, export + 1, "the step after the export");
    let Need::TypeBack {
        challenge:
            ceremony::engine::Challenge::FingerprintGroups {
                fingerprint,
                positions,
                of,
            },
        ..
    } = prompt.need
    else {
        panic!("expected the seal read-back first, got {:?}", prompt.need);
    };
    assert_eq!(of, ceremony::engine::Hashed::Seal);
    assert_eq!(fingerprint, seal);
    assert_eq!(positions.len(), 3);
    // A group read wrong is refused and changes nothing.
    let err = eng
        .answer(Answer::Text("0000 0000 0000".into()))
        .unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
    // A slip in the format is told apart from a value read wrong.
    let err = eng
        .answer(Answer::Text("00000000 0000".into()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "type 3 groups of four characters 0-9 and a-f, separated by spaces (like: 3be4 d834 50cf)"
    );
    drill::play(&mut eng, &mut player, None).unwrap();
}

/// The review a witness confirms before sign-root carries the dates the certificate gets,
/// to the second, and the signature's serial and dates are shown when the step closes.
#[test]
fn the_review_before_a_signature_shows_the_dates_the_certificate_gets() {
    let (_lock, _, _tmp, mut player, mut eng) = start();
    let sign_root = eng
        .checklist()
        .steps
        .iter()
        .position(|s| s.id == "sign-root")
        .unwrap();
    drill::play(&mut eng, &mut player, Some(sign_root)).unwrap();
    let facts = match eng.prompt().unwrap().need {
        Need::Confirm { facts, .. } => facts,
        other => panic!("expected the review, got {other:?}"),
    };
    let get = |label: &str| {
        facts
            .iter()
            .find(|(k, _)| k == label)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{label} missing from {facts:?}"))
    };
    assert_eq!(get("issuer"), "the same (self-signed root)");
    assert!(get("subject").contains("CN="), "{facts:?}");
    assert!(
        get("key usage").contains("certificate signing"),
        "{facts:?}"
    );
    let (not_before, not_after) = (get("not before"), get("not after"));
    // Answer until the step is done: its result line names serial and dates.
    let result = loop {
        let prompt = eng.prompt().unwrap();
        match eng.answer(player.answer(&prompt)).unwrap() {
            ceremony::engine::Outcome::StepDone { result, .. } => break result.unwrap(),
            ceremony::engine::Outcome::Pending => {}
            other => panic!("{other:?}"),
        }
    };
    let cert = &eng.state().certs["root"];
    assert_eq!(not_before, cert.not_before);
    assert!(
        not_after.starts_with(&cert.not_after),
        "{not_after} vs {}",
        cert.not_after
    );
    assert_eq!(
        result,
        format!(
            "serial {}, valid {} .. {}",
            cert.serial, cert.not_before, cert.not_after
        )
    );
}
