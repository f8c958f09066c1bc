//! step-ca itself on what `ceremonyd import` installs: a real step-ca 0.19 built from
//! Debian 12's sources (`build/step-ca`), started on a CA folder shaped like the seed's
//! Phase 1 installation (six provisioners with their claims, an OIDC one whose discovery
//! document a loopback stub serves), with the PKCS#11 KMS on the drill's SoftHSM
//! intermediate token. Checked with step-ca's own decisions and with openssl and
//! ssh-keygen: the served root, X.509 leaves, SSH user and host certificates, SSH rights
//! that do not widen, rollback, the PIN file errors, and the rotation chain.

mod stepca_support;
#[path = "daemon_support.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};
use stepca_support::world::World;
use stepca_support::{StepCa, text};
use support::require;

fn tools_present() {
    for tool in ["openssl", "ssh-keygen", "curl"] {
        require(tool);
    }
}

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed:\n{}", text(out));
    text(out)
}

fn started(w: &World) -> StepCa {
    w.start()
        .unwrap_or_else(|log| panic!("step-ca did not start:\n{log}"))
}

/// PEM without line breaks, so that two encodings of one DER compare equal.
fn pem_body(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).split_whitespace().collect()
}

/// `openssl verify -x509_strict` of the first certificate in `leaf` with exactly this
/// root and intermediate.
fn verify(root: &Path, intermediate: &Path, leaf: &Path) -> Output {
    Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(intermediate)
        .arg(leaf)
        .output()
        .unwrap()
}

fn verifies(bundle: &Path, leaf: &Path) {
    let out = verify(
        &bundle.join("root_ca.crt"),
        &bundle.join("intermediate_ca.crt"),
        leaf,
    );
    assert!(
        out.status.success() && text(&out).contains(": OK"),
        "{} does not chain to {}:\n{}",
        leaf.display(),
        bundle.display(),
        text(&out)
    );
}

/// `SHA256:...` of an OpenSSH public key file.
fn ssh_fingerprint(pub_file: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pub_file)
        .output()
        .unwrap();
    let line = ok(&out, "ssh-keygen -lf");
    line.split_whitespace().nth(1).unwrap().to_owned()
}

/// `ssh-keygen -L` of a certificate (it checks the CA's signature while parsing): its
/// type line and the fingerprint of the CA key that signed it.
fn ssh_cert(cert: &Path) -> (String, String) {
    let out = Command::new("ssh-keygen")
        .arg("-L")
        .arg("-f")
        .arg(cert)
        .output()
        .unwrap();
    let listing = ok(&out, "ssh-keygen -L");
    let field = |name: &str| {
        listing
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{listing}"))
            .trim()
            .to_owned()
    };
    let signer = field("Signing CA:");
    let fp = signer.split_whitespace().nth(1).unwrap().to_owned();
    (field("Type:"), fp)
}

/// An SSH certificate of `kind` through `provisioner`, signed by the SSH CA key in
/// `ca_key` (the bundle's `ssh_<kind>_ca.pub`).
fn ssh_signed(w: &World, ca: &StepCa, ca_key: &Path, provisioner: &str, kind: &str, who: &str) {
    let cert = w
        .ssh(ca, provisioner, kind, who)
        .unwrap_or_else(|e| panic!("{provisioner} {kind} certificate:\n{e}\n{}", ca.log_text()));
    let (type_line, signer) = ssh_cert(&cert);
    assert!(
        type_line.ends_with(&format!("{kind} certificate")),
        "{type_line}"
    );
    assert_eq!(signer, ssh_fingerprint(ca_key), "{kind} certificate signer");
}

/// step-ca refuses an SSH certificate through `provisioner`, and says why in its log.
fn ssh_refused(w: &World, ca: &StepCa, provisioner: &str, kind: &str) {
    let err = w
        .ssh(ca, provisioner, kind, "anyone")
        .expect_err("step-ca signed");
    assert!(err.contains("answered 401"), "{err}");
    let why = format!("sshCA is disabled for jwk provisioner '{provisioner}'");
    let log = ca.log_text();
    assert!(log.contains(&why), "{why:?} not in step-ca's log:\n{log}");
}

