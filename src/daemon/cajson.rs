//! step-ca's `ca.json`, rewritten for the keys of a bundle. Only what the bundle decides is
//! set: `root`, `crt`, `key`, `kms`, `ssh.userKey`, `ssh.hostKey` and
//! `authority.enableAdmin` (false, so that ca.json stays the source of truth for
//! provisioners). Claims are not touched, so no provisioner may sign more than before
//! (see [`super::signing`]), except the provisioners the operator names to widen: each
//! gets its own `claims.enableSSHCA: true`. Every other member (provisioners, the global
//! `authority.claims`, `address`, `dnsNames`, `db`, `tls`, `templates`, unknown ones)
//! keeps its value and its place; the file keeps its indentation (step writes tabs).

use serde_json::{Map, Value};

/// What the new `ca.json` must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepKeys {
    /// `root` and `crt` as step-ca sees them (e.g. `/home/step/certs/root_ca.crt`).
    pub root_path: String,
    pub crt_path: String,
    /// RFC 7512 object URIs from bundle.json.
    pub key_uri: String,
    pub ssh_user_uri: String,
    pub ssh_host_uri: String,
    /// `pkcs11:module-path=...;serial=...?pin-source=...`.
    pub kms_uri: String,
}

/// The kms URI: the token by serial (OpenSC labels vary by version), the PIN from a file.
pub fn kms_uri(module_path: &str, serial: &str, pin_source: &str) -> String {
    format!(
        "pkcs11:module-path={};serial={}?pin-source={}",
        pct(module_path),
        pct(serial),
        pct(pin_source)
    )
}

/// Percent-encodes what may not appear bare in a pkcs11 URI attribute (paths keep `/`).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The new `ca.json` bytes from the existing ones; `widen_ssh` names the provisioners
/// that get their own `enableSSHCA: true`.
pub fn rewrite(existing: &[u8], keys: &StepKeys, widen_ssh: &[String]) -> Result<Vec<u8>, String> {
    let mut doc: Value = serde_json::from_slice(existing).map_err(|e| format!("not JSON: {e}"))?;
    let top = doc
        .as_object_mut()
        .ok_or("the top level is not a JSON object")?;
    top.insert("root".into(), Value::String(keys.root_path.clone()));
    top.insert("crt".into(), Value::String(keys.crt_path.clone()));
    top.insert("key".into(), Value::String(keys.key_uri.clone()));
    let mut kms = Map::new();
    kms.insert("type".into(), Value::String("pkcs11".into()));
    kms.insert("uri".into(), Value::String(keys.kms_uri.clone()));
    top.insert("kms".into(), Value::Object(kms));
    let ssh = object_at(top, "ssh")?;
    ssh.insert("hostKey".into(), Value::String(keys.ssh_host_uri.clone()));
    ssh.insert("userKey".into(), Value::String(keys.ssh_user_uri.clone()));
    let authority = object_at(top, "authority")?;
    authority.insert("enableAdmin".into(), Value::Bool(false));
    super::signing::widen(&mut doc, widen_ssh)?;
    let indent = detect_indent(existing);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&doc, &mut ser).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// The object member `key` of `map`, created (at the end) when missing.
fn object_at<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Result<&'a mut Map<String, Value>, String> {
    let entry = map
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    entry
        .as_object_mut()
        .ok_or_else(|| format!("`{key}` is not a JSON object"))
}

/// The whitespace of the first indented line (a tab for files step wrote), else 2 spaces.
fn detect_indent(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    text.lines()
        .skip(1)
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .find(|ws| !ws.is_empty())
        .unwrap_or("  ")
        .to_owned()
}

/// `config/defaults.json` (step CLI's defaults): the `fingerprint` member, when present,
/// follows the new root; everything else is kept.
pub fn rewrite_defaults(existing: &[u8], root_fingerprint: &str) -> Option<Vec<u8>> {
    let mut doc: Value = serde_json::from_slice(existing).ok()?;
    let member = doc.as_object_mut()?.get_mut("fingerprint")?;
    *member = Value::String(root_fingerprint.to_owned());
    let indent = detect_indent(existing);
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&doc, &mut ser).ok()?;
    out.push(b'\n');
    Some(out)
}

/// The key URIs `check-hsm` needs, read back from an installed ca.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledKeys {
    pub key: String,
    pub ssh_user: Option<String>,
    pub ssh_host: Option<String>,
    pub kms_uri: Option<String>,
    pub crt: Option<String>,
}

pub fn installed_keys(bytes: &[u8]) -> Result<InstalledKeys, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Ok(InstalledKeys {
        key: doc.get("key").and_then(text).ok_or("no `key`")?,
        ssh_user: doc.pointer("/ssh/userKey").and_then(text),
        ssh_host: doc.pointer("/ssh/hostKey").and_then(text),
        kms_uri: doc.pointer("/kms/uri").and_then(text),
        crt: doc.get("crt").and_then(text),
    })
}

