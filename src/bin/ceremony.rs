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

/// Rotations continue from an earlier ceremony's bundle.
#[derive(clap::Args)]
struct Continue {
    /// The bundle of the ceremony this one continues (rotations); it is verified first.
    #[arg(long, value_name = "BUNDLE")]
    previous: Option<PathBuf>,
    /// The previous root's fingerprint, from its paper sheet; the previous bundle must have it.
    #[arg(long, value_name = "HEX", requires = "previous")]
    previous_root: Option<String>,
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
        #[command(flatten)]
        continues: Continue,
        /// Make the drill tokens in DIR and keep them, so that a later drill (a rotation)
        /// continues on them. Kept tokens use the published SmartCard-HSM factory PINs.
        #[arg(long, value_name = "DIR", conflicts_with = "tokens")]
        keep_tokens: Option<PathBuf>,
        /// Continue on the drill tokens an earlier drill kept in DIR (new roles get new
        /// tokens there too).
        #[arg(long, value_name = "DIR")]
        tokens: Option<PathBuf>,
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
        #[command(flatten)]
        continues: Continue,
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
        #[command(flatten)]
        continues: Continue,
        /// Drill on the tokens an earlier drill kept in DIR (see rehearse --keep-tokens)
        /// instead of WORK/drill-tokens.
        #[arg(long, value_name = "DIR")]
        tokens: Option<PathBuf>,
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
        /// The seal from the paper sheet (SHA-256 of SHA256SUMS): it also pins what the
        /// root does not sign (the SSH CA keys, bundle.json).
        #[arg(long, value_name = "HEX")]
        seal: Option<String>,
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
            continues,
        } => {
            let place = Place {
                work: &work,
                out: &out,
                tokens: module.as_deref(),
            };
            interactive(&checklist, engine::Mode::Ceremony, &place, &continues)
        }
        Command::Drill {
            checklist,
            work,
            out,
            continues,
            tokens,
        } => {
            let place = Place {
                work: &work,
                out: &out,
                tokens: tokens.as_deref(),
            };
            interactive(&checklist, engine::Mode::Drill, &place, &continues)
        }
        Command::Lint { files } => lint(&files),
        Command::Rehearse {
            checklist,
            out,
            work,
            module,
            continues,
            keep_tokens,
            tokens,
        } => {
            let kept = match (keep_tokens, tokens) {
                (Some(dir), _) => Some(KeptTokens::Make(dir)),
                (None, Some(dir)) => Some(KeptTokens::Use(dir)),
                (None, None) => None,
            };
            rehearse(
                &checklist,
                &out,
                work.as_deref(),
                module.as_deref(),
                &continues,
                kept,
            )
        }
        Command::Verify {
            bundle,
            root_fingerprint,
            seal,
        } => verify(&bundle, root_fingerprint.as_deref(), seal.as_deref()),
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
            eprintln!("error: {}", ceremony::errors::chain_text(e.as_ref()));
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
    let place = Place {
        work: Path::new(work),
        out: Path::new(out),
        tokens: None,
    };
    interactive(
        &checklist,
        mode,
        &place,
        &Continue {
            previous: None,
            previous_root: None,
        },
    )
}

/// Where a ceremony keeps its transcript and bundle, and its tokens: for `run` the
/// PKCS#11 module, for `drill` an optional folder of kept drill tokens.
struct Place<'a> {
    work: &'a Path,
    out: &'a Path,
    tokens: Option<&'a Path>,
}

