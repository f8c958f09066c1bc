//! The structural walk: which keys may appear where, and with which TOML type.
//!
//! serde stops at the first error and `#[serde(flatten)]` (on `StepSpec::action`) lets
//! unknown keys through, so the parsed `toml::Table` is walked against this schema first.
//! The walk reports every unknown key, missing key, wrong type, unknown enum value and
//! out-of-range integer, and removes unknown keys so that a file whose only flaw is a stray
//! key can still be deserialized and validated (all its other problems get reported too).

use super::error::{Problem, child, item, list};
use super::model::StepAction;
use toml::{Table, Value};

/// The outcome of the walk.
pub(super) struct Walk {
    pub problems: Vec<Problem>,
    /// True when something other than an unknown key is wrong: the table cannot be
    /// deserialized into the model.
    pub fatal: bool,
}

enum Ty {
    Str,
    Bool,
    /// An integer in `min..=max`.
    Int(i64, i64),
    /// A string that must be one of the given values (`what` names the set).
    Choice(&'static str, &'static [&'static str]),
    StrList,
    Table(&'static [Field]),
    /// A table whose entries are all tables of one shape (`[tokens.root]`, ...).
    Named(&'static [Field]),
    /// An array of tables of one shape (`[[keys]]`).
    List(&'static [Field]),
    /// The `[[steps]]` array: its allowed keys depend on each step's `kind`.
    Steps,
}

struct Field {
    key: &'static str,
    ty: Ty,
    required: bool,
}

const fn req(key: &'static str, ty: Ty) -> Field {
    Field {
        key,
        ty,
        required: true,
    }
}

const fn opt(key: &'static str, ty: Ty) -> Field {
    Field {
        key,
        ty,
        required: false,
    }
}

pub(super) const CEREMONY_KINDS: &[&str] = &[
    "root",
    "intermediate-rotation",
    "intermediate-rotation-emergency",
    "root-rotation",
    "crl-renewal",
];
pub(super) const PAPERS: &[&str] = &["a4", "letter"];
pub(super) const CHARSETS: &[&str] = &["digits", "hex", "printable"];
pub(super) const CURVES: &[&str] = &["P-256", "P-384", "P-521"];

const U8: Ty = Ty::Int(0, u8::MAX as i64);
const U32: Ty = Ty::Int(0, u32::MAX as i64);
const UNSIGNED: Ty = Ty::Int(0, i64::MAX);

const TOP: &[Field] = &[
    req("ceremony", Ty::Table(CEREMONY)),
    req("participants", Ty::Table(PARTICIPANTS)),
    req("tokens", Ty::Named(TOKEN)),
    req("keys", Ty::List(KEY)),
    req("certificates", Ty::Named(CERTIFICATE)),
    opt("crl", Ty::Table(CRL)),
    opt("ssh", Ty::Table(SSH)),
    req("steps", Ty::Steps),
];
const CEREMONY: &[Field] = &[
    req("name", Ty::Str),
    req("kind", Ty::Choice("ceremony kind", CEREMONY_KINDS)),
    req("ca_url", Ty::Str),
    opt("paper", Ty::Choice("paper size", PAPERS)),
];
const PARTICIPANTS: &[Field] = &[
    req("operator", Ty::Table(PARTICIPANT)),
    req("witness", Ty::Table(PARTICIPANT)),
];
const PARTICIPANT: &[Field] = &[req("duty", Ty::Str)];
const TOKEN: &[Field] = &[
    req("label", Ty::Str),
    req("description", Ty::Str),
    req("so_pin", Ty::Table(PIN)),
    req("user_pin", Ty::Table(PIN)),
    opt("existing", Ty::Str),
];
const PIN: &[Field] = &[
    req("min_length", UNSIGNED),
    req("max_length", UNSIGNED),
    req("charset", Ty::Choice("PIN charset", CHARSETS)),
];
const KEY: &[Field] = &[
    req("name", Ty::Str),
    req("token", Ty::Str),
    req("id", Ty::Str),
    req("label", Ty::Str),
    req("curve", Ty::Choice("curve", CURVES)),
    opt("existing", Ty::Str),
];
const CERTIFICATE: &[Field] = &[
    req("key", Ty::Str),
    opt("issuer", Ty::Str),
    req("subject", Ty::Table(SUBJECT)),
    req("validity_days", U32),
    req("path_length", U8),
    opt("crl_distribution_point", Ty::Str),
    opt("name_constraints", Ty::Table(NAME_CONSTRAINTS)),
    opt("existing", Ty::Str),
];
const SUBJECT: &[Field] = &[
    req("common_name", Ty::Str),
    opt("organization", Ty::Str),
    opt("country", Ty::Str),
];
const NAME_CONSTRAINTS: &[Field] = &[
    opt("permitted_dns", Ty::StrList),
    opt("excluded_dns", Ty::StrList),
];
const CRL: &[Field] = &[
    req("issuer", Ty::Str),
    req("validity_days", U32),
    opt("number", UNSIGNED),
    opt("revoke", Ty::List(REVOKE)),
];
const REVOKE: &[Field] = &[
    req("certificate", Ty::Str),
    req("reason", Ty::Choice("revocation reason", REVOKE_REASONS)),
    opt("with_superseded", Ty::Bool),
];
pub(super) const REVOKE_REASONS: &[&str] = &[
    "unspecified",
    "key-compromise",
    "ca-compromise",
    "superseded",
    "cessation-of-operation",
];
const SSH: &[Field] = &[req("user_ca_key", Ty::Str), req("host_ca_key", Ty::Str)];
const STEP: &[Field] = &[
    req("id", Ty::Str),
    req("title", Ty::Str),
    req("text", Ty::Str),
    req("kind", Ty::Choice("step kind", &StepAction::KINDS)),
];

/// Walks the whole document, removing unknown keys from it as they are reported.
pub(super) fn walk(doc: &mut Table) -> Walk {
    let mut w = Walk {
        problems: Vec::new(),
        fatal: false,
    };
    w.table(doc, TOP, "", None, None);
    w
}

impl Walk {
    fn fail(&mut self, path: String, message: String) {
        self.problems.push(Problem::new(path, message));
        self.fatal = true;
    }

    /// Checks `table` against `fields`. For a step, `kind` is its kind and `extra` the one
    /// more key that kind allows (its target).
    fn table(
        &mut self,
        table: &mut Table,
        fields: &[Field],
        path: &str,
        kind: Option<&str>,
        extra: Option<&str>,
    ) {
        for field in fields {
            let here = child(path, field.key);
            match table.get_mut(field.key) {
                Some(value) => self.value(value, &field.ty, &here),
                None if field.required => self.fail(here, "required key is missing".into()),
                None => {}
            }
        }
        let allowed = || list(fields.iter().map(|f| f.key).chain(extra));
        let unknown: Vec<String> = table
            .keys()
            .filter(|k| !fields.iter().any(|f| f.key == k.as_str()) && Some(k.as_str()) != extra)
            .cloned()
            .collect();
        for key in unknown {
            table.remove(&key);
            let message = match kind {
                Some(kind) => format!("unknown key for kind {kind}; allowed: {}", allowed()),
                None => format!("unknown key; allowed: {}", allowed()),
            };
            self.problems.push(Problem::new(child(path, &key), message));
        }
    }

    fn value(&mut self, value: &mut Value, ty: &Ty, path: &str) {
        match (ty, value) {
            (Ty::Str, Value::String(_)) | (Ty::Bool, Value::Boolean(_)) => {}
            (Ty::Int(min, max), Value::Integer(n)) => {
                if *n < *min || *n > *max {
                    let range = if *max == i64::MAX {
                        "0 or more".to_owned()
                    } else {
                        format!("{min} to {max}")
                    };
                    self.fail(
                        path.into(),
                        format!("{n} is out of range; expected {range}"),
                    );
                }
            }
            (Ty::Choice(what, choices), Value::String(s)) => {
                if !choices.contains(&s.as_str()) {
                    let expected = list(choices.iter().copied());
                    self.fail(
                        path.into(),
                        format!("unknown {what} {s:?}; expected one of {expected}"),
                    );
                }
            }
            (Ty::StrList, Value::Array(items)) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.value(v, &Ty::Str, &item(path, i));
                }
            }
            (Ty::Table(fields), Value::Table(t)) => self.table(t, fields, path, None, None),
            (Ty::Named(fields), Value::Table(t)) => {
                for (name, v) in t.iter_mut() {
                    match v {
                        Value::Table(entry) => {
                            self.table(entry, fields, &child(path, name), None, None)
                        }
                        other => self.wrong_type(&child(path, name), "a table", other),
                    }
                }
            }
            (Ty::List(fields), Value::Array(items)) => {
                for (i, v) in items.iter_mut().enumerate() {
                    match v {
                        Value::Table(entry) => {
                            self.table(entry, fields, &item(path, i), None, None)
                        }
                        other => self.wrong_type(&item(path, i), "a table", other),
                    }
                }
            }
            (Ty::Steps, Value::Array(items)) => {
                for (i, v) in items.iter_mut().enumerate() {
                    match v {
                        Value::Table(step) => self.step(step, &item(path, i)),
                        other => self.wrong_type(&item(path, i), "a table", other),
                    }
                }
            }
            (ty, other) => self.wrong_type(path, expected(ty), other),
        }
    }

    fn step(&mut self, step: &mut Table, path: &str) {
        let kind = step.get("kind").and_then(Value::as_str).map(str::to_owned);
        let known = kind.as_deref().filter(|k| StepAction::KINDS.contains(k));
        let target = known.and_then(StepAction::target_key_of);
        if let Some(key) = target {
            match step.get_mut(key) {
                Some(v) => self.value(v, &Ty::Str, &child(path, key)),
                None => self.fail(child(path, key), "required key is missing".into()),
            }
        }
        if known.is_some() {
            self.table(step, STEP, path, known, target);
        } else {
            // Without a valid kind the target key cannot be judged: keep the three
            // possible ones and report the rest.
            for key in ["token", "key", "certificate"] {
                if let Some(v) = step.get_mut(key) {
                    self.value(v, &Ty::Str, &child(path, key));
                }
            }
            let mut others = Table::new();
            for key in ["token", "key", "certificate"] {
                if let Some(v) = step.remove(key) {
                    others.insert(key.to_owned(), v);
                }
            }
            self.table(step, STEP, path, None, None);
            step.extend(others);
        }
    }

    fn wrong_type(&mut self, path: &str, expected: &str, found: &Value) {
        let found = match found {
            Value::String(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        };
        self.fail(path.into(), format!("expected {expected}, found {found}"));
    }
}

fn expected(ty: &Ty) -> &'static str {
    match ty {
        Ty::Str | Ty::Choice(..) => "a string",
        Ty::Bool => "true or false",
        Ty::Int(..) => "an integer",
        Ty::StrList => "an array of strings",
        Ty::Table(_) | Ty::Named(_) => "a table",
        Ty::List(_) | Ty::Steps => "an array of tables",
    }
}
