//! Unit tests of the checklist module. The table-driven lint of whole bad files is in
//! tests/checklist_lint.rs; these cover the pieces and the rules that test does not.

use super::*;
use sha2::{Digest, Sha256};

const SHIPPED: &str = include_str!("../../checklists/root-ceremony.toml");

fn edit(edits: &[(&str, &str)]) -> String {
    let mut text = SHIPPED.to_owned();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
        text = text.replacen(from, to, 1);
    }
    text
}

fn lines(text: &str) -> Vec<String> {
    match parse_str(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn assert_problems(edits: &[(&str, &str)], expected: &[&str]) {
    let want = sorted(expected.iter().map(|s| s.to_string()).collect());
    assert_eq!(sorted(lines(&edit(edits))), want);
}

#[test]
fn choice_lists_match_the_model_enums() {
    #[derive(serde::Deserialize)]
    struct One<T> {
        #[allow(dead_code)]
        v: T,
    }
    fn all<T: serde::de::DeserializeOwned>(values: &[&str]) {
        for v in values {
            let doc = format!("v = {v:?}");
            assert!(
                toml::from_str::<One<T>>(&doc).is_ok(),
                "{v} does not deserialize"
            );
        }
    }
    all::<CeremonyKind>(schema::CEREMONY_KINDS);
    all::<Paper>(schema::PAPERS);
    all::<PinCharset>(schema::CHARSETS);
    all::<Curve>(schema::CURVES);
    for kind in StepAction::KINDS {
        let target = StepAction::target_key_of(kind).map(|k| format!("\n{k} = \"x\""));
        let doc = format!("kind = {kind:?}{}", target.unwrap_or_default());
        let action: StepAction = toml::from_str(&doc).expect(kind);
        assert_eq!(action.kind_name(), kind);
        assert_eq!(
            action.target().is_some(),
            StepAction::target_key_of(kind).is_some()
        );
    }
}

#[test]
fn load_hashes_the_exact_bytes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("checklists/root-ceremony.toml");
    let loaded = load(&path).expect("shipped checklist loads");
    assert_eq!(
        loaded.sha256_hex,
        hex::encode(Sha256::digest(SHIPPED.as_bytes()))
    );
    assert_eq!(loaded.sha256_hex.len(), 64);
    assert_eq!(loaded.path, path);
    assert_eq!(loaded.checklist.steps.len(), 19);
}

#[test]
fn load_reports_unreadable_and_non_utf8_files() {
    let missing = Path::new("/nonexistent/checklist.toml");
    match load(missing) {
        Err(ChecklistError::Read { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Read, got {other:?}"),
    }
    let path = std::env::temp_dir().join(format!("checklist-{}.toml", std::process::id()));
    std::fs::write(&path, b"name = \"\xff\"\n").expect("write temp file");
    let result = load(&path);
    let _ = std::fs::remove_file(&path);
    let err = result.expect_err("not UTF-8");
    assert_eq!(err.problems().len(), 1);
    assert_eq!(err.problems()[0].path, "(file)");
}

#[test]
fn syntax_errors_carry_line_and_column() {
    assert_eq!(line_column("a = 1\nbc = \n", 11), "2:6");
    assert_eq!(line_column("x", 0), "1:1");
    let problems = lines("a = 1\nb = = 2\n");
    assert_eq!(problems.len(), 1);
    assert!(problems[0].starts_with("2:5: "), "{problems:?}");
}

#[test]
fn an_empty_file_lists_every_missing_table() {
    assert_eq!(
        lines(""),
        [
            "ceremony: required key is missing",
            "participants: required key is missing",
            "tokens: required key is missing",
            "keys: required key is missing",
            "certificates: required key is missing",
            "steps: required key is missing",
        ]
    );
}

#[test]
fn wrong_shapes_are_named() {
    assert_problems(
        &[("[[keys]]\nname = \"root\"", "[[keys]]\nname = 7")],
        &["keys[0].name: expected a string, found an integer"],
    );
    assert_problems(
        &[(
            "subject = { common_name = \"CCAT Observatory Root CA\" }",
            "subject = \"CCAT\"",
        )],
        &["certificates.root.subject: expected a table, found a string"],
    );
    assert_problems(
        &[("[tokens.root]\n", "[tokens]\nspare = 5\n\n[tokens.root]\n")],
        &["tokens.spare: expected a table, found an integer"],
    );
    assert_problems(
        &[(
            "[ssh]\n",
            "[ssh]\nuser_ca_key = \"ssh-user\"\nhost_ca_key = \"ssh-host\"\n[ssh2]\n",
        )],
        &[
            "ssh2: unknown key; allowed: ceremony, participants, tokens, keys, certificates, crl, ssh, steps",
        ],
    );
}

#[test]
fn a_step_with_an_unknown_kind_still_reports_stray_keys() {
    assert_problems(
        &[(
            "kind = \"sign-crl\"\n",
            "kind = \"sign-crl2\"\ncolour = 1\ntoken = 5\n",
        )],
        &[
            "steps[12].kind: unknown step kind \"sign-crl2\"; expected one of preflight, instruction, \
             identify-token, init-token, generate-key, self-sign, sign-certificate, sign-crl, \
             export-ssh, record-fingerprint, export-bundle",
            "steps[12].token: expected a string, found an integer",
            "steps[12].colour: unknown key; allowed: id, title, text, kind",
        ],
    );
    assert_problems(
        &[("kind = \"sign-crl\"\n", "")],
        &["steps[12].kind: required key is missing"],
    );
}

#[test]
fn key_ids() {
    use validate::key_id;
    assert_eq!(key_id("01"), Ok(vec![1]));
    assert_eq!(key_id("0A0b"), Ok(vec![10, 11]));
    assert_eq!(key_id("0102030405060708").map(|v| v.len()), Ok(8));
    assert!(key_id("").unwrap_err().starts_with("empty"));
    assert_eq!(key_id("0g"), Err("\"0g\" is not hex".into()));
    assert_eq!(key_id("%01"), Err("\"%01\" is not hex".into()));
    assert_eq!(
        key_id("123"),
        Err("\"123\" has an odd number of hex digits".into())
    );
    assert_eq!(
        key_id("010203040506070809"),
        Err("9 bytes; key ids hold at most 8".into())
    );
}

#[test]
fn dns_names() {
    use validate::is_dns_name;
    for ok in [
        "ccat.uni-koeln.de",
        "data.ccat.uni-koeln.de",
        "localhost",
        "a1-b",
    ] {
        assert!(is_dns_name(ok), "{ok}");
    }
    for bad in [
        "",
        "*.ccat.de",
        ".ccat.de",
        "ccat.de.",
        "-a.de",
        "a-.de",
        "a b.de",
        "a..de",
    ] {
        assert!(!is_dns_name(bad), "{bad}");
    }
}

#[test]
fn name_constraints_and_subject_limits() {
    let cn65 = "C".repeat(65);
    let subject = format!("subject = {{ common_name = \"{cn65}\", organization = \"\" }}");
    assert_problems(
        &[
            (
                "[certificates.intermediate]\n",
                "[certificates.intermediate.name_constraints]\npermitted_dns = [\"data.ccat.uni-koeln.de\", \"*.ccat\"]\nexcluded_dns = [\"\"]\n[certificates.intermediate]\n",
            ),
            (
                "subject = { common_name = \"CCAT Observatory Root CA\" }",
                &subject,
            ),
        ],
        &[
            "certificates.intermediate.name_constraints.permitted_dns[1]: \"*.ccat\" is not a DNS name",
            "certificates.intermediate.name_constraints.excluded_dns[0]: \"\" is not a DNS name",
            "certificates.root.subject.common_name: 65 characters; a common name holds at most 64",
            "certificates.root.subject.organization: must not be empty",
        ],
    );
}

#[test]
fn certificate_graph_rules() {
    // Two roots: the intermediate loses its issuer.
    assert_problems(
        &[("issuer = \"root\"\nsubject", "subject")],
        &[
            "certificates: intermediate, root have no issuer; exactly one certificate, the root, is self-signed",
            "steps[11].certificate: intermediate has no issuer; the self-signed root needs a self-sign step",
            "certificates.intermediate: no self-sign step",
        ],
    );
    // An issuer that does not exist, and one that is the certificate itself.
    assert_problems(
        &[("issuer = \"root\"\nsubject", "issuer = \"rot\"\nsubject")],
        &[
            "certificates.intermediate.issuer: no certificate \"rot\"; certificates are intermediate, root",
        ],
    );
    assert_problems(
        &[(
            "issuer = \"root\"\nsubject",
            "issuer = \"intermediate\"\nsubject",
        )],
        &[
            "certificates.intermediate.issuer: names the certificate itself; leave issuer out for the self-signed root",
        ],
    );
    // A certificate on a key that does not exist.
    assert_problems(
        &[(
            "[certificates.root]\nkey = \"root\"",
            "[certificates.root]\nkey = \"rot\"",
        )],
        &["certificates.root.key: no key \"rot\"; keys are root, intermediate, ssh-user, ssh-host"],
    );
}

#[test]
fn step_order_rules() {
    // A key generated before its token is initialised.
    assert_problems(
        &[
            (
                "id = \"init-intermediate-token\"\nkind = \"init-token\"\ntoken = \"intermediate\"",
                "id = \"init-intermediate-token\"\nkind = \"generate-key\"\nkey = \"intermediate\"",
            ),
            (
                "id = \"generate-intermediate-key\"\nkind = \"generate-key\"\nkey = \"intermediate\"",
                "id = \"generate-intermediate-key\"\nkind = \"init-token\"\ntoken = \"intermediate\"",
            ),
        ],
        &[
            "steps[5].key: key intermediate is generated before its token intermediate is initialised (steps[7])",
        ],
    );
    // An SSH key exported before it is generated.
    assert_problems(
        &[
            (
                "id = \"generate-ssh-user-key\"\nkind = \"generate-key\"",
                "id = \"generate-ssh-user-key\"\nkind = \"export-ssh\"",
            ),
            (
                "id = \"export-ssh-user\"\nkind = \"export-ssh\"",
                "id = \"export-ssh-user\"\nkind = \"generate-key\"",
            ),
        ],
        &["steps[8].key: key ssh-user is exported before it is generated (steps[13])"],
    );
    // A fingerprint recorded before the certificate is signed.
    assert_problems(
        &[(
            "id = \"materials\"\nkind = \"instruction\"",
            "id = \"materials\"\nkind = \"record-fingerprint\"\ncertificate = \"root\"",
        )],
        &["steps[1].certificate: certificate root is recorded before it is signed (steps[10])"],
    );
    // The CRL signed before its issuer, and twice.
    assert_problems(
        &[(
            "id = \"materials\"\nkind = \"instruction\"",
            "id = \"materials\"\nkind = \"sign-crl\"",
        )],
        &[
            "steps[1]: the CRL is signed before its issuer certificate root (steps[10])",
            "steps[12]: a second sign-crl step (the first is steps[1])",
        ],
    );
    // A certificate signed before its key exists; a key generated after export-bundle.
    assert_problems(
        &[
            (
                "id = \"generate-root-key\"\nkind = \"generate-key\"\nkey = \"root\"",
                "id = \"generate-root-key\"\nkind = \"instruction\"",
            ),
            (
                "id = \"seal\"\nkind = \"instruction\"",
                "id = \"seal\"\nkind = \"generate-key\"\nkey = \"root\"",
            ),
        ],
        &[
            "steps[10].certificate: certificate root is signed before its key root is generated (steps[18])",
            "steps[18]: generate-key after export-bundle (steps[17]); only instruction steps may follow it",
        ],
    );
}

#[test]
fn steps_happen_exactly_once() {
    assert_problems(
        &[(
            "id = \"materials\"\nkind = \"instruction\"",
            "id = \"materials\"\nkind = \"identify-token\"\ntoken = \"root\"",
        )],
        &["steps[2].token: token root is already identified by steps[1]"],
    );
    assert_problems(
        &[(
            "id = \"init-intermediate-token\"\nkind = \"init-token\"\ntoken = \"intermediate\"",
            "id = \"init-intermediate-token\"\nkind = \"init-token\"\ntoken = \"root\"",
        )],
        &[
            "steps[5].token: token root is already initialised by steps[4]",
            "tokens.intermediate: no init-token step; a root ceremony initialises every token",
        ],
    );
    assert_problems(
        &[
            (
                "[crl]\nissuer = \"root\"\nvalidity_days = 365\nnumber = 1\n",
                "",
            ),
            (
                "[ssh]\nuser_ca_key = \"ssh-user\"\nhost_ca_key = \"ssh-host\"\n",
                "",
            ),
            (
                "id = \"seal\"\nkind = \"instruction\"",
                "id = \"seal\"\nkind = \"export-bundle\"",
            ),
            (
                "id = \"sign-root\"\nkind = \"self-sign\"",
                "id = \"sign-root\"\nkind = \"sign-certificate\"",
            ),
        ],
        &[
            "steps[10].certificate: root has no issuer; the self-signed root needs a self-sign step",
            "certificates.root: no self-sign step",
            "steps[12]: sign-crl without a [crl] table",
            "steps[13]: export-ssh without an [ssh] table",
            "steps[14]: export-ssh without an [ssh] table",
            "steps[18]: a second export-bundle step (the first is steps[17])",
        ],
    );
    let no_steps =
        "steps = []\n".to_owned() + SHIPPED.split("[[steps]]").next().unwrap_or_default();
    assert_eq!(
        lines(&no_steps),
        ["steps: no steps; a ceremony starts with preflight and ends with export-bundle"]
    );
    let no_bundle = edit(&[(
        "id = \"export-bundle\"\nkind = \"export-bundle\"",
        "id = \"export-bundle\"\nkind = \"instruction\"",
    )]);
    assert_eq!(
        lines(&no_bundle),
        ["steps: no export-bundle step; the ceremony ends by writing the bundle"]
    );
}

#[test]
fn lookups() {
    let c = parse_str(SHIPPED).expect("valid");
    assert_eq!(c.root_certificate_name(), Some("root"));
    let on_intermediate: Vec<&str> = c
        .keys_on_token("intermediate")
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(on_intermediate, ["intermediate", "ssh-user", "ssh-host"]);
    assert_eq!(
        c.certificate_for_key("intermediate").map(|(n, _)| n),
        Some("intermediate")
    );
    assert_eq!(c.certificate_for_key("ssh-user").map(|(n, _)| n), None);
    assert_eq!(c.issuer_of("intermediate").map(|(n, _)| n), Some("root"));
    assert_eq!(c.issuer_of("root").map(|(n, _)| n), None);
    assert_eq!(
        c.certificate_key("root").map(|k| k.label.as_str()),
        Some("ccat-root-key")
    );
    assert_eq!(
        c.token_of_key("ssh-host").map(|t| t.label.as_str()),
        Some("ccat-intermediate")
    );
    assert_eq!(
        c.step("sign-crl").map(|s| s.action.kind_name()),
        Some("sign-crl")
    );
    assert_eq!(c.key("intermediate").map(KeySpec::id_bytes), Some(vec![1]));
    let bad = KeySpec {
        id: "zz".into(),
        ..c.keys[0].clone()
    };
    assert_eq!(bad.id_bytes(), Vec::<u8>::new());
    assert_eq!(
        c.token("root").map(|t| t.so_pin.describe()),
        Some("exactly 16 hex digits".into())
    );
    assert_eq!(
        c.token("root").map(|t| t.user_pin.describe()),
        Some("6 to 15 printable characters".into())
    );
}
