//! Who may sign what through step-ca, read from a `ca.json` the way step-ca 0.19 decides
//! it, and the import's rule that this never widens unless the operator names the
//! provisioner (`--widen-ssh NAME`).
//!
//! step-ca's rule (`authority/provisioner/claims.go`, `IsSSHCAEnabled`): a provisioner's
//! own `claims.enableSSHCA` wins; without one, `authority.claims.enableSSHCA` applies;
//! without that, SSH is off. What a type can sign at all (its `AuthorizeSign` /
//! `AuthorizeSSHSign`): JWK, X5C and K8sSA sign SSH user and host certificates (the
//! token says which); OIDC signs user certificates, and host certificates only for the
//! emails in its `admins`; AWS, GCP, Azure and Nebula sign host certificates only; ACME
//! and SCEP sign no SSH; SSHPOP signs no X.509 and only renews or rekeys SSH host
//! certificates, whatever the claim says. A type step-ca does not know is skipped. SSH
//! signing also needs the CA key: `ssh.userKey` for user, `ssh.hostKey` for host
//! certificates. With `authority.enableAdmin` step-ca takes its provisioners from its
//! database instead; ceremonyd sets it false, so the table shows what step-ca will use.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// One right of one provisioner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Can {
    No,
    /// SSHPOP: renews and rekeys host certificates this CA signed; signs no new ones.
    Renew,
    /// OIDC host certificates: only for the emails in `admins`.
    Admins,
    Yes,
}

impl Can {
    fn rank(self) -> u8 {
        self as u8
    }

    fn word(self) -> &'static str {
        match self {
            Can::No => "no",
            Can::Renew => "renew",
            Can::Admins => "admins",
            Can::Yes => "yes",
        }
    }
}

/// What one provisioner may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rights {
    pub x509: Can,
    pub ssh_user: Can,
    pub ssh_host: Can,
}

/// One provisioner of a `ca.json`, with its rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: String,
    pub rights: Rights,
}

/// Every provisioner of `doc` (a parsed `ca.json`) with what step-ca lets it sign.
pub fn rights(doc: &Value) -> Result<Vec<Entry>, String> {
    let global = claim(doc.pointer("/authority/claims"), "authority.claims")?.unwrap_or(false);
    let has_key = |k: &str| {
        doc.pointer(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let keys = (has_key("/ssh/userKey"), has_key("/ssh/hostKey"));
    let list = match doc.pointer("/authority/provisioners") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("authority.provisioners is not a list".into()),
    };
    list.iter()
        .enumerate()
        .map(|(i, p)| entry(p, i, global, keys))
        .collect()
}

fn entry(p: &Value, i: usize, global: bool, keys: (bool, bool)) -> Result<Entry, String> {
    let at = format!("authority.provisioners[{i}]");
    let text = |k: &str| {
        p.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (name, kind) = (text("name"), text("type"));
    let ssh = claim(p.get("claims"), &format!("{at}.claims"))?.unwrap_or(global);
    let on = |can: Can, key: bool| if ssh && key { can } else { Can::No };
    let admins = p
        .get("admins")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let (user, host) = keys;
    let rights = match kind.to_ascii_lowercase().as_str() {
        "jwk" | "x5c" | "k8ssa" => rights_of(Can::Yes, on(Can::Yes, user), on(Can::Yes, host)),
        "oidc" => rights_of(
            Can::Yes,
            on(Can::Yes, user),
            on(if admins { Can::Admins } else { Can::No }, host),
        ),
        "aws" | "gcp" | "azure" | "nebula" => rights_of(Can::Yes, Can::No, on(Can::Yes, host)),
        "acme" | "scep" => rights_of(Can::Yes, Can::No, Can::No),
        "sshpop" => {
            let renew = if host { Can::Renew } else { Can::No };
            rights_of(Can::No, Can::No, renew)
        }
        _ => rights_of(Can::No, Can::No, Can::No),
    };
    Ok(Entry { name, kind, rights })
}

fn rights_of(x509: Can, ssh_user: Can, ssh_host: Can) -> Rights {
    Rights {
        x509,
        ssh_user,
        ssh_host,
    }
}

/// `enableSSHCA` of a claims object: `None` when absent or null (step-ca falls back).
fn claim(claims: Option<&Value>, at: &str) -> Result<Option<bool>, String> {
    match claims {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(c)) => match c.get("enableSSHCA") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!(
                "{at}.enableSSHCA is {other}, not true or false (step-ca would not start)"
            )),
        },
        Some(_) => Err(format!("{at} is not a JSON object")),
    }
}

