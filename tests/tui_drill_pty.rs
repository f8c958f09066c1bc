//! The real `ceremony drill` binary in a pseudo-terminal (tmux, 80x24), driven through a
//! whole root ceremony the way two people would: reading the screen, typing names, PINs,
//! initials, serial endings, the phrases that name destructive steps and the fingerprint
//! groups. Then the bundle is checked with `ceremony verify` and `openssl verify`, and no
//! PIN typed may appear on any screen or in any file. A second test quits mid-ceremony
//! and resumes.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ROOT_SO: &str = "0123456789abcdef";
const INT_SO: &str = "fedcba9876543210";
const ROOT_USER: &str = "rootpin-4821";
const INT_USER: &str = "intpin-7730";
const FACTORY_SO: &str = "3537363231383830";

/// The PINs the two people type: (SO, user) for the root and the intermediate token.
struct Pins {
    root: (&'static str, &'static str),
    intermediate: (&'static str, &'static str),
}

const OURS: Pins = Pins {
    root: (ROOT_SO, ROOT_USER),
    intermediate: (INT_SO, INT_USER),
};

/// Kept drill tokens carry the published SmartCard-HSM factory PINs.
const PUBLISHED: Pins = Pins {
    root: (FACTORY_SO, ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN),
    intermediate: (FACTORY_SO, ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN),
};

/// A tmux server of its own running the binary in an 80x24 window.
struct Tty {
    socket: String,
    keys: usize,
    screens: String,
}

impl Tty {
    fn start(args: &str, socket: &str) -> Tty {
        require("tmux");
        let exe = env!("CARGO_BIN_EXE_ceremony");
        let cmd = format!("{exe} {args}; echo EXITED-$?; sleep 60");
        let ok = Command::new("tmux")
            .args([
                "-L",
                socket,
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                &cmd,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        Tty {
            socket: socket.into(),
            keys: 0,
            screens: String::new(),
        }
    }

    fn capture(&mut self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        self.screens.push_str(&text);
        text
    }

    /// Sends literal text (one key per character) or a named key.
    fn send(&mut self, keys: &str, literal: bool) {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "send-keys"]);
        if literal {
            cmd.arg("-l");
        }
        assert!(cmd.arg(keys).status().unwrap().success());
        self.keys += if literal { keys.chars().count() } else { 1 };
    }

    fn type_line(&mut self, text: &str) {
        self.send(text, true);
        self.send("Enter", false);
    }

