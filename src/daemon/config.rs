//! The daemon's configuration file (TOML), read strictly: an unknown key, a wrong type or
//! a bad value is a problem at its dotted path (`serve.listen: ...`), and every problem is
//! reported at once, as the checklist reader does (same [`Problem`] type). Missing keys
//! take the defaults documented in `docs/ceremonyd.md`.

use super::error::DaemonError;
use crate::checklist::Problem;
use crate::pki::Fingerprint;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::{Table, Value};

/// Owner of everything ceremonyd writes: numeric, because the names inside step-ca's
/// container (`step`, 1000:1000) need not exist on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Default for Owner {
    fn default() -> Self {
        Owner {
            uid: 1000,
            gid: 1000,
        }
    }
}

impl FromStr for Owner {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not UID:GID (numbers, e.g. 1000:1000)");
        let (u, g) = s.split_once(':').ok_or_else(bad)?;
        Ok(Owner {
            uid: u.parse().map_err(|_| bad())?,
            gid: g.parse().map_err(|_| bad())?,
        })
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

/// `[ca]`: the step-ca folder and how step-ca sees it from inside its container.
#[derive(Debug, Clone, PartialEq)]
pub struct CaSettings {
    pub dir: Option<PathBuf>,
    pub owner: Owner,
    /// STEPPATH inside the container; `root` and `crt` in ca.json point below it.
    pub step_path: String,
    /// The PKCS#11 module as step-ca loads it (`module-path` of the kms URI).
    pub module_path: String,
    /// The file step-ca reads the HSM user PIN from (`pin-source` of the kms URI).
    pub pin_source: String,
}

/// `[trust]`: the files configuration management distributes.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustSettings {
    pub dir: Option<PathBuf>,
    pub known_hosts_pattern: String,
    /// How long a replaced root stays trusted (served and in `roots.pem`).
    pub root_overlap_days: u32,
}

/// `[import]`: rules for bundles found in the inbox (the CLI has flags for these).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSettings {
    pub allow_drill: bool,
    /// A new root the inbox may accept (a root rotation); the installed root is always
    /// accepted for intermediate rotations.
    pub root_fingerprint: Option<Fingerprint>,
}

/// `[serve]`: the HTTP server and the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub inbox: Option<PathBuf>,
    pub poll_seconds: u64,
    pub max_connections: usize,
    pub header_timeout_seconds: u64,
    pub idle_timeout_seconds: u64,
    pub worker_threads: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub ca: CaSettings,
    pub trust: TrustSettings,
    pub import: ImportSettings,
    pub serve: ServeSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            ca: CaSettings {
                dir: None,
                owner: Owner::default(),
                step_path: "/home/step".into(),
                module_path: "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so".into(),
                pin_source: "/run/secrets/hsm-pin".into(),
            },
            trust: TrustSettings {
                dir: None,
                known_hosts_pattern: "*".into(),
                root_overlap_days: 180,
            },
            import: ImportSettings {
                allow_drill: false,
                root_fingerprint: None,
            },
            serve: ServeSettings {
                listen: SocketAddr::from(([127, 0, 0, 1], 9480)),
                inbox: None,
                poll_seconds: 5,
                max_connections: 2048,
                header_timeout_seconds: 10,
                idle_timeout_seconds: 30,
                worker_threads: 2,
            },
        }
    }
}

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> Result<Config, DaemonError> {
    let text = std::fs::read_to_string(path).map_err(DaemonError::io("read", path))?;
    parse_str(&text).map_err(|problems| DaemonError::Config {
        path: path.to_path_buf(),
        problems,
    })
}

const SECTIONS: &[&str] = &["ca", "trust", "import", "serve"];
const CA: &[&str] = &["dir", "owner", "step_path", "module_path", "pin_source"];
const TRUST: &[&str] = &["dir", "known_hosts_pattern", "root_overlap_days"];
const IMPORT: &[&str] = &["allow_drill", "root_fingerprint"];
const SERVE: &[&str] = &[
    "listen",
    "inbox",
    "poll_seconds",
    "max_connections",
    "header_timeout_seconds",
    "idle_timeout_seconds",
    "worker_threads",
];

