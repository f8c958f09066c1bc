//! `ceremony`: runs HSM key ceremonies from a checklist on an offline laptop.
//!
//! Argument parsing and error reporting only; everything else is in the library.

use anyhow::{Context, Result, bail};
use ceremony::{bundle, checklist, drill, engine, hsm, pki, preflight};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// HSM key ceremonies for a private step-ca PKI.
///
/// A checklist (TOML, reviewed in git before the day) scripts the whole ceremony. Two
/// people, an operator and a witness, confirm every step. PINs are only ever typed in,
/// never passed on the command line or in the environment.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check checklist files and print every problem with its field path.
    ///
    /// Exits 0 when every file is valid, 1 when any has a problem.
    Lint {
        /// Checklist files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a whole ceremony unattended on throwaway SoftHSM2 tokens.
    ///
    /// Creates the tokens in a temporary folder, makes up random PINs it keeps only in
    /// memory, plays both participants through the same engine as a real ceremony, and
    /// writes a bundle marked DRILL to --out. Prints how long each step took.
    Rehearse {
        /// The checklist to rehearse, e.g. checklists/root-ceremony.toml.
        checklist: PathBuf,
        /// Folder for the bundle; must be empty or absent.
        #[arg(long)]
        out: PathBuf,
        /// Folder for the transcript (default: a temporary folder).
        #[arg(long)]
        work: Option<PathBuf>,
        /// SoftHSM2 module (default: the installed one).
        #[arg(long)]
        module: Option<PathBuf>,
    },
    /// Verify a bundle offline: checksums, chain, profiles, CRL, SSH keys, transcript.
    ///
    /// Exits 0 when the bundle is intact, 1 naming every problem otherwise.
    Verify {
        /// The bundle folder.
        bundle: PathBuf,
        /// The root fingerprint from the paper sheet (hex, colons allowed).
        #[arg(long)]
        root_fingerprint: Option<String>,
    },
}

fn main() -> ExitCode {
    disable_core_dumps();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Lint { files } => lint(&files),
        Command::Rehearse {
            checklist,
            out,
            work,
            module,
        } => rehearse(&checklist, &out, work.as_deref(), module.as_deref()),
        Command::Verify {
            bundle,
            root_fingerprint,
        } => verify(&bundle, root_fingerprint.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// No core file may hold a PIN: set the core size limit to zero and mark the process
/// non-dumpable (which also keeps other users' debuggers out).
fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls with valid arguments; failure leaves the defaults, which
    // the preflight screen of a real ceremony does not depend on.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

fn lint(files: &[PathBuf]) -> Result<ExitCode> {
    let mut bad = 0;
    for file in files {
        match checklist::load(file) {
            Ok(_) => println!("{}: ok", file.display()),
            Err(checklist::ChecklistError::Invalid { problems }) => {
                bad += 1;
                for p in problems {
                    println!("{}: {p}", file.display());
                }
            }
            Err(e) => {
                bad += 1;
                println!("{}: {e}", file.display());
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn rehearse(
    checklist_path: &Path,
    out: &Path,
    work: Option<&Path>,
    module: Option<&Path>,
) -> Result<ExitCode> {
    let loaded = checklist::load(checklist_path)?;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty; a bundle is only written into an empty folder",
            out.display()
        );
    }
    let tokens_dir = tempfile::Builder::new()
        .prefix("ceremony-drill-tokens.")
        .tempdir()?;
    let conf = drill::write_softhsm_config(tokens_dir.path())?;
    // SAFETY: still single-threaded here; SoftHSM reads this when the module loads.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module_path = match module {
        Some(p) => p.to_path_buf(),
        None => drill::softhsm_module()?,
    };
    let module = hsm::Module::load(&module_path)?;
    let mut player = drill::Player::with_new_tokens(&module, loaded.checklist.tokens.len())?;
    let work_tmp = tempfile::Builder::new()
        .prefix("ceremony-drill-work.")
        .tempdir()?;
    let work_dir = work
        .map(Path::to_path_buf)
        .unwrap_or_else(|| work_tmp.path().to_path_buf());
    let cfg = engine::EngineConfig {
        checklist: loaded,
        module,
        work_dir,
        out_dir: out.to_path_buf(),
        mode: engine::Mode::Drill,
        binary_sha256: preflight::binary_sha256().context("hashing /proc/self/exe")?,
    };
    let started = Instant::now();
    let mut engine = engine::Engine::open(cfg)?;
    let timings = drill::play(&mut engine, &mut player, None)?;
    let total = started.elapsed();
    println!(
        "DRILL of {} ({} steps)",
        engine.checklist().ceremony.name,
        timings.len()
    );
    for t in &timings {
        println!("  {:>9.2} ms  {}", t.took.as_secs_f64() * 1e3, t.id);
    }
    println!("  {:>9.2} ms  total", total.as_secs_f64() * 1e3);
    if let Some((dir, seal)) = &engine.state().bundle {
        println!("bundle:  {dir}\nseal:    {seal}");
    }
    let root = engine
        .checklist()
        .root_certificate_name()
        .map(str::to_string);
    if let Some(root) = root.and_then(|r| engine.state().certs.get(&r)) {
        println!("root:    {}", root.sha256);
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(dir: &Path, expected: Option<&str>) -> Result<ExitCode> {
    let expected = expected
        .map(|s| s.parse::<pki::Fingerprint>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--root-fingerprint: {e}"))?;
    match bundle::verify(dir, expected.as_ref()) {
        Ok(v) => {
            println!("{}: ok", dir.display());
            println!(
                "kind:    {}{}",
                v.manifest.kind,
                if v.manifest.drill { " (DRILL)" } else { "" }
            );
            println!("root:    {}", v.root_fingerprint);
            println!("seal:    {}", v.seal);
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for p in problems {
                println!("{}: {p}", dir.display());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