    /// Waits until the screen (without its clock line) differs from `before`, is drawn,
    /// and has settled: unchanged for 150 ms, so that keys still in flight are done.
    fn wait_change(&mut self, before: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(30));
            let now = self.capture();
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the screen did not change:\n{now}"
            );
            if body(&now) != body(&last) {
                last = now;
                since = Instant::now();
                continue;
            }
            let drawn = now.contains(" DRILL ") || now.contains("EXITED");
            if drawn && body(&now) != body(before) && since.elapsed() >= Duration::from_millis(150)
            {
                return now;
            }
        }
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The screen without its clock line and without the input field lines, so that what
/// we type does not count as the program having answered: a slow step (key generation)
/// leaves our typed text on screen until the next question appears.
fn body(screen: &str) -> String {
    const FIELDS: &[&str] = &[
        "Name:",
        "Initials:",
        "operator types:",
        "witness types:",
        "PIN:",
        "PIN again:",
        "operator initials:",
        "witness initials:",
    ];
    screen
        .lines()
        .skip(1)
        .filter(|l| {
            let main = l.split_once('│').map_or("", |(_, m)| m);
            let field = main.trim_start_matches(['>', ' ']);
            !FIELDS.iter().any(|f| field.starts_with(f))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The word after `marker` on the screen.
fn after<'a>(screen: &'a str, marker: &str) -> Option<&'a str> {
    let start = screen.find(marker)? + marker.len();
    screen[start..].split_whitespace().next()
}

/// Plays one screen; returns false when the ceremony is complete.
fn play_screen(tty: &mut Tty, screen: &str, pins: &Pins) -> bool {
    let (so, user) = if screen.contains("of the root token") {
        pins.root
    } else {
        pins.intermediate
    };
    if screen.contains("ERROR:") {
        panic!("the TUI reported an error:\n{screen}");
    } else if screen.contains("The ceremony is complete.") {
        return false;
    } else if screen.contains("Enter: continue") {
        tty.send("Enter", false);
    } else if screen.contains("The operator introduces themselves") {
        tty.type_line("Anna Operator");
        tty.type_line("AO");
    } else if screen.contains("The witness introduces themselves") {
        tty.type_line("Wim Witness");
        tty.type_line("WW");
    } else if screen.contains("Choose the ") {
        let main: Vec<&str> = screen
            .lines()
            .filter_map(|l| l.split_once('│').map(|(_, main)| main))
            .collect();
        let rows: Vec<&str> = main
            .iter()
            .copied()
            .filter(|l| {
                let t = l.trim_start_matches(['>', ' ']);
                t.starts_with("[ ]") || t.starts_with("[*]")
            })
            .collect();
        // A token carried over from the previous ceremony is the one with its serial;
        // a new role takes a factory-fresh (empty) token.
        let index = rows
            .iter()
            .position(|l| l.contains("(PREVIOUS)"))
            .or_else(|| rows.iter().position(|l| l.contains("(empty)")))
            .unwrap_or_else(|| panic!("no token to choose:\n{screen}"));
        for _ in 0..index {
            tty.send("Down", false);
        }
        tty.send("Enter", false);
    } else if screen.contains("type its last 4 characters") {
        let serial = after(screen, "Chosen token: ").unwrap();
        tty.type_line(&serial[serial.len() - 4..]);
    } else if screen.contains("The operator types, exactly:") {
        let main: Vec<&str> = screen
            .lines()
            .filter_map(|l| l.split_once('│').map(|(_, m)| m))
            .collect();
        let at = main
            .iter()
            .position(|l| l.contains("The operator types, exactly:"))
            .unwrap();
        tty.type_line(main[at + 1].trim());
    } else if screen.contains("type the current SO PIN") {
        tty.type_line(FACTORY_SO);
    } else if screen.contains("type the new SO PIN") {
        tty.type_line(so);
        tty.type_line(so);
    } else if screen.contains("type the new user PIN") {
        tty.type_line(user);
        tty.type_line(user);
    } else if screen.contains("type the user PIN") {
        tty.type_line(user);
    } else if screen.contains("Witness: type groups ") {
        let list = screen.split("Witness: type groups ").nth(1).unwrap();
        let list = list.split(" from the paper").next().unwrap();
        // Read the groups from the main column only (the title line has a clock).
        let main: String = screen
            .lines()
            .filter_map(|l| l.split_once('│').map(|(_, m)| format!("{m}\n")))
            .collect();
        let groups: Vec<String> = list
            .split(", ")
            .map(|n| {
                let cell = format!("{:>2}:", n.trim());
                after(&main, &cell).unwrap().to_string()
            })
            .collect();
        tty.type_line(&groups.join(" "));
    } else if screen.contains("operator confirms this step") {
        tty.type_line("AO");
    } else if screen.contains("witness confirms this step") {
        tty.type_line("WW");
    } else {
        panic!("no rule for this screen:\n{screen}");
    }
    true
}

/// Plays until the ceremony is complete, or `stop_after` screens have been answered.
fn play(tty: &mut Tty, stop_after: Option<usize>) {
    play_with(tty, stop_after, &OURS)
}

fn play_with(tty: &mut Tty, stop_after: Option<usize>, pins: &Pins) {
    let mut screen = tty.wait_change("");
    for answered in 0.. {
        if stop_after == Some(answered) {
            return;
        }
        if !play_screen(tty, &screen, pins) {
            return;
        }
        screen = tty.wait_change(&screen);
        assert!(answered < 400, "the ceremony does not end");
    }
}

fn quit(tty: &mut Tty) {
    tty.send("C-q", false);
    std::thread::sleep(Duration::from_millis(200));
    tty.send("y", true);
    let started = Instant::now();
    while !tty.capture().contains("EXITED-0") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the program did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_outcome(tty: &Tty, dir: &Path) {
    let out = dir.join("bundle");
    let verified = run(ceremony().arg("verify").arg(&out));
    assert!(verified.status.success(), "{}", all_output(&verified));
    require("openssl");
    let chain = run(Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-CAfile",
            "root_ca.crt",
            "intermediate_ca.crt",
        ])
        .current_dir(&out));
    assert!(chain.status.success(), "{}", all_output(&chain));
    let transcript = std::fs::read_to_string(out.join("transcript.jsonl")).unwrap();
    assert!(transcript.contains("Anna Operator") && transcript.contains("Wim Witness"));
    for pin in [ROOT_SO, INT_SO, ROOT_USER, INT_USER, FACTORY_SO] {
        assert!(!tty.screens.contains(pin), "PIN {pin} was drawn on screen");
        for (path, bytes) in read_tree(dir) {
            if path.components().any(|c| c.as_os_str() == "drill-tokens") {
                continue; // SoftHSM's own token files
            }
            assert!(
                !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
                "PIN {pin} found in {}",
                path.display()
            );
        }
    }
}

