//! `ceremonyd import`, `verify` and `rollback` as an operator runs them, on bundles made
//! by `ceremony rehearse`: the first cutover from a Phase 1 step-ca folder holding the
//! seed's six provisioners, an intermediate rotation, a root rotation with overlap, every
//! refusal (the CA and trust folders stay identical to the byte, links and owners
//! included) and rollback down to the original folder.

#[path = "daemon_support.rs"]
mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use support::*;

const OWNER: &str = "4242:4242";

fn config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("ceremonyd.toml");
    std::fs::write(
        &path,
        "[ca]\nstep_path = \"/home/step\"\nmodule_path = \"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so\"\n\
         pin_source = \"/run/secrets/hsm-pin\"\n[trust]\nknown_hosts_pattern = \"*.ccat.uni-koeln.de\"\n\
         root_overlap_days = 30\n",
    )
    .unwrap();
    path
}

/// `ceremonyd import` with the test's owner, trust folder and config; `extra` flags after.
fn import(dir: &Path, bundle: &Path, fp: &str, ca: &str, extra: &[&str]) -> std::process::Output {
    ceremonyd()
        .arg("import")
        .arg(bundle)
        .args(["--root-fingerprint", fp, "--ca-dir"])
        .arg(dir.join(ca))
        .arg("--trust-dir")
        .arg(dir.join("trust"))
        .args(["--owner", OWNER, "--config"])
        .arg(config(dir))
        .args(extra)
        .output()
        .unwrap()
}

fn imported(out: &std::process::Output) {
    assert!(out.status.success(), "import failed:\n{}", text(out));
}

fn refused(out: &std::process::Output, why: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected a refusal:\n{}",
        text(out)
    );
    assert!(
        text(out).contains(why),
        "expected {why:?} in:\n{}",
        text(out)
    );
}

