//! The sheet model and its text rendering from a hand-written `bundle.json`; with the
//! feature, the PDF's determinism and page flow. The PDF's content is checked with
//! independent tools in `tests/sheet_pdf.rs`.

use super::*;
use crate::bundle::Manifest;

const ROOT: &str = "68ec99ebcb296221a13458679b65840e261470b1f0df1a405290d41c7fc4d8bd";
const INTERMEDIATE: &str = "a1ea592c78396f32e98575f56bbcbd2ac2d1cf03821a6a0764a9f66f9b71f5e3";
const HEAD: &str = "61bbeec0d323b2847df0918ff435e01bf91849a1639926755ee8726f85d88c51";
const SEAL: &str = "07524bb039e7f18fdfe7d1e0aee40dd313e4a412faa6afcbe9b7438b42afec79";

fn manifest(drill: bool) -> Manifest {
    let cert = |name: &str, issuer: Option<&str>, sha: &str| {
        serde_json::json!({
            "name": name, "file": format!("{name}_ca.crt"), "key": name, "issuer": issuer,
            "subject": format!("Test {name} CA"), "serial": "2fcbfe266b5339059db68016acb1800cee0a7873",
            "not_before": "2026-11-23T09:43:22Z", "not_after": "2036-11-20T09:43:22Z", "sha256": sha,
        })
    };
    let token = |role: &str, serial: &str| {
        serde_json::json!({
            "role": role, "serial": serial, "label": format!("ccat-{role}"),
            "manufacturer": "www.CardContact.de", "model": "PKCS#15 emulated",
            "uri": format!("pkcs11:serial={serial}"),
        })
    };
    serde_json::from_value(serde_json::json!({
        "format": "ceremony-bundle", "version": 1, "kind": "root",
        "ceremony": "Test root ceremony", "drill": drill,
        "checklist_sha256": "d353cc14063cce613c79c108cb27b4a58db36b5583f44408e19cb9b0f624cec4",
        "ca_url": "https://ca.example.org",
        "started": "2026-11-23T09:43:22Z", "exported": "2026-11-23T10:01:02Z",
        "participants": {
            "witness": {"name": "Wanda Witness", "initials": "WW"},
            "operator": {"name": "Jürgen Operator", "initials": "JO"},
        },
        "tokens": [token("intermediate", "DENK0100001"), token("root", "DENK0100002")],
        "keys": [],
        "certificates": [cert("intermediate", Some("root"), INTERMEDIATE), cert("root", None, ROOT)],
        "crl": {"file": "root_ca.crl", "issuer": "root", "number": 1,
                "this_update": "2026-11-23T09:43:22Z", "next_update": "2027-11-23T09:43:22Z",
                "sha256": SEAL},
        "ssh": [
            {"role": "user", "file": "ssh_user_ca.pub", "key": "ssh-user",
             "fingerprint": "SHA256:A75x4V+/GHh3VFYjIo0U1f0PonlssSY1M6p8h/6POeU"},
            {"role": "host", "file": "ssh_host_ca.pub", "key": "ssh-host",
             "fingerprint": "SHA256:mV6Muwi/039z/k/h1Oj528kfY+U556NyF7T/bBj8xaY"},
        ],
        "transcript": {"file": "transcript.jsonl", "head": HEAD},
        "paper": "letter",
    }))
    .expect("a valid bundle.json")
}

#[test]
fn the_model_orders_root_first_and_operator_first() {
    let sheet = Sheet::from_manifest(&manifest(false), Some(SEAL)).unwrap();
    assert_eq!(sheet.certificates[0].name, "root");
    assert!(sheet.certificates[0].root && !sheet.certificates[1].root);
    assert_eq!(sheet.root().unwrap().fingerprint.hex(), ROOT);
    let roles: Vec<&str> = sheet.participants.iter().map(|p| p.role.as_str()).collect();
    assert_eq!(roles, ["operator", "witness"]);
    assert_eq!(sheet.date, "2026-11-23");
    assert_eq!(sheet.tokens[1].model, "www.CardContact.de PKCS#15 emulated");
    assert_eq!(sheet.certificates[1].title(), "Intermediate CA certificate");
    assert_eq!(
        sheet.bootstrap_command().unwrap(),
        format!("step ca bootstrap --ca-url https://ca.example.org --fingerprint {ROOT}")
    );
}

#[test]
fn a_malformed_fingerprint_names_the_certificate() {
    let mut m = manifest(false);
    m.certificates[0].sha256 = "abcd".into();
    let err = Sheet::from_manifest(&m, None).unwrap_err();
    assert!(
        err.to_string().contains("certificate intermediate"),
        "{err}"
    );
}

