//! Drills: throwaway SoftHSM2 tokens and a player that answers every prompt as both
//! participants would, so that the unattended rehearsal runs the same engine, step by
//! step, as a real ceremony.
//!
//! PINs here are random, held in memory only, and never written anywhere. A drill
//! refuses any PKCS#11 module that does not say it is SoftHSM.

mod kept;

pub use kept::{keep_factory_copies, restore_torn_tokens};

use crate::checklist::model::{PinCharset, PinRule};
use crate::engine::{Answer, Challenge, Need, PinKind, Prompt, Role};
use crate::hsm::{self, HsmError, Module};
use crate::secret::{Pin, random_pin};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where Debian and others install SoftHSM2's module.
pub const SOFTHSM_PATHS: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
];

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("SoftHSM2 is not installed (looked for {0}); install the softhsm2 package")]
    NoSoftHsm(String),
    #[error("{path} is made by {manufacturer:?}, not SoftHSM; a drill never touches real tokens")]
    NotSoftHsm { path: String, manufacturer: String },
    #[error("preparing drill tokens in {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("making drill tokens: {0}")]
    Hsm(#[from] HsmError),
}

/// The installed SoftHSM2 module.
pub fn softhsm_module() -> Result<PathBuf, DrillError> {
    SOFTHSM_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| DrillError::NoSoftHsm(SOFTHSM_PATHS.join(", ")))
}