#[test]
fn first_cutover_rotations_refusals_and_rollback() {
    require("cp");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    rehearse("root-ceremony.toml", &d.join("phase1"), None);
    let fp_a = rehearse(
        "root-ceremony.toml",
        &d.join("a1"),
        Some((&d.join("tokens"), None)),
    );
    let a1 = d.join("a1");
    phase1_ca_dir(&d.join("ca"), &d.join("phase1"));
    let plain = view(&d.join("ca"));
    let untouched = |t: &std::collections::BTreeMap<String, String>| {
        t.iter()
            .filter(|(k, _)| k.starts_with("db") || k.starts_with("secrets"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    let steps_own = untouched(&tree(&d.join("ca")));

    // `ceremonyd verify` is `ceremony verify`.
    let v = ceremonyd()
        .arg("verify")
        .arg(&a1)
        .args(["--root-fingerprint", &fp_a])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v));
    assert!(text(&v).contains("kind:    root (DRILL)"), "{}", text(&v));
    let phase1_fp = root_fingerprint(&d.join("phase1"));
    let v = ceremonyd()
        .arg("verify")
        .arg(&a1)
        .args(["--root-fingerprint", &phase1_fp])
        .output()
        .unwrap();
    refused(&v, "not the expected");

    // First cutover: drill refused without the flag, then installed.
    refused(&import(d, &a1, &fp_a, "ca", &[]), "DRILL bundle");
    assert_eq!(view(&d.join("ca")), plain);
    imported(&import(d, &a1, &fp_a, "ca", &["--allow-drill"]));
    check_first_cutover(d, &a1);
    assert_eq!(
        untouched(&tree(&d.join("ca"))),
        steps_own,
        "db/ and secrets/ are step-ca's"
    );
    let after_a1 = view(&d.join("ca"));
    let again = import(d, &a1, &fp_a, "ca", &["--allow-drill"]);
    imported(&again);
    assert!(
        text(&again).contains("installed already"),
        "{}",
        text(&again)
    );

    let a2 = d.join("a2");
    rehearse(
        "intermediate-rotation.toml",
        &a2,
        Some((&d.join("tokens"), Some(&a1))),
    );
    refusals(d, &fp_a, &a2);

    // Planned intermediate rotation: same root, the old intermediate stays served.
    imported(&import(d, &a2, &fp_a, "ca", &["--allow-drill"]));
    let gen2 = d.join("ca/.ceremonyd/current/publish");
    let inters = std::fs::read_to_string(gen2.join("intermediates.pem")).unwrap();
    assert_eq!(
        inters.matches("BEGIN CERTIFICATE").count(),
        2,
        "new and superseded intermediate"
    );
    assert_eq!(
        std::fs::read(d.join("ca/certs/intermediate_ca.crt")).unwrap(),
        std::fs::read(a2.join("intermediate_ca.crt")).unwrap()
    );
    let after_a2 = view(&d.join("ca"));

    // An older CRL of the same root is refused (Boulder's rule): re-importing A1.
    let before = (tree(&d.join("ca")), tree(&d.join("trust")));
    refused(
        &import(d, &a1, &fp_a, "ca", &["--allow-drill"]),
        "CRL number 1 is not above",
    );
    assert_eq!(before, (tree(&d.join("ca")), tree(&d.join("trust"))));

    // Emergency rotation: the root-signed CRL that revokes the old intermediates is
    // served, and the revoked intermediates are no longer.
    let a3 = d.join("a3");
    rehearse(
        "intermediate-rotation-emergency.toml",
        &a3,
        Some((&d.join("tokens"), Some(&a2))),
    );
    imported(&import(d, &a3, &fp_a, "ca", &["--allow-drill"]));
    let gen3 = d.join("ca/.ceremonyd/current/publish");
    assert_eq!(
        std::fs::read(gen3.join("crl.der")).unwrap(),
        std::fs::read(a3.join("root_ca.crl")).unwrap(),
        "the emergency CRL is what /crl serves"
    );
    let inters = std::fs::read_to_string(gen3.join("intermediates.pem")).unwrap();
    assert_eq!(
        inters.matches("BEGIN CERTIFICATE").count(),
        1,
        "revoked intermediates are not served"
    );
    assert_eq!(
        std::fs::read(d.join("ca/certs/root_ca.crt")).unwrap(),
        std::fs::read(a1.join("root_ca.crt")).unwrap(),
        "the root stays"
    );
    let after_a3 = view(&d.join("ca"));

    root_rotation(d, &a3, &fp_a);

    // Rollback, generation by generation, down to the plain Phase 1 folder.
    let rollback = || {
        ceremonyd()
            .args(["rollback", "--ca-dir"])
            .arg(d.join("ca"))
            .arg("--trust-dir")
            .arg(d.join("trust"))
            .args(["--owner", OWNER])
            .output()
            .unwrap()
    };
    for expected in [&after_a3, &after_a2, &after_a1, &plain] {
        let out = rollback();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(&view(&d.join("ca")), expected);
    }
    let before = (tree(&d.join("ca")), tree(&d.join("trust")));
    refused(&rollback(), "has no previous generation");
    assert_eq!(before, (tree(&d.join("ca")), tree(&d.join("trust"))));
}

/// After the first import: ca.json keeps everything but what the bundle decides, certs/
/// is the bundle's, owners and modes as configured, generation 0 is the plain folder.
fn check_first_cutover(d: &Path, bundle: &Path) {
    let ca = d.join("ca");
    let manifest = json(&bundle.join("bundle.json"));
    let key = |name: &str| {
        manifest["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .unwrap()
            .clone()
    };
    let new = json(&ca.join("config/ca.json"));
    let old: serde_json::Value = serde_json::from_str(&phase1_ca_json()).unwrap();
    assert_eq!(
        new["authority"]["provisioners"],
        provisioners(),
        "all six provisioners unchanged"
    );
    for member in [
        "address",
        "dnsNames",
        "db",
        "tls",
        "templates",
        "logger",
        "federatedRoots",
        "insecureAddress",
        "commonName",
        "x-ccat-note",
    ] {
        assert_eq!(new[member], old[member], "{member}");
    }
    assert_eq!(new["authority"]["backdate"], old["authority"]["backdate"]);
    assert_eq!(new["key"], key("intermediate")["uri"]);
    assert_eq!(new["ssh"]["userKey"], key("ssh-user")["uri"]);
    assert_eq!(new["ssh"]["hostKey"], key("ssh-host")["uri"]);
    assert_eq!(new["kms"]["type"], "pkcs11");
    let serial = key("intermediate")["serial"].as_str().unwrap().to_owned();
    assert_eq!(
        new["kms"]["uri"],
        format!(
            "pkcs11:module-path=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so;serial={serial}?pin-source=/run/secrets/hsm-pin"
        )
    );
    assert_eq!(new["root"], "/home/step/certs/root_ca.crt");
    assert_eq!(new["crt"], "/home/step/certs/intermediate_ca.crt");
    // Claims are untouched: no provisioner may sign more than before (issue 13).
    assert_eq!(
        new["authority"].get("claims"),
        old["authority"].get("claims")
    );
    assert_eq!(new["authority"]["enableAdmin"], false);
    let old_keys: Vec<&String> = old.as_object().unwrap().keys().collect();
    let new_keys: Vec<&String> = new.as_object().unwrap().keys().collect();
    assert_eq!(
        new_keys[..old_keys.len()],
        old_keys[..],
        "member order kept"
    );
    assert_eq!(new_keys[old_keys.len()..], ["kms"]);
    assert!(
        std::fs::read_to_string(ca.join("config/ca.json"))
            .unwrap()
            .contains("\n\t\"root\""),
        "tabs kept"
    );
    let defaults = json(&ca.join("config/defaults.json"));
    assert_eq!(defaults["fingerprint"], root_fingerprint(bundle));
    assert_eq!(defaults["ca-url"], "https://ca.ccat.uni-koeln.de:9000");

    for (ours, theirs) in [
        ("root_ca.crt", "root_ca.crt"),
        ("intermediate_ca.crt", "intermediate_ca.crt"),
        ("ssh_user_ca_key.pub", "ssh_user_ca.pub"),
        ("ssh_host_ca_key.pub", "ssh_host_ca.pub"),
    ] {
        assert_eq!(
            std::fs::read(ca.join("certs").join(ours)).unwrap(),
            std::fs::read(bundle.join(theirs)).unwrap(),
            "{ours}"
        );
    }
    owners_and_modes(&ca);
    let gen0 = ca.join(".ceremonyd/generations/0000");
    for rel in [
        "certs/root_ca.crt",
        "config/ca.json",
        "config/defaults.json",
    ] {
        let kept = std::fs::read(gen0.join(rel)).unwrap();
        assert_eq!(
            kept,
            std::fs::read(ca.join(".ceremonyd/pre-ceremonyd").join(rel)).unwrap(),
            "{rel}"
        );
    }
    let trust = d.join("trust");
    assert_eq!(
        std::fs::read(trust.join("root_ca.crt")).unwrap(),
        std::fs::read(bundle.join("root_ca.crt")).unwrap()
    );
    let roots = std::fs::read_to_string(trust.join("roots.pem")).unwrap();
    assert_eq!(
        roots.matches("BEGIN CERTIFICATE").count(),
        2,
        "the Phase 1 root stays for the overlap"
    );
    let host = std::fs::read_to_string(bundle.join("ssh_host_ca.pub")).unwrap();
    assert_eq!(
        std::fs::read_to_string(trust.join("known_hosts")).unwrap(),
        format!("@cert-authority *.ccat.uni-koeln.de {}\n", host.trim())
    );
    assert_eq!(
        std::fs::read(trust.join("ssh_user_ca.pub")).unwrap(),
        std::fs::read(bundle.join("ssh_user_ca.pub")).unwrap()
    );
}

fn owners_and_modes(ca: &Path) {
    let gen1 = ca.join(".ceremonyd/generations/0001");
    let meta = |p: &Path| p.symlink_metadata().unwrap();
    for entry in paths(&gen1) {
        let m = meta(&gen1.join(&entry));
        assert_eq!((m.uid(), m.gid()), (4242, 4242), "{}", entry.display());
    }
    for link in ["certs", "config"] {
        let m = meta(&ca.join(link));
        assert!(m.file_type().is_symlink());
        assert_eq!((m.uid(), m.gid()), (4242, 4242));
        assert_eq!(
            std::fs::read_link(ca.join(link)).unwrap(),
            Path::new(".ceremonyd/current").join(link)
        );
    }
    let mode = |rel: &str| meta(&gen1.join(rel)).mode() & 0o7777;
    assert_eq!(mode("config/ca.json"), 0o600);
    assert_eq!(mode("config"), 0o750);
    assert_eq!(mode("certs"), 0o755);
    for f in [
        "root_ca.crt",
        "intermediate_ca.crt",
        "ssh_user_ca_key.pub",
        "ssh_host_ca_key.pub",
    ] {
        assert_eq!(mode(&format!("certs/{f}")), 0o644, "{f}");
    }
    assert_eq!(
        std::fs::read_link(ca.join(".ceremonyd/current")).unwrap(),
        Path::new("generations/0001")
    );
}

/// Every refusal leaves the CA folder and the trust folder exactly as they were.
fn refusals(d: &Path, fp_a: &str, a2: &Path) {
    let a1 = d.join("a1");
    let other = d.join("other");
    let fp_other = rehearse("root-ceremony.toml", &other, None);
    let tampered = d.join("tampered");
    copy_tree(&a1, &tampered);
    let mut bytes = std::fs::read(tampered.join("intermediate_ca.crt")).unwrap();
    bytes[100] ^= 1;
    std::fs::write(tampered.join("intermediate_ca.crt"), bytes).unwrap();
    let drill = ["--allow-drill"];
    let cases: Vec<(&Path, &str, &[&str], &str)> = vec![
        (&tampered, fp_a, &drill, "SHA-256 does not match"),
        (&a1, &fp_other, &drill, "not the expected"),
        (&other, fp_a, &drill, "not the expected"),
        (&other, &fp_other, &[], "DRILL bundle"),
    ];
    let before = (tree(&d.join("ca")), tree(&d.join("trust")));
    for (bundle, fp, extra, why) in cases {
        refused(&import(d, bundle, fp, "ca", extra), why);
        assert_eq!(
            before,
            (tree(&d.join("ca")), tree(&d.join("trust"))),
            "{why}"
        );
    }
    // An intermediate rotation must carry the installed root: install `other`'s root
    // elsewhere, then offer it chain A's rotation.
    phase1_ca_dir(&d.join("ca2"), &d.join("phase1"));
    imported(&import(d, &other, &fp_other, "ca2", &drill));
    let before2 = (tree(&d.join("ca2")), tree(&d.join("trust")));
    refused(
        &import(d, a2, fp_a, "ca2", &drill),
        "an intermediate rotation or CRL renewal keeps the root",
    );
    assert_eq!(before2, (tree(&d.join("ca2")), tree(&d.join("trust"))));
    // The trust folder's files are never written through a link.
    let trust = d.join("trust");
    let real = std::fs::read(trust.join("roots.pem")).unwrap();
    std::fs::rename(trust.join("roots.pem"), d.join("roots.pem.real")).unwrap();
    std::os::unix::fs::symlink(d.join("roots.pem.real"), trust.join("roots.pem")).unwrap();
    let before = (tree(&d.join("ca")), tree(&trust));
    refused(&import(d, a2, fp_a, "ca", &drill), "is a symlink");
    assert_eq!(before, (tree(&d.join("ca")), tree(&trust)));
    std::fs::remove_file(trust.join("roots.pem")).unwrap();
    std::fs::write(trust.join("roots.pem"), real).unwrap();
    std::fs::set_permissions(
        trust.join("roots.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    std::os::unix::fs::chown(trust.join("roots.pem"), Some(4242), Some(4242)).unwrap();
    // A folder without step-ca's ca.json.
    std::fs::create_dir(d.join("empty")).unwrap();
    refused(
        &import(d, &a1, fp_a, "empty", &drill),
        "has no config/ca.json",
    );
    assert!(std::fs::read_dir(d.join("empty")).unwrap().next().is_none());
}

/// A root rotation: accepted only under the new fingerprint; the old root stays trusted.
fn root_rotation(d: &Path, a2: &Path, fp_a: &str) {
    let a4 = d.join("a4");
    let fp_new = rehearse(
        "root-rotation.toml",
        &a4,
        Some((&d.join("tokens"), Some(a2))),
    );
    assert_ne!(fp_new, fp_a);
    let before = (tree(&d.join("ca")), tree(&d.join("trust")));
    refused(
        &import(d, &a4, fp_a, "ca", &["--allow-drill"]),
        "not the expected",
    );
    assert_eq!(before, (tree(&d.join("ca")), tree(&d.join("trust"))));
    let out = import(d, &a4, &fp_new, "ca", &["--allow-drill"]);
    imported(&out);
    assert!(text(&out).contains("NEW root"), "{}", text(&out));
    let info = json(&d.join("ca/.ceremonyd/current/generation.json"));
    let roots = info["roots"].as_array().unwrap();
    assert_eq!(roots[0]["sha256"], fp_new.as_str());
    assert_eq!(roots[0]["overlap_until"], serde_json::Value::Null);
    assert_eq!(roots[1]["sha256"], fp_a);
    let until = time::OffsetDateTime::parse(
        roots[1]["overlap_until"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (until - time::OffsetDateTime::now_utc()).whole_hours();
    assert!(
        (29 * 24..=30 * 24).contains(&days),
        "30 days of overlap, got {days} hours"
    );
    let squash = |s: String| s.split_whitespace().collect::<String>();
    let served = squash(std::fs::read_to_string(d.join("trust/roots.pem")).unwrap());
    let new_root = squash(std::fs::read_to_string(a4.join("root_ca.crt")).unwrap());
    assert!(served.starts_with(&new_root), "the new root comes first");
    assert_eq!(
        served.matches("BEGINCERTIFICATE").count(),
        3,
        "new, previous, Phase 1"
    );
}

#[test]
fn a_crl_renewal_changes_only_the_served_crl() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    rehearse("root-ceremony.toml", &d.join("phase1"), None);
    let fp = rehearse(
        "root-ceremony.toml",
        &d.join("a1"),
        Some((&d.join("tokens"), None)),
    );
    let (a1, a2) = (d.join("a1"), d.join("a2"));
    rehearse(
        "crl-renewal.toml",
        &a2,
        Some((&d.join("tokens"), Some(&a1))),
    );
    phase1_ca_dir(&d.join("ca"), &d.join("phase1"));
    imported(&import(d, &a1, &fp, "ca", &["--allow-drill"]));
    let (step_ca_view, trust) = (view(&d.join("ca")), tree(&d.join("trust")));

    imported(&import(d, &a2, &fp, "ca", &["--allow-drill"]));
    assert_eq!(
        view(&d.join("ca")),
        step_ca_view,
        "certificates and ca.json stay as they were"
    );
    assert_eq!(tree(&d.join("trust")), trust, "the trust files stay too");
    let publish = d.join("ca/.ceremonyd/current/publish");
    assert_eq!(
        std::fs::read(publish.join("crl.der")).unwrap(),
        std::fs::read(a2.join("root_ca.crl")).unwrap(),
        "the renewed CRL is what /crl serves"
    );
    assert_ne!(
        std::fs::read(a1.join("root_ca.crl")).unwrap(),
        std::fs::read(a2.join("root_ca.crl")).unwrap()
    );
    // The older CRL cannot come back.
    refused(
        &import(d, &a1, &fp, "ca", &["--allow-drill"]),
        "CRL number 1 is not above",
    );

    // After a planned rotation, the renewal (made before it) would put the old
    // intermediate back: refused, nothing changed.
    let a3 = d.join("a3");
    rehearse(
        "intermediate-rotation.toml",
        &a3,
        Some((&d.join("tokens"), Some(&a2))),
    );
    imported(&import(d, &a3, &fp, "ca", &["--allow-drill"]));
    let before = (tree(&d.join("ca")), tree(&d.join("trust")));
    refused(
        &import(d, &a2, &fp, "ca", &["--allow-drill"]),
        "intermediate_ca.crt differ from the installed ones",
    );
    assert_eq!(before, (tree(&d.join("ca")), tree(&d.join("trust"))));
}
