use super::*;
use serde_json::json;

/// The seed's Phase 1: `step ca init --ssh` (SSH CA keys, no global claim) and its six
/// provisioners with their own claims.
fn phase1() -> Value {
    json!({
        "ssh": {"hostKey": "/home/step/secrets/ssh_host_ca_key", "userKey": "/home/step/secrets/ssh_user_ca_key"},
        "authority": {"enableAdmin": false, "provisioners": [
            {"type": "OIDC", "name": "CCAT-GitHub", "admins": ["ops@ccat.example"],
             "claims": {"enableSSHCA": true, "maxUserSSHCertDuration": "16h"}},
            {"type": "JWK", "name": "prod-services", "claims": {"maxTLSCertDuration": "2160h"}},
            {"type": "JWK", "name": "staging-services", "claims": {"maxTLSCertDuration": "720h"}},
            {"type": "JWK", "name": "service-accounts", "claims": {"enableSSHCA": true}},
            {"type": "ACME", "name": "acme", "claims": {"maxTLSCertDuration": "2160h"}},
            {"type": "SSHPOP", "name": "sshpop", "claims": {"enableSSHCA": true}}
        ]}
    })
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn row(r: &[Entry], name: &str) -> Rights {
    r.iter().find(|e| e.name == name).unwrap().rights
}

const fn rt(x509: Can, ssh_user: Can, ssh_host: Can) -> Rights {
    Rights {
        x509,
        ssh_user,
        ssh_host,
    }
}

#[test]
fn phase1_rights_follow_each_provisioners_claim_and_type() {
    let r = rights(&phase1()).unwrap();
    assert_eq!(row(&r, "CCAT-GitHub"), rt(Can::Yes, Can::Yes, Can::Admins));
    assert_eq!(row(&r, "prod-services"), rt(Can::Yes, Can::No, Can::No));
    assert_eq!(row(&r, "staging-services"), rt(Can::Yes, Can::No, Can::No));
    assert_eq!(
        row(&r, "service-accounts"),
        rt(Can::Yes, Can::Yes, Can::Yes)
    );
    assert_eq!(row(&r, "acme"), rt(Can::Yes, Can::No, Can::No));
    assert_eq!(row(&r, "sshpop"), rt(Can::No, Can::No, Can::Renew));
}

#[test]
fn a_global_true_reaches_every_provisioner_without_its_own_claim() {
    // What the import used to do: the defect of issue 13.
    let mut after = phase1();
    after["authority"]["claims"] = json!({"enableSSHCA": true});
    let r = rights(&after).unwrap();
    assert_eq!(row(&r, "prod-services"), rt(Can::Yes, Can::Yes, Can::Yes));
    assert_eq!(
        row(&r, "acme"),
        rt(Can::Yes, Can::No, Can::No),
        "ACME never signs SSH"
    );
    let table = compare(&bytes(&phase1()), &bytes(&after)).unwrap();
    let err = table.check(&[]).unwrap_err();
    assert!(
        err.contains(
            "provisioner prod-services (JWK) could newly sign SSH user and SSH host certificates"
        ),
        "{err}"
    );
    assert!(err.contains("staging-services"), "{err}");
    assert!(!err.contains("provisioner acme"), "{err}");
    assert!(err.contains("no -> yes"), "{err}");
}

#[test]
fn own_claim_wins_over_the_global_one_both_ways() {
    let mut doc = phase1();
    doc["authority"]["claims"] = json!({"enableSSHCA": true});
    doc["authority"]["provisioners"][1]["claims"]["enableSSHCA"] = json!(false);
    doc["authority"]["provisioners"][2]["claims"] = Value::Null;
    let r = rights(&doc).unwrap();
    assert_eq!(row(&r, "prod-services"), rt(Can::Yes, Can::No, Can::No));
    assert_eq!(
        row(&r, "staging-services"),
        rt(Can::Yes, Can::Yes, Can::Yes),
        "null falls back"
    );
    doc["authority"]["claims"]["enableSSHCA"] = json!(false);
    doc["authority"]["provisioners"][3]["claims"]["enableSSHCA"] = Value::Null;
    let r = rights(&doc).unwrap();
    assert_eq!(row(&r, "service-accounts"), rt(Can::Yes, Can::No, Can::No));
}

#[test]
fn types_decide_what_can_be_signed_at_all() {
    let doc = json!({
        "ssh": {"hostKey": "h", "userKey": "u"},
        "authority": {"claims": {"enableSSHCA": true}, "provisioners": [
            {"type": "oidc", "name": "no-admins"},
            {"type": "AWS", "name": "aws"}, {"type": "GCP", "name": "gcp"},
            {"type": "Azure", "name": "azure"}, {"type": "Nebula", "name": "nebula"},
            {"type": "X5C", "name": "x5c"}, {"type": "K8sSA", "name": "k8s"},
            {"type": "SCEP", "name": "scep"}, {"type": "Vault", "name": "unknown"}
        ]}
    });
    let r = rights(&doc).unwrap();
    assert_eq!(row(&r, "no-admins"), rt(Can::Yes, Can::Yes, Can::No));
    for host_only in ["aws", "gcp", "azure", "nebula"] {
        assert_eq!(
            row(&r, host_only),
            rt(Can::Yes, Can::No, Can::Yes),
            "{host_only}"
        );
    }
    for both in ["x5c", "k8s"] {
        assert_eq!(row(&r, both), rt(Can::Yes, Can::Yes, Can::Yes), "{both}");
    }
    assert_eq!(row(&r, "scep"), rt(Can::Yes, Can::No, Can::No));
    assert_eq!(
        row(&r, "unknown"),
        rt(Can::No, Can::No, Can::No),
        "step-ca skips it"
    );
}

#[test]
fn ssh_needs_the_ca_key_so_a_first_ssh_ca_widens() {
    let mut before = phase1();
    before.as_object_mut().unwrap().remove("ssh");
    let r = rights(&before).unwrap();
    assert_eq!(row(&r, "service-accounts"), rt(Can::Yes, Can::No, Can::No));
    assert_eq!(row(&r, "sshpop"), rt(Can::No, Can::No, Can::No));
    let table = compare(&bytes(&before), &bytes(&phase1())).unwrap();
    let err = table.check(&[]).unwrap_err();
    for name in ["CCAT-GitHub", "service-accounts", "sshpop"] {
        assert!(
            err.contains(&format!("--widen-ssh {name} if")),
            "{name}: {err}"
        );
    }
    let all: Vec<String> = ["CCAT-GitHub", "service-accounts", "sshpop"]
        .map(String::from)
        .into();
    table.check(&all).unwrap();
}

#[test]
fn widen_gives_the_named_provisioner_its_own_claim_only() {
    let before = phase1();
    let mut after = before.clone();
    let names = vec!["prod-services".to_string()];
    widen(&mut after, &names).unwrap();
    assert_eq!(
        after["authority"]["provisioners"][1]["claims"]["enableSSHCA"],
        true
    );
    assert_eq!(
        after["authority"]["provisioners"][1]["claims"]["maxTLSCertDuration"],
        "2160h"
    );
    assert!(
        after["authority"]["provisioners"][2]["claims"]
            .get("enableSSHCA")
            .is_none()
    );
    let table = compare(&bytes(&before), &bytes(&after)).unwrap();
    table.check(&names).unwrap();
    assert!(table.check(&[]).is_err());
    assert!(table.render().contains("WIDER"), "{}", table.render());
}

#[test]
fn widen_names_that_change_nothing_are_refused() {
    let before = phase1();
    let mut after = before.clone();
    let names: Vec<String> = ["acme", "nobody", "service-accounts"]
        .map(String::from)
        .into();
    widen(&mut after, &names).unwrap();
    let err = compare(&bytes(&before), &bytes(&after))
        .unwrap()
        .check(&names)
        .unwrap_err();
    assert!(
        err.contains("--widen-ssh acme: widens nothing (ACME provisioner"),
        "{err}"
    );
    assert!(
        err.contains("--widen-ssh nobody: ca.json has no provisioner"),
        "{err}"
    );
    assert!(
        err.contains("--widen-ssh service-accounts: widens nothing"),
        "{err}"
    );
}

#[test]
fn unchanged_rights_pass_and_render_every_provisioner() {
    let table = compare(&bytes(&phase1()), &bytes(&phase1())).unwrap();
    table.check(&[]).unwrap();
    let text = table.render();
    assert!(
        text.contains("service-accounts  JWK     yes -> yes       yes -> yes       yes -> yes"),
        "{text}"
    );
    assert!(
        text.contains(
            "CCAT-GitHub       OIDC    yes -> yes       yes -> yes       admins -> admins"
        ),
        "{text}"
    );
    assert!(
        text.contains("sshpop            SSHPOP  no -> no         no -> no         renew -> renew"),
        "{text}"
    );
    assert!(!text.contains("WIDER") && !text.contains("note:"), "{text}");
}

#[test]
fn claims_step_ca_cannot_read_are_errors() {
    let mut doc = phase1();
    doc["authority"]["provisioners"][0]["claims"]["enableSSHCA"] = json!("yes");
    let err = rights(&doc).unwrap_err();
    assert!(
        err.contains("authority.provisioners[0].claims.enableSSHCA is \"yes\""),
        "{err}"
    );
}
