//! The four ceremonies chained on the same throwaway tokens, as a team rehearses them:
//! commissioning, planned intermediate rotation, emergency rotation, root rotation. Each
//! bundle is verified by `ceremony verify` and by openssl: a leaf issued under the old
//! intermediate still chains after the planned rotation; the emergency CRL rejects the old
//! intermediate and accepts the new one; after the root rotation the new chain verifies
//! only against the new root. Last, a rotation whose root token holds another key than the
//! previous root certificate stops before anything is signed.
//!
//! One test in this binary: it points SOFTHSM2_CONF at the kept drill tokens.

mod common;
use ceremony::hsm::{Module, TokenKey, UserSession};
use ceremony::pki::{Curve, RemoteKey, SoftKey};
use common::*;
use std::path::Path;
use std::process::Command;

const CHECKLISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists");
/// Chained drills use the published SmartCard-HSM factory PINs.
const USER_PIN: &str = ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN;

fn rehearse(dir: &Path, checklist: &str, previous: Option<&str>, out: &str) {
    let mut cmd = ceremony();
    cmd.arg("rehearse")
        .arg(format!("{CHECKLISTS}/{checklist}"))
        .arg("--out")
        .arg(dir.join(out));
    match previous {
        None => cmd.arg("--keep-tokens").arg(dir.join("tokens")),
        Some(p) => cmd
            .arg("--tokens")
            .arg(dir.join("tokens"))
            .arg("--previous")
            .arg(dir.join(p)),
    };
    let result = run(&mut cmd);
    assert!(
        result.status.success(),
        "{checklist}:\n{}",
        all_output(&result)
    );
    let verified = run(ceremony().arg("verify").arg(dir.join(out)));
    assert!(
        verified.status.success(),
        "verify {out}:\n{}",
        all_output(&verified)
    );
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = run(Command::new("openssl").args(args).current_dir(dir));
    (out.status.success(), all_output(&out))
}

fn manifest(dir: &Path, bundle: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(bundle).join("bundle.json")).unwrap()).unwrap()
}