/// `id` bytes and `object` label of a `pkcs11:id=%01;object=label` URI.
pub fn parse_key_uri(uri: &str) -> Result<(Vec<u8>, String), String> {
    let body = uri
        .strip_prefix("pkcs11:")
        .ok_or_else(|| format!("{uri:?} is not a pkcs11 URI"))?;
    let path = body.split('?').next().unwrap_or_default();
    let (mut id, mut object) = (None, None);
    for attr in path.split(';') {
        match attr.split_once('=') {
            Some(("id", v)) => id = Some(unpct(v)?),
            Some(("object", v)) => {
                object = Some(String::from_utf8(unpct(v)?).map_err(|e| e.to_string())?)
            }
            _ => {}
        }
    }
    match (id, object) {
        (Some(id), Some(object)) => Ok((id, object)),
        _ => Err(format!("{uri:?} needs both id= and object=")),
    }
}

/// `serial=` of a kms URI.
pub fn kms_serial(uri: &str) -> Option<String> {
    let path = uri.strip_prefix("pkcs11:")?.split('?').next()?;
    path.split(';')
        .find_map(|a| a.strip_prefix("serial="))
        .and_then(|v| String::from_utf8(unpct(v).ok()?).ok())
}

/// `pin-source=` of a kms URI (in its query part).
pub fn kms_pin_source(uri: &str) -> Option<String> {
    let query = uri.strip_prefix("pkcs11:")?.split_once('?')?.1;
    query
        .split('&')
        .find_map(|a| a.strip_prefix("pin-source="))
        .and_then(|v| String::from_utf8(unpct(v).ok()?).ok())
}

fn unpct(v: &str) -> Result<Vec<u8>, String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = v.get(i + 1..i + 3).ok_or("truncated %-escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad %-escape %{hex}"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> StepKeys {
        StepKeys {
            root_path: "/home/step/certs/root_ca.crt".into(),
            crt_path: "/home/step/certs/intermediate_ca.crt".into(),
            key_uri: "pkcs11:id=%01;object=k".into(),
            ssh_user_uri: "pkcs11:id=%02;object=u".into(),
            ssh_host_uri: "pkcs11:id=%03;object=h".into(),
            kms_uri: kms_uri("/usr/lib/opensc-pkcs11.so", "DENK 1", "/run/secrets/pin"),
        }
    }

    #[test]
    fn keeps_order_and_unknown_members_and_tabs() {
        let before = b"{\n\t\"root\": \"/old\",\n\t\"zz\": {\"b\": 1, \"a\": 2},\n\t\"authority\": {\"enableAdmin\": true, \"provisioners\": []}\n}\n";
        let after = rewrite(before, &keys(), &[]).unwrap();
        let text = String::from_utf8(after).unwrap();
        assert!(
            text.starts_with(
                "{\n\t\"root\": \"/home/step/certs/root_ca.crt\",\n\t\"zz\": {\n\t\t\"b\": 1,"
            ),
            "{text}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["authority"]["enableAdmin"], false);
        assert!(
            v["authority"].get("claims").is_none(),
            "claims are not added"
        );
        assert_eq!(v["authority"]["provisioners"], serde_json::json!([]));
        assert_eq!(
            v["kms"]["uri"],
            "pkcs11:module-path=/usr/lib/opensc-pkcs11.so;serial=DENK%201?pin-source=/run/secrets/pin"
        );
        assert_eq!(
            kms_serial(v["kms"]["uri"].as_str().unwrap()).as_deref(),
            Some("DENK 1")
        );
        assert_eq!(
            kms_pin_source(v["kms"]["uri"].as_str().unwrap()).as_deref(),
            Some("/run/secrets/pin")
        );
    }

    #[test]
    fn claims_are_kept_and_widening_is_per_provisioner() {
        let before = br#"{"authority": {"claims": {"enableSSHCA": false, "maxTLSCertDuration": "24h"},
            "provisioners": [{"type": "JWK", "name": "a"}, {"type": "JWK", "name": "b", "claims": null}]}}"#;
        let v: Value = serde_json::from_slice(&rewrite(before, &keys(), &[]).unwrap()).unwrap();
        assert_eq!(
            v["authority"]["claims"],
            serde_json::json!({"enableSSHCA": false, "maxTLSCertDuration": "24h"})
        );
        assert!(v["authority"]["provisioners"][0].get("claims").is_none());
        let widened = rewrite(before, &keys(), &["b".to_string()]).unwrap();
        let v: Value = serde_json::from_slice(&widened).unwrap();
        assert_eq!(
            v["authority"]["claims"]["enableSSHCA"], false,
            "the global claim stays"
        );
        assert!(v["authority"]["provisioners"][0].get("claims").is_none());
        assert_eq!(
            v["authority"]["provisioners"][1]["claims"],
            serde_json::json!({"enableSSHCA": true})
        );
    }

    #[test]
    fn key_uris_parse_back() {
        assert_eq!(
            parse_key_uri("pkcs11:id=%0A%FF;object=a%20b").unwrap(),
            (vec![0x0a, 0xff], "a b".to_string())
        );
        assert!(parse_key_uri("pkcs11:object=x").is_err());
    }
}