/// Gives each named provisioner its own `claims.enableSSHCA: true` (the only way the
/// import ever widens; [`Table::check`] refuses names that do not widen anything).
pub fn widen(doc: &mut Value, names: &[String]) -> Result<(), String> {
    let Some(Value::Array(list)) = doc.pointer_mut("/authority/provisioners") else {
        return Ok(());
    };
    for p in list.iter_mut() {
        let named = p
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| names.iter().any(|w| w == n));
        let Some(p) = p.as_object_mut().filter(|_| named) else {
            continue;
        };
        let claims = p
            .entry("claims")
            .or_insert_with(|| Value::Object(Map::new()));
        if claims.is_null() {
            *claims = Value::Object(Map::new());
        }
        let claims = claims
            .as_object_mut()
            .ok_or("a provisioner's claims is not a JSON object")?;
        claims.insert("enableSSHCA".into(), Value::Bool(true));
    }
    Ok(())
}

/// One provisioner before and after an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub kind: String,
    pub before: Rights,
    pub after: Rights,
}

impl Row {
    /// The SSH rights that grow (X.509 rights follow the type, which an import keeps).
    pub fn widened(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.after.ssh_user.rank() > self.before.ssh_user.rank() {
            out.push("SSH user");
        }
        if self.after.ssh_host.rank() > self.before.ssh_host.rank() {
            out.push("SSH host");
        }
        if self.after.x509.rank() > self.before.x509.rank() {
            out.push("X.509");
        }
        out
    }
}

/// Every provisioner's rights before and after, and notes for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub rows: Vec<Row>,
    /// `authority.claims.enableSSHCA` after the import, when set.
    pub global_ssh: Option<bool>,
    /// `authority.enableAdmin` was true before: step-ca used its database's provisioners.
    pub admin_before: bool,
}

/// Compares two `ca.json` files (the installed one and the new one).
pub fn compare(before: &[u8], after: &[u8]) -> Result<Table, String> {
    let parse = |b: &[u8]| serde_json::from_slice::<Value>(b).map_err(|e| format!("not JSON: {e}"));
    let (b, a) = (parse(before)?, parse(after)?);
    let (rb, ra) = (rights(&b)?, rights(&a)?);
    if rb.len() != ra.len() || rb.iter().zip(&ra).any(|(x, y)| x.name != y.name) {
        return Err("the provisioner list changed during the rewrite".into());
    }
    let rows = rb
        .into_iter()
        .zip(ra)
        .map(|(x, y)| Row {
            name: x.name,
            kind: x.kind,
            before: x.rights,
            after: y.rights,
        })
        .collect();
    Ok(Table {
        rows,
        global_ssh: claim(a.pointer("/authority/claims"), "authority.claims")?,
        admin_before: b.pointer("/authority/enableAdmin") == Some(&Value::Bool(true)),
    })
}

impl Table {
    /// Refuses (with the reason) an import that widens a provisioner not in `widen`, or a
    /// `widen` name that widens nothing.
    pub fn check(&self, widen: &[String]) -> Result<(), String> {
        let mut problems = Vec::new();
        for name in widen {
            match self.rows.iter().find(|r| &r.name == name) {
                None => problems.push(format!(
                    "--widen-ssh {name}: ca.json has no provisioner of that name"
                )),
                Some(r) if r.widened().is_empty() => problems.push(format!(
                    "--widen-ssh {name}: widens nothing ({} provisioner; SSH user {}, SSH \
                     host {} before and after)",
                    r.kind,
                    r.after.ssh_user.word(),
                    r.after.ssh_host.word()
                )),
                Some(_) => {}
            }
        }
        for r in &self.rows {
            let wider = r.widened();
            if !wider.is_empty() && !widen.contains(&r.name) {
                problems.push(format!(
                    "provisioner {} ({}) could newly sign {} certificates; name it with \
                     --widen-ssh {} if that is intended",
                    r.name,
                    r.kind,
                    wider.join(" and "),
                    r.name
                ));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the import would change who may sign certificates:\n  {}\n{}",
            problems.join("\n  "),
            self.render().trim_end()
        ))
    }

    /// The table as `ceremonyd import` prints it.
    pub fn render(&self) -> String {
        let cell = |b: Can, a: Can| format!("{} -> {}", b.word(), a.word());
        let width = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max(11);
        let mut out = format!(
            "signing rights (before -> after, as step-ca decides):\n  {:<width$}  {:<7} {:<16} {:<16} {}\n",
            "provisioner", "type", "X.509", "SSH user", "SSH host"
        );
        for r in &self.rows {
            let mark = if r.widened().is_empty() {
                ""
            } else {
                "  WIDER"
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<7} {:<16} {:<16} {}{mark}",
                r.name,
                r.kind,
                cell(r.before.x509, r.after.x509),
                cell(r.before.ssh_user, r.after.ssh_user),
                cell(r.before.ssh_host, r.after.ssh_host),
            );
        }
        if self.global_ssh == Some(true) {
            out.push_str(
                "  note: authority.claims.enableSSHCA is true, so every provisioner without its \
                 own claim may sign SSH; ceremonyd keeps it as it is\n",
            );
        }
        if self.admin_before {
            out.push_str(
                "  note: authority.enableAdmin was true: step-ca took its provisioners from its \
                 database, not from this ca.json; now it takes them from ca.json\n",
            );
        }
        out
    }
}

#[cfg(test)]
mod tests;
