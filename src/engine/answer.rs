//! Taking answers: checking each against the question it answers, logging in at once
//! when a PIN arrives, and completing a step (act, record, move on) when its last input
//! is in.

use super::error::EngineError;
use super::gates::{Gate, SERIAL_SUFFIX};
use super::prompt::{Answer, Challenge, Outcome, PinKind, Role};
use super::run::Engine;
use super::state::Person;
use super::transcript::RecordKind;
use crate::hsm::{HsmError, UserSession};
use crate::secret::Pin;
use serde_json::json;

impl Engine {
    /// Gives the engine what the current prompt asked for.
    pub fn answer(&mut self, answer: Answer) -> Result<Outcome, EngineError> {
        if self.next >= self.durations.len() {
            return Err(EngineError::Finished);
        }
        self.ensure_planned()?;
        let gate = self
            .gates
            .as_ref()
            .and_then(|g| g.first().cloned())
            .expect("a planned step has gates");
        self.take(&gate, answer)?;
        if let Some(gates) = self.gates.as_mut() {
            gates.remove(0);
        }
        if self.gates.as_ref().is_some_and(|g| g.is_empty()) {
            return self.complete_step();
        }
        Ok(Outcome::Pending)
    }

    fn take(&mut self, gate: &Gate, answer: Answer) -> Result<(), EngineError> {
        match (gate, answer) {
            (Gate::Participant(role), Answer::Participant { name, initials }) => {
                self.take_participant(*role, name, initials)
            }
            (Gate::ChooseToken(token), Answer::Token { serial }) => self.take_token(token, &serial),
            (Gate::SerialSuffix, Answer::Text(typed)) => {
                let serial = self
                    .chosen
                    .as_ref()
                    .map(|t| t.serial.clone())
                    .unwrap_or_default();
                let challenge = Challenge::SerialSuffix {
                    serial,
                    count: SERIAL_SUFFIX,
                };
                check_typed(&challenge, &typed)
            }
            (Gate::TypeBack(_, challenge), Answer::Text(typed)) => check_typed(challenge, &typed),
            (Gate::Confirm(role), Answer::Confirm { initials }) => {
                self.take_confirm(*role, &initials)
            }
            (Gate::InitPin(token, kind), Answer::Pin(pin)) => self.take_init_pin(token, *kind, pin),
            (Gate::Login(token), Answer::Pin(pin)) => self.login(token, pin),
            (Gate::KeyPin(token), Answer::Pin(pin)) => self.login_for_key(token, pin),
            (gate, answer) => Err(EngineError::UnexpectedAnswer(format!(
                "expected {gate:?}, got {}",
                answer_kind(&answer)
            ))),
        }
    }

    fn take_participant(
        &mut self,
        role: Role,
        name: String,
        initials: String,
    ) -> Result<(), EngineError> {
        let (name, initials) = (name.trim().to_string(), initials.trim().to_uppercase());
        if name.is_empty() || initials.is_empty() || initials.chars().count() > 4 {
            return Err(EngineError::Rejected(
                "a name and initials (1 to 4 letters) are needed".into(),
            ));
        }
        if self
            .state
            .participants
            .values()
            .any(|p| p.initials == initials)
        {
            return Err(EngineError::Rejected(format!(
                "initials {initials} are taken; the two people need different initials"
            )));
        }
        self.state
            .participants
            .insert(role, Person { name, initials });
        if self.state.participants.len() == 2 && !self.participants_recorded {
            let body = serde_json::to_value(&self.state.participants).expect("serialisable");
            self.transcript.append(RecordKind::Participants, body)?;
            self.participants_recorded = true;
        }
        Ok(())
    }

    fn take_token(&mut self, token: &str, serial: &str) -> Result<(), EngineError> {
        if let Some(expected) = self.expected_serials.get(token)
            && expected != serial
        {
            return Err(EngineError::NotThePreviousToken {
                role: token.to_string(),
                expected: expected.clone(),
                found: serial.to_string(),
            });
        }
        if self.state.tokens.values().any(|t| t.serial == serial) {
            return Err(EngineError::Rejected(format!(
                "token {serial} already has another role; choose the token for {token}"
            )));
        }
        let info = self.cfg.module.token(serial)?;
        if info.serial.is_empty() {
            return Err(EngineError::Rejected(
                "this token reports no serial; it cannot be identified".into(),
            ));
        }
        self.chosen = Some(info);
        Ok(())
    }

