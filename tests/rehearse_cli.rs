//! The unattended drill through the real binary, checked with independent tools.

mod common;
use common::*;

#[test]
fn rehearsed_root_ceremony_passes_every_independent_check() {
    for tool in ["openssl", "sha256sum", "ssh-keygen", "lint_pkix_cert"] {
        require(tool);
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let result = rehearse_root(&out);
    let printed = stdout(&result);
    assert!(printed.contains("DRILL of"), "{printed}");
    assert!(printed.contains("total"), "{printed}");

    // ceremony verify
    let verified = run(ceremony().arg("verify").arg(&out));
    assert!(verified.status.success(), "{}", all_output(&verified));
    assert!(stdout(&verified).contains("(DRILL)"));

    // sha256sum -c
    let sums = run(std::process::Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&out));
    assert!(sums.status.success(), "{}", all_output(&sums));

    // openssl verify -x509_strict
    common::checks::openssl_verifies_chain(&out);

    // the CRL verifies under the root
    let crl = run(std::process::Command::new("openssl")
        .args([
            "crl",
            "-inform",
            "DER",
            "-in",
            "root_ca.crl",
            "-CAfile",
            "root_ca.crt",
            "-noout",
        ])
        .current_dir(&out));
    assert!(
        all_output(&crl).contains("verify OK"),
        "{}",
        all_output(&crl)
    );

    // FINGERPRINT.txt's first line is the SHA-256 of the root DER, as step prints it
    let der = run(std::process::Command::new("openssl")
        .args(["x509", "-in", "root_ca.crt", "-outform", "DER"])
        .current_dir(&out));
    let fp = sha256_hex(&der.stdout);
    let text = std::fs::read_to_string(out.join("FINGERPRINT.txt")).unwrap();
    assert_eq!(text.lines().next().unwrap(), fp);
    assert!(text.contains("DRILL"));

    // ssh-keygen agrees with our SSH fingerprints
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    for ssh in manifest["ssh"].as_array().unwrap() {
        let file = ssh["file"].as_str().unwrap();
        let listed = run(std::process::Command::new("ssh-keygen")
            .args(["-lf", file])
            .current_dir(&out));
        assert!(listed.status.success(), "{}", all_output(&listed));
        let ours = ssh["fingerprint"].as_str().unwrap();
        assert!(
            stdout(&listed).contains(ours),
            "ssh-keygen: {} ours: {ours}",
            stdout(&listed)
        );
        assert!(
            stdout(&listed).starts_with("384 SHA256:"),
            "{}",
            stdout(&listed)
        );
    }
    assert_eq!(manifest["drill"], true);

    // The drill report lists every step up to the export, with no retries.
    let report = std::fs::read_to_string(out.join("drill-report.txt")).unwrap();
    let transcript = std::fs::read_to_string(out.join("transcript.jsonl")).unwrap();
    let steps = transcript
        .lines()
        .filter(|l| l.contains("\"type\":\"step\""))
        .count();
    assert!(
        report.contains(&format!(
            "total ({steps} steps up to the export, 0 resumption(s))"
        )),
        "{report}"
    );
    assert!(report.contains("        0  generate-root-key"), "{report}");
    assert!(printed.contains("DRILL REPORT"), "{printed}");

    // pkilint: no ERROR or FATAL findings on either certificate
    for cert in ["root_ca.crt", "intermediate_ca.crt"] {
        let lint = run(std::process::Command::new("lint_pkix_cert")
            .args(["lint", cert])
            .current_dir(&out));
        let report = all_output(&lint);
        assert!(
            !report.contains("ERROR") && !report.contains("FATAL"),
            "pkilint on {cert}:\n{report}"
        );
    }
}

#[test]
fn rehearse_refuses_a_non_empty_output_folder_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), b"precious").unwrap();
    let result = run(ceremony()
        .args(["rehearse", ROOT_CEREMONY, "--out"])
        .arg(tmp.path()));
    assert!(!result.status.success());
    assert!(
        all_output(&result).contains("is not empty"),
        "{}",
        all_output(&result)
    );
    let tree = read_tree(tmp.path());
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].1, b"precious");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn lint_accepts_the_shipped_checklists_and_names_every_problem_of_a_bad_one() {
    let shipped: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/checklists"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(!shipped.is_empty());
    let ok = run(ceremony().arg("lint").args(&shipped));
    assert!(ok.status.success(), "{}", all_output(&ok));

    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(ROOT_CEREMONY)
        .unwrap()
        .replace(
            "label = \"ccat-root-key\"",
            "label = \"ccat-root-key-with-a-label-far-too-long\"",
        )
        .replace("validity_days = 3650", "validity_days = 20000");
    std::fs::write(&bad, text).unwrap();
    let failed = run(ceremony().arg("lint").arg(&bad));
    assert_eq!(failed.status.code(), Some(1));
    let printed = stdout(&failed);
    assert!(
        printed.contains("keys[0].label: 39 bytes; token labels hold at most 32"),
        "{printed}"
    );
    assert!(
        printed.contains("certificates.intermediate.validity_days"),
        "{printed}"
    );
}

