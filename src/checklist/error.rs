//! The checklist module's error type and the `Problem` lines it carries.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a checklist could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    /// The file could not be read at all.
    #[error("cannot read checklist {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file was read but is not a valid checklist. Every problem found is listed,
    /// not only the first.
    #[error("{}", InvalidDisplay(problems))]
    Invalid { problems: Vec<Problem> },
}

impl ChecklistError {
    /// The problems of an `Invalid` checklist; empty for a read error.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ChecklistError::Invalid { problems } => problems,
            ChecklistError::Read { .. } => &[],
        }
    }
}

struct InvalidDisplay<'a>(&'a [Problem]);

impl fmt::Display for InvalidDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "the checklist has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in self.0 {
            write!(f, "\n{problem}")?;
        }
        Ok(())
    }
}

/// One thing wrong with a checklist, at a dotted path such as `keys[2].label` or
/// `tokens.root.so_pin.max_length`. Syntax errors use `line:column` as the path, and
/// problems with the file as a whole use `(file)`. Displayed as `path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// `prefix.key`, quoting `key` the TOML way when it is not a bare key.
pub(crate) fn child(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// `prefix[index]`.
pub(crate) fn item(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

/// Names joined for a message: `a, b, c`, or `(none)`.
pub(crate) fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let joined: Vec<&str> = names.into_iter().collect();
    if joined.is_empty() {
        "(none)".to_owned()
    } else {
        joined.join(", ")
    }
}
