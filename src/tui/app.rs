//! The TUI's state and its update function: keys in, engine answers out. The engine
//! does the work; this only collects what a prompt needs and shows what came back.

use super::field::{Field, Kind};
use super::screen::{Body, Completion, FieldView, Message, Screen};
use crate::engine::{Answer, Engine, EngineError, Need, Outcome, PinKind, Prompt};
use crate::hsm::HsmError;
use crate::secret::Pin;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::PathBuf;

/// What the event loop feeds the app.
pub enum Msg {
    Key(KeyEvent),
    /// Periodic: the clock moves and the token list is rescanned.
    Tick,
}

/// Rows one PgUp or PgDn moves the step pane.
const SCROLL_ROWS: u16 = 8;

pub struct App {
    engine: Engine,
    prompt: Option<Prompt>,
    need_key: String,
    fields: Vec<Field>,
    focus: usize,
    selected: usize,
    message: Option<Message>,
    help: bool,
    quitting: bool,
    resume_pending: bool,
    /// See [`Screen::scroll`].
    scroll: u16,
    work: String,
    /// An answer ready for the engine: the event loop gives it on a worker thread
    /// ([`super::work`]) so that a slow token never freezes the screen.
    pending: Option<Answer>,
    /// Set when the user chose to quit.
    pub quit: bool,
}

