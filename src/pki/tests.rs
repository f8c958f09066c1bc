//! Unit tests of issuance and checks with software keys standing in for the HSM, on all
//! three curves, plus the failures that must be caught (tampering, wrong issuer, a key that
//! signs with something other than the key it reports).

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::checklist::model::{CertificateSpec, CrlSpec, NameConstraintsSpec, Subject};

pub(crate) fn root_spec() -> CertificateSpec {
    CertificateSpec {
        key: "root".into(),
        issuer: None,
        subject: Subject {
            common_name: "Example Root CA".into(),
            organization: Some("Example Ltd".into()),
            country: Some("DE".into()),
        },
        validity_days: 3650,
        path_length: 1,
        crl_distribution_point: None,
        name_constraints: None,
        existing: None,
    }
}

pub(crate) fn intermediate_spec() -> CertificateSpec {
    CertificateSpec {
        key: "intermediate".into(),
        issuer: Some("root".into()),
        subject: Subject {
            common_name: "Example Intermediate CA".into(),
            organization: None,
            country: None,
        },
        validity_days: 1825,
        path_length: 0,
        crl_distribution_point: Some("http://pki.example.org/root.crl".into()),
        name_constraints: Some(NameConstraintsSpec {
            permitted_dns: vec!["example.org".into(), ".example.org".into()],
            excluded_dns: vec!["secret.example.org".into()],
        }),
        existing: None,
    }
}

fn crl_spec() -> CrlSpec {
    CrlSpec {
        issuer: "root".into(),
        validity_days: 90,
        number: Some(7),
        revoke: Vec::new(),
    }
}

const T0: OffsetDateTime = datetime!(2025-03-01 10:00:00.75 UTC);

fn serial() -> Vec<u8> {
    let mut s = vec![0u8; 16];
    getrandom::fill(&mut s).unwrap();
    s
}

struct Chain {
    root: Issued,
    root_key: SoftKey,
    int: Issued,
    crl: IssuedCrl,
}

fn chain(root_curve: Curve, int_curve: Curve) -> Chain {
    let root_key = SoftKey::generate(root_curve).unwrap();
    let root = issue_root(&root_spec(), &root_key, &serial(), T0).unwrap();
    let int_key = SoftKey::generate(int_curve).unwrap();
    let int = issue_intermediate(
        &intermediate_spec(),
        int_key.public_point(),
        int_curve,
        &root.der,
        &root_key,
        &serial(),
        T0 + time::Duration::hours(1),
    )
    .unwrap();
    let revoked = [Revoked {
        serial: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09],
        revoked_at: T0,
        reason: RevocationReason::Superseded,
    }];
    let crl = sign_crl(
        &crl_spec(),
        &root.der,
        &root_key,
        T0 + time::Duration::hours(2),
        &revoked,
    )
    .unwrap();
    Chain {
        root,
        root_key,
        int,
        crl,
    }
}