/// The bundle's SSH CA public key file for `kind` (`user` or `host`).
fn ssh_key(bundle: &Path, kind: &str) -> std::path::PathBuf {
    bundle.join(format!("ssh_{kind}_ca.pub"))
}

fn root_fingerprint_line(fp: &str) -> String {
    format!("X.509 Root Fingerprint: {fp}")
}

fn phase1_fingerprint(w: &World) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(w.ca.join(".ceremonyd/generations/0000/certs/root_ca.crt"))
        .output()
        .unwrap();
    let line = ok(&out, "openssl x509 -fingerprint");
    line.trim()
        .rsplit('=')
        .next()
        .unwrap()
        .replace(':', "")
        .to_lowercase()
}

#[test]
fn cutover_issues_from_the_bundle_keeps_ssh_rights_and_rolls_back() {
    tools_present();
    let w = World::new();
    let phase1_root = std::fs::read(w.ca.join("certs/root_ca.crt")).unwrap();

    // Phase 1, as step-ca runs it: file keys; prod-services may not sign SSH.
    let ca = started(&w);
    assert_eq!(
        pem_body(&ca.get("/roots.pem").unwrap()),
        pem_body(&phase1_root)
    );
    ssh_refused(&w, &ca, "prod-services", "host");
    drop(ca);
    assert!(
        w.oidc.hits.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "discovery + keys"
    );

    let (b1, fp) = w.rehearse("root-ceremony.toml", "b1", None);
    let imported = ok(&w.import(&b1, &fp, &[]), "import");
    println!("{imported}");
    for row in [
        "CCAT-GitHub       OIDC    yes -> yes       yes -> yes       admins -> admins",
        "prod-services     JWK     yes -> yes       no -> no         no -> no",
        "staging-services  JWK     yes -> yes       no -> no         no -> no",
        "service-accounts  JWK     yes -> yes       yes -> yes       yes -> yes",
        "acme              ACME    yes -> yes       no -> no         no -> no",
        "sshpop            SSHPOP  no -> no         no -> no         renew -> renew",
    ] {
        assert!(imported.contains(row), "{row:?} not in:\n{imported}");
    }

    let ca = started(&w);
    let log = ca.log_text();
    assert!(log.contains(&root_fingerprint_line(&fp)), "{log}");
    assert!(
        log.contains(&format!("Serving HTTPS on 127.0.0.1:{} ...", w.port)),
        "{log}"
    );
    let served = ca.get("/roots.pem").unwrap();
    assert_eq!(
        pem_body(&served),
        pem_body(&std::fs::read(b1.join("root_ca.crt")).unwrap())
    );
    let leaf = w
        .x509(&ca, "prod-services", "svc.ccat.uni-koeln.de")
        .unwrap();
    verifies(&b1, &leaf);
    ssh_signed(
        &w,
        &ca,
        &ssh_key(&b1, "user"),
        "service-accounts",
        "user",
        "alice",
    );
    ssh_signed(
        &w,
        &ca,
        &ssh_key(&b1, "host"),
        "service-accounts",
        "host",
        "build.ccat.uni-koeln.de",
    );
    // The defect of issue 13: after the import prod-services still may not sign SSH.
    ssh_refused(&w, &ca, "prod-services", "host");
    ssh_refused(&w, &ca, "staging-services", "user");
    drop(ca);

    // Rollback: step-ca serves Phase 1 again, from its key files.
    ok(&w.rollback(), "rollback");
    let ca = started(&w);
    assert!(
        ca.log_text()
            .contains(&root_fingerprint_line(&phase1_fingerprint(&w)))
    );
    assert_eq!(
        pem_body(&ca.get("/roots.pem").unwrap()),
        pem_body(&phase1_root)
    );
    let leaf = w
        .x509(&ca, "prod-services", "back.ccat.uni-koeln.de")
        .unwrap();
    verifies(&w.ca.join("certs"), &leaf);
    drop(ca);

    // Widening only when named, and then step-ca really signs.
    let out = w.import(&b1, &fp, &["--widen-ssh", "acme"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--widen-ssh acme: widens nothing (ACME provisioner"),
        "{}",
        text(&out)
    );
    let widened = ok(
        &w.import(&b1, &fp, &["--widen-ssh", "prod-services"]),
        "import --widen-ssh",
    );
    assert!(
        widened.contains(
            "prod-services     JWK     yes -> yes       no -> yes        no -> yes  WIDER"
        ),
        "{widened}"
    );
    let ca = started(&w);
    ssh_signed(
        &w,
        &ca,
        &ssh_key(&b1, "host"),
        "prod-services",
        "host",
        "web.ccat.uni-koeln.de",
    );
    ssh_refused(&w, &ca, "staging-services", "host");
}

/// The intermediate token's serial from a bundle's bundle.json.
fn intermediate_serial(bundle: &Path) -> String {
    let manifest = support::json(&bundle.join("bundle.json"));
    let key = manifest["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "intermediate")
        .unwrap()
        .clone();
    key["serial"].as_str().unwrap().to_owned()
}

#[test]
fn pin_file_problems_stop_step_ca_and_check_hsm_names_the_file() {
    tools_present();
    let w = World::new();
    let (b1, fp) = w.rehearse("root-ceremony.toml", "b1", None);
    ok(&w.import(&b1, &fp, &[]), "import");
    let serial = intermediate_serial(&b1);
    let pin_file = w.secret("hsm-pin");
    let named = pin_file.display().to_string();
    let report = ok(&w.check_hsm(&serial, &pin_file), "check-hsm");
    assert!(
        report.contains(&format!(
            "pin-source:  step-ca reads its PIN from {named}, the file checked here"
        )),
        "{report}"
    );

    // A wrong PIN: step-ca stops at C_Login; check-hsm names the file.
    w.write_secret("hsm-pin", "000000");
    let log = w.start().err().expect("step-ca started with a wrong PIN");
    assert!(log.contains("CKR_PIN_INCORRECT"), "{log}");
    let out = w.check_hsm(&serial, &pin_file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "PIN file {named}: the token refuses the PIN in this file"
        )),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("000000"), "the PIN is never printed");

    // No PIN file: step-ca says only that the pin is empty; check-hsm names the file.
    std::fs::remove_file(&pin_file).unwrap();
    let log = w
        .start()
        .err()
        .expect("step-ca started without its PIN file");
    assert!(log.contains("kms 'pin' cannot be empty"), "{log}");
    let out = w.check_hsm(&serial, &pin_file);
    assert!(
        text(&out).contains(&format!("PIN file {named}: cannot open")),
        "{}",
        text(&out)
    );

    // The right PIN back: step-ca starts.
    w.write_secret("hsm-pin", ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN);
    let ca = started(&w);
    assert!(ca.log_text().contains(&root_fingerprint_line(&fp)));
}

/// One import of the chain: step-ca starts on it, serves its root and issues a leaf from
/// its intermediate. Returns the leaf.
fn install_and_issue(w: &World, bundle: &Path, fp: &str, subject: &str) -> std::path::PathBuf {
    ok(&w.import(bundle, fp, &[]), "import");
    let ca = started(w);
    assert!(
        ca.log_text().contains(&root_fingerprint_line(fp)),
        "{}",
        ca.log_text()
    );
    let served = pem_body(&ca.get("/roots.pem").unwrap());
    assert_eq!(
        served,
        pem_body(&std::fs::read(bundle.join("root_ca.crt")).unwrap())
    );
    let leaf = w.x509(&ca, "prod-services", subject).unwrap();
    verifies(bundle, &leaf);
    leaf
}

/// `openssl verify -crl_check` of a certificate the root signed, with the root's CRL.
fn crl_verify(root: &Path, crl_pem: &Path, cert: &Path) -> Output {
    Command::new("openssl")
        .args(["verify", "-x509_strict", "-crl_check", "-CRLfile"])
        .arg(crl_pem)
        .arg("-CAfile")
        .arg(root)
        .arg(cert)
        .output()
        .unwrap()
}

#[test]
fn rotation_chain_step_ca_issues_from_each_new_intermediate() {
    tools_present();
    let w = World::new();
    let (b1, fp) = w.rehearse("root-ceremony.toml", "b1", None);
    install_and_issue(&w, &b1, &fp, "one.ccat.uni-koeln.de");
    let (b1crl, _) = w.rehearse("crl-renewal.toml", "b1-crl", Some(&b1));
    install_and_issue(&w, &b1crl, &fp, "renewed.ccat.uni-koeln.de");

    let (b2, _) = w.rehearse("intermediate-rotation.toml", "b2", Some(&b1crl));
    let leaf2 = install_and_issue(&w, &b2, &fp, "two.ccat.uni-koeln.de");
    let old = verify(
        &b1.join("root_ca.crt"),
        &b1.join("intermediate_ca.crt"),
        &leaf2,
    );
    assert!(!old.status.success(), "issued by the new intermediate only");

    let (b3, _) = w.rehearse("intermediate-rotation-emergency.toml", "b3", Some(&b2));
    let leaf3 = install_and_issue(&w, &b3, &fp, "three.ccat.uni-koeln.de");
    let crl_pem = w.dir.join("served-crl.pem");
    let der = w.dir.join("served-crl.der");
    std::fs::write(&der, w.served_crl()).unwrap();
    assert_eq!(
        std::fs::read(&der).unwrap(),
        std::fs::read(b3.join("root_ca.crl")).unwrap()
    );
    let conv = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-in"])
        .arg(&der)
        .arg("-out")
        .arg(&crl_pem)
        .output()
        .unwrap();
    ok(&conv, "openssl crl");
    // The chain of a leaf step-ca signed before the emergency: its intermediate is
    // revoked by the served CRL. (openssl's -crl_check on the leaf itself would look for a
    // CRL from the intermediate, which step-ca 0.19 does not make; the root's CRL covers
    // the intermediates.) The new intermediate, which signed leaf3, is not revoked.
    verifies(&b2, &leaf2);
    let root = b3.join("root_ca.crt");
    let revoked = crl_verify(&root, &crl_pem, &b2.join("intermediate_ca.crt"));
    assert!(
        !revoked.status.success() && text(&revoked).contains("certificate revoked"),
        "{}",
        text(&revoked)
    );
    let current = crl_verify(&root, &crl_pem, &b3.join("intermediate_ca.crt"));
    assert!(current.status.success(), "{}", text(&current));
    let old = verify(&root, &b2.join("intermediate_ca.crt"), &leaf3);
    assert!(
        !old.status.success(),
        "leaf3 is signed by the new intermediate"
    );

    let (b4, fp4) = w.rehearse("root-rotation.toml", "b4", Some(&b3));
    install_and_issue(&w, &b4, &fp4, "four.ccat.uni-koeln.de");
}

/// What the import used to write, seen by step-ca: a global `enableSSHCA: true` lets every
/// provisioner without its own claim sign SSH host certificates. The import now keeps
/// such a claim as it finds it (nothing widens, nothing narrows) and says so.
#[test]
fn a_global_ssh_claim_reaches_every_provisioner_in_step_ca() {
    tools_present();
    let w = World::new();
    let path = w.ca.join("config/ca.json");
    let mut doc = support::json(&path);
    doc["authority"]["claims"] = serde_json::json!({"enableSSHCA": true});
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let ca = started(&w);
    let phase1_key = w.ca.join("certs/ssh_host_ca_key.pub");
    ssh_signed(
        &w,
        &ca,
        &phase1_key,
        "prod-services",
        "host",
        "any.ccat.uni-koeln.de",
    );
    drop(ca);

    let (b1, fp) = w.rehearse("root-ceremony.toml", "b1", None);
    let imported = ok(&w.import(&b1, &fp, &[]), "import");
    assert!(
        imported.contains("prod-services     JWK     yes -> yes       yes -> yes       yes -> yes"),
        "{imported}"
    );
    assert!(
        imported.contains("note: authority.claims.enableSSHCA is true"),
        "{imported}"
    );
    let ca = started(&w);
    ssh_signed(
        &w,
        &ca,
        &ssh_key(&b1, "host"),
        "prod-services",
        "host",
        "any.ccat.uni-koeln.de",
    );
}