impl App {
    pub fn new(engine: Engine, work: String) -> App {
        let resume_pending = engine.resumed_at().is_some();
        let mut app = App {
            engine,
            prompt: None,
            need_key: String::new(),
            fields: Vec::new(),
            focus: 0,
            selected: 0,
            message: None,
            scroll: 0,
            help: false,
            quitting: false,
            resume_pending,
            work,
            pending: None,
            quit: false,
        };
        app.refresh();
        app
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn finished(&self) -> bool {
        matches!(self.prompt.as_ref().map(|p| &p.need), Some(Need::Finished))
    }

    /// Asks the engine what it needs now; new input fields when the question changed.
    fn refresh(&mut self) {
        match self.engine.prompt() {
            Ok(prompt) => {
                let key = need_key(&prompt);
                if key != self.need_key {
                    self.fields = fields_for(&prompt.need);
                    self.scroll = 0;
                    self.focus = 0;
                    self.selected = 0;
                    self.need_key = key;
                }
                self.prompt = Some(prompt);
            }
            Err(e) => self.show_error(&e),
        }
    }

    pub fn update(&mut self, msg: Msg) {
        match msg {
            Msg::Tick => {
                if matches!(
                    self.prompt.as_ref().map(|p| &p.need),
                    Some(Need::ChooseToken { .. })
                ) {
                    self.refresh();
                }
            }
            Msg::Key(key) => self.key(key),
        }
    }

    fn key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.help {
            self.help = false;
            return;
        }
        if self.quitting {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => self.quit = true,
                _ => self.quitting = false,
            }
            return;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Char('c') if ctrl => self.quitting = true,
            KeyCode::F(1) => self.help = true,
            KeyCode::Enter if self.resume_pending => self.resume_pending = false,
            _ if self.resume_pending => {}
            KeyCode::Char('p') | KeyCode::Char('P') if self.finished() => self.print_sheet(),
            KeyCode::Enter => self.submit(),
            KeyCode::Tab if !self.fields.is_empty() => {
                self.focus = (self.focus + 1) % self.fields.len();
            }
            KeyCode::BackTab if !self.fields.is_empty() => {
                self.focus = (self.focus + self.fields.len() - 1) % self.fields.len();
            }
            KeyCode::PageUp => self.scroll = self.scroll.saturating_add(SCROLL_ROWS),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_sub(SCROLL_ROWS),
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => {
                self.selected = (self.selected + 1).min(self.token_count().saturating_sub(1))
            }
            KeyCode::Esc => {
                if let Some(f) = self.fields.get_mut(self.focus) {
                    f.clear();
                }
            }
            KeyCode::Backspace => {
                if let Some(f) = self.fields.get_mut(self.focus) {
                    f.pop();
                }
            }
            KeyCode::Char(c) if !ctrl => {
                if let Some(f) = self.fields.get_mut(self.focus) {
                    f.push(c);
                    if f.wiped {
                        self.message = Some(Message::Error {
                            what: format!(
                                "{} takes 1 to 4 letters; what was typed was wiped and is not shown.",
                                f.label
                            ),
                            next: "if a PIN was typed here by mistake, say so to the witness; type the initials".into(),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn token_count(&self) -> usize {
        match self.prompt.as_ref().map(|p| &p.need) {
            Some(Need::ChooseToken { tokens, .. }) => tokens.len(),
            _ => 0,
        }
    }

    /// Enter: next field, or the answer when every field is filled in.
    fn submit(&mut self) {
        if self.focus + 1 < self.fields.len() {
            self.focus += 1;
            return;
        }
        let Some(need) = self.prompt.as_ref().map(|p| p.need.clone()) else {
            return;
        };
        if self.fields.iter().any(Field::is_empty) {
            // A stray Enter sends nothing (an empty PIN would cost a try).
            return;
        }
        // The exact text a read-back asks for (a serial, say) is never a PIN.
        let expected = |text: &str| match &need {
            Need::TypeBack { challenge, .. } => challenge.accepts(text),
            _ => false,
        };
        if let Some(field) = self
            .fields
            .iter_mut()
            .find(|f| f.holds_pin_lookalike() && !f.check(expected))
        {
            field.clear();
            self.message = Some(Message::Error {
                what: format!(
                    "what was typed as {} looks like a PIN; it was wiped and not used.",
                    field.label
                ),
                next: "if a PIN was typed here by mistake, say so to the witness; type what this field asks for".into(),
            });
            return;
        }
        self.pending = self.answer_for(&need);
    }

    /// The answer the engine is to take next, and the engine to give it to: the event
    /// loop runs [`Engine::answer`] with them off the UI thread, then hands the outcome
    /// to [`answered`](Self::answered).
    pub fn take_pending(&mut self) -> Option<(&mut Engine, Answer)> {
        let answer = self.pending.take()?;
        Some((&mut self.engine, answer))
    }

    /// What the step is doing, for the frame shown while the engine works.
    pub fn working_on(&self) -> String {
        self.prompt
            .as_ref()
            .map(|p| p.step.title.clone())
            .unwrap_or_default()
    }

    /// Shows what the engine answered and asks it for the next question.
    pub fn answered(&mut self, outcome: Result<Outcome, EngineError>) {
        match outcome {
            Ok(Outcome::StepDone {
                id, took, result, ..
            }) => {
                let result = result.map(|r| format!(": {r}")).unwrap_or_default();
                self.message = Some(Message::Info(format!(
                    "step {id} done in {:.1} s{result}",
                    took.as_secs_f64()
                )))
            }
            Ok(Outcome::Finished) => {
                self.message = Some(Message::Info("every step is done".into()))
            }
            Ok(Outcome::Pending) => self.message = None,
            Err(e) => self.show_error(&e),
        }
        self.refresh();
    }

    fn answer_for(&mut self, need: &Need) -> Option<Answer> {
        match need {
            // The name stays in its field: refused initials are typed again alone.
            Need::Participant { .. } => Some(Answer::Participant {
                name: self.fields[0].copy_text(),
                initials: self.fields[1].take(),
            }),
            Need::ChooseToken { tokens, .. } => tokens.get(self.selected).map(|t| Answer::Token {
                serial: t.serial.clone(),
            }),
            Need::TypeBack { .. } => Some(Answer::Text(self.fields[0].take())),
            Need::Pin { .. }
                if self.fields.len() == 2 && !self.fields[0].same_text(&self.fields[1]) =>
            {
                self.fields.iter_mut().for_each(Field::clear);
                self.focus = 0;
                self.message = Some(Message::Error {
                    what: "the two PIN entries differ.".into(),
                    next: "type the PIN twice again".into(),
                });
                None
            }
            Need::Pin { .. } => {
                let pin = Pin::new(self.fields[0].take());
                self.fields.iter_mut().for_each(Field::clear);
                self.focus = 0;
                Some(Answer::Pin(pin))
            }
            Need::Confirm { .. } => Some(Answer::Confirm {
                initials: self.fields[0].take(),
            }),
            Need::Finished => None,
        }
    }

    fn show_error(&mut self, e: &EngineError) {
        self.message = Some(Message::Error {
            what: e.to_string(),
            next: next_action(e).into(),
        });
    }

    fn print_sheet(&mut self) {
        let Some(sheet) = self.sheet_path().filter(|p| p.exists()) else {
            return;
        };
        let status = std::process::Command::new("lp").arg(&sheet).status();
        self.message = Some(match status {
            Ok(s) if s.success() => {
                Message::Info(format!("sent {} to the printer", sheet.display()))
            }
            _ => Message::Error {
                what: "printing failed.".into(),
                next: format!("print {} from another machine", sheet.display()),
            },
        });
    }

    fn sheet_path(&self) -> Option<PathBuf> {
        let (dir, _) = self.engine.state().bundle.as_ref()?;
        Some(PathBuf::from(dir).join("fingerprint-sheet.pdf"))
    }

    /// The frame to draw.
    pub fn screen(&self) -> Screen {
        let checklist = self.engine.checklist();
        Screen {
            ceremony: checklist.ceremony.name.clone(),
            drill: self.engine.mode() == crate::engine::Mode::Drill,
            clock: crate::engine::clock::now()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
                ))
                .unwrap_or_default(),
            steps: checklist
                .steps
                .iter()
                .map(|s| s.id.clone())
                .zip(self.engine.progress())
                .collect(),
            head: self.engine.transcript_head().to_string(),
            body: self.body(),
            message: self.message.clone(),
            help: self.help,
            quitting: self.quitting,
            scroll: self.scroll,
        }
    }

    fn body(&self) -> Body {
        if self.resume_pending {
            let done = self.engine.resumed_at().unwrap_or(0);
            let next = self
                .engine
                .checklist()
                .steps
                .get(done)
                .map(|s| s.title.clone())
                .unwrap_or_else(|| "(nothing left)".into());
            let torn = self.engine.torn_tail().map(|t| {
                format!(
                    "Its last record was cut off by a crash while it was being written (its {} bytes are kept in {}). That step is asked for again, but what it did may already be on the token: a key it generated is recognised; check anything else before repeating it.",
                    t.bytes, t.file
                )
            });
            return Body::Resume {
                done,
                next,
                work: self.work.clone(),
                torn,
            };
        }
        let Some(prompt) = &self.prompt else {
            return Body::Finished(Completion::default());
        };
        if matches!(prompt.need, Need::Finished) {
            return Body::Finished(self.completion());
        }
        let words = match &prompt.need {
            Need::TypeBack {
                challenge: crate::engine::Challenge::FingerprintGroups { fingerprint, .. },
                ..
            } => fingerprint
                .parse::<crate::pki::Fingerprint>()
                .ok()
                .map(|f| f.pgp_words().iter().map(|w| w.to_string()).collect()),
            _ => None,
        };
        Body::Step {
            step: prompt.step.clone(),
            need: prompt.need.clone(),
            fields: self
                .fields
                .iter()
                .enumerate()
                .map(|(i, f)| FieldView {
                    label: f.label.clone(),
                    shown: f.shown(),
                    focused: i == self.focus,
                })
                .collect(),
            selected: self.selected,
            words,
        }
    }

    fn completion(&self) -> Completion {
        let state = self.engine.state();
        let root = self
            .engine
            .checklist()
            .root_certificate_name()
            .and_then(|r| state.certs.get(r))
            .map(|c| c.sha256.clone());
        let sheet = self.sheet_path().filter(|p| p.exists());
        Completion {
            bundle: state.bundle.as_ref().map(|(d, _)| d.clone()),
            seal: state.bundle.as_ref().map(|(_, s)| s.clone()),
            root,
            can_print: sheet.is_some() && which("lp"),
            sheet: sheet.map(|p| p.display().to_string()),
        }
    }
}

/// Identifies a question, so that fields are kept while it is asked again (a rescan)
/// and renewed when it changes.
fn need_key(prompt: &Prompt) -> String {
    let what = match &prompt.need {
        Need::Participant { role, .. } => format!("participant-{}", role.name()),
        Need::ChooseToken { token_role, .. } => format!("token-{token_role}"),
        Need::TypeBack { challenge, .. } => format!("typeback-{challenge:?}"),
        Need::Pin {
            token_role, kind, ..
        } => format!("pin-{token_role}-{kind:?}"),
        Need::Confirm { role, .. } => format!("confirm-{}", role.name()),
        Need::Finished => "finished".into(),
    };
    format!("{}:{what}", prompt.step.index)
}

fn fields_for(need: &Need) -> Vec<Field> {
    match need {
        Need::Participant { .. } => vec![
            Field::new("Name", Kind::Text),
            Field::new("Initials", Kind::Initials),
        ],
        Need::TypeBack { by, .. } => vec![Field::new(format!("{} types", by.name()), Kind::Text)],
        Need::Pin {
            kind: PinKind::NewSo | PinKind::NewUser,
            ..
        } => {
            vec![
                Field::new("PIN", Kind::Pin),
                Field::new("PIN again", Kind::Pin),
            ]
        }
        Need::Pin { .. } => vec![Field::new("PIN", Kind::Pin)],
        Need::Confirm { role, .. } => vec![Field::new(
            format!("{} initials", role.name()),
            Kind::Initials,
        )],
        Need::ChooseToken { .. } | Need::Finished => Vec::new(),
    }
}

/// The safe next action after an error, for people at 2 a.m.
fn next_action(e: &EngineError) -> &'static str {
    match e {
        EngineError::Hsm(HsmError::PinIncorrect { .. }) => {
            "check the PIN on paper and decide together whether to try again; what is known of the tries left is in the message above"
        }
        EngineError::Hsm(HsmError::Pulled { .. } | HsmError::TokenCall { .. }) => {
            "check that the token named above is plugged in (plug it back in if it was pulled), then go through the step again: the tokens are read afresh, its PIN is asked again, and what the token did before is not lost"
        }
        EngineError::Hsm(HsmError::PinLocked { .. }) => {
            "stop: the token refuses logins. Do not initialise it without deciding together; see the operator guide"
        }
        EngineError::Hsm(HsmError::TokenNotFound { .. }) => {
            "plug the token in; the list rescans by itself"
        }
        EngineError::Rejected(_) | EngineError::UnexpectedAnswer(_) => {
            "correct the entry and press Enter again"
        }
        EngineError::NetworkUp(_) => "disconnect the network, then confirm the step again",
        EngineError::Bundle(crate::bundle::BundleError::NotEmpty(_)) => {
            "quit with Ctrl-Q and run the same command again with --out naming a new, empty folder: the ceremony resumes at this step, and the files already in this folder stay as they are"
        }
        EngineError::Bundle(crate::bundle::BundleError::Fs(_)) => {
            "the export stick may be full or failing: quit with Ctrl-Q, check it, and run the same command again with --out naming a new, empty folder; the ceremony resumes at this step"
        }
        EngineError::UnknownKey { .. } | EngineError::KeyMismatch { .. } => {
            "stop and investigate; quit with Ctrl-Q. Nothing was changed on the token"
        }
        _ => {
            "nothing further was done and completed steps are in the transcript; fix the cause and confirm again, or quit and resume later"
        }
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

impl App {
    pub fn into_engine(self) -> Engine {
        self.engine
    }
}
