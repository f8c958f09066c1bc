//! Lints bad checklists derived from the shipped root ceremony by small textual edits,
//! and checks that every problem in each is reported, with its exact line.
//!
//! The expected lines are written from the rules in docs/checklist-reference.md. They are
//! compared as sorted lists: the order problems are found in is not part of the contract.

use ceremony::checklist::{ChecklistError, parse_str};

const SHIPPED: &str = include_str!("../checklists/root-ceremony.toml");

/// The shipped file with each `(from, to)` edit applied in turn; `from` must occur exactly
/// once at the time it is applied.
fn edited(case: &str, edits: &[(&str, &str)]) -> String {
    let mut text = SHIPPED.to_owned();
    for (from, to) in edits {
        let n = text.matches(from).count();
        assert_eq!(n, 1, "case {case}: {from:?} occurs {n} times");
        text = text.replacen(from, to, 1);
    }
    text
}

fn problem_lines(text: &str) -> Vec<String> {
    match parse_str(text) {
        Ok(_) => Vec::new(),
        Err(e @ ChecklistError::Read { .. }) => panic!("unexpected read error: {e}"),
        Err(ChecklistError::Invalid { problems }) => {
            problems.iter().map(ToString::to_string).collect()
        }
    }
}

struct Case {
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    expected: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "a root ceremony with a token from a previous ceremony",
        edits: &[(
            "label = \"ccat-root\"\n",
            "label = \"ccat-root\"\nexisting = \"root\"\n",
        )],
        expected: &[
            "tokens.root.existing: a root ceremony starts from nothing; existing tokens belong to rotations",
            "steps[4].token: token root continues from the previous ceremony (existing) and is never initialised",
        ],
    },
    Case {
        name: "a carried-over key is generated again",
        edits: &[
            ("kind = \"root\"\n", "kind = \"intermediate-rotation\"\n"),
            (
                "label = \"ccat-root-key\"\ncurve = \"P-384\"\n",
                "label = \"ccat-root-key\"\ncurve = \"P-384\"\nexisting = \"root\"\n",
            ),
        ],
        expected: &[
            "steps[6].key: key root comes from the previous ceremony (existing); it is not generated again",
        ],
    },
    Case {
        name: "key label too long",
        edits: &[(
            "label = \"ccat-root-key\"",
            "label = \"0123456789012345678901234567890123456789\"",
        )],
        expected: &["keys[0].label: 40 bytes; token labels hold at most 32"],
    },
    Case {
        name: "unknown key in a certificate",
        edits: &[(
            "[certificates.root]\n",
            "[certificates.root]\nisuer = \"root\"\n",
        )],
        expected: &[
            "certificates.root.isuer: unknown key; allowed: key, issuer, subject, validity_days, \
             path_length, crl_distribution_point, name_constraints, existing",
        ],
    },
    Case {
        name: "unknown step kind",
        edits: &[("kind = \"sign-crl\"", "kind = \"sign-crls\"")],
        expected: &[
            "steps[12].kind: unknown step kind \"sign-crls\"; expected one of preflight, \
             instruction, identify-token, init-token, generate-key, self-sign, \
             sign-certificate, sign-crl, export-ssh, record-fingerprint, export-bundle",
        ],
    },
    Case {
        name: "a key on a step kind that takes none",
        edits: &[(
            "kind = \"sign-crl\"\n",
            "kind = \"sign-crl\"\nkey = \"root\"\n",
        )],
        expected: &["steps[12].key: unknown key for kind sign-crl; allowed: id, title, text, kind"],
    },
    Case {
        name: "generate-key without its key",
        edits: &[(
            "kind = \"generate-key\"\nkey = \"ssh-host\"\n",
            "kind = \"generate-key\"\n",
        )],
        expected: &["steps[9].key: required key is missing"],
    },
    Case {
        name: "wrong type",
        edits: &[("validity_days = 3650", "validity_days = \"3650\"")],
        expected: &["certificates.intermediate.validity_days: expected an integer, found a string"],
    },
    Case {
        name: "integer out of range",
        edits: &[("path_length = 1", "path_length = 256")],
        expected: &["certificates.root.path_length: 256 is out of range; expected 0 to 255"],
    },
    Case {
        name: "PIN rule below the minimum and above the maximum",
        edits: &[(
            "user_pin = { min_length = 6, max_length = 15, charset = \"printable\" }\n\n[tokens.intermediate]",
            "user_pin = { min_length = 3, max_length = 300, charset = \"printable\" }\n\n[tokens.intermediate]",
        )],
        expected: &[
            "tokens.root.user_pin.min_length: 3; a PIN rule must ask for at least 4",
            "tokens.root.user_pin.max_length: 300; PKCS#11 modules take at most 255",
        ],
    },
    Case {
        name: "PIN rule with min above max",
        edits: &[(
            "user_pin = { min_length = 6, max_length = 15, charset = \"printable\" }\n\n# ---",
            "user_pin = { min_length = 8, max_length = 6, charset = \"printable\" }\n\n# ---",
        )],
        expected: &["tokens.intermediate.user_pin: min_length 8 is greater than max_length 6"],
    },
    Case {
        name: "key on a token that does not exist",
        edits: &[(
            "token = \"intermediate\"\nid = \"03\"",
            "token = \"intermed\"\nid = \"03\"",
        )],
        expected: &["keys[3].token: no token \"intermed\"; tokens are intermediate, root"],
    },
    Case {
        name: "intermediate signed before the root",
        edits: &[
            (
                "id = \"sign-root\"\nkind = \"self-sign\"\ncertificate = \"root\"",
                "id = \"sign-root\"\nkind = \"sign-certificate\"\ncertificate = \"intermediate\"",
            ),
            (
                "id = \"sign-intermediate\"\nkind = \"sign-certificate\"\ncertificate = \"intermediate\"",
                "id = \"sign-intermediate\"\nkind = \"self-sign\"\ncertificate = \"root\"",
            ),
        ],
        expected: &[
            "steps[10].certificate: certificate intermediate is signed before its issuer root (steps[11])",
        ],
    },
    Case {
        name: "token initialised before it is identified",
        edits: &[
            (
                "id = \"identify-root-token\"\nkind = \"identify-token\"",
                "id = \"identify-root-token\"\nkind = \"init-token\"",
            ),
            (
                "id = \"init-root-token\"\nkind = \"init-token\"",
                "id = \"init-root-token\"\nkind = \"identify-token\"",
            ),
        ],
        expected: &["steps[2].token: token root is initialised before it is identified (steps[4])"],
    },
    Case {
        name: "a step that is not an instruction after export-bundle",
        edits: &[
            (
                "id = \"fingerprint-intermediate\"\nkind = \"record-fingerprint\"\ncertificate = \"intermediate\"",
                "id = \"fingerprint-intermediate\"\nkind = \"export-bundle\"",
            ),
            (
                "id = \"export-bundle\"\nkind = \"export-bundle\"",
                "id = \"export-bundle\"\nkind = \"record-fingerprint\"\ncertificate = \"intermediate\"",
            ),
        ],
        expected: &[
            "steps[17]: record-fingerprint after export-bundle (steps[16]); only instruction steps may follow it",
        ],
    },
    Case {
        name: "preflight is not the first step",
        edits: &[(
            "id = \"preflight\"\nkind = \"preflight\"",
            "id = \"preflight\"\nkind = \"instruction\"",
        )],
        expected: &["steps[0]: the first step must be preflight, not instruction"],
    },
    Case {
        name: "a token that is never identified",
        edits: &[(
            "kind = \"identify-token\"\ntoken = \"intermediate\"",
            "kind = \"instruction\"",
        )],
        expected: &["tokens.intermediate: no identify-token step"],
    },
    Case {
        name: "an SSH key that is never exported",
        edits: &[(
            "kind = \"export-ssh\"\nkey = \"ssh-host\"",
            "kind = \"instruction\"",
        )],
        expected: &["ssh.host_ca_key: no export-ssh step for key ssh-host"],
    },
    Case {
        name: "the SSH host CA is the intermediate key",
        edits: &[(
            "host_ca_key = \"ssh-host\"",
            "host_ca_key = \"intermediate\"",
        )],
        expected: &[
            "ssh.host_ca_key: key intermediate also carries certificates.intermediate; \
             an SSH CA key must not be an X.509 CA key",
            "steps[14].key: key ssh-host is not an SSH CA key in [ssh]",
            "ssh.host_ca_key: no export-ssh step for key intermediate",
        ],
    },
    Case {
        name: "several structural problems at once",
        edits: &[
            ("ca_url = \"https://ca.ccat.uni-koeln.de\"\n", ""),
            (
                "label = \"ccat-root-key\"\ncurve = \"P-384\"",
                "label = \"ccat-root-key\"\ncurve = \"P-385\"",
            ),
            (
                "[participants.witness]\nduty =",
                "[participants.witness]\nduties =",
            ),
            ("number = 1", "number = -1"),
        ],
        expected: &[
            "ceremony.ca_url: required key is missing",
            "keys[0].curve: unknown curve \"P-385\"; expected one of P-256, P-384, P-521",
            "participants.witness.duty: required key is missing",
            "participants.witness.duties: unknown key; allowed: duty",
            "crl.number: -1 is out of range; expected 0 or more",
        ],
    },
    Case {
        name: "many validation problems at once",
        edits: &[
            ("ca_url = \"https://ca", "ca_url = \"http://ca"),
            (
                "label = \"ccat-root\"\n",
                "label = \"ccat-root-hsm-number-one-in-the-safe-xyz\"\n",
            ),
            ("id = \"02\"", "id = \"01\""),
            ("id = \"03\"", "id = \"3\""),
            (
                "subject = { common_name = \"CCAT Observatory Root CA\" }",
                "subject = { common_name = \"CCAT Observatory Root CA\", country = \"DEU\" }",
            ),
            ("validity_days = 3650", "validity_days = 20000"),
            ("path_length = 0", "path_length = 1"),
            (
                "crl_distribution_point = \"http://",
                "crl_distribution_point = \"https://",
            ),
            ("[crl]\n", "[crl]\ncolour = \"red\"\n"),
            ("validity_days = 365\n", "validity_days = 20000\n"),
            ("number = 1", "number = 0"),
            ("id = \"sign-crl\"", "id = \"sign-root\""),
            ("id = \"seal\"", "id = \"Seal up\""),
        ],
        expected: &[
            "crl.colour: unknown key; allowed: issuer, validity_days, number, revoke",
            "ceremony.ca_url: \"http://ca.ccat.uni-koeln.de\" must start with https:// and name the CA host",
            "tokens.root.label: 40 bytes; token labels hold at most 32",
            "keys[2].id: \"01\" is already used on token intermediate by keys[1]",
            "keys[3].id: \"3\" has an odd number of hex digits",
            "certificates.root.subject.country: \"DEU\" is not a two-letter country code (ISO 3166, e.g. \"DE\")",
            "certificates.intermediate.validity_days: 20000 is not below the validity_days 10040 of its \
             issuer root; an issued certificate must end inside its issuer's validity",
            "certificates.intermediate.path_length: 1 is not below the path_length 1 of its issuer root",
            "certificates.intermediate.crl_distribution_point: \"https://ca.ccat.uni-koeln.de/crl\" must \
             start with http:// and name a host; RFC 5280 CRL distribution points are plain http (the CRL \
             is signed, and fetching it must not need TLS)",
            "crl.validity_days: 20000 is not below the validity_days 10040 of its issuer root",
            "crl.number: must be at least 1",
            "steps[12].id: \"sign-root\" is already the id of steps[10]",
            "steps[18].id: \"Seal up\" may only hold a-z, 0-9 and -",
        ],
    },
];