#[test]
fn issue_and_check_on_every_curve() {
    for (rc, ic) in [
        (Curve::P256, Curve::P256),
        (Curve::P384, Curve::P384),
        (Curve::P521, Curve::P521),
        (Curve::P521, Curve::P256),
        (Curve::P256, Curve::P521),
        (Curve::P384, Curve::P521),
    ] {
        let c = chain(rc, ic);
        let root = check_root(&c.root.der).unwrap_or_else(|p| panic!("{rc:?}: {p:?}"));
        assert_eq!(root.fingerprint, c.root.fingerprint);
        assert_eq!(root.serial_hex, c.root.serial_hex);
        assert_eq!(root.curve, rc);
        assert_eq!(root.public_point, c.root_key.public_point());
        assert_eq!(root.subject, "C=DE, O=Example Ltd, CN=Example Root CA");
        assert_eq!(root.not_before, datetime!(2025-03-01 10:00:00 UTC));
        assert_eq!(root.not_after, datetime!(2035-02-27 10:00:00 UTC));
        let int = check_intermediate(&c.int.der, &c.root.der)
            .unwrap_or_else(|p| panic!("{rc:?}/{ic:?}: {p:?}"));
        assert_eq!(int.curve, ic);
        assert_eq!(int.fingerprint, Fingerprint::of(&c.int.der));
        let crl = check_crl(&c.crl.der, &c.root.der).unwrap_or_else(|p| panic!("{rc:?}: {p:?}"));
        assert_eq!(crl.number, 7);
        assert_eq!(crl.next_update, c.crl.next_update);
        assert_eq!(crl.revoked.len(), 1);
        assert_eq!(crl.revoked[0].serial_hex, "010203040506070809");
        assert_eq!(crl.revoked[0].reason_code, 4);
        assert!(c.root.pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    }
}

#[test]
fn tampering_and_wrong_issuer_fail_the_checks() {
    let c = chain(Curve::P384, Curve::P384);
    let other = chain(Curve::P384, Curve::P384);

    let mut bad_int = c.int.der.clone();
    let last = bad_int.len() - 3; // inside s of the signature
    bad_int[last] ^= 0x01;
    let problems = check_intermediate(&bad_int, &c.root.der).unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("signature")),
        "{problems:?}"
    );

    let mut bad_root = c.root.der.clone();
    let last = bad_root.len() - 3;
    bad_root[last] ^= 0x01;
    assert!(check_root(&bad_root).is_err());

    let problems = check_intermediate(&c.int.der, &other.root.der).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("signature does not verify")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("authorityKeyIdentifier")),
        "{problems:?}"
    );

    let problems = check_crl(&c.crl.der, &other.root.der).unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("signature")),
        "{problems:?}"
    );

    let mut bad_crl = c.crl.der.clone();
    let last = bad_crl.len() - 3;
    bad_crl[last] ^= 0x01;
    assert!(check_crl(&bad_crl, &c.root.der).is_err());

    // an intermediate is no root, and a root is no intermediate
    assert!(check_root(&c.int.der).is_err());
    assert!(check_intermediate(&c.root.der, &c.root.der).is_err());
    assert!(check_root(b"not a certificate").is_err());
}

/// Reports one key's public point, signs with another.
struct LyingKey<'a> {
    reported: &'a SoftKey,
    signer: SoftKey,
}

impl RemoteKey for LyingKey<'_> {
    fn curve(&self) -> Curve {
        self.reported.curve()
    }
    fn public_point(&self) -> &[u8] {
        self.reported.public_point()
    }
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, String> {
        self.signer.sign_digest(digest)
    }
}

#[test]
fn a_signature_from_another_key_is_caught_after_signing() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let reported = SoftKey::generate(curve).unwrap();
        let liar = LyingKey {
            reported: &reported,
            signer: SoftKey::generate(curve).unwrap(),
        };
        let err = issue_root(&root_spec(), &liar, &serial(), T0).unwrap_err();
        assert!(matches!(err, PkiError::SignatureInvalid { .. }), "{err}");

        let c = chain(curve, curve);
        let liar = LyingKey {
            reported: &c.root_key,
            signer: SoftKey::generate(curve).unwrap(),
        };
        let sub = SoftKey::generate(curve).unwrap();
        let err = issue_intermediate(
            &intermediate_spec(),
            sub.public_point(),
            curve,
            &c.root.der,
            &liar,
            &serial(),
            T0,
        )
        .unwrap_err();
        assert!(matches!(err, PkiError::SignatureInvalid { .. }), "{err}");
        let err = sign_crl(&crl_spec(), &c.root.der, &liar, T0, &[]).unwrap_err();
        assert!(matches!(err, PkiError::SignatureInvalid { .. }), "{err}");
    }
}

struct BrokenKey(SoftKey);

impl RemoteKey for BrokenKey {
    fn curve(&self) -> Curve {
        self.0.curve()
    }
    fn public_point(&self) -> &[u8] {
        self.0.public_point()
    }
    fn sign_digest(&self, _digest: &[u8]) -> Result<Vec<u8>, String> {
        Err("C_Sign: CKR_DEVICE_REMOVED".into())
    }
}