#[test]
fn the_text_starts_with_the_root_fingerprint_and_carries_every_fact() {
    let sheet = Sheet::from_manifest(&manifest(true), None).unwrap();
    let text = sheet.text();
    assert_eq!(text.lines().next(), Some(ROOT));
    let words = sheet.root().unwrap().fingerprint.pgp_words();
    for fact in [
        INTERMEDIATE,
        HEAD,
        "DRILL",
        "68ec 99eb cb29 6221 a134 5867 9b65 840e 2614 70b1 f0df 1a40 5290 d41c 7fc4 d8bd",
        &words[..8].join(" "),
        &words[24..].join(" "),
        "SHA256:A75x4V+/GHh3VFYjIo0U1f0PonlssSY1M6p8h/6POeU",
        "SHA256:mV6Muwi/039z/k/h1Oj528kfY+U556NyF7T/bBj8xaY",
        "DENK0100002",
        "Jürgen Operator (JO)",
        "2027-11-23T09:43:22Z",
        "sha256sum SHA256SUMS",
        &format!("step ca bootstrap --ca-url https://ca.example.org --fingerprint {ROOT}"),
    ] {
        assert!(text.contains(fact), "{fact:?} missing from:\n{text}");
    }
    let sealed = Sheet::from_manifest(&manifest(false), Some(SEAL)).unwrap();
    assert!(
        sealed
            .text()
            .contains(&format!("bundle seal:       {SEAL}"))
    );
    assert!(!sealed.text().contains("DRILL"));
}

#[test]
fn without_a_root_the_first_line_is_empty_and_there_is_no_bootstrap() {
    let mut m = manifest(false);
    m.certificates.retain(|c| c.issuer.is_some());
    let sheet = Sheet::from_manifest(&m, None).unwrap();
    assert_eq!(sheet.text().lines().next(), Some(""));
    assert!(sheet.bootstrap_command().is_none());
}

const OLD_ROOT_FP: &str = "5dbe27a0edc22606877bbd3096e608696c7a06e2488503ea0a821f77476bf78c";
const OLD_INTERMEDIATE: &str = "18d2162a4bb3f0ae41d5a8e7cfd574bfbd2a60b1e2b48480d575c940958b79de";
const REVOKED_SERIAL: &str = "4ed2847e02d594c00c6cab6065d822345d0b644b";

/// The manifest of a rotation of `kind` from a bundle whose root was `previous_root`.
fn rotation(kind: &str, previous_root: &str, revoke: bool) -> Manifest {
    let mut m = manifest(true);
    m.kind = kind.into();
    m.previous = Some(
        serde_json::from_value(serde_json::json!({
            "kind": "root", "seal": SEAL, "root_fingerprint": previous_root,
        }))
        .unwrap(),
    );
    let old = |name: &str, serial: &str, sha: &str, revoked: bool| {
        serde_json::from_value(serde_json::json!({
            "name": name, "subject": format!("Old {name} CA"), "serial": serial,
            "not_after": "2036-11-20T10:17:10Z", "sha256": sha, "revoked": revoked,
        }))
        .unwrap()
    };
    m.superseded = vec![old(
        "intermediate",
        REVOKED_SERIAL,
        OLD_INTERMEDIATE,
        revoke,
    )];
    if previous_root != ROOT {
        m.superseded
            .push(old("root", "65d9f30e", previous_root, false));
    }
    if revoke {
        m.crl.as_mut().unwrap().revoked = vec![
            serde_json::from_value(serde_json::json!({
                "serial": REVOKED_SERIAL, "reason": "key-compromise",
            }))
            .unwrap(),
        ];
    }
    m
}

#[test]
fn a_root_rotation_says_right_under_the_fingerprint_that_clients_re_bootstrap() {
    let sheet = Sheet::from_manifest(&rotation("root-rotation", OLD_ROOT_FP, false), None).unwrap();
    assert!(sheet.new_root() && !sheet.root_unchanged());
    assert_eq!(sheet.old_root().unwrap().hex(), OLD_ROOT_FP);
    let command =
        format!("step ca bootstrap --force --ca-url https://ca.example.org --fingerprint {ROOT}");
    assert_eq!(sheet.bootstrap_command().unwrap(), command);
    let text = sheet.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], ROOT);
    assert!(lines[1].starts_with("====="), "{text}");
    assert_eq!(
        lines[2],
        "NEW ROOT: every client must re-bootstrap, with exactly:"
    );
    assert_eq!(lines[3], format!("  {command}"));
    let banner_end = 1
        + lines[1..]
            .iter()
            .skip(1)
            .position(|l| l.starts_with("====="))
            .unwrap()
        + 1;
    let banner = lines[..banner_end].join("\n");
    assert!(
        banner.contains(&format!(
            "OLD root (no longer trusted after the overlap):\n  {OLD_ROOT_FP}"
        )),
        "{text}"
    );
    for fact in [
        "continues from the previous bundle:",
        &format!("  root SHA-256:    {OLD_ROOT_FP}"),
        &format!("  bundle seal:     {SEAL}"),
        "  Root CA certificate (superseded)",
        "still valid until 2036-11-20 10:17:10 UTC; OLD root: no longer trusted after the overlap",
        &format!("    SHA-256:   {OLD_INTERMEDIATE}"),
        "  revokes: no certificate",
    ] {
        assert!(text.contains(fact), "{fact:?} missing from:\n{text}");
    }
    assert!(!text.contains("Root unchanged"));
}

