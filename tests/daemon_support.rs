//! Helpers for the `daemon_*` tests (included by them with `#[path]`): drill bundles made
//! by the real `ceremony rehearse`, a step-ca folder as `step ca init` and the seed's
//! provisioner set leave it, a hash of a whole tree (links, modes and owners included) and
//! the view step-ca has through `certs/` and `config/`. Its own test checks the tree hash.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const CHECKLISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists");

pub fn ceremony() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ceremony"))
}

pub fn ceremonyd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ceremonyd"))
}

/// Panics (never skips) when a tool the test relies on is missing.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is required for this test; run build/deps");
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `ceremony rehearse CHECKLIST --out OUT [chain flags]`; returns the root fingerprint.
/// `chain`: `None` for a one-off drill, `Some((tokens, None))` to make kept tokens, and
/// `Some((tokens, Some(previous)))` to continue a chain on them.
pub fn rehearse(checklist: &str, out: &Path, chain: Option<(&Path, Option<&Path>)>) -> String {
    let mut cmd = ceremony();
    cmd.arg("rehearse")
        .arg(format!("{CHECKLISTS}/{checklist}"))
        .arg("--out")
        .arg(out);
    match chain {
        None => {}
        Some((tokens, None)) => {
            cmd.arg("--keep-tokens").arg(tokens);
        }
        Some((tokens, Some(previous))) => {
            cmd.arg("--tokens")
                .arg(tokens)
                .arg("--previous")
                .arg(previous);
        }
    }
    let out_ = cmd.output().expect("run ceremony");
    assert!(
        out_.status.success(),
        "rehearse {checklist}:\n{}",
        text(&out_)
    );
    root_fingerprint(out)
}

pub fn root_fingerprint(bundle: &Path) -> String {
    let fp = std::fs::read_to_string(bundle.join("FINGERPRINT.txt")).unwrap();
    fp.lines().next().unwrap().trim().to_owned()
}

/// The seed's six provisioners, as step-ca keeps them in ca.json.
pub fn provisioners() -> serde_json::Value {
    serde_json::json!([
        {"type": "OIDC", "name": "CCAT-GitHub", "clientID": "step-ca",
         "clientSecret": "dex-static-client-secret",
         "configurationEndpoint": "https://dex.ccat.uni-koeln.de/.well-known/openid-configuration",
         "admins": ["ops@ccat.example"], "listenAddress": ":10000",
         "claims": {"enableSSHCA": true, "defaultUserSSHCertDuration": "16h", "maxUserSSHCertDuration": "16h"}},
        {"type": "JWK", "name": "prod-services",
         "key": {"use": "sig", "kty": "EC", "kid": "prod-kid", "crv": "P-256", "alg": "ES256",
                 "x": "x-coordinate-prod", "y": "y-coordinate-prod"},
         "encryptedKey": "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMTI4R0NNIn0.prod",
         "claims": {"defaultTLSCertDuration": "2160h", "maxTLSCertDuration": "2160h"}},
        {"type": "JWK", "name": "staging-services",
         "key": {"use": "sig", "kty": "EC", "kid": "staging-kid", "crv": "P-256", "alg": "ES256",
                 "x": "x-coordinate-staging", "y": "y-coordinate-staging"},
         "encryptedKey": "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMTI4R0NNIn0.staging",
         "claims": {"defaultTLSCertDuration": "720h", "maxTLSCertDuration": "720h"}},
        {"type": "JWK", "name": "service-accounts",
         "key": {"use": "sig", "kty": "EC", "kid": "sa-kid", "crv": "P-256", "alg": "ES256",
                 "x": "x-coordinate-sa", "y": "y-coordinate-sa"},
         "encryptedKey": "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMTI4R0NNIn0.sa",
         "claims": {"enableSSHCA": true, "defaultUserSSHCertDuration": "24h", "maxUserSSHCertDuration": "24h"}},
        {"type": "ACME", "name": "acme", "forceCN": true,
         "claims": {"defaultTLSCertDuration": "2160h", "maxTLSCertDuration": "2160h"}},
        {"type": "SSHPOP", "name": "sshpop",
         "claims": {"enableSSHCA": true, "defaultHostSSHCertDuration": "168h", "maxHostSSHCertDuration": "168h"}}
    ])
}

