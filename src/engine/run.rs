//! The engine proper: opening or resuming a working folder, asking, answering, and
//! moving from step to step.

use super::error::EngineError;
use super::gates::{self, Gate, SERIAL_SUFFIX};
use super::prompt::{Challenge, Need, PinKind, Prompt, Role, StepView};
use super::state::{Person, State, StepFacts};
use super::transcript::{RecordKind, TornTail, Transcript};
use crate::checklist::Loaded;
use crate::hsm::{Module, TokenInfo, UserSession};
use crate::secret::Pin;
use base64::Engine as _;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A real ceremony refuses to run with a network; a drill only warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ceremony,
    Drill,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Ceremony => "ceremony",
            Mode::Drill => "drill",
        }
    }
}

pub struct EngineConfig {
    pub checklist: Loaded,
    pub module: Module,
    /// Holds the transcript; the same folder resumes the ceremony.
    pub work_dir: PathBuf,
    /// Where the bundle is written (must be empty or absent at export).
    pub out_dir: PathBuf,
    pub mode: Mode,
    pub binary_sha256: String,
    /// The verified bundle of the ceremony this one continues (rotations).
    pub previous: Option<super::Previous>,
}

/// Where a verified transcript leaves a ceremony: what [`Engine::open`] resumes from.
#[derive(Debug)]
pub struct Replayed {
    pub state: State,
    /// The index of the next step to do.
    pub next: usize,
    pub durations: Vec<Option<Duration>>,
    pub participants_recorded: bool,
    /// A key generation the transcript announced but never recorded as done.
    pub interrupted: Option<super::keygen::KeyIntent>,
}

/// Rebuilds a ceremony's state from the records of its verified transcript, starting
/// from `state` (what a rotation takes over from its previous bundle). The transcript
/// must be of `checklist`, in `mode`, started from the previous bundle sealed
/// `previous_seal`. [`Engine::open`] resumes through this; the fuzz targets in
/// `tests/fuzz` call it directly.
pub fn replay(
    records: &[super::transcript::Record],
    checklist: &Loaded,
    mode: Mode,
    previous_seal: Option<&str>,
    state: State,
) -> Result<Replayed, EngineError> {
    let steps = &checklist.checklist.steps;
    let mut out = Replayed {
        state,
        next: 0,
        durations: vec![None; steps.len()],
        participants_recorded: false,
        interrupted: None,
    };
    for record in records {
        let bad = |problem: String| EngineError::Replay {
            seq: record.seq,
            problem,
        };
        match record.kind {
            RecordKind::Header => check_header(&record.body, checklist, mode, previous_seal)?,
            RecordKind::Participants => {
                let people: BTreeMap<Role, Person> =
                    serde_json::from_value(record.body.clone()).map_err(|e| bad(e.to_string()))?;
                out.state.participants = people;
                out.participants_recorded = true;
            }
            RecordKind::Step => {
                let index = record.body["index"].as_u64().unwrap_or(u64::MAX) as usize;
                let id = record.body["id"].as_str().unwrap_or_default();
                let expected = steps.get(out.next).map(|s| s.id.as_str());
                if index != out.next || expected != Some(id) {
                    return Err(bad(format!(
                        "step {id:?} at index {index}, expected the checklist's step {} next",
                        out.next
                    )));
                }
                let facts: StepFacts = serde_json::from_value(record.body["facts"].clone())
                    .map_err(|e| bad(format!("facts: {e}")))?;
                // Later steps sign with and export the certificate as DER: what the
                // state holds must decode (CertFact::der_bytes relies on it).
                if let StepFacts::SelfSign { fact, .. } | StepFacts::SignCertificate { fact, .. } =
                    &facts
                    && let Err(e) = base64::engine::general_purpose::STANDARD.decode(&fact.der)
                {
                    return Err(bad(format!(
                        "facts: the certificate DER is not base64: {e}"
                    )));
                }
                out.state.apply(&facts);
                // An edited transcript can say anything here; a duration that is none
                // (negative, too large) is a problem, not a panic.
                let seconds = record.body["seconds"].as_f64();
                let duration = seconds
                    .map(Duration::try_from_secs_f64)
                    .transpose()
                    .map_err(|e| bad(format!("seconds: {e}")))?;
                if let Some(slot) = out.durations.get_mut(index) {
                    *slot = duration;
                }
                out.next += 1;
            }
            RecordKind::Error
            | RecordKind::Resumed
            | RecordKind::Intent
            | RecordKind::Exception => {}
        }
    }
    out.interrupted = super::keygen::KeyIntent::interrupted(records);
    Ok(out)
}