/// The verified previous bundle, when the ceremony continues one.
fn load_previous(c: &Continue) -> Result<Option<engine::Previous>> {
    let Some(dir) = &c.previous else {
        return Ok(None);
    };
    let expected = c
        .previous_root
        .as_deref()
        .map(str::parse::<pki::Fingerprint>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--previous-root: {e}"))?;
    Ok(Some(engine::Previous::load(dir, expected.as_ref())?))
}

/// The TUI on a real module or on drill tokens kept in WORK/drill-tokens.
fn interactive(
    checklist_path: &Path,
    mode: engine::Mode,
    place: &Place<'_>,
    continues: &Continue,
) -> Result<ExitCode> {
    let (work, out) = (place.work, place.out);
    let loaded = checklist::load(checklist_path)?;
    let previous = load_previous(continues)?;
    let module = match mode {
        engine::Mode::Drill => {
            let new_roles = loaded
                .checklist
                .tokens
                .values()
                .filter(|t| t.existing.is_none())
                .count();
            let dir = place
                .tokens
                .map(Path::to_path_buf)
                .unwrap_or_else(|| work.join("drill-tokens"));
            open_drill_tokens(&dir, work, new_roles)?
        }
        engine::Mode::Ceremony => {
            let path = match place.tokens {
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
        previous,
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

/// Loads SoftHSM2 with the drill token folder `dir`, making `count` factory-fresh
/// tokens when this ceremony starts (not when it resumes from WORK's transcript).
fn open_drill_tokens(dir: &Path, work: &Path, count: usize) -> Result<hsm::Module> {
    let fresh = !work.join("transcript.jsonl").exists();
    let conf = drill::write_softhsm_config(dir)?;
    // SAFETY: still single-threaded here; SoftHSM reads this when the module loads.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module_path = drill::softhsm_module()?;
    if !fresh {
        say_restored(&drill::repair_kept_tokens(dir, &module_path)?);
    }
    let module = hsm::Module::load(&module_path)?;
    drill::check_softhsm(&module)?;
    if fresh {
        let factory = || ceremony::secret::Pin::new(drill::SMARTCARD_HSM_FACTORY_SO_PIN.into());
        let made = drill::make_factory_tokens(&module, count, &factory)?;
        drill::keep_factory_copies(dir, &made.into_keys().collect::<Vec<_>>())?;
    }
    Ok(module)
}

/// Tells which kept drill tokens were put back to their factory state.
fn say_restored(serials: &[String]) {
    for serial in serials {
        eprintln!(
            "drill: token {serial} was left unreadable by a run stopped while it was being \
             written; it held no keys and is back in its factory state (the unreadable copy \
             is kept beside it as torn-*). Its initialisation step is done again."
        );
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

/// Drill tokens that outlive one rehearsal.
enum KeptTokens {
    /// Make them in this (new or empty) folder.
    Make(PathBuf),
    /// Continue on the ones an earlier drill kept here.
    Use(PathBuf),
}

fn rehearse(
    checklist_path: &Path,
    out: &Path,
    work: Option<&Path>,
    module: Option<&Path>,
    continues: &Continue,
    kept: Option<KeptTokens>,
) -> Result<ExitCode> {
    let loaded = checklist::load(checklist_path)?;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty; a bundle is only written into an empty folder",
            out.display()
        );
    }
    let previous = load_previous(continues)?;
    let tokens_tmp = tempfile::Builder::new()
        .prefix("ceremony-drill-tokens.")
        .tempdir()?;
    let tokens_dir = match &kept {
        None => tokens_tmp.path().to_path_buf(),
        Some(KeptTokens::Make(dir)) => {
            if !drill::unused_tokens_dir(dir)? {
                bail!(
                    "--keep-tokens {}: not empty; kept tokens are made in a new folder",
                    dir.display()
                );
            }
            dir.clone()
        }
        Some(KeptTokens::Use(dir)) => {
            if !dir.join("softhsm2.conf").exists() {
                bail!(
                    "--tokens {}: no drill tokens there (make them with --keep-tokens)",
                    dir.display()
                );
            }
            dir.clone()
        }
    };
    let conf = drill::write_softhsm_config(&tokens_dir)?;
    // SAFETY: still single-threaded here; SoftHSM reads this when the module loads.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let module_path = match module {
        Some(p) => p.to_path_buf(),
        None => drill::softhsm_module()?,
    };
    if matches!(kept, Some(KeptTokens::Use(_))) {
        say_restored(&drill::repair_kept_tokens(&tokens_dir, &module_path)?);
    }
    let module = hsm::Module::load(&module_path)?;
    let new_roles = loaded
        .checklist
        .tokens
        .values()
        .filter(|t| t.existing.is_none())
        .count();
    let mut player = match kept {
        None => drill::Player::with_new_tokens(&module, new_roles)?,
        Some(_) => {
            let player = drill::Player::with_published_pins(&module, new_roles)?;
            drill::keep_factory_copies(&tokens_dir, &player.factory_serials())?;
            player
        }
    };
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
        previous,
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
    if let Some((dir, _)) = &engine.state().bundle
        && let Ok(report) = std::fs::read_to_string(Path::new(dir).join("drill-report.txt"))
    {
        print!("{report}");
    }
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

fn verify(dir: &Path, expected: Option<&str>, seal: Option<&str>) -> Result<ExitCode> {
    let expected = expected
        .map(|s| s.parse::<pki::Fingerprint>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--root-fingerprint: {e}"))?;
    match bundle::verify(dir, expected.as_ref()) {
        Ok(v) => match v.check_seal(seal) {
            Ok(()) => {
                print!("{}", v.summary(dir));
                Ok(ExitCode::SUCCESS)
            }
            Err(problem) => {
                print!("{}", ceremony::bundle::problems_report(dir, &[problem]));
                Ok(ExitCode::FAILURE)
            }
        },
        Err(problems) => {
            print!("{}", ceremony::bundle::problems_report(dir, &problems));
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
