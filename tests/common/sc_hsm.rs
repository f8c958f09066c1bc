//! The project's SmartCard-HSM emulator (`build/sc-hsm-emulator`) behind pcscd, for tests
//! that go through OpenSC's real `opensc-pkcs11.so`: fresh factory-state cards per test,
//! one test at a time in a process, and the control file that slows or pulls a card.
//!
//! A missing pcscd, vpcd, OpenSC or emulator fails the test: this is the production path.

use super::*;
use ceremony::drill::{self, Player};
use ceremony::engine::{Engine, Need, PinKind, Prompt};
use ceremony::hsm::{Module, UserSession};
use std::sync::{Mutex, MutexGuard};

/// OpenSC's PKCS#11 module as Debian installs it.
pub const OPENSC: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

/// The factory user PIN of a new Nitrokey HSM 2.
pub const FACTORY_USER: &str = "648219";

static CARDS: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("build/sc-hsm-emulator")
}

/// Emulated cards in the factory state, held for one test.
pub struct Cards {
    /// Serials as OpenSC reports them, reader 0 first.
    pub serials: Vec<String>,
    /// pcscd was not running before: this test stops what it started.
    started_here: bool,
    _lock: MutexGuard<'static, ()>,
}

/// Restarts `count` emulated cards in the factory state (pcscd is started when it is
/// not running) and waits until OpenSC lists them.
pub fn fresh_cards(count: usize) -> Cards {
    let lock = CARDS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        Path::new(OPENSC).exists(),
        "OpenSC's module {OPENSC} is missing; run build/deps"
    );
    require("pcscd");
    let started_here = !emulator(&["status"]).status.success();
    // Stops what it started even when the start below fails half-way.
    let mut cards = Cards {
        serials: Vec::new(),
        started_here,
        _lock: lock,
    };
    let out = emulator(&["start", "--fresh", &count.to_string()]);
    assert!(
        out.status.success(),
        "build/sc-hsm-emulator start failed:\n{}",
        all_output(&out)
    );
    let serials: Vec<String> = stdout(&out)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(serials.len(), count, "{}", all_output(&out));
    cards.serials = serials;
    cards.control("{}");
    cards
}

fn emulator(args: &[&str]) -> Output {
    run(Command::new(script()).args(args))
}

impl Cards {
    /// Replaces the emulator's control file (delays, cuts); `{}` is normal service.
    pub fn control(&self, json: &str) {
        let out = emulator(&["control", json]);
        assert!(out.status.success(), "{}", all_output(&out));
    }
}

impl Cards {
    /// Swaps the card in `reader` (0 or 1) for card number `card`, fresh from the
    /// factory, as a person swaps tokens; returns its serial.
    pub fn insert_new(&mut self, reader: usize, card: usize) -> String {
        let out = emulator(&["insert", &reader.to_string(), &card.to_string(), "--fresh"]);
        assert!(out.status.success(), "{}", all_output(&out));
        let serial = stdout(&out).trim().to_string();
        self.serials[reader] = serial.clone();
        serial
    }

    /// Waits until a new process of OpenSC lists the token again (after a cut rule
    /// was removed and the card put back), as a person waits for the LED.
    pub fn wait_present(&self, serial: &str) {
        let started = std::time::Instant::now();
        loop {
            let out = emulator(&["status"]);
            if stdout(&out).lines().any(|l| l.trim() == serial) {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "token {serial} did not come back:\n{}",
                all_output(&out)
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
}

impl Drop for Cards {
    fn drop(&mut self) {
        let _ = emulator(&["control", "{}"]);
        if self.started_here {
            let _ = emulator(&["stop"]);
        }
    }
}

/// `ceremony ARGS` as a shell command line in a network namespace of its own, as a real
/// ceremony needs (the preflight refuses a machine with a network): `unshare` gives it
/// only a loopback that is down, and a fresh sysfs shows just that.
pub fn offline(args: &str) -> String {
    require("unshare");
    let exe = env!("CARGO_BIN_EXE_ceremony");
    format!("unshare --net --mount sh -c 'mount -t sysfs sysfs /sys && exec {exe} {args}'")
}

/// A root ceremony on two factory-new emulated tokens, played up to a chosen prompt.
pub struct Run {
    pub cards: Cards,
    pub tmp: tempfile::TempDir,
    pub eng: Engine,
    pub player: Player,
    /// The prompt the run stopped at, unanswered.
    pub prompt: Prompt,
}

pub fn run_until(stop: impl Fn(&Prompt) -> bool) -> Run {
    let cards = fresh_cards(2);
    let tmp = tempfile::tempdir().unwrap();
    let module = Module::load(Path::new(OPENSC)).expect("OpenSC's module loads");
    let mut eng = Engine::open(drill_config(module, tmp.path())).unwrap();
    let mut player = Player::for_factory_tokens(&cards.serials);
    let prompt = play_until(&mut eng, &mut player, stop);
    Run {
        cards,
        tmp,
        eng,
        player,
        prompt,
    }
}

/// Answers prompts as the player would until `stop` matches one, which is returned
/// unanswered.
pub fn play_until(eng: &mut Engine, player: &mut Player, stop: impl Fn(&Prompt) -> bool) -> Prompt {
    for _ in 0..400 {
        let prompt = eng.prompt().unwrap();
        if stop(&prompt) {
            return prompt;
        }
        assert!(!matches!(prompt.need, Need::Finished), "finished early");
        let answer = player.answer(&prompt);
        eng.answer(answer)
            .unwrap_or_else(|e| panic!("step {}: {e}", prompt.step.id));
    }
    panic!("the prompt never came");
}

pub fn pin_prompt(kind: PinKind, step: &'static str) -> impl Fn(&Prompt) -> bool {
    move |p| matches!(&p.need, Need::Pin { kind: k, .. } if *k == kind) && p.step.id == step
}

/// Finishes the ceremony and checks the bundle and that each token holds exactly the
/// checklist's keys, as OpenSC shows them.
pub fn finish_and_check(mut eng: Engine, mut player: Player, dir: &Path, cards: &Cards) {
    drill::play(&mut eng, &mut player, None).unwrap();
    let module = eng.close();
    let verified = run(ceremony().arg("verify").arg(dir.join("bundle")));
    assert!(verified.status.success(), "{}", all_output(&verified));
    for (role, serial, count) in [
        ("root", &cards.serials[0], 1),
        ("intermediate", &cards.serials[1], 3),
    ] {
        let pin = player.drill_user_pin(role).unwrap();
        let session = UserSession::login(&module, serial, pin).unwrap();
        let keys = session.list_keys().unwrap();
        assert_eq!(keys.len(), count, "{role}: {keys:?}");
    }
}
