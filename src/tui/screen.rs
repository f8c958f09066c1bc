//! The view model: everything one frame shows, as plain data. `App` builds it from the
//! engine; `view` draws it. Snapshot tests build it by hand.

use crate::engine::{Need, StepStatus, StepView};

/// One frame's content.
#[derive(Debug, Clone)]
pub struct Screen {
    pub ceremony: String,
    pub drill: bool,
    pub clock: String,
    pub steps: Vec<(String, StepStatus)>,
    pub head: String,
    pub body: Body,
    pub message: Option<Message>,
    pub help: bool,
    pub quitting: bool,
    /// Rows the step pane is scrolled up from its bottom (PgUp/PgDn) when it does not
    /// fit; 0 shows the question and its fields.
    pub scroll: u16,
}

// One `Body` exists per drawn frame: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Body {
    /// A transcript was found in the working folder.
    Resume {
        done: usize,
        next: String,
        work: String,
        /// What happened to an unfinished last record, if a crash left one.
        torn: Option<String>,
    },
    /// The current step and what it needs.
    Step {
        step: StepView,
        need: Need,
        fields: Vec<FieldView>,
        selected: usize,
        /// Fingerprint read-back: the fingerprint grouped and as PGP words.
        words: Option<Vec<String>>,
    },
    Finished(Completion),
}

#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub bundle: Option<String>,
    pub seal: Option<String>,
    pub root: Option<String>,
    pub sheet: Option<String>,
    pub can_print: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldView {
    pub label: String,
    pub shown: String,
    pub focused: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Info(String),
    /// What failed, and the safe next action.
    Error {
        what: String,
        next: String,
    },
}