fn args(dir: &Path) -> String {
    format!(
        "drill {ROOT_CEREMONY} --work {} --out {}",
        dir.join("work").display(),
        dir.join("bundle").display()
    )
}

#[test]
fn a_whole_root_ceremony_through_the_tui() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tty = Tty::start(&args(tmp.path()), "ceremony-e2e-full");
    play(&mut tty, None);
    let done = tty.capture();
    assert!(done.contains("DRILL"), "{done}");
    assert!(done.contains("Root fingerprint:"), "{done}");
    println!("keystrokes for a whole root ceremony: {}", tty.keys);
    quit(&mut tty);
    check_outcome(&tty, tmp.path());
}

#[test]
fn quit_in_the_middle_and_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = Tty::start(&args(tmp.path()), "ceremony-e2e-resume-1");
    play(&mut first, Some(45));
    quit(&mut first);
    let screens = std::mem::take(&mut first.screens);
    drop(first);

    let mut second = Tty::start(&args(tmp.path()), "ceremony-e2e-resume-2");
    second.screens = screens;
    let screen = second.wait_change("");
    assert!(
        screen.contains("Resume an interrupted ceremony"),
        "{screen}"
    );
    play(&mut second, None);
    quit(&mut second);
    check_outcome(&second, tmp.path());
}

#[test]
fn a_planned_rotation_through_the_tui_on_kept_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let (tokens, b1) = (tmp.path().join("tokens"), tmp.path().join("b1"));
    let made = run(ceremony()
        .args(["rehearse", ROOT_CEREMONY, "--keep-tokens"])
        .arg(&tokens)
        .arg("--out")
        .arg(&b1));
    assert!(made.status.success(), "{}", all_output(&made));
    let checklist = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/checklists/intermediate-rotation.toml"
    );
    let args = format!(
        "drill {checklist} --tokens {} --previous {} --work {} --out {}",
        tokens.display(),
        b1.display(),
        tmp.path().join("work").display(),
        tmp.path().join("bundle").display()
    );
    let mut tty = Tty::start(&args, "ceremony-e2e-rotation");
    play_with(&mut tty, None, &PUBLISHED);
    quit(&mut tty);
    let verified = run(ceremony().arg("verify").arg(tmp.path().join("bundle")));
    assert!(verified.status.success(), "{}", all_output(&verified));
    let old = std::fs::read(b1.join("root_ca.crt")).unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("bundle/root_ca.crt")).unwrap(),
        old,
        "the root is carried over"
    );
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("bundle/bundle.json")).unwrap())
            .unwrap();
    assert_eq!(m["kind"], "intermediate-rotation");
}