#[test]
fn token_errors_keep_their_text() {
    let err = issue_root(
        &root_spec(),
        &BrokenKey(SoftKey::generate(Curve::P384).unwrap()),
        &serial(),
        T0,
    )
    .unwrap_err();
    match err {
        PkiError::Sign { detail, .. } => assert!(detail.contains("CKR_DEVICE_REMOVED"), "{detail}"),
        other => panic!("{other}"),
    }
}

#[test]
fn wrong_issuer_key_validity_and_serial_are_refused_before_signing() {
    let c = chain(Curve::P256, Curve::P256);
    let sub = SoftKey::generate(Curve::P256).unwrap();
    let stranger = SoftKey::generate(Curve::P256).unwrap();
    let err = issue_intermediate(
        &intermediate_spec(),
        sub.public_point(),
        Curve::P256,
        &c.root.der,
        &stranger,
        &serial(),
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::IssuerKeyMismatch { .. }), "{err}");

    let mut long = intermediate_spec();
    long.validity_days = 4000;
    let err = issue_intermediate(
        &long,
        sub.public_point(),
        Curve::P256,
        &c.root.der,
        &c.root_key,
        &serial(),
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::Validity { .. }), "{err}");

    let early = T0 - time::Duration::days(1);
    let err = issue_intermediate(
        &intermediate_spec(),
        sub.public_point(),
        Curve::P256,
        &c.root.der,
        &c.root_key,
        &serial(),
        early,
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::Validity { .. }), "{err}");

    let mut long_crl = crl_spec();
    long_crl.validity_days = 5000;
    assert!(matches!(
        sign_crl(&long_crl, &c.root.der, &c.root_key, T0, &[]),
        Err(PkiError::Validity { .. })
    ));

    assert!(matches!(
        issue_root(&root_spec(), &c.root_key, &[0u8; 16], T0),
        Err(PkiError::Serial(_))
    ));
    assert!(matches!(
        issue_root(&root_spec(), &c.root_key, &[1u8; 8], T0),
        Err(PkiError::Serial(_))
    ));
    let err = issue_intermediate(
        &intermediate_spec(),
        &[4u8; 65],
        Curve::P256,
        &c.root.der,
        &c.root_key,
        &serial(),
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::InvalidPoint { .. }), "{err}");
}

#[test]
fn serial_top_bit_is_cleared_and_kept_at_full_width() {
    let key = SoftKey::generate(Curve::P256).unwrap();
    let issued = issue_root(&root_spec(), &key, &[0xFF; 16], T0).unwrap();
    assert_eq!(issued.serial_hex, format!("7f{}", "ff".repeat(15)));
    assert_eq!(
        check_root(&issued.der).unwrap().serial_hex,
        issued.serial_hex
    );
}

#[test]
fn bad_subject_is_refused() {
    let key = SoftKey::generate(Curve::P256).unwrap();
    let mut spec = root_spec();
    spec.subject.country = Some("Germany".into());
    assert!(matches!(
        issue_root(&spec, &key, &serial(), T0),
        Err(PkiError::Subject { .. })
    ));
}

#[test]
fn ssh_lines_round_trip() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let key = SoftKey::generate(curve).unwrap();
        let line = ssh_public_key_line(curve, key.public_point(), "ssh-user-ca");
        assert!(line.starts_with(ssh_key_type(curve)));
        assert!(line.ends_with(" ssh-user-ca"));
        let (c, p) = parse_ssh_public_key_line(&line).unwrap();
        assert_eq!((c, p.as_slice()), (curve, key.public_point()));
        assert!(ssh_fingerprint(curve, key.public_point()).starts_with("SHA256:"));
        assert!(!ssh_fingerprint(curve, key.public_point()).ends_with('='));
    }
    let p384 = ssh_public_key_line(
        Curve::P384,
        SoftKey::generate(Curve::P384).unwrap().public_point(),
        "",
    );
    let swapped = p384.replacen("nistp384", "nistp256", 1);
    assert!(parse_ssh_public_key_line(&swapped).is_err());
    assert!(parse_ssh_public_key_line("ssh-ed25519 AAAA").is_err());
}
