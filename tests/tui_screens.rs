//! Every TUI screen drawn at 80x24 (the text console of the ceremony laptop) with
//! ratatui's TestBackend. Each test asserts what must be on screen (the question, the
//! input fields, the facts) and what must never be (a PIN), and keeps a snapshot of the
//! reviewed screen so that unintended changes show up in review.

use ceremony::checklist::model::{PinCharset, PinRule};
use ceremony::engine::{Challenge, Hashed, Need, PinKind, Role, StepStatus, StepView};
use ceremony::hsm::{PinFlags, TokenInfo};
use ceremony::tui::screen::{Body, Completion, FieldView, Message, Screen};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Duration;

const FP: &str = "9943404c1002db5c38364ac002a5729c9bb198b86325c80150419cd1ab429669";

fn render(screen: &Screen, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| ceremony::tui::view::draw(f, screen))
        .unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn step(index: usize, kind: &'static str, title: &str, text: &str, action: &str) -> StepView {
    StepView {
        index,
        count: 19,
        id: kind.into(),
        kind,
        title: title.into(),
        text: text.into(),
        action: action.into(),
    }
}

fn base(body: Body) -> Screen {
    let ids = [
        "preflight",
        "materials",
        "identify-root-token",
        "identify-intermediate-token",
        "init-root-token",
        "init-intermediate-token",
        "generate-root-key",
        "generate-intermediate-key",
        "generate-ssh-user-key",
        "generate-ssh-host-key",
        "sign-root",
        "sign-intermediate",
        "sign-crl",
        "export-ssh-user",
        "export-ssh-host",
        "fingerprint-root",
        "fingerprint-intermediate",
        "export-bundle",
        "seal",
    ];
    let steps = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let status = match i {
                0..=5 => StepStatus::Done(Some(Duration::from_millis(1500 + 100 * i as u64))),
                6 => StepStatus::Current,
                _ => StepStatus::Pending,
            };
            (id.to_string(), status)
        })
        .collect();
    Screen {
        ceremony: "CCAT CA commissioning root ceremony".into(),
        drill: false,
        clock: "2026-11-23 10:00:00 UTC".into(),
        steps,
        head: "6b837f9d633357bdb9baad6be8f232b5".into(),
        body,
        message: None,
        help: false,
        quitting: false,
        scroll: 0,
    }
}

fn field(label: &str, shown: &str, focused: bool) -> FieldView {
    FieldView {
        label: label.into(),
        shown: shown.into(),
        focused,
    }
}

fn token(serial: &str, label: &str, in_use: bool) -> TokenInfo {
    TokenInfo {
        serial: serial.into(),
        label: label.into(),
        manufacturer: "www.CardContact.de".into(),
        model: "PKCS#15 emulated".into(),
        initialized: true,
        user_pin_initialized: in_use,
        user_pin: PinFlags::default(),
        so_pin: PinFlags::default(),
    }
}

const LONG_TEXT: &str = "Operator: plug HSM #1 into the laptop. Witness: read the serial printed on the \
device and on its bag. Both: check that the bag is sealed and its number matches the \
one written on the printed checklist. Stop if anything differs.";

fn check(name: &str, screen: &Screen, must: &[&str]) -> String {
    let text = render(screen, 80, 24);
    for needle in must {
        assert!(
            text.contains(needle),
            "{name}: {needle:?} missing from\n{text}"
        );
    }
    insta::assert_snapshot!(name, text);
    text
}

#[test]
fn participant_screen_shows_both_fields() {
    let body = Body::Step {
        step: step(0, "preflight", "Preflight", LONG_TEXT, "check the machine"),
        need: Need::Participant {
            role: Role::Operator,
            duty: "Handles the HSMs".into(),
        },
        fields: vec![
            field("Name", "Anna Operator", false),
            field("Initials", "AO", true),
        ],
        selected: 0,
        words: None,
    };
    check(
        "participant",
        &base(body),
        &[
            "The operator introduces themselves",
            "Name: Anna Operator",
            "> Initials: AO_",
        ],
    );
}