fn check_header(
    body: &serde_json::Value,
    checklist: &Loaded,
    mode: Mode,
    previous_seal: Option<&str>,
) -> Result<(), EngineError> {
    let found = body["checklist_sha256"].as_str().unwrap_or_default();
    if found != checklist.sha256_hex {
        return Err(EngineError::WrongChecklist {
            expected: checklist.sha256_hex.clone(),
            found: found.to_string(),
        });
    }
    let found_mode = body["mode"].as_str().unwrap_or_default();
    if found_mode != mode.name() {
        return Err(EngineError::WrongMode {
            expected: mode.name().into(),
            found: found_mode.into(),
        });
    }
    let started_from = body["previous"]["seal"].as_str();
    if started_from != previous_seal {
        let name = |s: Option<&str>| {
            s.map_or("no previous bundle".to_string(), |s| {
                format!("the bundle sealed {s}")
            })
        };
        return Err(EngineError::Previous(format!(
            "the working folder's ceremony was started from {}, but this run was given {}; resume with the same --previous",
            name(started_from),
            name(previous_seal)
        )));
    }
    Ok(())
}

/// Faults a real token cannot produce on demand, injected by tests: the engine stops
/// where a power cut or a killed process would, writing nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Right after `C_GenerateKeyPair` returned, before the step is recorded.
    CrashAfterKeyGeneration,
}

/// Where each step stands, for progress displays.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Done(Option<Duration>),
    Current,
    Pending,
}

pub struct Engine {
    pub(super) cfg: EngineConfig,
    pub(super) transcript: Transcript,
    pub(super) state: State,
    pub(super) next: usize,
    pub(super) gates: Option<Vec<Gate>>,
    pub(super) started: Option<(Instant, String)>,
    pub(super) confirmations: Vec<serde_json::Value>,
    pub(super) chosen: Option<TokenInfo>,
    pub(super) init_pins: Vec<(PinKind, Pin)>,
    pub(super) sessions: BTreeMap<String, UserSession>,
    /// The user PIN of a key generation step, held from its prompt until the step ends.
    pub(super) step_pin: Option<Pin>,
    /// A token call failed (a token pulled out, a card that stopped answering): the
    /// module is re-opened before the next step, so that OpenSC reads the replugged
    /// token afresh instead of answering from the state of the one that went away.
    pub(super) reopen_module: bool,
    pub(super) durations: Vec<Option<Duration>>,
    /// Serials that token roles carried over from the previous ceremony must have.
    pub(super) expected_serials: BTreeMap<String, String>,
    pub(super) participants_recorded: bool,
    /// A key generation the transcript announced but never recorded as done.
    pub(super) interrupted: Option<super::keygen::KeyIntent>,
    /// A lone half of the current step's announced key, found on its token: the step is
    /// planned again with the exception procedure in front.
    pub(super) half_made: Option<super::exception::HalfMade>,
    /// The half-made key whose exception is in this step's plan; once every input is in,
    /// the half is removed.
    pub(super) exception_authorised: Option<super::exception::HalfMade>,
    /// When the current sign step signs: fixed when the step is planned, so the review
    /// shows the dates the certificate or CRL will carry.
    pub(super) sign_at: Option<time::OffsetDateTime>,
    pub(super) fault: Option<Fault>,
    resumed_at: Option<usize>,
    /// The unfinished last record a crash left, set aside on this resume.
    torn_tail: Option<TornTail>,
}

