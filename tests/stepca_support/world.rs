//! One test's world: kept drill tokens, the PIN and password files, the OIDC stub, and a
//! CA folder shaped like the seed's Phase 1 installation: made by step's own `pki`
//! package as `step ca init --ssh` makes it (file keys under a password), then given the
//! seed's six provisioners with their claims (real JWK keys; the OIDC one pointing at the
//! stub). `ceremonyd import`/`rollback` go into it, and step-ca starts on whatever is
//! installed. Needs the including test crate to have `daemon_support.rs` as `support`.

use super::{OidcStub, Start, StepCa, text, tools};
use crate::support::{ceremonyd, provisioners};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct World {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub tokens: PathBuf,
    pub port: u16,
    pub oidc: OidcStub,
    /// The PKCS#11 module ceremonyd installs for step-ca: SoftHSM2 (drill tokens) unless
    /// [`with_module`](Self::with_module) says otherwise.
    pub module: PathBuf,
    starts: AtomicUsize,
}

impl World {
    /// The Phase 1 CA folder in a new temporary folder, and the files around it.
    pub fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let world = World {
            ca: dir.join("ca"),
            tokens: dir.join("tokens"),
            port: super::free_port(),
            oidc: OidcStub::start(),
            module: ::ceremony::drill::softhsm_module().expect("SoftHSM2 (build/deps)"),
            starts: AtomicUsize::new(0),
            dir,
            _tmp: tmp,
        };
        for sub in ["secrets", "out", "logs"] {
            std::fs::create_dir(world.dir.join(sub)).unwrap();
        }
        world.write_secret("hsm-pin", ::ceremony::drill::SMARTCARD_HSM_FACTORY_USER_PIN);
        world.write_secret("phase1-password", "phase 1 key password");
        world.write_secret("provisioner-password", "provisioner password");
        world.make_phase1();
        world
    }

    /// The same world with another PKCS#11 module (OpenSC's, for the emulated
    /// SmartCard-HSM) in what ceremonyd installs and checks.
    pub fn with_module(mut self, module: &Path) -> World {
        self.module = module.to_path_buf();
        self
    }

    /// A test-only secret, mode 0600, in `secrets/`.
    pub fn write_secret(&self, name: &str, value: &str) -> PathBuf {
        let path = self.secret(name);
        std::fs::write(&path, format!("{value}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    pub fn secret(&self, name: &str) -> PathBuf {
        self.dir.join("secrets").join(name)
    }

    fn client(&self, args: &[&str]) -> String {
        let out = Command::new(&tools().client)
            .args(args)
            .env("STEPPATH", &self.ca)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stepca-client {args:?}:\n{}",
            text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn make_phase1(&self) {
        let password = self.secret("phase1-password");
        let address = format!("127.0.0.1:{}", self.port);
        let password = password.to_str().unwrap();
        self.client(&[
            "init",
            "--password-file",
            password,
            "--address",
            &address,
            "--dns",
            "ca.ccat.uni-koeln.de,localhost",
            "--name",
            "CCAT Phase 1",
        ]);
        let path = self.ca.join("config/ca.json");
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        doc["authority"]["provisioners"] = self.seed_provisioners();
        doc["logger"] = serde_json::json!({"format": "json"});
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(&doc, &mut ser).unwrap();
        out.push(b'\n');
        std::fs::write(&path, out).unwrap();
    }

    /// The seed's six provisioners and claims (daemon_support's list) with working keys.
    fn seed_provisioners(&self) -> serde_json::Value {
        let password = self.secret("provisioner-password");
        let mut list = provisioners();
        for p in list.as_array_mut().unwrap() {
            match p["type"].as_str().unwrap() {
                "JWK" => {
                    let name = p["name"].as_str().unwrap().to_owned();
                    let args = ["jwk", "--name", &name, "--password-file"];
                    let made = self.client(&[&args[..], &[password.to_str().unwrap()]].concat());
                    let made: serde_json::Value = serde_json::from_str(&made).unwrap();
                    p["key"] = made["key"].clone();
                    p["encryptedKey"] = made["encryptedKey"].clone();
                }
                "OIDC" => p["configurationEndpoint"] = self.oidc.configuration_endpoint().into(),
                _ => {}
            }
        }
        list
    }

    /// `ceremony rehearse`: the first call makes the kept tokens, later ones continue
    /// the chain from `previous`. Returns the bundle and its root fingerprint.
    pub fn rehearse(
        &self,
        checklist: &str,
        name: &str,
        previous: Option<&Path>,
    ) -> (PathBuf, String) {
        let out = self.dir.join(name);
        let fp = crate::support::rehearse(checklist, &out, Some((&self.tokens, previous)));
        (out, fp)
    }

    pub fn config(&self) -> PathBuf {
        let path = self.dir.join("ceremonyd.toml");
        if !path.exists() {
            let module = &self.module;
            let toml = format!(
                "[ca]\nstep_path = \"{}\"\nmodule_path = \"{}\"\npin_source = \"{}\"\n\
                 [trust]\nknown_hosts_pattern = \"*.ccat.uni-koeln.de\"\n",
                self.ca.display(),
                module.display(),
                self.secret("hsm-pin").display()
            );
            std::fs::write(&path, toml).unwrap();
        }
        path
    }

    fn owner() -> String {
        // SAFETY: plain getters.
        unsafe { format!("{}:{}", libc::getuid(), libc::getgid()) }
    }

    /// `ceremonyd import BUNDLE --allow-drill` into this world's CA folder; `extra` after.
    pub fn import(&self, bundle: &Path, fp: &str, extra: &[&str]) -> Output {
        ceremonyd()
            .arg("import")
            .arg(bundle)
            .args(["--root-fingerprint", fp, "--allow-drill", "--ca-dir"])
            .arg(&self.ca)
            .arg("--trust-dir")
            .arg(self.dir.join("trust"))
            .args(["--owner", &Self::owner(), "--config"])
            .arg(self.config())
            .args(extra)
            .output()
            .unwrap()
    }

    pub fn rollback(&self) -> Output {
        ceremonyd()
            .arg("rollback")
            .arg("--ca-dir")
            .arg(&self.ca)
            .arg("--trust-dir")
            .arg(self.dir.join("trust"))
            .args(["--owner", &Self::owner(), "--config"])
            .arg(self.config())
            .output()
            .unwrap()
    }

    /// `ceremonyd check-hsm` on the installed generation with this PIN file.
    pub fn check_hsm(&self, serial: &str, pin_file: &Path) -> Output {
        ceremonyd()
            .arg("check-hsm")
            .arg("--module")
            .arg(&self.module)
            .args(["--serial", serial, "--pin-file"])
            .arg(pin_file)
            .arg("--ca-dir")
            .arg(&self.ca)
            .env("SOFTHSM2_CONF", self.tokens.join("softhsm2.conf"))
            .output()
            .unwrap()
    }

    /// step-ca on what is installed: the PKCS#11 KMS on the drill tokens when ca.json
    /// has a `kms`, else the Phase 1 key files with their password.
    pub fn start(&self) -> Result<StepCa, String> {
        let ca_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.ca.join("config/ca.json")).unwrap())
                .unwrap();
        let pkcs11 = ca_json.get("kms").is_some();
        let conf = self.tokens.join("softhsm2.conf");
        let password = self.secret("phase1-password");
        let n = self.starts.fetch_add(1, Ordering::SeqCst);
        StepCa::start(&Start {
            ca: &self.ca,
            port: self.port,
            softhsm_conf: pkcs11.then_some(conf.as_path()),
            password_file: (!pkcs11).then_some(password.as_path()),
            log: self.dir.join(format!("logs/step-ca-{n}.log")),
        })
    }

    /// An X.509 leaf for `subject` through a JWK provisioner: the leaf (and chain) file.
    pub fn x509(&self, ca: &StepCa, provisioner: &str, subject: &str) -> Result<PathBuf, String> {
        let cert = self.dir.join(format!("out/{subject}.crt"));
        let key = self.dir.join(format!("out/{subject}.key"));
        let password = self.secret("provisioner-password");
        let out = ca.client(
            "x509",
            &[
                "--provisioner".as_ref(),
                provisioner.as_ref(),
                "--password-file".as_ref(),
                password.as_os_str(),
                "--subject".as_ref(),
                subject.as_ref(),
                "--cert".as_ref(),
                cert.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
            ],
        );
        if out.status.success() {
            Ok(cert)
        } else {
            Err(text(&out))
        }
    }

    /// An SSH `user` or `host` certificate for `principal` through a JWK provisioner.
    pub fn ssh(
        &self,
        ca: &StepCa,
        provisioner: &str,
        kind: &str,
        principal: &str,
    ) -> Result<PathBuf, String> {
        let cert = self
            .dir
            .join(format!("out/{provisioner}-{kind}-{principal}-cert.pub"));
        let password = self.secret("provisioner-password");
        let out = ca.client(
            "ssh",
            &[
                "--provisioner".as_ref(),
                provisioner.as_ref(),
                "--password-file".as_ref(),
                password.as_os_str(),
                "--type".as_ref(),
                kind.as_ref(),
                "--principal".as_ref(),
                principal.as_ref(),
                "--cert".as_ref(),
                cert.as_os_str(),
            ],
        );
        if out.status.success() {
            Ok(cert)
        } else {
            Err(text(&out))
        }
    }
}

impl World {
    /// The CRL `ceremonyd serve` serves for the installed generation (`/crl`, DER).
    pub fn served_crl(&self) -> Vec<u8> {
        use std::io::BufRead;
        let config = self.dir.join("serve.toml");
        let toml = format!(
            "[ca]\ndir = \"{}\"\n[serve]\nlisten = \"127.0.0.1:{}\"\n",
            self.ca.display(),
            super::free_port()
        );
        std::fs::write(&config, toml).unwrap();
        let mut child = ceremonyd()
            .args(["serve", "--config"])
            .arg(&config)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let addr = stderr
            .lines()
            .map_while(Result::ok)
            .find_map(|l| {
                let addr = l.split(" addr=").nth(1)?.split(' ').next()?.to_owned();
                l.contains("serve.listening").then_some(addr)
            })
            .expect("serve.listening");
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--max-time", "5"])
            .arg(format!("http://{addr}/crl"))
            .output()
            .unwrap();
        // SAFETY: a signal to our own child, by its pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = child.wait();
        assert!(out.status.success(), "GET /crl: {}", text(&out));
        out.stdout
    }
}
