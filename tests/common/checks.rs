//! Independent checks of a bundle's outputs shared by the tests: ssh-keygen signing with
//! the token's SSH CA key, and pkilint on certificates.

use super::*;

/// `ssh-keygen -s ssh_user_ca.pub -D <module>` finds the token key matching our public key
/// line and signs a user key with it; the PIN comes through SSH_ASKPASS from a FIFO, so it
/// is never stored in a file.
pub fn ssh_keygen_signs_with_the_token(module: &Path, bundle: &Path, pin: &str, tmp: &Path) {
    require("ssh-keygen");
    let user = tmp.join("id_user");
    let made = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&user));
    assert!(made.status.success(), "{}", all_output(&made));
    let fifo = tmp.join("pin.fifo");
    let askpass = tmp.join("askpass.sh");
    std::fs::write(&askpass, format!("#!/bin/sh\ncat '{}'\n", fifo.display())).unwrap();
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let pin = pin.to_string();
    let writer = std::thread::spawn(move || std::fs::write(fifo, format!("{pin}\n")).unwrap());
    let signed = run(Command::new("ssh-keygen")
        .arg("-s")
        .arg(bundle.join("ssh_user_ca.pub"))
        .arg("-D")
        .arg(module)
        .args(["-I", "drill-user", "-n", "alice", "-V", "+1h"])
        .arg(user.with_extension("pub"))
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(std::process::Stdio::null()));
    writer.join().unwrap();
    assert!(
        signed.status.success(),
        "ssh-keygen -s -D failed:\n{}",
        all_output(&signed)
    );
    let cert = tmp.join("id_user-cert.pub");
    let shown = run(Command::new("ssh-keygen").arg("-Lf").arg(&cert));
    let text = stdout(&shown);
    let ca_fp = run(Command::new("ssh-keygen")
        .arg("-lf")
        .arg(bundle.join("ssh_user_ca.pub")));
    let ca_fp = stdout(&ca_fp)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("Signing CA: ECDSA {ca_fp}")),
        "{text}"
    );
    assert!(text.contains("alice"), "{text}");
}

/// pkilint's ERROR and FATAL findings for a PEM or DER certificate in `dir`.
pub fn pkilint_findings(dir: &Path, file: &str) -> (usize, String) {
    require("lint_pkix_cert");
    let o = run(Command::new("lint_pkix_cert")
        .args(["lint", "-s", "ERROR", "-f", "JSON", file])
        .current_dir(dir));
    let out = all_output(&o);
    let findings: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("lint_pkix_cert output is not JSON ({e}): {out}"));
    (count_findings(&findings), out)
}

pub fn count_findings(v: &serde_json::Value) -> usize {
    v["results"]
        .as_array()
        .expect("pkilint JSON has a results array")
        .iter()
        .map(|r| r["finding_descriptions"].as_array().map_or(0, Vec::len))
        .sum()
}

/// `openssl verify -x509_strict` of the bundle's intermediate under its root.
pub fn openssl_verifies_chain(bundle: &Path) {
    require("openssl");
    let chain = run(Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-CAfile",
            "root_ca.crt",
            "intermediate_ca.crt",
        ])
        .current_dir(bundle));
    assert!(chain.status.success(), "{}", all_output(&chain));
    assert_eq!(stdout(&chain).trim(), "intermediate_ca.crt: OK");
}

/// The serial of the token with `role` in a bundle's `bundle.json`.
pub fn token_serial(manifest: &serde_json::Value, role: &str) -> String {
    manifest["tokens"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["role"] == role))
        .and_then(|t| t["serial"].as_str())
        .unwrap_or_else(|| panic!("no {role} token in {manifest}"))
        .to_string()
}