impl Engine {
    /// Starts a ceremony in `work_dir`, or resumes the one whose transcript is there.
    pub fn open(mut cfg: EngineConfig) -> Result<Engine, EngineError> {
        // The bundle's folder is written into the transcript: never as a relative path.
        cfg.out_dir = absolute(cfg.out_dir);
        cfg.work_dir = absolute(cfg.work_dir);
        std::fs::create_dir_all(&cfg.work_dir)
            .map_err(|e| crate::fsutil::FsError::io("create working folder", &cfg.work_dir, e))
            .map_err(super::transcript::TranscriptError::from)?;
        let path = cfg.work_dir.join("transcript.jsonl");
        let count = cfg.checklist.checklist.steps.len();
        let (transcript, torn_tail) = if path.exists() {
            Transcript::open_for_resume(&path)?
        } else {
            (Transcript::create(&path)?, None)
        };
        let mut engine = Engine {
            transcript,
            cfg,
            state: State::default(),
            next: 0,
            gates: None,
            started: None,
            confirmations: Vec::new(),
            chosen: None,
            init_pins: Vec::new(),
            sessions: BTreeMap::new(),
            step_pin: None,
            reopen_module: false,
            durations: vec![None; count],
            expected_serials: BTreeMap::new(),
            participants_recorded: false,
            interrupted: None,
            half_made: None,
            exception_authorised: None,
            sign_at: None,
            fault: None,
            resumed_at: None,
            torn_tail,
        };
        engine.take_over_previous()?;
        let fresh = engine.transcript.records().is_empty();
        if !fresh {
            engine.replay()?;
        }
        // Only now, with the transcript known to be this ceremony's, is its torn tail
        // moved aside.
        if let Some(torn) = &mut engine.torn_tail {
            engine.transcript.set_aside(torn)?;
        }
        if fresh {
            engine.write_header()?;
        } else {
            engine.resumed_at = Some(engine.next);
            let after = engine.next.checked_sub(1).map(|i| engine.step_id(i));
            engine.transcript.append(
                RecordKind::Resumed,
                json!({ "after_step": after, "torn_tail": engine.torn_tail }),
            )?;
        }
        Ok(engine)
    }

    /// Seeds the state with what a rotation carries over from the previous bundle.
    fn take_over_previous(&mut self) -> Result<(), EngineError> {
        let checklist = &self.cfg.checklist.checklist;
        match &self.cfg.previous {
            None if checklist.continues_previous() => Err(EngineError::Previous(
                "this checklist continues an earlier ceremony (it has existing entries); give that ceremony's bundle with --previous".into(),
            )),
            None => Ok(()),
            Some(previous) => {
                // Fails now, before any key is made, if the CRL cannot be signed later.
                let (state, serials) = super::previous::take_over(checklist, previous)?;
                self.state = state;
                self.expected_serials = serials;
                Ok(())
            }
        }
    }

    fn write_header(&mut self) -> Result<(), EngineError> {
        let (manufacturer, description) = self.cfg.module.manufacturer()?;
        let c = &self.cfg.checklist;
        let body = json!({
            "format": 1,
            "program": concat!("ceremony ", env!("CARGO_PKG_VERSION")),
            "binary_sha256": self.cfg.binary_sha256,
            "ceremony": c.checklist.ceremony.name,
            "kind": c.checklist.ceremony.kind.as_str(),
            "checklist_sha256": c.sha256_hex,
            "checklist_file": c.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "mode": self.cfg.mode.name(),
            "drill": self.cfg.mode == Mode::Drill,
            "module": {
                "path": self.cfg.module.path().display().to_string(),
                "manufacturer": manufacturer,
                "description": description,
            },
            "previous": self.cfg.previous.as_ref().map(|p| json!({
                "kind": p.manifest.kind,
                "seal": p.seal,
                "root_fingerprint": p.root_fingerprint,
            })),
        });
        self.transcript.append(RecordKind::Header, body)?;
        Ok(())
    }

    /// Rebuilds the state from a verified transcript.
    fn replay(&mut self) -> Result<(), EngineError> {
        let replayed = replay(
            self.transcript.records(),
            &self.cfg.checklist,
            self.cfg.mode,
            self.cfg.previous.as_ref().map(|p| p.seal.as_str()),
            std::mem::take(&mut self.state),
        )?;
        self.state = replayed.state;
        self.next = replayed.next;
        self.durations = replayed.durations;
        self.participants_recorded = replayed.participants_recorded;
        self.interrupted = replayed.interrupted;
        Ok(())
    }

    /// Arms a fault for a test; see [`Fault`].
    pub fn inject_fault(&mut self, fault: Fault) {
        self.fault = Some(fault);
    }

    pub(super) fn injected_crash_after_keygen(&self) -> Result<(), EngineError> {
        match self.fault {
            Some(Fault::CrashAfterKeyGeneration) => Err(EngineError::InjectedCrash(
                "right after C_GenerateKeyPair, before the step was recorded",
            )),
            None => Ok(()),
        }
    }

