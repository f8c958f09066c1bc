//! `ceremonyd`: the online CA host's side of a ceremony. Argument parsing, the merge of
//! flags over the configuration file, and error reporting; everything else is in
//! `ceremony::daemon`.

use anyhow::{Context, Result};
use ceremony::daemon::{self, Config, DaemonError, Fault, Owner, log};
use ceremony::pki::Fingerprint;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Installs ceremony bundles for step-ca, checks the online HSM, serves trust material.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Flags shared by the commands that write into a CA folder.
#[derive(clap::Args)]
struct Target {
    /// step-ca's folder (the volume mounted at /home/step in its container).
    #[arg(long, value_name = "DIR")]
    ca_dir: PathBuf,
    /// Folder for the trust files configuration management distributes.
    #[arg(long, value_name = "DIR")]
    trust_dir: Option<PathBuf>,
    /// Owner of everything written, numeric (default 1000:1000, step-ca's user).
    #[arg(long, value_name = "UID:GID")]
    owner: Option<Owner>,
    /// The daemon configuration (module path, PIN source, step path, known_hosts
    /// pattern, root overlap); flags given here win over it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a bundle exactly as `ceremony verify` does; exits 1 naming every problem.
    Verify {
        bundle: PathBuf,
        /// The root fingerprint from the paper sheet (hex, colons allowed).
        #[arg(long, value_name = "HEX")]
        root_fingerprint: String,
        /// The seal from the paper sheet (SHA-256 of SHA256SUMS).
        #[arg(long, value_name = "HEX")]
        seal: Option<String>,
    },
    /// Verify a bundle and install it for step-ca as a new generation.
    ///
    /// Any refusal (verification, drill, root or CRL rules) changes nothing and says why.
    Import {
        bundle: PathBuf,
        /// The root fingerprint from the paper sheet; a new root is accepted only when
        /// this names it.
        #[arg(long, value_name = "HEX")]
        root_fingerprint: String,
        /// The bundle's seal from the paper sheet (SHA-256 of SHA256SUMS). The root signs
        /// the certificates and the CRL; the seal also pins the SSH CA keys and bundle.json.
        #[arg(long, value_name = "HEX")]
        seal: Option<String>,
        #[command(flatten)]
        target: Target,
        /// Accept a DRILL bundle (rehearsal hosts only).
        #[arg(long)]
        allow_drill: bool,
        /// Let provisioner NAME sign SSH certificates it could not sign before (it gets
        /// its own `claims.enableSSHCA: true`). Repeat for each; without it, an import
        /// that would widen who may sign is refused.
        #[arg(long, value_name = "NAME")]
        widen_ssh: Vec<String>,
    },
    /// Switch step-ca back to the generation before the current one.
    Rollback {
        #[command(flatten)]
        target: Target,
    },
    /// Prove the online HSM holds the installed keys: compare public keys, sign and verify.
    ///
    /// Run outside the systemd unit (it needs the token's device); prints a report for
    /// the cutover log and exits 1 if any check fails.
    CheckHsm {
        /// PKCS#11 module, e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so.
        #[arg(long, value_name = "PATH")]
        module: PathBuf,
        /// The intermediate token's serial (the sheet, bundle.json).
        #[arg(long)]
        serial: String,
        /// File with the user PIN; must not be readable by group or others.
        #[arg(long, value_name = "FILE")]
        pin_file: PathBuf,
        #[arg(long, value_name = "DIR")]
        ca_dir: PathBuf,
    },
    /// Serve trust material and metrics over HTTP and import bundles from the inbox.
    Serve {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    disable_core_dumps();
    let result = match Cli::parse().command {
        Command::Verify {
            bundle,
            root_fingerprint,
            seal,
        } => verify(&bundle, &root_fingerprint, seal.as_deref()),
        Command::Import {
            bundle,
            root_fingerprint,
            seal,
            target,
            allow_drill,
            widen_ssh,
        } => import(
            &bundle,
            &root_fingerprint,
            seal.as_deref(),
            &target,
            allow_drill,
            &widen_ssh,
        ),
        Command::Rollback { target } => rollback(&target),
        Command::CheckHsm {
            module,
            serial,
            pin_file,
            ca_dir,
        } => check_hsm(&module, &serial, &pin_file, &ca_dir),
        Command::Serve { config } => serve(&config),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", ceremony::errors::chain_text(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn fingerprint(text: &str) -> Result<Fingerprint> {
    text.parse()
        .map_err(|e| anyhow::anyhow!("--root-fingerprint: {e}"))
}

fn verify(bundle: &Path, root: &str, seal: Option<&str>) -> Result<ExitCode> {
    let expected = fingerprint(root)?;
    match ceremony::bundle::verify(bundle, Some(&expected)) {
        Ok(v) => match v.check_seal(seal) {
            Ok(()) => {
                print!("{}", v.summary(bundle));
                Ok(ExitCode::SUCCESS)
            }
            Err(problem) => {
                print!("{}", ceremony::bundle::problems_report(bundle, &[problem]));
                Ok(ExitCode::FAILURE)
            }
        },
        Err(problems) => {
            print!("{}", ceremony::bundle::problems_report(bundle, &problems));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The configuration file (or the defaults) with the flags applied over it.
fn effective(target: &Target) -> Result<Config> {
    let mut config = match &target.config {
        Some(path) => daemon::config::load(path)?,
        None => Config::default(),
    };
    config.ca.dir = Some(target.ca_dir.clone());
    if let Some(dir) = &target.trust_dir {
        config.trust.dir = Some(dir.clone());
    }
    if let Some(owner) = target.owner {
        config.ca.owner = owner;
    }
    Ok(config)
}

/// A refusal is an answer, not a crash: print it and exit 1.
fn refused(e: DaemonError) -> Result<ExitCode> {
    if e.is_refusal() {
        println!("{e}");
        log::warn("refused", &[("reason", &e)]);
        Ok(ExitCode::FAILURE)
    } else {
        Err(e.into())
    }
}

fn import(
    bundle: &Path,
    root: &str,
    seal: Option<&str>,
    target: &Target,
    allow_drill: bool,
    widen_ssh: &[String],
) -> Result<ExitCode> {
    let expected = fingerprint(root)?;
    let mut config = effective(target)?;
    config.import.allow_drill |= allow_drill;
    let req = daemon::Request {
        bundle,
        accepted_roots: &[expected],
        seal,
        config: &config,
        now: time::OffsetDateTime::now_utc(),
        widen_ssh,
    };
    let done = match daemon::import(&req, Fault::none()) {
        Ok(done) => done,
        Err(e) => return refused(e),
    };
    let ca = target.ca_dir.display();
    if done.already {
        println!(
            "{ca}: bundle {} is installed already (generation {})",
            done.seal, done.generation
        );
    } else {
        if let Some(n) = done.migrated {
            println!("{ca}: the plain step-ca folders were kept as generation {n}");
        }
        let previous = done.previous.map_or("none".into(), |p| p.to_string());
        println!(
            "{ca}: installed generation {} (previous {previous})",
            done.generation
        );
        let drill = if done.drill { " (DRILL)" } else { "" };
        println!("kind:    {}{drill}", done.kind);
        println!("seal:    {}", done.seal);
        if done.root_changed {
            println!("root:    NEW root {root}; the previous root stays trusted for the overlap");
        }
        if let Some(table) = &done.signing {
            print!("{}", table.render());
        }
        if done.kind == "crl-renewal" {
            println!(
                "next:    nothing for step-ca (only the CRL changed); `ceremonyd serve` serves it"
            );
        } else {
            println!("next:    restart step-ca, then run `ceremonyd check-hsm`");
        }
    }
    log::info(
        if done.already {
            "import.already"
        } else {
            "import.installed"
        },
        &[
            ("ca_dir", &ca),
            ("generation", &done.generation),
            ("seal", &done.seal),
            ("kind", &done.kind),
        ],
    );
    Ok(ExitCode::SUCCESS)
}

fn rollback(target: &Target) -> Result<ExitCode> {
    let config = effective(target)?;
    match daemon::rollback(&config, Fault::none()) {
        Ok(done) => {
            println!(
                "{}: generation {} is current again (was {}); restart step-ca",
                target.ca_dir.display(),
                done.to,
                done.from
            );
            log::info("rollback", &[("from", &done.from), ("to", &done.to)]);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(e),
    }
}

fn check_hsm(module: &Path, serial: &str, pin_file: &Path, ca_dir: &Path) -> Result<ExitCode> {
    let req = daemon::CheckRequest {
        module,
        serial,
        pin_file,
        ca_dir,
    };
    let report = daemon::check_hsm(&req).context("check-hsm could not run its checks")?;
    for line in &report.lines {
        println!("{line}");
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn serve(config_path: &Path) -> Result<ExitCode> {
    let config = daemon::config::load(config_path)?;
    daemon::serve::run(config)?;
    Ok(ExitCode::SUCCESS)
}

/// No core file may hold the PIN check-hsm reads: no core dumps, not dumpable.
fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls with valid arguments; failure leaves the defaults.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
