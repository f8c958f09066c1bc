//! A real step-ca for the tests: smallstep's CA 0.19 and a small client, built from
//! Debian 12's Go packages by `build/step-ca` (once per test process, reused while up to
//! date), started on loopback on an installed CA folder, waited for on `/health`, and
//! stopped by its pid when dropped. Also the OIDC discovery stub step-ca fetches at start.
//! The CA folder a test installs into is made by `world`.
#![allow(dead_code)]

pub mod world;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The two programs `build/step-ca` makes.
pub struct Tools {
    pub step_ca: PathBuf,
    pub client: PathBuf,
}

/// Builds step-ca and its client (or finds them up to date). Panics, never skips, when
/// that fails: the tests need Go and Debian's step-ca sources (`build/deps`).
pub fn tools() -> &'static Tools {
    static TOOLS: OnceLock<Tools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        // CARGO_BIN_EXE_ceremonyd is <target>/<profile>/ceremonyd.
        let exe = Path::new(env!("CARGO_BIN_EXE_ceremonyd"));
        let out = exe.parent().unwrap().parent().unwrap().join("step-ca");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/build/step-ca");
        let built = Command::new(script)
            .arg(&out)
            .output()
            .expect("run build/step-ca");
        assert!(
            built.status.success(),
            "build/step-ca failed (run build/deps for Go and step-ca's Debian sources):\n{}",
            text(&built)
        );
        Tools {
            step_ca: out.join("step-ca"),
            client: out.join("stepca-client"),
        }
    })
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running step-ca; killed (by pid) and waited for when dropped.
pub struct StepCa {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    /// The root step-ca's TLS certificate chains to (the installed `certs/root_ca.crt`).
    pub root: PathBuf,
}

/// How to start step-ca on a CA folder.
pub struct Start<'a> {
    pub ca: &'a Path,
    pub port: u16,
    /// `SOFTHSM2_CONF` for a PKCS#11 installation on drill tokens.
    pub softhsm_conf: Option<&'a Path>,
    /// `--password-file` for a folder with password-protected key files (Phase 1).
    pub password_file: Option<&'a Path>,
    /// Where step-ca's output goes.
    pub log: PathBuf,
}

impl StepCa {
    /// Starts step-ca on `ca/config/ca.json` and waits until `/health` answers. `Err`
    /// holds step-ca's output when it exits first or is not healthy within 60 s.
    pub fn start(s: &Start<'_>) -> Result<StepCa, String> {
        let log = std::fs::File::create(&s.log).unwrap();
        let mut cmd = Command::new(&tools().step_ca);
        // urfave/cli stops at the first positional argument: flags go first.
        if let Some(file) = s.password_file {
            cmd.arg("--password-file").arg(file);
        }
        cmd.arg(s.ca.join("config/ca.json"))
            .env("STEPPATH", s.ca)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(conf) = s.softhsm_conf {
            cmd.env("SOFTHSM2_CONF", conf);
        }
        let ca = StepCa {
            child: cmd.spawn().expect("spawn step-ca"),
            port: s.port,
            log: s.log.clone(),
            root: s.ca.join("certs/root_ca.crt"),
        };
        ca.wait_healthy()
    }

    fn wait_healthy(mut self) -> Result<StepCa, String> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("step-ca exited ({status}):\n{}", self.log_text()));
            }
            if let Ok(body) = self.get("/health")
                && body == b"{\"status\":\"ok\"}\n"
            {
                return Ok(self);
            }
            if Instant::now() > until {
                return Err(format!("step-ca not healthy in 60 s:\n{}", self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// GET over TLS trusting only the installed root, with the CA's DNS name `localhost`.
    pub fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        let port = self.port;
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "5", "--cacert"])
            .arg(&self.root)
            .arg("--resolve")
            .arg(format!("localhost:{port}:127.0.0.1"))
            .arg(format!("https://localhost:{port}{path}"))
            .output()
            .expect("curl (build/deps installs it)");
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(text(&out))
        }
    }

    /// Runs the client's `x509` or `ssh` command against this CA with `args` after the
    /// connection flags.
    pub fn client(&self, command: &str, args: &[&std::ffi::OsStr]) -> Output {
        Command::new(&tools().client)
            .arg(command)
            .arg("--ca-url")
            .arg(self.url())
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .output()
            .expect("run stepca-client")
    }

    /// Stops step-ca now (SIGTERM, then SIGKILL after 10 s) and returns its output.
    pub fn stop(mut self) -> String {
        self.terminate();
        self.log_text()
    }

    fn terminate(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        if self.child.try_wait().unwrap().is_some() {
            return;
        }
        // SAFETY: a signal to our own child, by its pid; it is not reaped yet.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            if Instant::now() > until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for StepCa {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// An OpenID provider as far as step-ca looks at one when it starts: the discovery
/// document and an empty key set, over plain HTTP on 127.0.0.1. Counts requests.
pub struct OidcStub {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
}

impl OidcStub {
    pub fn start() -> OidcStub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                answer(stream, port);
            }
        });
        OidcStub { port, hits }
    }

    pub fn configuration_endpoint(&self) -> String {
        format!(
            "http://127.0.0.1:{}/dex/.well-known/openid-configuration",
            self.port
        )
    }
}

fn answer(mut stream: std::net::TcpStream, port: u16) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    let issuer = format!("http://127.0.0.1:{port}/dex");
    let (status, body) = match path {
        "/dex/.well-known/openid-configuration" => (
            "200 OK",
            serde_json::json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/auth"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/keys"),
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"]
            })
            .to_string(),
        ),
        "/dex/keys" => ("200 OK", r#"{"keys":[]}"#.to_owned()),
        _ => ("404 Not Found", "{}".to_owned()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
