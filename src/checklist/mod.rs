//! Checklist files: the TOML ceremony scripts, read strictly and validated as a whole.
//!
//! This module owns the checklist format (see `docs/checklist-reference.md`): its typed
//! model ([`model`]), reading a file and hashing its exact bytes ([`load`]), and turning
//! text into a [`Checklist`] that is known to make sense ([`parse_str`]). It reports every
//! problem at once, each with a dotted path (`keys[2].label: 40 bytes; token labels hold at
//! most 32`), so that a reviewer fixes a script in one round.
//!
//! Reading happens in three passes:
//! 1. TOML syntax (`toml::Table`); a syntax error is one problem at `line:column`.
//! 2. The structural walk (`schema`): unknown keys, missing keys, wrong types, unknown
//!    enum values and out-of-range integers, all of them.
//! 3. Deserialization into the model and the validation pass (`validate`, `steps`, `pin`):
//!    labels that fit, references that resolve, validity that nests, steps in an order
//!    that works. This pass runs whenever the structure is sound; unknown keys alone do
//!    not stop it.

mod error;
mod lookup;
pub mod model;
mod pin;
mod schema;
mod steps;
mod validate;

pub use error::{ChecklistError, Problem};
pub use model::*;
pub use pin::{MAX_PIN_LENGTH, MIN_PIN_LENGTH};
pub use validate::{MAX_KEY_ID_BYTES, MAX_LABEL_BYTES, MAX_NAME_CHARS};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A checklist read from disk, with the SHA-256 of its exact bytes (this hash goes into
/// the transcript, the bundle and the printed sheet).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub checklist: Checklist,
    /// Lowercase hex SHA-256 of the file bytes as read.
    pub sha256_hex: String,
    pub path: PathBuf,
}

/// Reads, hashes, parses and validates a checklist file.
pub fn load(path: &Path) -> Result<Loaded, ChecklistError> {
    let bytes = std::fs::read(path).map_err(|source| ChecklistError::Read {
        path: path.to_owned(),
        source,
    })?;
    let sha256_hex = hex::encode(Sha256::digest(&bytes));
    let text = std::str::from_utf8(&bytes).map_err(|e| ChecklistError::Invalid {
        problems: vec![Problem::new("(file)", format!("not UTF-8 text: {e}"))],
    })?;
    let checklist = parse_str(text)?;
    Ok(Loaded {
        checklist,
        sha256_hex,
        path: path.to_owned(),
    })
}

/// Parses and validates checklist text. On failure every problem found is returned.
pub fn parse_str(text: &str) -> Result<Checklist, ChecklistError> {
    let invalid = |problems| ChecklistError::Invalid { problems };
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let path = e
            .span()
            .map_or_else(|| "(file)".to_owned(), |s| line_column(text, s.start));
        invalid(vec![Problem::new(path, e.message().trim_end().to_owned())])
    })?;
    let walk = schema::walk(&mut table);
    let mut problems = walk.problems;
    if walk.fatal {
        return Err(invalid(problems));
    }
    let checklist: Checklist = match table.try_into() {
        Ok(checklist) => checklist,
        Err(e) => {
            problems.push(Problem::new("(file)", e.message().trim_end().to_owned()));
            return Err(invalid(problems));
        }
    };
    problems.extend(validate::check(&checklist));
    if problems.is_empty() {
        Ok(checklist)
    } else {
        Err(invalid(problems))
    }
}

/// `line:column` (both from 1) of a byte offset.
fn line_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{line}:{column}")
}

#[cfg(test)]
mod tests;