    fn take_confirm(&mut self, role: Role, initials: &str) -> Result<(), EngineError> {
        let person = self.state.participants.get(&role).ok_or_else(|| {
            EngineError::Rejected(format!("the {} has not been named", role.name()))
        })?;
        if !initials.trim().eq_ignore_ascii_case(&person.initials) {
            return Err(EngineError::Rejected(format!(
                "these are not the {}'s initials; the {} ({}) confirms this",
                role.name(),
                role.name(),
                person.name
            )));
        }
        self.confirmations.push(json!({
            "role": role.name(),
            "name": person.name,
            "initials": person.initials,
            "at": super::clock::now_rfc3339(),
        }));
        Ok(())
    }

    fn take_init_pin(&mut self, token: &str, kind: PinKind, pin: Pin) -> Result<(), EngineError> {
        let spec = self.checklist().tokens.get(token).cloned();
        let rule = spec.as_ref().map(|t| match kind {
            PinKind::NewUser | PinKind::User => &t.user_pin,
            PinKind::CurrentSo | PinKind::NewSo => &t.so_pin,
        });
        if let Some(rule) = rule
            && let Err(problem) = rule.check(pin.expose())
        {
            return Err(EngineError::Rejected(format!(
                "the {} does not follow the checklist's rule ({}): {problem}",
                kind.describe(),
                rule.describe()
            )));
        }
        if kind == PinKind::CurrentSo {
            // The SO PIN is proved now, before the new PINs are typed.
            let serial = self.serial_of(token)?;
            self.sessions.remove(token);
            if let Err(e) = crate::hsm::check_so_pin(&self.cfg.module, &serial, &pin) {
                let e = self.name_pulled_token(e.into());
                self.record_error(&e.to_string())?;
                return Err(e);
            }
        }
        self.init_pins.push((kind, pin));
        Ok(())
    }

    /// Logs in at once, so a wrong PIN is reported while the person is at the keyboard.
    fn login(&mut self, token: &str, pin: Pin) -> Result<(), EngineError> {
        self.login_with(token, &pin)
    }

