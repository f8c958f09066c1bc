//! A pseudo-terminal (tmux) that runs the real `ceremony` binary, and a player that reads
//! each screen and types what two people would: names, initials, serial endings, the
//! phrases that name destructive steps, PINs and fingerprint groups. Shared by the drill
//! tests on SoftHSM and the real ceremony through OpenSC on the emulated SmartCard-HSM.

use super::*;
use std::process::Command;
use std::time::{Duration, Instant};

pub const ROOT_SO: &str = "0123456789abcdef";
pub const INT_SO: &str = "fedcba9876543210";
pub const ROOT_USER: &str = "rootpin-4821";
pub const INT_USER: &str = "intpin-7730";
pub const FACTORY_SO: &str = "3537363231383830";

/// The PINs the two people type: (SO, user) for the root and the intermediate token.
pub struct Pins {
    pub root: (&'static str, &'static str),
    pub intermediate: (&'static str, &'static str),
}

pub const OURS: Pins = Pins {
    root: (ROOT_SO, ROOT_USER),
    intermediate: (INT_SO, INT_USER),
};

/// Kept drill tokens carry the published SmartCard-HSM factory PINs.
pub const PUBLISHED: Pins = Pins {
    root: (FACTORY_SO, ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN),
    intermediate: (FACTORY_SO, ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN),
};

/// A tmux server of its own running the binary in an 80x24 window.
pub struct Tty {
    socket: String,
    pub keys: usize,
    pub screens: String,
}

impl Tty {
    pub fn start(args: &str, socket: &str) -> Tty {
        Tty::start_command(
            &format!("{} {args}", env!("CARGO_BIN_EXE_ceremony")),
            socket,
        )
    }

    /// Runs `command` (a shell command line) in an 80x24 window of a tmux server of its own.
    pub fn start_command(command: &str, socket: &str) -> Tty {
        require("tmux");
        let cmd = format!("{command}; echo EXITED-$?; sleep 60");
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

    pub fn capture(&mut self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        self.screens.push_str(&text);
        text
    }

    /// Sends literal text (one key per character) or a named key.
    pub fn send(&mut self, keys: &str, literal: bool) {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "send-keys"]);
        if literal {
            cmd.arg("-l");
        }
        assert!(cmd.arg(keys).status().unwrap().success());
        self.keys += if literal { keys.chars().count() } else { 1 };
    }

    pub fn type_line(&mut self, text: &str) {
        self.send(text, true);
        self.send("Enter", false);
    }

    /// Waits until the screen (without its clock line) differs from `before`, is drawn,
    /// and has settled: unchanged for 150 ms, so that keys still in flight are done.
    pub fn wait_change(&mut self, before: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(30));
            let now = self.capture();
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the screen did not change:\n{now}"
            );
            if body(&now) != body(&last) {
                last = now;
                since = Instant::now();
                continue;
            }
            let drawn =
                now.contains(" DRILL ") || now.contains(" CEREMONY ") || now.contains("EXITED");
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
pub fn body(screen: &str) -> String {
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
pub fn after<'a>(screen: &'a str, marker: &str) -> Option<&'a str> {
    let start = screen.find(marker)? + marker.len();
    screen[start..].split_whitespace().next()
}

/// The four hex digits after `cell` (" 3:", "13:") in the fingerprint grid; other text
/// with the same characters ("Step 13 of 15: Record") is passed over.
fn group_cell(main: &str, cell: &str) -> Option<String> {
    main.match_indices(cell).find_map(|(at, _)| {
        let group: String = main[at + cell.len()..].chars().take(4).collect();
        let hex = group.len() == 4 && group.chars().all(|c| c.is_ascii_hexdigit());
        hex.then_some(group)
    })
}

/// Plays one screen; returns false when the ceremony is complete.
pub fn play_screen(tty: &mut Tty, screen: &str, pins: &Pins) -> bool {
    let (so, user) = if screen.contains("of the root token") {
        pins.root
    } else {
        pins.intermediate
    };
    if screen.contains("working: ") {
        // The token is busy; the next frame answers.
    } else if screen.contains("ERROR:") {
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
                group_cell(&main, &cell)
                    .unwrap_or_else(|| panic!("group {n} is not on the screen:\n{screen}"))
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
pub fn play(tty: &mut Tty, stop_after: Option<usize>) {
    play_with(tty, stop_after, &OURS)
}

pub fn play_with(tty: &mut Tty, stop_after: Option<usize>, pins: &Pins) {
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

pub fn quit(tty: &mut Tty) {
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

/// Plays screens until one satisfies `stop`; returns that screen, unanswered.
pub fn play_until(tty: &mut Tty, pins: &Pins, stop: impl Fn(&str) -> bool) -> String {
    let mut screen = tty.wait_change("");
    for _ in 0..400 {
        if stop(&screen) {
            return screen;
        }
        assert!(
            play_screen(tty, &screen, pins),
            "finished before the screen came"
        );
        screen = tty.wait_change(&screen);
    }
    panic!("the screen never came:\n{screen}");
}