/// A step-ca `ca.json` as a Phase 1 `step ca init` left it (file keys), with the six
/// provisioners and a member step-ca does not know; tab-indented as step writes it.
pub fn phase1_ca_json() -> String {
    let doc = serde_json::json!({
        "root": "/home/step/certs/root_ca.crt",
        "federatedRoots": null,
        "crt": "/home/step/certs/intermediate_ca.crt",
        "key": "/home/step/secrets/intermediate_ca_key",
        "address": ":9000",
        "insecureAddress": "",
        "dnsNames": ["ca.ccat.uni-koeln.de", "localhost"],
        "ssh": {"hostKey": "/home/step/secrets/ssh_host_ca_key",
                "userKey": "/home/step/secrets/ssh_user_ca_key"},
        "logger": {"format": "json"},
        "db": {"type": "badgerv2", "dataSource": "/home/step/db", "badgerFileLoadingMode": ""},
        "authority": {"enableAdmin": false, "provisioners": provisioners(),
                      "template": {}, "backdate": "1m0s"},
        "tls": {"cipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
                "minVersion": 1.2, "maxVersion": 1.3, "renegotiation": false},
        "templates": {"ssh": {"user": [{"name": "config.tpl", "type": "snippet",
                                         "template": "templates/ssh/config.tpl", "path": "~/.ssh/config"}]}},
        "commonName": "CCAT Step Online CA",
        "x-ccat-note": "kept by ceremonyd"
    });
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&doc, &mut ser).unwrap();
    String::from_utf8(out).unwrap() + "\n"
}

/// A Phase 1 CA folder: certs from `phase1` (another drill's bundle, standing in for the
/// throwaway `step ca init` PKI), config/ca.json, config/defaults.json, db/ and secrets/.
pub fn phase1_ca_dir(dir: &Path, phase1: &Path) {
    for sub in ["certs", "config", "db", "secrets"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for (from, to) in [
        ("root_ca.crt", "certs/root_ca.crt"),
        ("intermediate_ca.crt", "certs/intermediate_ca.crt"),
        ("ssh_user_ca.pub", "certs/ssh_user_ca_key.pub"),
        ("ssh_host_ca.pub", "certs/ssh_host_ca_key.pub"),
    ] {
        std::fs::copy(phase1.join(from), dir.join(to)).unwrap();
    }
    std::fs::write(dir.join("config/ca.json"), phase1_ca_json()).unwrap();
    let defaults = format!(
        "{{\n\t\"ca-url\": \"https://ca.ccat.uni-koeln.de:9000\",\n\t\"ca-config\": \"/home/step/config/ca.json\",\n\t\"fingerprint\": \"{}\",\n\t\"root\": \"/home/step/certs/root_ca.crt\"\n}}\n",
        root_fingerprint(phase1)
    );
    std::fs::write(dir.join("config/defaults.json"), defaults).unwrap();
    std::fs::write(dir.join("secrets/intermediate_ca_key"), "phase 1 file key").unwrap();
    std::fs::write(dir.join("db/KEYREGISTRY"), "badger").unwrap();
}

/// Every entry under `dir`: type, mode, owner, and content hash or link target.
pub fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let meta = path.symlink_metadata().unwrap();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            let what = if meta.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "dir".to_owned()
            } else {
                let bytes = std::fs::read(&path).unwrap();
                format!("file {}", ceremony::fsutil::sha256_hex(&bytes))
            };
            let owner = format!("{:o} {}:{}", meta.mode(), meta.uid(), meta.gid());
            out.insert(rel, format!("{what} {owner}"));
        }
    }
    out
}

/// What step-ca reads: every file under `certs/` and `config/`, links followed.
pub fn view(ca: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for sub in ["certs", "config"] {
        let Ok(entries) = std::fs::read_dir(ca.join(sub)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = format!("{sub}/{}", e.file_name().to_string_lossy());
            out.insert(name, std::fs::read(e.path()).unwrap());
        }
    }
    out
}

/// `cp -a`: a copy that keeps links, modes and owners.
pub fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn paths(dir: &Path) -> Vec<PathBuf> {
    tree(dir).keys().map(PathBuf::from).collect()
}

#[test]
fn tree_hash_sees_contents_links_and_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("a"), "1").unwrap();
    std::os::unix::fs::symlink("a", d.join("l")).unwrap();
    let before = tree(d);
    std::fs::write(d.join("a"), "2").unwrap();
    assert_ne!(before, tree(d));
    std::fs::write(d.join("a"), "1").unwrap();
    assert_eq!(before, tree(d));
    std::fs::remove_file(d.join("l")).unwrap();
    std::os::unix::fs::symlink("b", d.join("l")).unwrap();
    assert_ne!(before, tree(d));
    std::fs::remove_file(d.join("l")).unwrap();
    std::os::unix::fs::symlink("a", d.join("l")).unwrap();
    std::fs::set_permissions(
        d.join("a"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert_ne!(before, tree(d));
}
