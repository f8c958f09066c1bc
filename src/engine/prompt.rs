//! What the engine asks for and what it is given: the one interface that the TUI and the
//! unattended drill both drive.

use crate::checklist::model::PinRule;
use crate::hsm::{PinFlags, TokenInfo};
use crate::secret::Pin;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The two people at the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Operator,
    Witness,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Witness => "witness",
        }
    }
}

/// The step a prompt belongs to, as the people see it.
#[derive(Debug, Clone)]
pub struct StepView {
    pub index: usize,
    pub count: usize,
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub text: String,
    /// What the program will do when the step's inputs are complete.
    pub action: String,
}

/// The next thing the engine needs.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub step: StepView,
    pub need: Need,
}

#[derive(Debug, Clone)]
pub enum Need {
    /// Name and initials of a participant (asked once, at the start).
    Participant { role: Role, duty: String },
    /// Pick, by serial, the token that takes this role.
    ChooseToken {
        token_role: String,
        /// For a token carried over from the previous ceremony: the serial it must have.
        expected_serial: Option<String>,
        description: String,
        tokens: Vec<TokenInfo>,
        /// Serials already given another role.
        taken: Vec<String>,
        /// Serials of tokens in use: initialising them would destroy something
        /// ([`crate::hsm::Module::in_use`]).
        with_keys: Vec<String>,
    },
    /// A person types something back that proves they read or agree to it.
    TypeBack { by: Role, challenge: Challenge },
    /// A PIN for one PKCS#11 call. `rule` is set for a PIN being chosen now; `flags` are
    /// the token's counters read just before asking.
    Pin {
        token_role: String,
        serial: String,
        kind: PinKind,
        rule: Option<PinRule>,
        flags: PinFlags,
    },
    /// A participant confirms the step with their initials.
    Confirm {
        role: Role,
        facts: Vec<(String, String)>,
    },
    /// Every step is complete.
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinKind {
    /// The SO PIN the token has now (factory transport PIN on a new token).
    CurrentSo,
    /// The SO PIN it is to have.
    NewSo,
    /// The user PIN it is to have.
    NewUser,
    /// The user PIN, to log in.
    User,
}

impl PinKind {
    pub fn describe(self) -> &'static str {
        match self {
            PinKind::CurrentSo => "current SO PIN",
            PinKind::NewSo => "new SO PIN",
            PinKind::NewUser => "new user PIN",
            PinKind::User => "user PIN",
        }
    }
}

/// Something to type back, and what it is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// The last `count` characters of the serial, read off the device or its bag.
    SerialSuffix { serial: String, count: usize },
    /// The full serial of a token that holds objects and is about to be erased.
    EraseToken { serial: String, label: String },
    /// A phrase that names what a destructive step affects, typed in full.
    Authorise { phrase: String },
    /// Groups of the fingerprint (1-based positions of 4-hex-digit groups), read aloud
    /// from paper and typed back, separated by spaces.
    FingerprintGroups {
        fingerprint: String,
        positions: Vec<usize>,
        of: Hashed,
    },
}

/// What a grouped SHA-256 read back from paper is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashed {
    /// A certificate's fingerprint, as `step certificate fingerprint` prints it.
    Certificate,
    /// The bundle seal: SHA-256 of `SHA256SUMS`, as `sha256sum SHA256SUMS` prints it.
    Seal,
}

impl Challenge {
    /// The text that satisfies the challenge.
    pub fn expected(&self) -> String {
        match self {
            Challenge::SerialSuffix { serial, count } => {
                let skip = serial.chars().count().saturating_sub(*count);
                serial.chars().skip(skip).collect()
            }
            Challenge::EraseToken { serial, .. } => serial.clone(),
            Challenge::Authorise { phrase } => phrase.clone(),
            Challenge::FingerprintGroups {
                fingerprint,
                positions,
                ..
            } => positions
                .iter()
                .map(|p| fingerprint.get((p - 1) * 4..p * 4).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// Whether `typed` satisfies it (case and surrounding space ignored).
    pub fn accepts(&self, typed: &str) -> bool {
        let norm = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        norm(typed) == norm(&self.expected())
    }
}

/// An answer to the current prompt.
#[derive(Debug)]
pub enum Answer {
    Participant { name: String, initials: String },
    Token { serial: String },
    Text(String),
    Pin(Pin),
    Confirm { initials: String },
}

/// What an answer led to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// More input is needed for the current step.
    Pending,
    /// A step finished and was written to the transcript.
    StepDone {
        index: usize,
        id: String,
        took: Duration,
        /// What the step produced, in one line (a new key's digest, a signature's serial
        /// and dates), for the screen after it.
        result: Option<String>,
    },
    /// The last step finished.
    Finished,
}
