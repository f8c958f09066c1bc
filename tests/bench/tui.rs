//! Benchmark: how fast `ceremony drill` puts its first frame on an 80x24 terminal and
//! how long a keypress takes to show, measured through tmux (capture-pane polled every
//! millisecond) next to a peer in the same terminal: `sh -c 'echo READY; cat'`, whose
//! first output and echo of a key are the floor that tmux and the polling impose.
//!
//! Run with `cargo build --release --locked && cargo bench --bench tui`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 9;
const KEYS: usize = 20;

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(socket: &str, needle: &str) -> Duration {
    let started = Instant::now();
    while !tmux(socket, &["capture-pane", "-p"]).contains(needle) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{needle:?} never appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    started.elapsed()
}

/// Time to first frame (`ready` on screen) and median keypress-to-screen latency.
fn measure(socket: &str, command: &str, ready: &str) -> (Duration, Duration) {
    let started = Instant::now();
    tmux(
        socket,
        &["new-session", "-d", "-x", "80", "-y", "24", command],
    );
    let _ = wait_for(socket, ready);
    let first = started.elapsed();
    let mut latencies = Vec::new();
    let mut typed = String::new();
    for i in 0..KEYS {
        let c = char::from(b'a' + (i % 26) as u8);
        typed.push(c);
        let sent = Instant::now();
        tmux(socket, &["send-keys", "-l", &c.to_string()]);
        wait_for(socket, &typed);
        latencies.push(sent.elapsed());
    }
    tmux(socket, &["kill-server"]);
    (first, median(&mut latencies))
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let exe = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/ceremony");
    assert!(
        exe.exists(),
        "build it first: cargo build --release --locked"
    );
    let checklist = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists/root-ceremony.toml");
    let (mut ours_first, mut ours_key, mut peer_first, mut peer_key) =
        (vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        let dir = tempfile::tempdir().unwrap();
        let cmd = format!(
            "{} drill {checklist} --work {} --out {}",
            exe.display(),
            dir.path().join("w").display(),
            dir.path().join("b").display()
        );
        let (f, k) = measure(&format!("bench-tui-{run}"), &cmd, "Name:");
        ours_first.push(f);
        ours_key.push(k);
        let (f, k) = measure(
            &format!("bench-peer-{run}"),
            "sh -c 'echo READY; cat'",
            "READY",
        );
        peer_first.push(f);
        peer_key.push(k);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (of, ok, pf, pk) = (
        median(&mut ours_first),
        median(&mut ours_key),
        median(&mut peer_first),
        median(&mut peer_key),
    );
    println!("TUI latency through tmux, 80x24, {RUNS} runs ({KEYS} keys each), medians");
    println!(
        "  first frame:   ceremony drill {:>7.1} ms   peer {:>7.1} ms   ratio {:.2}",
        ms(of),
        ms(pf),
        ms(of) / ms(pf)
    );
    println!(
        "  key to screen: ceremony drill {:>7.1} ms   peer {:>7.1} ms   ratio {:.2}",
        ms(ok),
        ms(pk),
        ms(ok) / ms(pk)
    );
}