#[test]
fn preflight_confirmation_shows_hashes_clock_and_network() {
    let facts = vec![
        ("binary SHA-256".into(), ceremony::preflight::group_hex(FP)),
        ("UTC clock".into(), "2026-11-23T10:00:00Z".into()),
        ("network".into(), "offline (loopback only)".into()),
    ];
    let body = Body::Step {
        step: step(
            0,
            "preflight",
            "Preflight",
            "Compare both hashes.",
            "check the machine",
        ),
        need: Need::Confirm {
            role: Role::Witness,
            facts,
        },
        fields: vec![field("witness initials", "", true)],
        selected: 0,
        words: None,
    };
    check(
        "preflight",
        &base(body),
        &["9943 404c", "offline (loopback only)", "witness initials"],
    );
}

#[test]
fn the_review_before_signing_the_intermediate_fits_80x24() {
    let fact = |k: &str, v: &str| (k.to_string(), v.to_string());
    let facts = vec![
        fact("subject", "C=DE, O=CCAT, CN=CCAT Intermediate CA"),
        fact("issuer", "C=DE, O=CCAT, CN=CCAT Root CA"),
        fact("not before", "2026-11-23T10:00:00Z"),
        fact("not after", "2036-11-21T10:00:00Z (3650 days)"),
        fact("basic constraints", "CA, path length 0 (critical)"),
        fact("key usage", "certificate signing, CRL signing (critical)"),
        fact("name constraints", "none"),
        fact("CRL distribution point", "http://ca.example/crl/root.crl"),
        fact("subject key SHA-256", "P-384 6d0f 2a1c 9be0 41d7 ..."),
        fact("serial", "random, from the token, shown once signed"),
        fact(
            "action",
            "sign the intermediate certificate with the root key",
        ),
    ];
    let body = Body::Step {
        step: step(
            12,
            "sign-intermediate",
            "Sign the intermediate",
            &format!("Witness: check every value against the checklist.\n{LONG_TEXT}"),
            "sign the intermediate certificate with the root key",
        ),
        need: Need::Confirm {
            role: Role::Witness,
            facts,
        },
        fields: vec![field("witness initials", "", true)],
        selected: 0,
        words: None,
    };
    let screen = base(body);
    let bottom = check(
        "review-intermediate",
        &screen,
        &[
            "issuer: C=DE, O=CCAT, CN=CCAT Root CA",
            "not after: 2036-11-21T10:00:00Z",
            "witness initials",
            "PgUp: more of this step above",
        ],
    );
    assert!(!bottom.contains("Witness: check every value"), "{bottom}");
    // PgUp brings the instruction back into view; nothing of it is lost at 80x24.
    let up = render(
        &Screen {
            scroll: 8,
            ..screen
        },
        80,
        24,
    );
    assert!(up.contains("Witness: check every value"), "{up}");
    assert!(up.contains("PgDn: back down to the question"), "{up}");
}

#[test]
fn token_choice_lists_serials_and_marks_tokens_in_use_in_words() {
    let body = Body::Step {
        step: step(
            2,
            "identify-token",
            "Identify HSM #1",
            LONG_TEXT,
            "assign the root role",
        ),
        need: Need::ChooseToken {
            token_role: "root".into(),
            expected_serial: None,
            description: "HSM #1, goes into the safe".into(),
            tokens: vec![
                token("DENK0104512", "SmartCard-HSM", false),
                token("DENK0104513", "old-ca", true),
            ],
            taken: vec![],
            with_keys: vec!["DENK0104513".into()],
        },
        fields: vec![],
        selected: 1,
        words: None,
    };
    check(
        "token_choice",
        &base(body),
        &["DENK0104512", "(empty)", "> [*] DENK0104513", "(IN USE)"],
    );
}

