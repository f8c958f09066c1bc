//! Independent checkers agree with `pki`: OpenSSL verifies the chain strictly and the CRL
//! signature (and honours a revocation), `ssh-keygen -lf` prints the same SSH fingerprint,
//! and pkilint (`lint_pkix_cert`) finds no ERROR or FATAL in the root or intermediate.
//!
//! These tests fail, rather than skip, when openssl, ssh-keygen or lint_pkix_cert are
//! missing: they are the point of the file.

mod common;
use std::path::Path;
use std::process::{Command, Output};

use ceremony::checklist::model::{CertificateSpec, CrlSpec, Curve, NameConstraintsSpec, Subject};
use ceremony::pki::{self, RemoteKey, RevocationReason, Revoked, SoftKey};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2025-03-01 10:00:00 UTC);

fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed for this test: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn serial() -> Vec<u8> {
    let mut s = vec![0u8; 16];
    getrandom::fill(&mut s).unwrap();
    s
}

fn root_spec() -> CertificateSpec {
    CertificateSpec {
        key: "root".into(),
        issuer: None,
        subject: Subject {
            common_name: "Drill Root CA".into(),
            organization: Some("Example Ltd".into()),
            country: Some("NL".into()),
        },
        validity_days: 7300,
        path_length: 1,
        crl_distribution_point: None,
        name_constraints: None,
        existing: None,
    }
}

fn intermediate_spec() -> CertificateSpec {
    CertificateSpec {
        key: "intermediate".into(),
        issuer: Some("root".into()),
        subject: Subject {
            common_name: "Drill Intermediate CA".into(),
            organization: Some("Example Ltd".into()),
            country: None,
        },
        validity_days: 1825,
        path_length: 0,
        crl_distribution_point: Some("http://pki.example.org/root.crl".into()),
        name_constraints: Some(NameConstraintsSpec {
            permitted_dns: vec!["example.org".into()],
            excluded_dns: vec!["private.example.org".into()],
        }),
        existing: None,
    }
}

struct Written {
    dir: tempfile::TempDir,
    int_serial_hex: String,
}