    /// A failed login is recorded in the transcript here, since the person is still at
    /// the PIN prompt.
    fn login_with(&mut self, token: &str, pin: &Pin) -> Result<(), EngineError> {
        match self.login_unrecorded(token, pin) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.record_error(&e.to_string())?;
                Err(e)
            }
        }
    }

    fn login_unrecorded(&mut self, token: &str, pin: &Pin) -> Result<(), EngineError> {
        let serial = self.serial_of(token)?;
        self.reopen_module_if_needed()?;
        match UserSession::login(&self.cfg.module, &serial, pin) {
            Ok(session) => {
                self.reconcile(token, &session)?;
                self.sessions.insert(token.to_string(), session);
                Ok(())
            }
            Err(e) => Err(self.name_pulled_token(e.into())),
        }
    }

    /// Re-opens the module after a failed token call (see `reopen_module`). Every
    /// session ends; each token's next step asks for its PIN.
    pub(super) fn reopen_module_if_needed(&mut self) -> Result<(), EngineError> {
        if self.reopen_module {
            self.sessions.clear();
            self.cfg.module.rebind()?;
            self.reopen_module = false;
        }
        Ok(())
    }

    /// Drops every session and re-opens the module; until that succeeds the next step
    /// tries again.
    pub(super) fn reopen_module_now(&mut self) -> Result<(), EngineError> {
        self.reopen_module = true;
        self.reopen_module_if_needed()
    }

    /// Logs in afresh for a key generation and keeps the PIN for the read-back login.
    fn login_for_key(&mut self, token: &str, pin: Pin) -> Result<(), EngineError> {
        // One login per token: the session already open is closed first.
        self.sessions.remove(token);
        self.login_with(token, &pin)?;
        self.step_pin = Some(pin);
        Ok(())
    }

    /// Drops every session, re-opens the module so that it reads the tokens again, and
    /// logs in to `token` with the step's PIN. Other tokens ask for their PIN at their
    /// next step.
    pub(super) fn rebind_and_login(&mut self, token: &str) -> Result<(), EngineError> {
        let pin = self
            .step_pin
            .take()
            .ok_or_else(|| EngineError::Rejected("the user PIN for this step is missing".into()))?;
        self.reopen_module_now()?;
        // Inside a step: a failure is recorded once, when the step fails.
        let result = self.login_unrecorded(token, &pin);
        self.step_pin = Some(pin);
        result
    }

    pub(super) fn record_error(&mut self, message: &str) -> Result<(), EngineError> {
        let body = json!({
            "index": self.next,
            "id": self.step_id(self.next),
            "error": message,
        });
        self.transcript.append(RecordKind::Error, body)?;
        Ok(())
    }

    fn complete_step(&mut self) -> Result<Outcome, EngineError> {
        let facts = match self.execute() {
            Ok(facts) => facts,
            // A simulated crash writes nothing, as a real one could not.
            Err(e @ EngineError::InjectedCrash(_)) => return Err(e),
            Err(e) => {
                self.step_pin = None;
                self.init_pins.clear();
                self.gates = None;
                self.sessions.retain(|_, s| s.is_logged_in());
                let e = self.name_pulled_token(e);
                self.record_error(&e.to_string())?;
                return Err(e);
            }
        };
        self.step_pin = None;
        let (begun, started) = self.started.take().expect("a planned step has a start");
        let took = begun.elapsed();
        let step = &self.checklist().steps[self.next];
        let body = json!({
            "index": self.next,
            "id": step.id,
            "kind": step.action.kind_name(),
            "title": step.title,
            "started": started,
            "ended": super::clock::now_rfc3339(),
            "seconds": took.as_secs_f64(),
            "confirmed_by": self.confirmations,
            "facts": facts,
        });
        let id = step.id.clone();
        let result = self.result_summary(&facts);
        self.transcript.append(RecordKind::Step, body)?;
        self.state.apply(&facts);
        self.durations[self.next] = Some(took);
        self.next += 1;
        self.gates = None;
        self.close_unneeded_sessions();
        if self.next == self.durations.len() {
            return Ok(Outcome::Finished);
        }
        Ok(Outcome::StepDone {
            index: self.next - 1,
            id,
            took,
            result,
        })
    }

    /// A token pulled out during a call makes OpenSC answer that call with a general
    /// error; if the token is gone now, the error says so and which token to plug in.
    /// Either way the module is re-opened before the next step.
    fn name_pulled_token(&mut self, e: EngineError) -> EngineError {
        match e {
            EngineError::Hsm(HsmError::TokenCall { op, serial, error }) => {
                self.reopen_module = true;
                if self.cfg.module.token(&serial).is_err() {
                    EngineError::Hsm(HsmError::Pulled { op, serial, error })
                } else {
                    EngineError::Hsm(HsmError::TokenCall { op, serial, error })
                }
            }
            EngineError::Hsm(HsmError::Pulled { op, serial, error }) => {
                self.reopen_module = true;
                if self.cfg.module.token(&serial).is_ok() {
                    // Still there: the token failed, it was not pulled.
                    EngineError::Hsm(HsmError::TokenCall { op, serial, error })
                } else {
                    EngineError::Hsm(HsmError::Pulled { op, serial, error })
                }
            }
            other => other,
        }
    }

    /// Logs out of every token no later step needs.
    fn close_unneeded_sessions(&mut self) {
        let later: Vec<String> = self.checklist().steps[self.next..]
            .iter()
            .flat_map(|s| self.checklist().tokens_used(&s.action))
            .collect();
        self.sessions.retain(|token, _| later.contains(token));
    }
}

fn check_typed(challenge: &Challenge, typed: &str) -> Result<(), EngineError> {
    if challenge.accepts(typed) {
        Ok(())
    } else {
        Err(EngineError::Rejected(match challenge {
            Challenge::SerialSuffix { .. } => {
                "the characters typed do not match the end of the chosen token's serial; check the device"
                    .to_string()
            }
            Challenge::EraseToken { .. } => "the serial typed does not match the token to be erased".into(),
            Challenge::Authorise { phrase } => format!("type exactly: {phrase}"),
            Challenge::FingerprintGroups { positions, .. } if !groups_shaped(typed, positions.len()) => {
                format!(
                    "type {} groups of four characters 0-9 and a-f, separated by spaces (like: 3be4 d834 50cf)",
                    positions.len()
                )
            }
            Challenge::FingerprintGroups { .. } => {
                "the groups typed do not match the fingerprint; read them again from the paper".into()
            }
        }))
    }
}

/// Whether `typed` is `count` groups of four hex digits: a slip in the format is told
/// apart from a value read wrong.
fn groups_shaped(typed: &str, count: usize) -> bool {
    let groups: Vec<&str> = typed.split_whitespace().collect();
    groups.len() == count
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn answer_kind(answer: &Answer) -> &'static str {
    match answer {
        Answer::Participant { .. } => "a participant",
        Answer::Token { .. } => "a token",
        Answer::Text(_) => "text",
        Answer::Pin(_) => "a PIN",
        Answer::Confirm { .. } => "a confirmation",
    }
}