#[test]
fn the_shipped_root_ceremony_has_no_problems() {
    assert_eq!(problem_lines(SHIPPED), Vec::<String>::new());
    let c = parse_str(SHIPPED).expect("valid");
    assert_eq!(c.ceremony.name, "CCAT CA commissioning root ceremony");
    assert_eq!(c.root_certificate_name(), Some("root"));
    assert_eq!(
        c.steps.first().map(|s| s.action.kind_name()),
        Some("preflight")
    );
    assert_eq!(
        c.steps.last().map(|s| s.action.kind_name()),
        Some("instruction")
    );
    assert_eq!(c.key("ssh-host").map(|k| k.id_bytes()), Some(vec![3]));
}

#[test]
fn every_problem_of_every_bad_checklist_is_reported() {
    let mut failures = Vec::new();
    for case in CASES {
        let mut got = problem_lines(&edited(case.name, case.edits));
        let mut want: Vec<String> = case.expected.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        if got != want {
            failures.push(format!(
                "case {:?}\n  want: {want:#?}\n  got:  {got:#?}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_syntax_error_is_one_problem_at_its_line_and_column() {
    let problems = match parse_str(&edited("syntax", &[("[ceremony]\n", "[ceremony\n")])) {
        Err(ChecklistError::Invalid { problems }) => problems,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "21:10");
    assert!(!problems[0].message.is_empty());
}

#[test]
fn the_display_lists_every_problem_on_its_own_line() {
    let text = edited(
        "display",
        &[("number = 1", "number = 0"), ("id = \"seal\"", "id = \"\"")],
    );
    let err = parse_str(&text).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "the checklist has 2 problems:\ncrl.number: must be at least 1\nsteps[18].id: must not be empty"
    );
}

#[test]
fn the_example_in_the_reference_has_no_problems() {
    // The complete example is the TOML block that holds a [ceremony] table; the other
    // blocks are fragments.
    let doc = include_str!("../docs/checklist-reference.md");
    let example = doc
        .split("```toml\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap())
        .find(|block| block.contains("[ceremony]"))
        .expect("a complete example");
    assert_eq!(problem_lines(example), Vec::<String>::new());
}

#[test]
fn a_crl_renewal_carries_everything_over_and_identifies_only_what_it_uses() {
    const RENEWAL: &str = include_str!("../checklists/crl-renewal.toml");
    assert_eq!(problem_lines(RENEWAL), Vec::<String>::new());
    let edit = |from: &str, to: &str| {
        assert_eq!(RENEWAL.matches(from).count(), 1, "{from:?}");
        let mut got = problem_lines(&RENEWAL.replacen(from, to, 1));
        got.sort();
        got
    };
    // A certificate that is not carried over would have to be signed.
    let got = edit(
        "path_length = 0\nexisting = \"intermediate\"",
        "path_length = 0",
    );
    assert_eq!(
        got,
        [
            "certificates.intermediate: a crl-renewal ceremony only signs a CRL; everything else comes from the previous ceremony (set existing)",
            "certificates.intermediate: no sign-certificate step",
        ]
    );
    // The root token signs the CRL, so it must be identified; the online token, which no
    // step uses, need not be.
    let step = "[[steps]]\nid = \"identify-root-token\"";
    let start = RENEWAL.find(step).unwrap();
    let end = start + RENEWAL[start + 1..].find("[[steps]]").unwrap() + 1;
    let mut got = problem_lines(&format!("{}{}", &RENEWAL[..start], &RENEWAL[end..]));
    got.sort();
    assert!(
        got.contains(&"tokens.root: no identify-token step".to_string()),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|p| p.starts_with("tokens.intermediate")),
        "{got:?}"
    );
    // Without [crl] there is nothing to renew.
    let got = edit("[crl]\nissuer = \"root\"\nvalidity_days = 365\n", "");
    assert!(
        got.contains(&"crl: a crl-renewal ceremony signs a CRL; add [crl]".to_string()),
        "{got:?}"
    );
}