#[test]
fn an_intermediate_rotation_says_the_root_is_unchanged_and_lists_revocations() {
    let sheet = Sheet::from_manifest(
        &rotation("intermediate-rotation-emergency", ROOT, true),
        None,
    )
    .unwrap();
    assert!(sheet.root_unchanged() && !sheet.new_root());
    assert!(sheet.old_root().is_none());
    assert!(!sheet.bootstrap_command().unwrap().contains("--force"));
    let text = sheet.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], ROOT);
    assert_eq!(lines[1], ROOT_UNCHANGED);
    for fact in [
        &format!("    serial:    {REVOKED_SERIAL}"),
        "    status:    REVOKED by this CRL (key-compromise)",
        &format!("  revokes: {REVOKED_SERIAL} (key-compromise)"),
    ] {
        assert!(text.contains(fact), "{fact:?} missing from:\n{text}");
    }
    assert!(!text.contains("NEW ROOT"));
    // Without `previous` there is neither.
    let plain = Sheet::from_manifest(&manifest(true), None).unwrap();
    assert!(!plain.new_root() && !plain.root_unchanged());
}

#[test]
fn a_rotation_that_changes_the_root_is_a_new_root_whatever_its_kind() {
    let sheet =
        Sheet::from_manifest(&rotation("intermediate-rotation", OLD_ROOT_FP, false), None).unwrap();
    assert!(sheet.new_root());
    assert!(sheet.text().contains(NEW_ROOT));
}

#[test]
fn a_malformed_previous_root_is_an_error() {
    let mut m = rotation("root-rotation", OLD_ROOT_FP, false);
    m.previous.as_mut().unwrap().root_fingerprint = "abcd".into();
    let err = Sheet::from_manifest(&m, None).unwrap_err();
    assert!(err.to_string().contains("previous bundle"), "{err}");
}

#[cfg(feature = "sheet")]
mod pdf {
    use super::*;

    #[test]
    fn the_same_sheet_gives_the_same_bytes_and_each_input_shows() {
        let sheet = Sheet::from_manifest(&manifest(true), Some(SEAL)).unwrap();
        // printpdf's ids come from a process-wide counter: a second rendering in the
        // same process would differ if they were left in.
        let a = render_pdf(&sheet, Paper::A4).unwrap();
        let b = render_pdf(&sheet, Paper::A4).unwrap();
        assert!(a == b, "two renderings of one sheet differ");
        assert!(a.starts_with(b"%PDF-"));
        let letter = render_pdf(&sheet, Paper::Letter).unwrap();
        assert!(letter != a);
        let mut other = sheet.clone();
        other.seal = Some(HEAD.into());
        assert!(render_pdf(&other, Paper::A4).unwrap() != a);
        // No clock in the metadata: the dates are the bundle's export time.
        let text = String::from_utf8_lossy(&a);
        assert!(
            text.contains("/CreationDate(D:20261123100102+00'00')"),
            "{text}"
        );
    }

    #[test]
    fn the_root_ceremony_fits_two_pages_on_both_papers() {
        let sheet = Sheet::from_manifest(&manifest(true), Some(SEAL)).unwrap();
        for paper in [Paper::A4, Paper::Letter] {
            let (w, h) = page_size(paper);
            assert_eq!(super::super::pages::draw(&sheet, w, h).unwrap().len(), 2);
        }
    }

    #[test]
    fn rotations_fit_three_pages_on_both_papers_and_a_long_crl_flows_on() {
        for m in [
            rotation("root-rotation", OLD_ROOT_FP, false),
            rotation("intermediate-rotation-emergency", ROOT, true),
        ] {
            let sheet = Sheet::from_manifest(&m, Some(SEAL)).unwrap();
            for paper in [Paper::A4, Paper::Letter] {
                let (w, h) = page_size(paper);
                let pages = super::super::pages::draw(&sheet, w, h).unwrap();
                assert_eq!(pages.len(), 3, "{} on {paper:?}", m.kind);
            }
        }
        let mut m = rotation("intermediate-rotation-emergency", ROOT, true);
        let crl = m.crl.as_mut().unwrap();
        crl.revoked = (0..120)
            .map(|i| crate::bundle::RevokedRef {
                serial: format!("{i:040x}"),
                reason: "superseded".into(),
            })
            .collect();
        let sheet = Sheet::from_manifest(&m, Some(SEAL)).unwrap();
        let (w, h) = page_size(Paper::A4);
        let pages = super::super::pages::draw(&sheet, w, h).unwrap();
        assert!(pages.len() >= 4, "{} pages", pages.len());
    }

    #[test]
    fn a_larger_ceremony_flows_onto_more_pages() {
        let mut m = manifest(false);
        let extra = m.certificates[0].clone();
        for i in 0..3 {
            let mut c = extra.clone();
            c.name = format!("extra{i}");
            m.certificates.push(c);
            let mut t = m.tokens[0].clone();
            t.role = format!("spare{i}");
            m.tokens.push(t);
        }
        let sheet = Sheet::from_manifest(&m, Some(SEAL)).unwrap();
        let (w, h) = page_size(Paper::Letter);
        let pages = super::super::pages::draw(&sheet, w, h).unwrap();
        assert!(pages.len() >= 3, "{} pages", pages.len());
    }
}