#[test]
fn pin_entry_is_masked_and_shows_the_flags_and_rule() {
    let body = Body::Step {
        step: step(
            4,
            "init-token",
            "Initialise HSM #1",
            LONG_TEXT,
            "ERASE and initialise",
        ),
        need: Need::Pin {
            token_role: "root".into(),
            serial: "DENK0104512".into(),
            kind: PinKind::NewUser,
            rule: Some(PinRule {
                min_length: 6,
                max_length: 15,
                charset: PinCharset::Printable,
            }),
            flags: PinFlags {
                count_low: true,
                final_try: false,
                locked: false,
            },
        },
        fields: vec![
            field("PIN", "******", false),
            field("PIN again", "***", true),
        ],
        selected: 0,
        words: None,
    };
    let text = check(
        "pin_entry",
        &base(body),
        &[
            "new user PIN",
            "LOW",
            "typed twice",
            "PIN: ******",
            "PIN again: ***_",
        ],
    );
    assert!(
        !text
            .chars()
            .any(|c| c.is_ascii_digit() && text.contains("PIN: 1"))
    );
}

#[test]
fn authorise_and_erase_name_what_is_affected() {
    let body = Body::Step {
        step: step(
            4,
            "init-token",
            "Initialise HSM #1",
            "Initialise.",
            "ERASE and initialise token DENK0104512",
        ),
        need: Need::TypeBack {
            by: Role::Operator,
            challenge: Challenge::EraseToken {
                serial: "DENK0104512".into(),
                label: "old-ca".into(),
            },
        },
        fields: vec![field("operator types", "", true)],
        selected: 0,
        words: None,
    };
    check(
        "erase",
        &base(body),
        &["ERASES everything", "DENK0104512 (old-ca)", "full serial"],
    );
}

#[test]
fn fingerprint_read_back_shows_groups_and_words() {
    let fingerprint: ceremony::pki::Fingerprint = FP.parse().unwrap();
    let words: Vec<String> = fingerprint
        .pgp_words()
        .iter()
        .map(|w| w.to_string())
        .collect();
    let body = Body::Step {
        step: step(
            15,
            "record-fingerprint",
            "Record the root fingerprint",
            "Write it down.",
            "show the fingerprint",
        ),
        need: Need::TypeBack {
            by: Role::Witness,
            challenge: Challenge::FingerprintGroups {
                fingerprint: FP.into(),
                positions: vec![2, 9, 16],
                of: Hashed::Certificate,
            },
        },
        fields: vec![field("witness types", "404c", true)],
        selected: 0,
        words: Some(words.clone()),
    };
    check(
        "fingerprint",
        &base(body),
        &[
            " 1:9943   2:404c",
            "16:9669",
            "type groups 2, 9, 16",
            &words[0],
            &words[31],
        ],
    );
}

#[test]
fn seal_read_back_says_where_to_write_it() {
    let body = Body::Step {
        step: step(
            18,
            "seal",
            "Unplug, bag and seal",
            "Unplug the stick.",
            "instruction",
        ),
        need: Need::TypeBack {
            by: Role::Witness,
            challenge: Challenge::FingerprintGroups {
                fingerprint: FP.into(),
                positions: vec![1, 7, 12],
                of: Hashed::Seal,
            },
        },
        fields: vec![field("witness types", "", true)],
        selected: 0,
        words: None,
    };
    check(
        "seal",
        &base(body),
        &[
            "The bundle seal (SHA-256 of SHA256SUMS",
            "box \"Bundle seal\"",
            " 1:9943",
            "type groups 1, 7, 12",
        ],
    );
}

