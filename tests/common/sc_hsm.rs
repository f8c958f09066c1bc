//! The project's SmartCard-HSM emulator (`build/sc-hsm-emulator`) behind pcscd, for tests
//! that go through OpenSC's real `opensc-pkcs11.so`: fresh factory-state cards per test,
//! one test at a time in a process, and the control file that slows or pulls a card.
//!
//! A missing pcscd, vpcd, OpenSC or emulator fails the test: this is the production path.

use super::*;
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