#[test]
fn four_ceremonies_chain_on_the_same_tokens() {
    require("openssl");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    rehearse(dir, "root-ceremony.toml", None, "b1");
    rehearse(dir, "intermediate-rotation.toml", Some("b1"), "b2");

    // Planned rotation: the root is byte-identical, a leaf of the old intermediate chains.
    assert_eq!(
        std::fs::read(dir.join("b1/root_ca.crt")).unwrap(),
        std::fs::read(dir.join("b2/root_ca.crt")).unwrap()
    );
    let conf = dir.join("tokens/softhsm2.conf");
    // SAFETY: the only test in this binary; no other thread reads the environment.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module_path = ceremony::drill::softhsm_module().expect("SoftHSM2 (build/deps)");
    issue_leaf_under(dir, &module_path, "b1", "leaf.pem");
    let (ok, text) = openssl(
        dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "b2/root_ca.crt",
            "-untrusted",
            "b1/intermediate_ca.crt",
            "leaf.pem",
        ],
    );
    assert!(
        ok,
        "a leaf of the old intermediate must still chain:\n{text}"
    );
    assert_ne!(
        manifest(dir, "b1")["certificates"],
        manifest(dir, "b2")["certificates"]
    );

    // Emergency rotation: the CRL revokes the old intermediate and not the new one.
    rehearse(
        dir,
        "intermediate-rotation-emergency.toml",
        Some("b2"),
        "b3",
    );
    let (ok, _) = openssl(
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "b3/root_ca.crl",
            "-out",
            "b3-crl.pem",
        ],
    );
    assert!(ok);
    let (ok, text) = openssl(
        dir,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "b3-crl.pem",
            "-CAfile",
            "b3/root_ca.crt",
            "b2/intermediate_ca.crt",
        ],
    );
    assert!(
        !ok && text.contains("certificate revoked"),
        "the old intermediate must be revoked:\n{text}"
    );
    let (ok, text) = openssl(
        dir,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "b3-crl.pem",
            "-CAfile",
            "b3/root_ca.crt",
            "b3/intermediate_ca.crt",
        ],
    );
    assert!(ok, "the new intermediate must pass the CRL check:\n{text}");
    let (_, text) = openssl(
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "b3/root_ca.crl",
            "-noout",
            "-text",
        ],
    );
    assert!(text.contains("Key Compromise"), "{text}");
    let (m1, m2, m3) = (
        manifest(dir, "b1"),
        manifest(dir, "b2"),
        manifest(dir, "b3"),
    );
    let named = |m: &serde_json::Value, name: &str| {
        m["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    // b2 records the intermediate it superseded, not revoked; b3 the one it revoked.
    assert_eq!(
        m2["superseded"][0]["sha256"],
        named(&m1, "intermediate")["sha256"]
    );
    assert_eq!(m2["superseded"][0]["revoked"], false);
    assert_eq!(
        m2["previous"]["root_fingerprint"],
        named(&m1, "root")["sha256"]
    );
    let revoked_serial = m2["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "intermediate")
        .unwrap()["serial"]
        .clone();
    assert_eq!(m3["crl"]["revoked"][0]["serial"], revoked_serial);
    assert_eq!(m3["crl"]["revoked"][0]["reason"], "key-compromise");
    // with_superseded: the first intermediate (superseded by b2, its key on the same
    // token) is revoked too.
    assert_eq!(
        m3["crl"]["revoked"][1]["serial"],
        named(&m1, "intermediate")["serial"]
    );
    let (ok, text) = openssl(
        dir,
        &[
            "verify",
            "-crl_check",
            "-CRLfile",
            "b3-crl.pem",
            "-CAfile",
            "b3/root_ca.crt",
            "b1/intermediate_ca.crt",
        ],
    );
    assert!(
        !ok && text.contains("certificate revoked"),
        "the first intermediate must be revoked too:\n{text}"
    );
    assert_eq!(m3["superseded"][0]["revoked"], true);
    // The superseded list reaches back: b1's intermediate (carried from b2's list) too.
    assert_eq!(
        m3["superseded"][1]["sha256"],
        named(&m1, "intermediate")["sha256"]
    );
    assert_eq!(m3["superseded"][1]["revoked"], true);

    // Root rotation: the new chain verifies only against the new root.
    rehearse(dir, "root-rotation.toml", Some("b3"), "b4");
    let (ok, text) = openssl(
        dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "b4/root_ca.crt",
            "b4/intermediate_ca.crt",
        ],
    );
    assert!(ok, "{text}");
    let (ok, _) = openssl(
        dir,
        &[
            "verify",
            "-CAfile",
            "b1/root_ca.crt",
            "b4/intermediate_ca.crt",
        ],
    );
    assert!(
        !ok,
        "the new intermediate must not verify against the old root"
    );
    assert_ne!(
        manifest(dir, "b4")["certificates"][1]["sha256"],
        manifest(dir, "b1")["certificates"][1]["sha256"]
    );
    let kinds: Vec<String> = ["b1", "b2", "b3", "b4"]
        .iter()
        .map(|b| manifest(dir, b)["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "root",
            "intermediate-rotation",
            "intermediate-rotation-emergency",
            "root-rotation"
        ]
    );

    a_crl_renewal_changes_only_the_crl(dir);
    a_changed_root_key_stops_before_signing(dir, &module_path);
}

/// On its own kept tokens: commissioning, a CRL renewal (the online token stays away),
/// then a planned rotation that counts the CRL number on from the renewal's.
fn a_crl_renewal_changes_only_the_crl(dir: &Path) {
    let third = dir.join("third");
    std::fs::create_dir(&third).unwrap();
    rehearse(&third, "root-ceremony.toml", None, "b1");
    rehearse(&third, "crl-renewal.toml", Some("b1"), "b2");
    let (m1, m2) = (manifest(&third, "b1"), manifest(&third, "b2"));
    assert_eq!(m2["kind"], "crl-renewal");
    for file in [
        "root_ca.crt",
        "intermediate_ca.crt",
        "ssh_user_ca.pub",
        "ssh_host_ca.pub",
    ] {
        assert_eq!(
            std::fs::read(third.join("b1").join(file)).unwrap(),
            std::fs::read(third.join("b2").join(file)).unwrap(),
            "{file} is carried over unchanged"
        );
    }
    assert_eq!(
        m2["tokens"], m1["tokens"],
        "the online token is named as before"
    );
    assert_eq!(m2["keys"], m1["keys"]);
    assert_eq!(m1["crl"]["number"], 1);
    assert_eq!(m2["crl"]["number"], 2);
    assert_ne!(m2["crl"]["sha256"], m1["crl"]["sha256"]);
    let (ok, text) = openssl(
        &third,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "b2/root_ca.crl",
            "-CAfile",
            "b2/root_ca.crt",
            "-noout",
            "-text",
        ],
    );
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                2"),
        "{text}"
    );
    // Only the root token was logged into: the drill's transcript names no other serial
    // in a step.
    let steps: Vec<serde_json::Value> = std::fs::read_to_string(third.join("b2/transcript.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["type"] == "step")
        .collect();
    let identified: Vec<&str> = steps
        .iter()
        .filter(|s| s["body"]["kind"] == "identify-token")
        .map(|s| s["body"]["facts"]["token"].as_str().unwrap())
        .collect();
    assert_eq!(identified, ["root"]);

    rehearse(&third, "intermediate-rotation.toml", Some("b2"), "b3");
    assert_eq!(manifest(&third, "b3")["crl"]["number"], 3);
}

/// On a second set of kept tokens: a commissioning, then the root key on the root token is
/// replaced by another one with the same id and label, then the planned rotation must stop
/// when it logs in to the root token, before the root signs anything.
fn a_changed_root_key_stops_before_signing(dir: &Path, module_path: &Path) {
    let second = dir.join("second");
    std::fs::create_dir(&second).unwrap();
    rehearse(&second, "root-ceremony.toml", None, "b1");
    // SAFETY: the only test in this binary; no module is loaded at this point.
    unsafe { std::env::set_var("SOFTHSM2_CONF", second.join("tokens/softhsm2.conf")) };
    let m = manifest(&second, "b1");
    let root = m["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "root")
        .unwrap();
    let serial = root["serial"].as_str().unwrap().to_string();
    replace_key(module_path, &serial, "ccat-root-key");
    let result = run(ceremony()
        .arg("rehearse")
        .arg(format!("{CHECKLISTS}/intermediate-rotation.toml"))
        .arg("--out")
        .arg(second.join("b-bad"))
        .arg("--tokens")
        .arg(second.join("tokens"))
        .arg("--previous")
        .arg(second.join("b1")));
    let text = all_output(&result);
    assert!(!result.status.success(), "{text}");
    assert!(
        text.contains("is not the key the transcript recorded")
            && text.contains("public key differs"),
        "{text}"
    );
    assert!(
        text.contains(&serial) && text.contains("ccat-root-key"),
        "{text}"
    );
    assert!(!second.join("b-bad").exists(), "nothing may be exported");
}

/// Destroys a key pair by label and generates a different one with the same id and label.
fn replace_key(module_path: &Path, serial: &str, label: &str) {
    destroy_key_pair(module_path, serial, USER_PIN, label);
    let module = Module::load(module_path).unwrap();
    let session = UserSession::login(
        &module,
        serial,
        &ceremony::secret::Pin::new(USER_PIN.into()),
    )
    .unwrap();
    session.generate_key(&[1], label, Curve::P384).unwrap();
}

/// Issues a leaf certificate under the intermediate of `bundle`, signed by its key on the
/// kept intermediate token.
fn issue_leaf_under(dir: &Path, module_path: &Path, bundle: &str, out: &str) {
    let m = manifest(dir, bundle);
    let key = m["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "intermediate")
        .unwrap()
        .clone();
    let serial = key["serial"].as_str().unwrap();
    let module = Module::load(module_path).unwrap();
    let session = UserSession::login(
        &module,
        serial,
        &ceremony::secret::Pin::new(USER_PIN.into()),
    )
    .unwrap();
    let id = hex::decode(key["id"].as_str().unwrap()).unwrap();
    let token_key = session
        .find_key(&id, key["label"].as_str().unwrap())
        .unwrap()
        .unwrap();
    let issuer = rcgen::Issuer::new(
        issuer_params(&dir.join(bundle).join("intermediate_ca.crt")),
        HsmSigner(&token_key),
    );

    let subject = SoftKey::generate(Curve::P384).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["host.example.org".to_string()]).unwrap();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x42; 16]));
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    params.not_before = now;
    params.not_after = now + time::Duration::days(30);
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![7; 20]);
    let leaf = params
        .signed_by(&Point(subject.public_point().to_vec()), &issuer)
        .unwrap();
    std::fs::write(dir.join(out), leaf.pem()).unwrap();
}

/// The issuer's name and key identifier, read from its certificate with x509-parser.
fn issuer_params(path: &Path) -> rcgen::CertificateParams {
    use x509_parser::prelude::*;
    let pem = std::fs::read(path).unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let (_, cert) = X509Certificate::from_der(&pem.contents).unwrap();
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let ski = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(ski);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params
}

/// A public key rcgen can put into a certificate.
struct Point(Vec<u8>);

impl rcgen::PublicKeyData for Point {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P384_SHA384
    }
}

/// rcgen's signing seam over a key on the token: SHA-384, CKM_ECDSA, DER.
struct HsmSigner<'a, 's>(&'a TokenKey<'s>);

impl rcgen::PublicKeyData for HsmSigner<'_, '_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_point()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P384_SHA384
    }
}

impl rcgen::SigningKey for HsmSigner<'_, '_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use sha2::Digest;
        let raw = self
            .0
            .sign_digest(&sha2::Sha384::digest(msg))
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        let sig =
            p384::ecdsa::Signature::from_slice(&raw).map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}
