//! Benchmark: `ceremony rehearse checklists/root-ceremony.toml`, in-process and as the
//! release binary, next to the bare PKCS#11 operations the ceremony performs (initialise
//! two tokens, log in, generate four P-384 key pairs, three signatures), all on SoftHSM2
//! in the same run. Prints medians over RUNS runs and the ratios.
//!
//! Run with `cargo bench --bench rehearse`.

use ceremony::checklist::model::Curve;
use ceremony::engine::{Engine, EngineConfig, Mode};
use ceremony::hsm::{self, Module, TokenInit, UserSession};
use ceremony::pki::RemoteKey;
use ceremony::secret::random_pin;
use ceremony::{checklist, drill};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const RUNS: usize = 9;
const CHECKLIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checklists/root-ceremony.toml");

fn main() {
    let tokens = tempfile::tempdir().unwrap();
    let conf = drill::write_softhsm_config(tokens.path()).unwrap();
    // SAFETY: single-threaded; before the module is loaded.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module_path = drill::softhsm_module().unwrap();

    let mut engine_totals = Vec::new();
    let mut bare_totals = Vec::new();
    let mut binary_totals = Vec::new();
    let mut per_step: BTreeMap<(usize, String), Vec<Duration>> = BTreeMap::new();
    for run in 0..RUNS {
        // Interleave the three so that machine noise hits all of them alike.
        let (total, steps) = engine_run(&module_path, run);
        engine_totals.push(total);
        for (i, (id, took)) in steps.into_iter().enumerate() {
            per_step.entry((i, id)).or_default().push(took);
        }
        bare_totals.push(bare_run(&module_path));
        binary_totals.push(binary_run());
    }
    println!("ceremony rehearse of checklists/root-ceremony.toml, SoftHSM2, {RUNS} runs, medians");
    println!("per step (in-process engine):");
    for ((_, id), times) in &per_step {
        println!("  {:>9.2} ms  {id}", ms(median(times)));
    }
    let engine = median(&engine_totals);
    let bare = median(&bare_totals);
    let binary = median(&binary_totals);
    println!("totals:");
    println!(
        "  {:>9.2} ms  engine, in-process (module loaded, tokens made)",
        ms(engine)
    );
    println!(
        "  {:>9.2} ms  release binary, whole process (`ceremony rehearse`)",
        ms(binary)
    );
    println!(
        "  {:>9.2} ms  bare PKCS#11 operations of the same ceremony",
        ms(bare)
    );
    println!(
        "ratios: engine / bare = {:.2}, binary / bare = {:.2}",
        ratio(engine, bare),
        ratio(binary, bare)
    );
}

/// One drill through the engine; the module load and token making are not timed.
fn engine_run(module_path: &Path, run: usize) -> (Duration, Vec<(String, Duration)>) {
    let dir = tempfile::tempdir().unwrap();
    let module = Module::load(module_path).unwrap();
    let mut player = drill::Player::with_new_tokens(&module, 2).unwrap();
    let cfg = EngineConfig {
        checklist: checklist::load(Path::new(CHECKLIST)).unwrap(),
        module,
        work_dir: dir.path().join("work"),
        out_dir: dir.path().join(format!("bundle-{run}")),
        mode: Mode::Drill,
        binary_sha256: "0".repeat(64),
        previous: None,
    };
    let started = Instant::now();
    let mut engine = Engine::open(cfg).unwrap();
    let timings = drill::play(&mut engine, &mut player, None).unwrap();
    let total = started.elapsed();
    drop(engine.close());
    (total, timings.into_iter().map(|t| (t.id, t.took)).collect())
}

/// The same token operations with nothing around them.
fn bare_run(module_path: &Path) -> Duration {
    let module = Module::load(module_path).unwrap();
    let mut serials = Vec::new();
    let mut factory = Vec::new();
    for i in 0..2 {
        let so = random_pin(16, b"0123456789abcdef");
        let info = hsm::init_free_slot(&module, &so, &format!("bare-{i}")).unwrap();
        serials.push(info.serial);
        factory.push(so);
    }
    let user = random_pin(8, b"0123456789");
    let new_so = random_pin(16, b"0123456789abcdef");
    let started = Instant::now();
    for (serial, label) in serials.iter().zip(["root", "intermediate"]) {
        let current = &factory[serials.iter().position(|s| s == serial).unwrap()];
        let init = TokenInit {
            serial,
            label,
            current_so_pin: current,
            new_so_pin: &new_so,
            user_pin: &user,
        };
        hsm::init_token(&module, &init).unwrap();
    }
    let root = UserSession::login(&module, &serials[0], &user).unwrap();
    let inter = UserSession::login(&module, &serials[1], &user).unwrap();
    root.generate_key(&[1], "root", Curve::P384).unwrap();
    let root_key = root.find_key(&[1], "root").unwrap().unwrap();
    for (id, label) in [(1u8, "int"), (2, "user"), (3, "host")] {
        inter.generate_key(&[id], label, Curve::P384).unwrap();
    }
    for _ in 0..3 {
        root.random(20).unwrap();
        root_key.sign_digest(&[7u8; 48]).unwrap();
    }
    let took = started.elapsed();
    drop(root_key);
    drop((root, inter));
    drop(module);
    took
}

/// The release binary as a user runs it (process start, module load, token making).
fn binary_run() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let exe = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/ceremony");
    assert!(
        exe.exists(),
        "build it first: cargo build --release --locked"
    );
    let started = Instant::now();
    let status = std::process::Command::new(exe)
        .args(["rehearse", CHECKLIST, "--out"])
        .arg(dir.path().join("bundle"))
        .stdout(std::process::Stdio::null())
        .env_remove("SOFTHSM2_CONF")
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
