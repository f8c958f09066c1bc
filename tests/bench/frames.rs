//! Benchmark: the screen stays alive while a token works. The real `ceremony run` of the
//! root ceremony, through OpenSC and pcscd on the project's emulated SmartCard-HSM, with
//! the emulator's key generation slowed to a real Nitrokey HSM 2's (1.5 s). At the root
//! key generation the PIN is typed and the screen is read through tmux every 2 ms until
//! the next question appears: the longest gap between two different frames is reported,
//! next to the frame period the TUI aims at (100 ms), as a ratio. A key typed in the
//! middle of the generation must show in the next question's field (kept, not lost).
//!
//! Run with `cargo bench --bench frames` (needs pcscd, vpcd and OpenSC: build/deps).

#[path = "../common/mod.rs"]
mod common;
use common::ROOT_CEREMONY;
use common::sc_hsm::{OPENSC, fresh_cards, offline};
use common::tty::*;
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const KEYGEN_MS: u64 = 1500;
const AIM: Duration = Duration::from_millis(100);

/// One run: the longest gap between frames during the key generation, and how long the
/// generation took as seen on screen.
fn one_run(run: usize) -> (Duration, Duration) {
    let cards = fresh_cards(2);
    let tmp = tempfile::tempdir().unwrap();
    let args = format!(
        "run {ROOT_CEREMONY} --module {OPENSC} --work {} --out {}",
        tmp.path().join("w").display(),
        tmp.path().join("b").display()
    );
    let mut tty = Tty::start_command(&offline(&args), &format!("bench-frames-{run}"));
    play_until(&mut tty, &OURS, |s| {
        s.contains("Generate the root key") && s.contains("type the user PIN")
    });
    cards.control(&format!(r#"{{"keygen_delay_ms": {KEYGEN_MS}}}"#));
    tty.type_line(ROOT_USER);
    let sent = Instant::now();
    let (mut last_change, mut longest, mut previous) = (sent, Duration::ZERO, String::new());
    let mut typed_meanwhile = false;
    loop {
        let screen = tty.capture();
        let now = Instant::now();
        if screen != previous {
            longest = longest.max(now - last_change);
            last_change = now;
            previous = screen.clone();
        }
        if !typed_meanwhile && sent.elapsed() > Duration::from_millis(KEYGEN_MS / 2) {
            tty.send("Q", true);
            typed_meanwhile = true;
        }
        if screen.contains("operator initials: Q") {
            return (longest, sent.elapsed());
        }
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "the next question never came:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn main() {
    let mut gaps = Vec::new();
    let mut took = Vec::new();
    for run in 0..RUNS {
        let (gap, t) = one_run(run);
        gaps.push(gap);
        took.push(t);
    }
    gaps.sort();
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "TUI frames during a {KEYGEN_MS} ms key generation through OpenSC, {RUNS} runs, medians"
    );
    println!(
        "  longest gap between frames {:>7.1} ms (worst run {:.1} ms), aim {:.0} ms, ratio {:.2}",
        ms(gaps[RUNS / 2]),
        ms(gaps[RUNS - 1]),
        ms(AIM),
        ms(gaps[RUNS / 2]) / ms(AIM)
    );
    println!(
        "  PIN typed to next question {:>7.1} ms; the key typed meanwhile was kept every run",
        ms(took[RUNS / 2])
    );
}