/// Issue root + intermediate + two CRLs (one empty, one revoking the intermediate) and
/// write them as PEM/DER files.
fn write_chain(root_curve: Curve, int_curve: Curve) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let root_key = SoftKey::generate(root_curve).unwrap();
    let root = pki::issue_root(&root_spec(), &root_key, &serial(), T0).unwrap();
    let int_key = SoftKey::generate(int_curve).unwrap();
    let int = pki::issue_intermediate(
        &intermediate_spec(),
        int_key.public_point(),
        int_curve,
        &root.der,
        &root_key,
        &serial(),
        T0,
    )
    .unwrap();
    let crl_spec = CrlSpec {
        issuer: "root".into(),
        validity_days: 365,
        number: Some(1),
        revoke: Vec::new(),
    };
    let crl = pki::sign_crl(&crl_spec, &root.der, &root_key, T0 + Duration::days(1), &[]).unwrap();
    let revoked = [Revoked {
        serial: hex::decode(&int.serial_hex).unwrap(),
        revoked_at: T0 + Duration::days(1),
        reason: RevocationReason::KeyCompromise,
    }];
    let crl_spec2 = CrlSpec {
        number: Some(2),
        revoke: Vec::new(),
        ..crl_spec
    };
    let crl2 = pki::sign_crl(
        &crl_spec2,
        &root.der,
        &root_key,
        T0 + Duration::days(2),
        &revoked,
    )
    .unwrap();

    std::fs::write(dir.path().join("root.pem"), &root.pem).unwrap();
    std::fs::write(dir.path().join("intermediate.pem"), &int.pem).unwrap();
    std::fs::write(dir.path().join("crl.der"), &crl.der).unwrap();
    std::fs::write(dir.path().join("crl.pem"), pem("X509 CRL", &crl.der)).unwrap();
    std::fs::write(dir.path().join("revoking.pem"), pem("X509 CRL", &crl2.der)).unwrap();
    Written {
        dir,
        int_serial_hex: int.serial_hex,
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[test]
fn openssl_verifies_chain_and_crl_on_every_curve() {
    for (rc, ic) in [
        (Curve::P256, Curve::P256),
        (Curve::P384, Curve::P384),
        (Curve::P521, Curve::P521),
        (Curve::P384, Curve::P256),
    ] {
        let w = write_chain(rc, ic);
        let d = w.dir.path();
        // the certificates are valid from 2025 on; pin the verification time inside
        let at = (T0 + Duration::days(30)).unix_timestamp().to_string();

        let o = run(
            "openssl",
            &[
                "verify",
                "-x509_strict",
                "-attime",
                &at,
                "-CAfile",
                "root.pem",
                "intermediate.pem",
            ],
            d,
        );
        assert!(
            o.status.success() && text(&o).contains("intermediate.pem: OK"),
            "{rc:?}/{ic:?}: {}",
            text(&o)
        );

        let o = run(
            "openssl",
            &[
                "verify",
                "-x509_strict",
                "-attime",
                &at,
                "-CAfile",
                "root.pem",
                "root.pem",
            ],
            d,
        );
        assert!(o.status.success(), "{rc:?}: {}", text(&o));

        let o = run(
            "openssl",
            &[
                "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "root.pem", "-noout",
            ],
            d,
        );
        assert!(
            o.status.success() && text(&o).contains("verify OK"),
            "{rc:?}: {}",
            text(&o)
        );

        let o = run(
            "openssl",
            &[
                "verify",
                "-x509_strict",
                "-attime",
                &at,
                "-crl_check",
                "-CRLfile",
                "crl.pem",
                "-CAfile",
                "root.pem",
                "intermediate.pem",
            ],
            d,
        );
        assert!(o.status.success(), "{rc:?}: {}", text(&o));

        let o = run(
            "openssl",
            &[
                "verify",
                "-x509_strict",
                "-attime",
                &at,
                "-crl_check",
                "-CRLfile",
                "revoking.pem",
                "-CAfile",
                "root.pem",
                "intermediate.pem",
            ],
            d,
        );
        assert!(
            !o.status.success() && text(&o).contains("certificate revoked"),
            "{rc:?}: revoking CRL for serial {} not honoured: {}",
            w.int_serial_hex,
            text(&o)
        );
    }
}

#[test]
fn ssh_keygen_agrees_on_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let key = SoftKey::generate(curve).unwrap();
        let line = pki::ssh_public_key_line(curve, key.public_point(), "ssh-user-ca");
        let path = dir.path().join(format!("{}.pub", curve.name()));
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let o = run("ssh-keygen", &["-lf", path.to_str().unwrap()], dir.path());
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        let printed = out.split_whitespace().nth(1).unwrap_or_default();
        assert_eq!(
            printed,
            pki::ssh_fingerprint(curve, key.public_point()),
            "{out}"
        );
        assert!(
            out.contains("ssh-user-ca") && out.contains("(ECDSA)"),
            "{out}"
        );
    }
}

#[test]
fn pkilint_finds_no_errors() {
    for (rc, ic) in [
        (Curve::P256, Curve::P256),
        (Curve::P384, Curve::P384),
        (Curve::P521, Curve::P521),
    ] {
        let w = write_chain(rc, ic);
        for file in ["root.pem", "intermediate.pem"] {
            let o = run(
                "lint_pkix_cert",
                &["lint", "-s", "ERROR", "-f", "JSON", file],
                w.dir.path(),
            );
            let out = text(&o);
            let findings: serde_json::Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("lint_pkix_cert output is not JSON ({e}): {out}"));
            let n = common::checks::count_findings(&findings);
            assert_eq!(
                n, 0,
                "{rc:?}/{ic:?} {file}: pkilint ERROR/FATAL findings: {out}"
            );
            assert!(
                o.status.success(),
                "{rc:?} {file}: lint_pkix_cert failed: {out}"
            );
        }
    }
}
