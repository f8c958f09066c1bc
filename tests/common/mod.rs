//! Helpers shared by the integration tests: running the binary, requiring the
//! independent tools, and making drill bundles.
#![allow(dead_code)]

pub mod checks;
pub mod sc_hsm;
pub mod tty;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const ROOT_CEREMONY: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/checklists/root-ceremony.toml");

/// The `ceremony` binary built for this test run.
pub fn ceremony() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ceremony"))
}

/// Panics (never skips) when an external tool the test relies on is missing.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is required for this test; run build/deps to install it"
    );
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("spawn")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn all_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `ceremony rehearse` on the root ceremony into `out`; panics on failure.
pub fn rehearse_root(out: &Path) -> Output {
    let result = run(ceremony()
        .args(["rehearse", ROOT_CEREMONY, "--out"])
        .arg(out));
    assert!(
        result.status.success(),
        "rehearse failed:\n{}",
        all_output(&result)
    );
    result
}

/// Every file in a folder, recursively, with its bytes.
pub fn read_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// SoftHSM for in-process tests: one configuration per test binary (set in the
/// environment once, before the module is first loaded) and a lock, because a PKCS#11
/// module can be initialised only once per process at a time.
pub fn softhsm() -> (std::sync::MutexGuard<'static, ()>, PathBuf) {
    use std::sync::{Mutex, OnceLock};
    static LOCK: Mutex<()> = Mutex::new(());
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let conf = ceremony::drill::write_softhsm_config(dir.path()).unwrap();
        // SAFETY: done once, under the lock, before any module is loaded in this process.
        unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
        dir
    });
    let module =
        ceremony::drill::softhsm_module().expect("SoftHSM2 must be installed (build/deps)");
    (guard, module)
}

/// An engine configuration for a drill of the root ceremony in `dir`.
pub fn drill_config(module: ceremony::hsm::Module, dir: &Path) -> ceremony::engine::EngineConfig {
    ceremony::engine::EngineConfig {
        checklist: ceremony::checklist::load(Path::new(ROOT_CEREMONY)).unwrap(),
        module,
        work_dir: dir.join("work"),
        out_dir: dir.join("bundle"),
        mode: ceremony::engine::Mode::Drill,
        binary_sha256: "0".repeat(64),
        previous: None,
    }
}

/// A user session on the token with this serial, through raw cryptoki (the project's
/// own HSM layer deletes nothing but a half-made key, on purpose).
fn raw_session(module_path: &Path, serial: &str, user_pin: &str) -> cryptoki::session::Session {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::session::UserType;
    let ctx = Pkcs11::new(module_path).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().serial_number().trim() == serial)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&user_pin.to_string().into()))
        .unwrap();
    session
}

/// Destroys every object with this label on the token with this serial.
pub fn destroy_key_pair(module_path: &Path, serial: &str, user_pin: &str, label: &str) {
    destroy_objects(module_path, serial, user_pin, label, None);
}

/// Destroys the objects with this label, of `class` only when given: what a process
/// killed inside `C_GenerateKeyPair` can leave is one half of the pair.
pub fn destroy_objects(
    module_path: &Path,
    serial: &str,
    user_pin: &str,
    label: &str,
    class: Option<cryptoki::object::ObjectClass>,
) {
    use cryptoki::object::Attribute;
    let session = raw_session(module_path, serial, user_pin);
    let mut template = vec![Attribute::Label(label.as_bytes().to_vec())];
    template.extend(class.map(Attribute::Class));
    let found = session.find_objects(&template).unwrap();
    assert!(!found.is_empty(), "no object labelled {label} on {serial}");
    for handle in found {
        session.destroy_object(handle).unwrap();
    }
}

/// Replaces the public half of the key pair labelled `label` with a public key object that
/// carries `point` (uncompressed, P-384) under the same id and label, leaving the private
/// key alone: what someone with the user PIN could do between a crash and a resume.
pub fn swap_public_key(
    module_path: &Path,
    serial: &str,
    user_pin: &str,
    label: &str,
    point: &[u8],
) {
    use cryptoki::object::{Attribute, ObjectClass};
    let session = raw_session(module_path, serial, user_pin);
    let public = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(public.len(), 1, "one public key labelled {label}");
    let id = session
        .get_attributes(public[0], &[cryptoki::object::AttributeType::Id])
        .unwrap()
        .into_iter()
        .find_map(|a| match a {
            Attribute::Id(v) => Some(v),
            _ => None,
        })
        .unwrap();
    session.destroy_object(public[0]).unwrap();
    create_public_key(&session, Some((id, label)), point);
}

/// Stores a P-384 public key object with `point`, under `names` (id, label) or with
/// neither, as SoftHSM leaves an object it was killed while writing.
fn create_public_key(
    session: &cryptoki::session::Session,
    names: Option<(Vec<u8>, &str)>,
    point: &[u8],
) {
    use cryptoki::object::{Attribute, KeyType, ObjectClass};
    let mut ec_point = vec![0x04, point.len() as u8];
    ec_point.extend_from_slice(point);
    let mut template = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::EC),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(ceremony::hsm::curve_params_der(ceremony::pki::Curve::P384).to_vec()),
        Attribute::EcPoint(ec_point),
    ];
    if let Some((id, label)) = names {
        template.push(Attribute::Id(id));
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    session.create_object(&template).unwrap();
}

/// Adds a public key object with neither id nor label to the token.
pub fn add_unnamed_public_key(module_path: &Path, serial: &str, user_pin: &str, point: &[u8]) {
    let session = raw_session(module_path, serial, user_pin);
    create_public_key(&session, None, point);
}