#[test]
fn rehearse_refuses_a_module_that_is_not_softhsm() {
    require("pkcs11-tool"); // from opensc, whose module is the production one
    let opensc = ceremony::hsm::opensc_module().expect("OpenSC's PKCS#11 module (build/deps)");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let result = run(ceremony()
        .args(["rehearse", ROOT_CEREMONY, "--out"])
        .arg(&out)
        .arg("--module")
        .arg(&opensc));
    assert!(!result.status.success());
    let text = all_output(&result);
    assert!(
        text.contains("not SoftHSM") && text.contains("never touches real tokens"),
        "{text}"
    );
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn verify_refuses_a_resealed_sums_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    rehearse_root(&out);
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let first = sums.lines().next().unwrap().to_string();
    // Each of these keeps every listed hash right but changes the seal.
    let variants = [
        ("CRLF line endings", sums.replace('\n', "\r\n")),
        ("no final newline", sums.trim_end_matches('\n').to_string()),
        ("a duplicated line", format!("{first}\n{sums}")),
    ];
    for (what, text) in variants {
        std::fs::write(out.join("SHA256SUMS"), &text).unwrap();
        let result = run(ceremony().arg("verify").arg(&out));
        assert!(!result.status.success(), "{what} was accepted");
        assert!(
            stdout(&result).contains("SHA256SUMS"),
            "{what}: {}",
            stdout(&result)
        );
    }
    std::fs::write(out.join("SHA256SUMS"), &sums).unwrap();
    let result = run(ceremony().arg("verify").arg(&out));
    assert!(result.status.success(), "{}", all_output(&result));
}

#[test]
fn verify_checks_the_seal_from_the_paper_sheet() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    rehearse_root(&out);
    let seal = sha256_hex(&std::fs::read(out.join("SHA256SUMS")).unwrap());
    let ok = run(ceremony().arg("verify").arg(&out).args(["--seal", &seal]));
    assert!(ok.status.success(), "{}", all_output(&ok));
    // As people write it on paper: upper case, in groups.
    let grouped: Vec<String> = seal
        .to_uppercase()
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8(g.to_vec()).unwrap())
        .collect();
    let grouped = run(ceremony()
        .arg("verify")
        .arg(&out)
        .args(["--seal", &grouped.join(" ")]));
    assert!(grouped.status.success(), "{}", all_output(&grouped));
    let last = if seal.ends_with('0') { "1" } else { "0" };
    let wrong = format!("{}{last}", &seal[..63]);
    let bad = run(ceremony().arg("verify").arg(&out).args(["--seal", &wrong]));
    assert!(!bad.status.success());
    assert!(stdout(&bad).contains("not the"), "{}", stdout(&bad));
    let daemon = run(std::process::Command::new(env!("CARGO_BIN_EXE_ceremonyd"))
        .arg("verify")
        .arg(&out)
        .args(["--root-fingerprint", &root_of(&out), "--seal", &wrong]));
    assert!(!daemon.status.success(), "{}", all_output(&daemon));
}

fn root_of(bundle: &std::path::Path) -> String {
    std::fs::read_to_string(bundle.join("FINGERPRINT.txt"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn relative_paths_on_the_command_line_are_written_down_absolute() {
    let tmp = tempfile::tempdir().unwrap();
    let result = run(ceremony()
        .current_dir(tmp.path())
        .args(["rehearse", ROOT_CEREMONY])
        .args(["--keep-tokens", "T", "--work", "W", "--out", "O"]));
    assert!(result.status.success(), "{}", all_output(&result));
    let base = tmp.path().canonicalize().unwrap();
    let conf = std::fs::read_to_string(tmp.path().join("T/softhsm2.conf")).unwrap();
    assert!(
        conf.contains(&format!(
            "directories.tokendir = {}",
            base.join("T/tokens").display()
        )),
        "{conf}"
    );
    let transcript = std::fs::read_to_string(tmp.path().join("W/transcript.jsonl")).unwrap();
    let export = transcript
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["body"]["id"] == "export-bundle" && r["type"] == "step")
        .expect("an export step record");
    let dir = export["body"]["facts"]["dir"].as_str().unwrap();
    assert!(
        std::path::Path::new(dir).is_absolute() && dir.ends_with("/O"),
        "{dir}"
    );
    // And the kept tokens work from another folder, by an absolute path.
    let again = run(ceremony()
        .args(["rehearse", ROOT_CEREMONY, "--tokens"])
        .arg(tmp.path().join("T"))
        .arg("--out")
        .arg(tmp.path().join("O2")));
    assert!(again.status.success(), "{}", all_output(&again));
}