    /// The unfinished last record a crash left in the transcript, moved aside when
    /// this run resumed.
    pub fn torn_tail(&self) -> Option<&TornTail> {
        self.torn_tail.as_ref()
    }

    /// The step index the ceremony was resumed at, if it was.
    pub fn resumed_at(&self) -> Option<usize> {
        self.resumed_at
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn checklist(&self) -> &crate::checklist::Checklist {
        &self.cfg.checklist.checklist
    }

    pub fn mode(&self) -> Mode {
        self.cfg.mode
    }

    pub fn transcript_head(&self) -> &str {
        self.transcript.head()
    }

    pub fn transcript_path(&self) -> &std::path::Path {
        self.transcript.path()
    }

    pub fn module(&self) -> &Module {
        &self.cfg.module
    }

    /// Every step's status, in order.
    pub fn progress(&self) -> Vec<StepStatus> {
        (0..self.durations.len())
            .map(|i| match i.cmp(&self.next) {
                std::cmp::Ordering::Less => StepStatus::Done(self.durations[i]),
                std::cmp::Ordering::Equal => StepStatus::Current,
                std::cmp::Ordering::Greater => StepStatus::Pending,
            })
            .collect()
    }

    pub(super) fn step_id(&self, index: usize) -> String {
        self.checklist().steps[index].id.clone()
    }

    /// What the engine needs next.
    pub fn prompt(&mut self) -> Result<Prompt, EngineError> {
        if self.next >= self.durations.len() {
            return Ok(Prompt {
                step: self.finished_view(),
                need: Need::Finished,
            });
        }
        self.ensure_planned()?;
        let gate = self.gates.as_ref().and_then(|g| g.first().cloned());
        let need = match gate {
            Some(gate) => self.need_for(&gate)?,
            None => unreachable!("a planned step always has at least one gate"),
        };
        Ok(Prompt {
            step: self.step_view(),
            need,
        })
    }

    pub(super) fn ensure_planned(&mut self) -> Result<(), EngineError> {
        if self.gates.is_some() {
            return Ok(());
        }
        let action = self.checklist().steps[self.next].action.clone();
        self.reopen_module_if_needed()?;
        // A token pulled out, or a module that re-read its tokens, ended those logins.
        self.sessions.retain(|_, s| s.is_logged_in());
        self.step_pin = None;
        let erase = self.erase_check(&action)?;
        let fingerprint = self.fingerprint_challenge(&action);
        let sessions: Vec<String> = self.sessions.keys().cloned().collect();
        let mut planned = Vec::new();
        for role in [Role::Operator, Role::Witness] {
            if !self.state.participants.contains_key(&role) {
                planned.push(Gate::Participant(role));
            }
        }
        planned.extend(self.seal_read_back());
        self.exception_authorised = self.half_made.clone().filter(|h| h.index == self.next);
        if let Some(half) = &self.exception_authorised {
            planned.extend(half.gates());
        }
        planned.extend(gates::plan(
            self.checklist(),
            &action,
            &|t| sessions.iter().any(|s| s == t),
            erase,
            fingerprint,
        ));
        self.gates = Some(planned);
        self.sign_at = super::review::signs(&action).then(super::clock::now);
        self.started = Some((Instant::now(), super::clock::now_rfc3339()));
        self.confirmations.clear();
        self.chosen = None;
        self.init_pins.clear();
        Ok(())
    }

    /// Right after the export, before anything else (and before any "power off" text),
    /// the seal is written on the sheet by the operator and read back by the witness.
    fn seal_read_back(&self) -> Option<Gate> {
        let previous = self.next.checked_sub(1)?;
        let after_export = matches!(
            self.checklist().steps[previous].action,
            crate::checklist::model::StepAction::ExportBundle
        );
        let (_, seal) = self.state.bundle.as_ref()?;
        after_export.then(|| {
            Gate::TypeBack(
                Role::Witness,
                Challenge::FingerprintGroups {
                    fingerprint: seal.clone(),
                    positions: random_positions(3, 16),
                    of: super::prompt::Hashed::Seal,
                },
            )
        })
    }

    fn fingerprint_challenge(
        &self,
        action: &crate::checklist::model::StepAction,
    ) -> Option<(String, Vec<usize>)> {
        let crate::checklist::model::StepAction::RecordFingerprint { certificate } = action else {
            return None;
        };
        let sha = self.state.certs.get(certificate)?.sha256.clone();
        Some((sha, random_positions(3, 16)))
    }

    fn need_for(&self, gate: &Gate) -> Result<Need, EngineError> {
        let checklist = self.checklist();
        Ok(match gate {
            Gate::Participant(role) => Need::Participant {
                role: *role,
                duty: match role {
                    Role::Operator => checklist.participants.operator.duty.clone(),
                    Role::Witness => checklist.participants.witness.duty.clone(),
                },
            },
            Gate::ChooseToken(token) => {
                // A token without a serial (SoftHSM's free slot) cannot be identified.
                let tokens: Vec<TokenInfo> = self
                    .cfg
                    .module
                    .tokens()?
                    .into_iter()
                    .filter(|t| !t.serial.is_empty())
                    .collect();
                let mut with_keys = Vec::new();
                for t in &tokens {
                    if self.cfg.module.in_use(t)? {
                        with_keys.push(t.serial.clone());
                    }
                }
                Need::ChooseToken {
                    token_role: token.clone(),
                    expected_serial: self.expected_serials.get(token).cloned(),
                    description: checklist
                        .tokens
                        .get(token)
                        .map(|t| t.description.clone())
                        .unwrap_or_default(),
                    tokens,
                    taken: self
                        .state
                        .tokens
                        .values()
                        .map(|t| t.serial.clone())
                        .collect(),
                    with_keys,
                }
            }
            Gate::SerialSuffix => Need::TypeBack {
                by: Role::Witness,
                challenge: Challenge::SerialSuffix {
                    serial: self
                        .chosen
                        .as_ref()
                        .map(|t| t.serial.clone())
                        .unwrap_or_default(),
                    count: SERIAL_SUFFIX,
                },
            },
            Gate::TypeBack(by, challenge) => Need::TypeBack {
                by: *by,
                challenge: challenge.clone(),
            },
            Gate::Confirm(role) => Need::Confirm {
                role: *role,
                facts: self.preview(),
            },
            Gate::InitPin(token, kind) => self.pin_need(token, *kind)?,
            Gate::Login(token) | Gate::KeyPin(token) => self.pin_need(token, PinKind::User)?,
        })
    }

    fn pin_need(&self, token: &str, kind: PinKind) -> Result<Need, EngineError> {
        let serial = self.serial_of(token)?;
        let info = self.cfg.module.token(&serial)?;
        let spec = self.checklist().tokens.get(token);
        let rule = match kind {
            PinKind::CurrentSo | PinKind::User => None,
            PinKind::NewSo => spec.map(|t| t.so_pin.clone()),
            PinKind::NewUser => spec.map(|t| t.user_pin.clone()),
        };
        let flags = match kind {
            PinKind::CurrentSo | PinKind::NewSo => info.so_pin,
            PinKind::NewUser | PinKind::User => info.user_pin,
        };
        Ok(Need::Pin {
            token_role: token.to_string(),
            serial,
            kind,
            rule,
            flags,
        })
    }

    pub(super) fn serial_of(&self, token: &str) -> Result<String, EngineError> {
        self.state
            .serial(token)
            .map(str::to_string)
            .ok_or_else(|| EngineError::Rejected(format!("token {token} has not been identified")))
    }

    fn step_view(&self) -> StepView {
        let step = &self.checklist().steps[self.next];
        StepView {
            index: self.next,
            count: self.durations.len(),
            id: step.id.clone(),
            kind: step.action.kind_name(),
            title: step.title.clone(),
            text: step.text.clone(),
            action: self.describe_action(&step.action),
        }
    }

    fn finished_view(&self) -> StepView {
        StepView {
            index: self.durations.len(),
            count: self.durations.len(),
            id: "finished".into(),
            kind: "finished",
            title: "Ceremony complete".into(),
            text: String::new(),
            action: String::new(),
        }
    }
}

/// `path` from the root, as it is now; unchanged when the current folder is gone.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

/// `count` distinct positions in 1..=max, in ascending order.
fn random_positions(count: usize, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    while out.len() < count {
        getrandom::fill(&mut byte).expect("OS random number generator");
        let p = (byte[0] as usize % max) + 1;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out.sort_unstable();
    out
}

impl Engine {
    /// Ends this run (logging out of every token) and hands the module back, as a stop
    /// of the program would; the working folder can be resumed later.
    pub fn close(self) -> Module {
        let Engine { cfg, sessions, .. } = self;
        drop(sessions);
        cfg.module
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::transcript::{GENESIS, Record};

    fn root_ceremony() -> Loaded {
        let text = include_str!("../../checklists/root-ceremony.toml");
        Loaded {
            checklist: crate::checklist::parse_str(text).unwrap(),
            sha256_hex: crate::fsutil::sha256_hex(text.as_bytes()),
            path: "root-ceremony.toml".into(),
        }
    }

    fn record(seq: u64, kind: RecordKind, body: serde_json::Value) -> Record {
        Record {
            seq,
            prev: GENESIS.into(),
            at: "2026-12-03T12:00:00Z".into(),
            kind,
            body,
        }
    }

    /// Found while writing the transcript_resume fuzz target (not by its runs): a step
    /// record whose `seconds` is negative or too large for a duration made the resume
    /// panic in `Duration::from_secs_f64`. `tests/fuzz/seeds/transcript_resume/
    /// negative-seconds` is the same input for the fuzz target.
    #[test]
    fn a_step_duration_that_is_no_duration_is_a_replay_error_not_a_panic() {
        let checklist = root_ceremony();
        let header = json!({"checklist_sha256": checklist.sha256_hex, "mode": "drill"});
        for seconds in [json!(-1.0), json!(1e300)] {
            let records = [
                record(0, RecordKind::Header, header.clone()),
                record(
                    1,
                    RecordKind::Step,
                    json!({"index": 0, "id": "preflight", "facts": {"kind": "instruction"},
                           "seconds": seconds}),
                ),
            ];
            match replay(&records, &checklist, Mode::Drill, None, State::default()) {
                Err(EngineError::Replay { seq: 1, problem }) => {
                    assert!(problem.starts_with("seconds: "), "{problem}")
                }
                other => panic!("{seconds}: {other:?}"),
            }
        }
        let records = [
            record(0, RecordKind::Header, header),
            record(
                1,
                RecordKind::Step,
                json!({"index": 0, "id": "preflight", "facts": {"kind": "instruction"},
                       "seconds": 1.5}),
            ),
        ];
        let replayed = replay(&records, &checklist, Mode::Drill, None, State::default()).unwrap();
        assert_eq!(replayed.next, 1);
        assert_eq!(replayed.durations[0], Some(Duration::from_millis(1500)));
    }

    /// Found by the clippy `expect_used` review of the resume path: a certificate fact
    /// whose DER is not base64 was taken into the state, and `CertFact::der_bytes`
    /// panicked when a later step signed with it or exported it.
    #[test]
    fn a_certificate_fact_that_is_not_base64_is_a_replay_error() {
        let checklist = root_ceremony();
        let header = json!({"checklist_sha256": checklist.sha256_hex, "mode": "drill"});
        let mut records = vec![record(0, RecordKind::Header, header)];
        // The root ceremony's steps up to its self-signed certificate, each with the
        // least facts its kind takes.
        let steps = &checklist.checklist.steps;
        let self_sign = steps
            .iter()
            .position(|s| s.action.kind_name() == "self-sign")
            .unwrap();
        for (i, step) in steps.iter().enumerate().take(self_sign) {
            records.push(record(
                i as u64 + 1,
                RecordKind::Step,
                json!({"index": i, "id": step.id, "facts": {"kind": "instruction"}}),
            ));
        }
        let fact = |der: &str| {
            json!({"kind": "self-sign", "certificate": "root", "fact": {
                "der": der, "sha256": "00", "serial": "01", "subject": "Root",
                "not_before": "2026-01-01T00:00:00Z", "not_after": "2046-01-01T00:00:00Z"}})
        };
        let at = records.len() as u64;
        let step = |der: &str| {
            record(
                at,
                RecordKind::Step,
                json!({"index": self_sign, "id": steps[self_sign].id, "facts": fact(der)}),
            )
        };
        let mut bad = records.clone();
        bad.push(step("not base64!"));
        match replay(&bad, &checklist, Mode::Drill, None, State::default()) {
            Err(EngineError::Replay { seq, problem }) => {
                assert_eq!(seq, at);
                assert!(problem.contains("not base64"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        records.push(step("MAA="));
        let replayed = replay(&records, &checklist, Mode::Drill, None, State::default()).unwrap();
        assert_eq!(replayed.state.certs["root"].der_bytes(), [0x30, 0]);
    }
}