#[test]
fn errors_say_what_failed_and_what_to_do() {
    let mut screen = base(Body::Step {
        step: step(
            6,
            "generate-key",
            "Generate the root key",
            "Generate.",
            "generate",
        ),
        need: Need::Pin {
            token_role: "root".into(),
            serial: "DENK0104512".into(),
            kind: PinKind::User,
            rule: None,
            flags: PinFlags {
                count_low: true,
                final_try: true,
                locked: false,
            },
        },
        fields: vec![field("PIN", "", true)],
        selected: 0,
        words: None,
    });
    screen.message = Some(Message::Error {
        what: "C_Login on token DENK0104512: wrong PIN; FINAL TRY.".into(),
        next: "check the PIN on paper".into(),
    });
    check(
        "error",
        &screen,
        &["ERROR:", "wrong PIN", "NEXT: check the PIN", "FINAL TRY"],
    );
}

#[test]
fn resume_completion_help_and_quit_screens() {
    let resume = base(Body::Resume {
        done: 6,
        next: "Generate the root key".into(),
        work: "/media/export/work".into(),
        torn: None,
    });
    check(
        "resume",
        &resume,
        &[
            "6 completed steps",
            "Generate the root key",
            "Enter: continue",
        ],
    );

    let torn = base(Body::Resume {
        done: 6,
        next: "Generate the root key".into(),
        work: "/media/export/work".into(),
        torn: Some("Its last record was cut off by a crash while it was being written (its 41 bytes are kept in transcript.torn-0123456789abcdef.bin). That step is asked for again, but what it did may already be on the token: a key it generated is recognised; check anything else before repeating it.".into()),
    });
    check(
        "resume-torn",
        &torn,
        &[
            "cut off by a crash",
            "transcript.torn-0123456789abcdef.bin",
            "Enter: continue",
        ],
    );

    let mut done = base(Body::Finished(Completion {
        bundle: Some("/media/export/bundle".into()),
        seal: Some(FP.into()),
        root: Some(FP.into()),
        sheet: Some("/media/export/bundle/fingerprint-sheet.pdf".into()),
        can_print: true,
    }));
    done.drill = true;
    check(
        "finished",
        &done,
        &[
            "DRILL",
            "/media/export/bundle",
            "9943 404c",
            "Press P to print",
            "tamper-evident",
        ],
    );

    let mut help = base(Body::Resume {
        done: 1,
        next: "x".into(),
        work: "w".into(),
        torn: None,
    });
    help.help = true;
    check("help", &help, &["F1", "Ctrl-Q"]);

    let mut quit = base(Body::Resume {
        done: 1,
        next: "x".into(),
        work: "w".into(),
        torn: None,
    });
    quit.quitting = true;
    check("quit", &quit, &["Quit the ceremony now?", "Y: quit"]);
}

#[test]
fn the_input_field_stays_visible_when_the_text_is_long() {
    let long = LONG_TEXT.repeat(6);
    let body = Body::Step {
        step: step(2, "identify-token", "Identify HSM #1", &long, "assign"),
        need: Need::Confirm {
            role: Role::Operator,
            facts: vec![("serial".into(), "DENK0104512".into())],
        },
        fields: vec![field("operator initials", "AO", true)],
        selected: 0,
        words: None,
    };
    let text = render(&base(body), 80, 24);
    assert!(text.contains("> operator initials: AO_"), "{text}");

    // A panel taller than the screen, with lines that wrap at word boundaries, still
    // keeps its input field on screen.
    let facts = (0..12)
        .map(|i| {
            (
                format!("fact {i}"),
                "a value with several words that wrap at the edge".to_string(),
            )
        })
        .collect();
    let body = Body::Step {
        step: step(0, "preflight", "Preflight", "Compare.", "check"),
        need: Need::Confirm {
            role: Role::Witness,
            facts,
        },
        fields: vec![field("witness initials", "WW", true)],
        selected: 0,
        words: None,
    };
    let text = render(&base(body), 80, 24);
    assert!(text.contains("> witness initials: WW_"), "{text}");
    let wide = render(
        &base(Body::Resume {
            done: 1,
            next: "x".into(),
            work: "w".into(),
            torn: None,
        }),
        160,
        50,
    );
    assert!(wide.contains("Resume an interrupted ceremony"));
}