/// Writes a SoftHSM2 configuration whose tokens live in `dir/tokens`; returns its path,
/// which must be in `SOFTHSM2_CONF` before the module is loaded.
pub fn write_softhsm_config(dir: &Path) -> Result<PathBuf, DrillError> {
    let io = |source| DrillError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(io)?;
    // The file is read from wherever the next command runs: never a relative path.
    let tokens = tokens.canonicalize().map_err(io)?;
    let conf = dir.join("softhsm2.conf");
    if !conf.exists() {
        let text = format!(
            "# throwaway tokens of a ceremony drill\ndirectories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        );
        std::fs::write(&conf, text).map_err(io)?;
    }
    Ok(conf)
}

/// Whether `dir` can take new kept tokens: absent, empty, or holding only the empty
/// `tokens` folder that a start stopped before its configuration leaves.
pub fn unused_tokens_dir(dir: &Path) -> Result<bool, DrillError> {
    let io = |source| DrillError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if !dir.exists() {
        return Ok(true);
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let empty_tokens = path.file_name().is_some_and(|n| n == "tokens")
            && path.is_dir()
            && std::fs::read_dir(&path).map_err(io)?.next().is_none();
        if !empty_tokens {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Loads SoftHSM (`SOFTHSM2_CONF` already names the kept tokens in `dir`) only to see
/// which tokens it lists, and puts back the keyless ones a killed run left unreadable
/// (see [`kept`]). Returns their serials; the caller loads the module afresh.
pub fn repair_kept_tokens(dir: &Path, module_path: &Path) -> Result<Vec<String>, DrillError> {
    let listed: Vec<String> = {
        let module = Module::load(module_path)?;
        check_softhsm(&module)?;
        module.tokens()?.into_iter().map(|t| t.serial).collect()
    };
    kept::restore_torn_tokens(dir, &listed)
}

/// Refuses any module that is not SoftHSM, by its own manufacturer string.
pub fn check_softhsm(module: &Module) -> Result<(), DrillError> {
    let (manufacturer, description) = module.manufacturer()?;
    if manufacturer.contains("SoftHSM") || description.contains("SoftHSM") {
        Ok(())
    } else {
        Err(DrillError::NotSoftHsm {
            path: module.path().display().to_string(),
            manufacturer,
        })
    }
}

/// The factory SO PIN of a new SmartCard-HSM (Nitrokey HSM 2), a published default.
/// Drill tokens for people (`ceremony drill`) come with it, as a new device does.
pub const SMARTCARD_HSM_FACTORY_SO_PIN: &str = "3537363231383830";

/// Makes `count` factory-fresh tokens: initialised with an SO PIN from `so_pin` and a
/// label `drill-new-N`, no user PIN, no objects. Returns their serials and SO PINs.
pub fn make_factory_tokens(
    module: &Module,
    count: usize,
    so_pin: &dyn Fn() -> Pin,
) -> Result<BTreeMap<String, Pin>, DrillError> {
    check_softhsm(module)?;
    let mut made = BTreeMap::new();
    let existing = module.tokens()?.iter().filter(|t| t.initialized).count();
    for i in 0..count {
        let pin = so_pin();
        let info = hsm::init_free_slot(module, &pin, &format!("drill-new-{}", existing + i + 1))?;
        made.insert(info.serial, pin);
    }
    Ok(made)
}

/// Plays the operator and the witness. Knows the factory SO PINs of the tokens it made
/// and remembers the PINs it chooses, in memory only.
pub struct Player {
    factory_so: BTreeMap<String, Pin>,
    chosen: BTreeMap<(String, &'static str), Pin>,
    assigned: BTreeMap<String, String>,
    /// How often each token's current SO PIN was asked for.
    so_answers: BTreeMap<String, usize>,
    /// Chained drills use the published SmartCard-HSM factory PINs on every token, so
    /// that the next drill on the kept tokens can log in without any PIN being stored.
    published: bool,
}

/// The factory user PIN of a new SmartCard-HSM, a published default; the user PIN of
/// every token in a chained drill (`--keep-tokens`, `--tokens`).
pub const SMARTCARD_HSM_FACTORY_USER_PIN: &str = "648219";

/// Length of the made-up factory SO PIN (SmartCard-HSM form: 16 hex digits).
const FACTORY_SO_LEN: usize = 16;

impl Player {
    /// Makes `count` factory-fresh tokens (initialised with a random SO PIN and no user
    /// PIN, as a new device arrives) and a player that knows their SO PINs.
    pub fn with_new_tokens(module: &Module, count: usize) -> Result<Player, DrillError> {
        check_softhsm(module)?;
        let mut factory_so = BTreeMap::new();
        let existing = module.tokens()?.iter().filter(|t| t.initialized).count();
        for i in 0..count {
            let pin = random_pin(FACTORY_SO_LEN, b"0123456789abcdef");
            let info =
                hsm::init_free_slot(module, &pin, &format!("drill-new-{}", existing + i + 1))?;
            factory_so.insert(info.serial, pin);
        }
        Ok(Player {
            factory_so,
            chosen: BTreeMap::new(),
            assigned: BTreeMap::new(),
            so_answers: BTreeMap::new(),
            published: false,
        })
    }

    /// For chained drills on kept tokens: makes `new_tokens` factory-fresh tokens with
    /// the published SO PIN, and uses the published PINs everywhere.
    pub fn with_published_pins(module: &Module, new_tokens: usize) -> Result<Player, DrillError> {
        let factory = || Pin::new(SMARTCARD_HSM_FACTORY_SO_PIN.into());
        let factory_so = make_factory_tokens(module, new_tokens, &factory)?;
        Ok(Player {
            factory_so,
            chosen: BTreeMap::new(),
            assigned: BTreeMap::new(),
            so_answers: BTreeMap::new(),
            published: true,
        })
    }

    /// For tokens that are already in the factory state of a new Nitrokey HSM 2 (SO PIN
    /// [`SMARTCARD_HSM_FACTORY_SO_PIN`], no keys), such as the project's SmartCard-HSM
    /// emulator behind OpenSC: makes nothing, and chooses new PINs of its own.
    pub fn for_factory_tokens(serials: &[String]) -> Player {
        Player {
            factory_so: serials
                .iter()
                .map(|s| (s.clone(), Pin::new(SMARTCARD_HSM_FACTORY_SO_PIN.into())))
                .collect(),
            chosen: BTreeMap::new(),
            assigned: BTreeMap::new(),
            so_answers: BTreeMap::new(),
            published: false,
        }
    }

    /// Whether `prompt` asks for a current SO PIN for which this player knows two
    /// candidates (the token's earlier one and a new one it chose before).
    fn knows_two_so_pins(&self, prompt: &Prompt) -> bool {
        match &prompt.need {
            Need::Pin {
                token_role,
                serial,
                kind: PinKind::CurrentSo,
                ..
            } => {
                self.chosen.contains_key(&(token_role.clone(), "so"))
                    && self.factory_so.contains_key(serial)
            }
            _ => false,
        }
    }

    /// The tokens this player made, by serial.
    pub fn factory_serials(&self) -> Vec<String> {
        self.factory_so.keys().cloned().collect()
    }

    /// The answer a careful pair of people would give to `prompt`.
    pub fn answer(&mut self, prompt: &Prompt) -> Answer {
        match &prompt.need {
            Need::Participant { role, .. } => match role {
                Role::Operator => Answer::Participant {
                    name: "Drill Operator".into(),
                    initials: "DO".into(),
                },
                Role::Witness => Answer::Participant {
                    name: "Drill Witness".into(),
                    initials: "DW".into(),
                },
            },
            Need::ChooseToken {
                token_role,
                expected_serial,
                tokens,
                taken,
                with_keys,
                ..
            } => {
                // A carried-over token is the one the previous ceremony names; a new role
                // gets a factory-fresh token this player made.
                let serial = expected_serial.clone().unwrap_or_else(|| {
                    tokens
                        .iter()
                        .find(|t| {
                            self.factory_so.contains_key(&t.serial)
                                && !with_keys.contains(&t.serial)
                                && !taken.contains(&t.serial)
                        })
                        .map(|t| t.serial.clone())
                        .unwrap_or_default()
                });
                self.assigned.insert(token_role.clone(), serial.clone());
                Answer::Token { serial }
            }
            Need::TypeBack { challenge, .. } => Answer::Text(read_back(challenge)),
            Need::Pin {
                token_role,
                serial,
                kind,
                rule,
                ..
            } => Answer::Pin(self.pin(token_role, serial, *kind, rule.as_ref())),
            Need::Confirm { role, .. } => Answer::Confirm {
                initials: match role {
                    Role::Operator => "DO".into(),
                    Role::Witness => "DW".into(),
                },
            },
            Need::Finished => Answer::Text(String::new()),
        }
    }

    fn pin(&mut self, token: &str, serial: &str, kind: PinKind, rule: Option<&PinRule>) -> Pin {
        let copy = |p: &Pin| Pin::new(p.expose().to_string());
        if self.published {
            let pin = match kind {
                PinKind::CurrentSo | PinKind::NewSo => SMARTCARD_HSM_FACTORY_SO_PIN,
                PinKind::User | PinKind::NewUser => SMARTCARD_HSM_FACTORY_USER_PIN,
            };
            if kind == PinKind::NewUser {
                self.chosen
                    .insert((token.to_string(), "user"), Pin::new(pin.into()));
            }
            return Pin::new(pin.into());
        }
        match kind {
            PinKind::CurrentSo => {
                // After an interrupted initialisation the card has the new SO PIN or
                // still the old one: people try the new one, then the old one.
                let candidates: Vec<&Pin> = [
                    self.chosen.get(&(token.to_string(), "so")),
                    self.factory_so.get(serial),
                ]
                .into_iter()
                .flatten()
                .collect();
                let tries = self.so_answers.entry(token.to_string()).or_default();
                let pin = candidates
                    .get(*tries % candidates.len().max(1))
                    .map(|p| copy(p));
                *tries += 1;
                pin.unwrap_or_else(|| Pin::new(String::new()))
            }
            PinKind::User => self
                .chosen
                .get(&(token.to_string(), "user"))
                .map(copy)
                .unwrap_or_else(|| Pin::new(String::new())),
            PinKind::NewSo | PinKind::NewUser => {
                let pin = rule
                    .map(pin_for_rule)
                    .unwrap_or_else(|| random_pin(8, DIGITS));
                let slot = if kind == PinKind::NewSo { "so" } else { "user" };
                self.chosen.insert((token.to_string(), slot), copy(&pin));
                pin
            }
        }
    }
}

const DIGITS: &[u8] = b"0123456789";

/// A random PIN that follows `rule`, of a comfortable length within it.
pub fn pin_for_rule(rule: &PinRule) -> Pin {
    let alphabet: &[u8] = match rule.charset {
        PinCharset::Digits => DIGITS,
        PinCharset::Hex => b"0123456789abcdef",
        PinCharset::Printable => b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479",
    };
    random_pin(rule.min_length.max(8).min(rule.max_length), alphabet)
}

/// What a person reading the screen (or the paper) would type back.
fn read_back(challenge: &Challenge) -> String {
    challenge.expected()
}

/// How long one step took in a drill.
#[derive(Debug, Clone, PartialEq)]
pub struct StepTiming {
    pub id: String,
    pub took: std::time::Duration,
}

/// Answers prompts until the ceremony is finished, or until `stop_after` more steps have
/// completed (to rehearse a stop and resume). Any error ends the run: a drill never
/// retries.
pub fn play(
    engine: &mut crate::engine::Engine,
    player: &mut Player,
    stop_after: Option<usize>,
) -> Result<Vec<StepTiming>, crate::engine::EngineError> {
    use crate::engine::Outcome;
    let mut timings = Vec::new();
    // The step whose half-made key the players already agreed to remove.
    let mut exception_at = None;
    let mut so_retried = false;
    loop {
        if stop_after.is_some_and(|n| timings.len() >= n) {
            return Ok(timings);
        }
        let prompt = engine.prompt()?;
        if matches!(prompt.need, Need::Finished) {
            return Ok(timings);
        }
        let answer = player.answer(&prompt);
        let answered = match engine.answer(answer) {
            // As the people at the table would: go through the exception procedure the
            // screen offers, once per step.
            Err(crate::engine::EngineError::HalfMadeKey { .. })
                if exception_at != Some(prompt.step.index) =>
            {
                exception_at = Some(prompt.step.index);
                continue;
            }
            // People who know two SO PINs (the one the token had, and the new one an
            // interrupted initialisation may already have set) try the other one once.
            Err(crate::engine::EngineError::Hsm(crate::hsm::HsmError::PinIncorrect {
                who: "SO",
                ..
            })) if !so_retried && player.knows_two_so_pins(&prompt) => {
                so_retried = true;
                continue;
            }
            other => other?,
        };
        match answered {
            Outcome::Pending => {}
            Outcome::StepDone { id, took, .. } => timings.push(StepTiming { id, took }),
            Outcome::Finished => {
                timings.push(StepTiming {
                    id: prompt.step.id,
                    took: engine
                        .progress()
                        .last()
                        .and_then(|s| match s {
                            crate::engine::StepStatus::Done(d) => *d,
                            _ => None,
                        })
                        .unwrap_or_default(),
                });
                return Ok(timings);
            }
        }
    }
}

impl Player {
    /// The user PIN this player chose for a token role. Only drills have this: the
    /// tokens are throwaway, and tests use it to let ssh-keygen sign with a drill key.
    pub fn drill_user_pin(&self, token: &str) -> Option<&Pin> {
        self.chosen.get(&(token.to_string(), "user"))
    }
}

impl Player {
    /// Every PIN this player knows (factory SO PINs and the ones it chose), so tests can
    /// check that none of them was written anywhere.
    pub fn drill_pins(&self) -> Vec<&Pin> {
        self.factory_so
            .values()
            .chain(self.chosen.values())
            .collect()
    }
}
