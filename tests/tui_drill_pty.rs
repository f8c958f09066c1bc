//! The real `ceremony drill` binary in a pseudo-terminal (tmux, 80x24), driven through a
//! whole root ceremony the way two people would: reading the screen, typing names, PINs,
//! initials, serial endings, the phrases that name destructive steps and the fingerprint
//! groups. Then the bundle is checked with `ceremony verify` and `openssl verify`, and no
//! PIN typed may appear on any screen or in any file. A second test quits mid-ceremony
//! and resumes.

mod common;
use common::tty::*;
use common::*;
use std::path::Path;

fn check_outcome(tty: &Tty, dir: &Path) {
    let out = dir.join("bundle");
    let verified = run(ceremony().arg("verify").arg(&out));
    assert!(verified.status.success(), "{}", all_output(&verified));
    common::checks::openssl_verifies_chain(&out);
    let transcript = std::fs::read_to_string(out.join("transcript.jsonl")).unwrap();
    assert!(transcript.contains("Anna Operator") && transcript.contains("Wim Witness"));
    for pin in [ROOT_SO, INT_SO, ROOT_USER, INT_USER, FACTORY_SO] {
        assert!(!tty.screens.contains(pin), "PIN {pin} was drawn on screen");
        for (path, bytes) in read_tree(dir) {
            if path.components().any(|c| c.as_os_str() == "drill-tokens") {
                continue; // SoftHSM's own token files
            }
            assert!(
                !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
                "PIN {pin} found in {}",
                path.display()
            );
        }
    }
}

fn args(dir: &Path) -> String {
    format!(
        "drill {ROOT_CEREMONY} --work {} --out {}",
        dir.join("work").display(),
        dir.join("bundle").display()
    )
}

#[test]
fn a_whole_root_ceremony_through_the_tui() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tty = Tty::start(&args(tmp.path()), "ceremony-e2e-full");
    play(&mut tty, None);
    let done = tty.capture();
    assert!(done.contains("DRILL"), "{done}");
    assert!(done.contains("Root fingerprint:"), "{done}");
    println!("keystrokes for a whole root ceremony: {}", tty.keys);
    quit(&mut tty);
    check_outcome(&tty, tmp.path());
}

#[test]
fn quit_in_the_middle_and_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = Tty::start(&args(tmp.path()), "ceremony-e2e-resume-1");
    play(&mut first, Some(45));
    quit(&mut first);
    let screens = std::mem::take(&mut first.screens);
    drop(first);

    let mut second = Tty::start(&args(tmp.path()), "ceremony-e2e-resume-2");
    second.screens = screens;
    let screen = second.wait_change("");
    assert!(
        screen.contains("Resume an interrupted ceremony"),
        "{screen}"
    );
    play(&mut second, None);
    quit(&mut second);
    check_outcome(&second, tmp.path());
}

#[test]
fn a_planned_rotation_through_the_tui_on_kept_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let (tokens, b1) = (tmp.path().join("tokens"), tmp.path().join("b1"));
    let made = run(ceremony()
        .args(["rehearse", ROOT_CEREMONY, "--keep-tokens"])
        .arg(&tokens)
        .arg("--out")
        .arg(&b1));
    assert!(made.status.success(), "{}", all_output(&made));
    let checklist = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/checklists/intermediate-rotation.toml"
    );
    let args = format!(
        "drill {checklist} --tokens {} --previous {} --work {} --out {}",
        tokens.display(),
        b1.display(),
        tmp.path().join("work").display(),
        tmp.path().join("bundle").display()
    );
    let mut tty = Tty::start(&args, "ceremony-e2e-rotation");
    play_with(&mut tty, None, &PUBLISHED);
    quit(&mut tty);
    let verified = run(ceremony().arg("verify").arg(tmp.path().join("bundle")));
    assert!(verified.status.success(), "{}", all_output(&verified));
    let old = std::fs::read(b1.join("root_ca.crt")).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("bundle/root_ca.crt")).unwrap(),
        old,
        "the root is carried over"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("bundle/bundle.json")).unwrap())
            .unwrap();
    assert_eq!(m["kind"], "intermediate-rotation");
}

#[test]
fn a_pin_typed_into_the_wrong_field_is_never_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tty = Tty::start(&args(tmp.path()), "ceremony-e2e-wrong-field");
    let screen = tty.wait_change("");
    assert!(
        screen.contains("The operator introduces themselves"),
        "{screen}"
    );
    // A PIN typed as the name: drawn as asterisks, refused and wiped at Enter.
    tty.type_line(ROOT_USER);
    tty.type_line("AO");
    let screen = tty.wait_change(&screen);
    assert!(screen.contains("looks like a PIN"), "{screen}");
    tty.send("BTab", false);
    tty.type_line("Anna Operator");
    tty.send("Enter", false);
    // A PIN typed where the operator's initials are asked: wiped at the first
    // character that is not a letter or past the fourth, never drawn.
    let screen = play_until(&mut tty, &OURS, |s| {
        s.contains("operator confirms this step")
    });
    for c in INT_USER.chars() {
        tty.send(&c.to_string(), true);
    }
    let screen = tty.wait_change(&screen);
    assert!(screen.contains("takes 1 to 4 letters"), "{screen}");
    for secret in [ROOT_USER, INT_USER, "rootp", "intpi"] {
        assert!(
            !tty.screens.contains(secret),
            "{secret:?} was drawn on screen"
        );
    }
}

#[test]
fn refused_initials_keep_the_name_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tty = Tty::start(&args(tmp.path()), "ceremony-e2e-initials");
    let screen = tty.wait_change("");
    assert!(
        screen.contains("The operator introduces themselves"),
        "{screen}"
    );
    tty.type_line("Anna Operator");
    tty.type_line("AO");
    let screen = tty.wait_change(&screen);
    assert!(
        screen.contains("The witness introduces themselves"),
        "{screen}"
    );
    // The witness takes the operator's initials: refused, the name stays.
    tty.type_line("Wim Witness");
    tty.type_line("AO");
    let screen = tty.wait_change(&screen);
    assert!(screen.contains("initials AO are taken"), "{screen}");
    assert!(screen.contains("Name: Wim Witness"), "{screen}");
    tty.type_line("WW");
    let screen = tty.wait_change(&screen);
    assert!(
        !screen.contains("The witness introduces themselves"),
        "{screen}"
    );
    quit(&mut tty);
}
