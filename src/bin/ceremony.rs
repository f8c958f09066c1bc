//! `ceremony`: runs HSM key ceremonies from a checklist on an offline laptop.
//!
//! Argument parsing and error reporting only; everything else is in the library.

use anyhow::{Context, Result, bail};
use ceremony::{bundle, checklist, drill, engine, hsm, pki, preflight, sheet};
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
    /// Without a command: choose a checklist and a mode on screen.
    #[command(subcommand)]
    command: Option<Command>,
    /// Where the chooser looks for checklists.
    #[arg(long, default_value = "checklists")]
    checklists: PathBuf,
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
    /// Run the real ceremony in the terminal, on the HSMs of a PKCS#11 module.
    ///
    /// Preflight refuses to go on while the machine has a network. Running the same
    /// command again with the same --work folder resumes after the last completed step.
    Run {
        /// The checklist, e.g. checklists/root-ceremony.toml.
        checklist: PathBuf,
        /// PKCS#11 module (default: OpenSC's, for the Nitrokey HSM 2).
        #[arg(long)]
        module: Option<PathBuf>,
        /// Folder for the transcript; keep it to resume (default: ./ceremony-work).
        #[arg(long, default_value = "ceremony-work")]
        work: PathBuf,
        /// Folder for the bundle, e.g. on the export stick; must be empty or absent.
        #[arg(long, default_value = "ceremony-bundle")]
        out: PathBuf,
    },
    /// Practise a ceremony in the terminal on throwaway SoftHSM2 tokens.
    ///
    /// The same screens and engine as `run`; every screen and output says DRILL. The
    /// tokens live in WORK/drill-tokens and come with the SmartCard-HSM factory SO PIN
    /// (3537363231383830), as a new Nitrokey HSM 2 does; the same --work resumes.
    Drill {
        /// The checklist, e.g. checklists/root-ceremony.toml.
        checklist: PathBuf,
        /// Folder for the transcript and drill tokens (default: ./drill-work).
        #[arg(long, default_value = "drill-work")]
        work: PathBuf,
        /// Folder for the bundle; must be empty or absent.
        #[arg(long, default_value = "drill-bundle")]
        out: PathBuf,
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
    /// Print a bundle's fingerprint sheet (PDF) again.
    ///
    /// Verifies the bundle first. Without --out, writes fingerprint-sheet.pdf into the
    /// bundle if it is missing there, or confirms that the one there is intact. With
    /// --out, writes a new file (e.g. a copy on the other paper size). Never overwrites.
    Sheet {
        /// The bundle folder.
        bundle: PathBuf,
        /// Paper size (default: the one recorded in bundle.json, else a4).
        #[arg(long, value_enum)]
        paper: Option<PaperArg>,
        /// Where to write the PDF (default: the bundle's fingerprint-sheet.pdf).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PaperArg {
    A4,
    Letter,
}

impl From<PaperArg> for sheet::Paper {
    fn from(p: PaperArg) -> Self {
        match p {
            PaperArg::A4 => sheet::Paper::A4,
            PaperArg::Letter => sheet::Paper::Letter,
        }
    }
}

fn main() -> ExitCode {
    disable_core_dumps();
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return report(choose_and_run(&cli.checklists));
    };
    let result = match command {
        Command::Run {
            checklist,
            module,
            work,
            out,
        } => interactive(
            &checklist,
            engine::Mode::Ceremony,
            module.as_deref(),
            &work,
            &out,
        ),
        Command::Drill {
            checklist,
            work,
            out,
        } => interactive(&checklist, engine::Mode::Drill, None, &work, &out),
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
        Command::Sheet { bundle, paper, out } => {
            print_sheet(&bundle, paper.map(Into::into), out.as_deref())
        }
    };
    report(result)
}

fn report(result: Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn choose_and_run(dir: &Path) -> Result<ExitCode> {
    let Some((checklist, mode)) = ceremony::tui::chooser::choose(dir)
        .with_context(|| format!("choosing a checklist in {}", dir.display()))?
    else {
        return Ok(ExitCode::SUCCESS);
    };
    let (work, out) = match mode {
        engine::Mode::Drill => ("drill-work", "drill-bundle"),
        engine::Mode::Ceremony => ("ceremony-work", "ceremony-bundle"),
    };
    interactive(&checklist, mode, None, Path::new(work), Path::new(out))
}

/// The TUI on a real module or on drill tokens kept in WORK/drill-tokens.
fn interactive(
    checklist_path: &Path,
    mode: engine::Mode,
    module: Option<&Path>,
    work: &Path,
    out: &Path,
) -> Result<ExitCode> {
    let loaded = checklist::load(checklist_path)?;
    let module = match mode {
        engine::Mode::Drill => open_drill_tokens(work, loaded.checklist.tokens.len())?,
        engine::Mode::Ceremony => {
            let path = match module {
                Some(p) => p.to_path_buf(),
                None => hsm::opensc_module()
                    .context("OpenSC's PKCS#11 module is not installed; name one with --module")?,
            };
            hsm::Module::load(&path)?
        }
    };
    let cfg = engine::EngineConfig {
        checklist: loaded,
        module,
        work_dir: work.to_path_buf(),
        out_dir: out.to_path_buf(),
        mode,
        binary_sha256: preflight::binary_sha256().context("hashing /proc/self/exe")?,
    };
    let engine = engine::Engine::open(cfg)?;
    let (engine, finished) = ceremony::tui::run(engine, work.display().to_string())?;
    let state = engine.state();
    if let Some((dir, seal)) = &state.bundle {
        println!("bundle:  {dir}\nseal:    {seal}");
    }
    if !finished {
        println!(
            "stopped; the transcript is in {}. Run the same command again to resume.",
            work.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads SoftHSM2 with the drill's own token folder, making factory-fresh tokens the
/// first time (later runs resume with the same tokens).
fn open_drill_tokens(work: &Path, count: usize) -> Result<hsm::Module> {
    let dir = work.join("drill-tokens");
    let fresh = !dir.exists();
    let conf = drill::write_softhsm_config(&dir)?;
    // SAFETY: still single-threaded here; SoftHSM reads this when the module loads.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module = hsm::Module::load(&drill::softhsm_module()?)?;
    drill::check_softhsm(&module)?;
    if fresh {
        let factory = || ceremony::secret::Pin::new(drill::SMARTCARD_HSM_FACTORY_SO_PIN.into());
        drill::make_factory_tokens(&module, count, &factory)?;
    }
    Ok(module)
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
        let pdf = Path::new(dir).join(bundle::SHEET);
        if pdf.exists() {
            println!("sheet:   {}", pdf.display());
        }
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
            for note in &v.notes {
                println!("note:    {note}");
            }
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

fn print_sheet(dir: &Path, paper: Option<sheet::Paper>, out: Option<&Path>) -> Result<ExitCode> {
    let (path, paper, what) = match sheet::regenerate(dir, paper, out)? {
        sheet::Regenerated::Written { path, paper } => (path, paper, "wrote"),
        sheet::Regenerated::Intact { path, paper } => (path, paper, "intact"),
    };
    let media = match paper {
        sheet::Paper::A4 => "A4",
        sheet::Paper::Letter => "Letter",
    };
    println!("sheet:   {} ({what}, {media})", path.display());
    println!("print:   lp -o media={media} {}", path.display());
    Ok(ExitCode::SUCCESS)
}