/// Parses configuration text; on failure returns every problem found.
pub fn parse_str(text: &str) -> Result<Config, Vec<Problem>> {
    let doc: Table = text.parse().map_err(|e: toml::de::Error| {
        vec![Problem::new("(file)", e.message().trim_end().to_owned())]
    })?;
    let mut r = Reader::default();
    let mut c = Config::default();
    r.unknown(&doc, "", SECTIONS);
    if let Some(t) = r.section(&doc, "ca", CA) {
        read_ca(&mut r, t, &mut c.ca);
    }
    if let Some(t) = r.section(&doc, "trust", TRUST) {
        let s = &mut c.trust;
        r.path(t, "trust", "dir", &mut s.dir);
        r.pattern(
            t,
            "trust",
            "known_hosts_pattern",
            &mut s.known_hosts_pattern,
        );
        r.int(t, "trust", "root_overlap_days", 0, 36500, |v| {
            s.root_overlap_days = v as u32
        });
    }
    if let Some(t) = r.section(&doc, "import", IMPORT) {
        r.boolean(t, "import", "allow_drill", &mut c.import.allow_drill);
        r.parsed(t, "import", "root_fingerprint", |s| {
            s.parse::<Fingerprint>()
                .map(|f| c.import.root_fingerprint = Some(f))
                .map_err(|e| e.to_string())
        });
    }
    if let Some(t) = r.section(&doc, "serve", SERVE) {
        read_serve(&mut r, t, &mut c.serve);
    }
    if r.problems.is_empty() {
        Ok(c)
    } else {
        Err(r.problems)
    }
}

fn read_ca(r: &mut Reader, t: &Table, s: &mut CaSettings) {
    r.path(t, "ca", "dir", &mut s.dir);
    r.parsed(t, "ca", "owner", |v| v.parse().map(|o| s.owner = o));
    for (key, field) in [
        ("step_path", &mut s.step_path),
        ("module_path", &mut s.module_path),
        ("pin_source", &mut s.pin_source),
    ] {
        r.parsed(t, "ca", key, |v| {
            if !v.starts_with('/') {
                return Err(format!("{v:?} is not an absolute path"));
            }
            if v.contains(['?', ';', '%', '"']) || v.chars().any(char::is_control) {
                return Err(format!("{v:?} holds a character that breaks a pkcs11 URI"));
            }
            *field = v.trim_end_matches('/').to_owned();
            Ok(())
        });
    }
}

fn read_serve(r: &mut Reader, t: &Table, s: &mut ServeSettings) {
    r.parsed(t, "serve", "listen", |v| {
        v.parse()
            .map(|a| s.listen = a)
            .map_err(|_| format!("{v:?} is not an address:port such as 127.0.0.1:9480"))
    });
    r.path(t, "serve", "inbox", &mut s.inbox);
    r.int(t, "serve", "poll_seconds", 1, 3600, |v| {
        s.poll_seconds = v as u64
    });
    r.int(t, "serve", "max_connections", 1, 100_000, |v| {
        s.max_connections = v as usize
    });
    r.int(t, "serve", "header_timeout_seconds", 1, 600, |v| {
        s.header_timeout_seconds = v as u64
    });
    r.int(t, "serve", "idle_timeout_seconds", 1, 3600, |v| {
        s.idle_timeout_seconds = v as u64
    });
    r.int(t, "serve", "worker_threads", 1, 64, |v| {
        s.worker_threads = v as usize
    });
}

/// Collects problems while reading typed values out of TOML tables.
#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
}

fn dotted(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

impl Reader {
    fn problem(&mut self, path: String, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    fn unknown(&mut self, t: &Table, prefix: &str, allowed: &[&str]) {
        for key in t.keys().filter(|k| !allowed.contains(&k.as_str())) {
            let message = format!("unknown key; allowed: {}", allowed.join(", "));
            self.problem(dotted(prefix, key), message);
        }
    }

    fn section<'t>(&mut self, doc: &'t Table, name: &str, keys: &[&str]) -> Option<&'t Table> {
        match doc.get(name)? {
            Value::Table(t) => {
                self.unknown(t, name, keys);
                Some(t)
            }
            other => {
                let found = type_name(other);
                self.problem(name.into(), format!("expected a table, found {found}"));
                None
            }
        }
    }

    fn typed<'t>(&mut self, t: &'t Table, sec: &str, key: &str, want: &str) -> Option<&'t Value> {
        let v = t.get(key)?;
        let ok = matches!(
            (want, v),
            ("a string", Value::String(_))
                | ("an integer", Value::Integer(_))
                | ("a boolean", Value::Boolean(_))
        );
        if !ok {
            let message = format!("expected {want}, found {}", type_name(v));
            self.problem(dotted(sec, key), message);
            return None;
        }
        Some(v)
    }

    /// A string turned into a value by `f`, whose error message is reported at the path.
    fn parsed(
        &mut self,
        t: &Table,
        sec: &str,
        key: &str,
        f: impl FnOnce(&str) -> Result<(), String>,
    ) {
        if let Some(Value::String(s)) = self.typed(t, sec, key, "a string")
            && let Err(message) = f(s)
        {
            self.problem(dotted(sec, key), message);
        }
    }

    fn path(&mut self, t: &Table, sec: &str, key: &str, out: &mut Option<PathBuf>) {
        self.parsed(t, sec, key, |s| {
            if s.starts_with('/') {
                *out = Some(PathBuf::from(s));
                Ok(())
            } else {
                Err(format!("{s:?} is not an absolute path"))
            }
        });
    }

    fn pattern(&mut self, t: &Table, sec: &str, key: &str, out: &mut String) {
        self.parsed(t, sec, key, |s| {
            if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(format!(
                    "{s:?} is not a known_hosts host pattern (no spaces)"
                ))
            } else {
                *out = s.to_owned();
                Ok(())
            }
        });
    }

    fn int(&mut self, t: &Table, sec: &str, key: &str, min: i64, max: i64, set: impl FnOnce(i64)) {
        if let Some(Value::Integer(n)) = self.typed(t, sec, key, "an integer") {
            if *n < min || *n > max {
                let message = format!("{n} is out of range; expected {min} to {max}");
                self.problem(dotted(sec, key), message);
            } else {
                set(*n);
            }
        }
    }

    fn boolean(&mut self, t: &Table, sec: &str, key: &str, out: &mut bool) {
        if let Some(Value::Boolean(b)) = self.typed(t, sec, key, "a boolean") {
            *out = *b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_values() {
        let c = parse_str("").unwrap();
        assert_eq!(c, Config::default());
        let c = parse_str(
            "[ca]\ndir = \"/srv/ca\"\nowner = \"4242:4243\"\n[serve]\nlisten = \"[::1]:8080\"\n",
        )
        .unwrap();
        assert_eq!(c.ca.dir.as_deref(), Some(Path::new("/srv/ca")));
        assert_eq!(
            c.ca.owner,
            Owner {
                uid: 4242,
                gid: 4243
            }
        );
        assert_eq!(c.serve.listen.port(), 8080);
    }

    #[test]
    fn every_problem_has_its_dotted_path() {
        let text = "color = 1\n[ca]\nowner = \"step\"\nmodule_path = \"rel.so\"\nextra = true\n\
                    [serve]\npoll_seconds = 0\nlisten = 5\n[trust]\nroot_overlap_days = \"x\"\n\
                    [import]\nroot_fingerprint = \"abc\"\n";
        let problems = parse_str(text).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "color",
                "ca.extra",
                "ca.owner",
                "ca.module_path",
                "trust.root_overlap_days",
                "import.root_fingerprint",
                "serve.listen",
                "serve.poll_seconds",
            ],
            "{problems:?}"
        );
        assert!(problems[0].message.contains("unknown key"));
        assert!(
            problems[6]
                .message
                .contains("expected a string, found an integer")
        );
    }
}
