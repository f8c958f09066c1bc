//! The previous bundle of a rotation, as `ceremony run|drill|rehearse --previous` takes it
//! over: verified (`verify_contents_files`; the sheet is bundle_verify's), read
//! (`Previous::from_verified`, as `Previous::load` does) and seeded into each rotation
//! checklist of the repository (`engine::take_over`, as `Engine::open` does): token
//! serials, keys, carried certificates, CRL number and revocations. Input as in
//! bundle_verify.
#![no_main]

use ceremony::checklist::Loaded;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

fn rotations() -> &'static [Loaded] {
    static ROTATIONS: OnceLock<Vec<Loaded>> = OnceLock::new();
    ROTATIONS.get_or_init(|| {
        vec![
            ceremony_fuzz::checklist(
                "crl-renewal.toml",
                include_str!("../../../checklists/crl-renewal.toml"),
            ),
            ceremony_fuzz::checklist(
                "intermediate-rotation.toml",
                include_str!("../../../checklists/intermediate-rotation.toml"),
            ),
            ceremony_fuzz::checklist(
                "intermediate-rotation-emergency.toml",
                include_str!("../../../checklists/intermediate-rotation-emergency.toml"),
            ),
            ceremony_fuzz::checklist(
                "root-rotation.toml",
                include_str!("../../../checklists/root-rotation.toml"),
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(files) = ceremony_fuzz::bundle_input(data) else {
        return;
    };
    let Ok(verified) = ceremony::bundle::verify_contents_files(&files, None) else {
        return;
    };
    let read = |name: &str| {
        files
            .get(name)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    let previous =
        match ceremony::engine::Previous::from_verified(Path::new("previous"), verified, read) {
            Ok(previous) => previous,
            Err(e) => {
                let _ = ceremony::errors::chain_text(&e);
                return;
            }
        };
    for loaded in rotations() {
        if let Err(e) = ceremony::engine::take_over(&loaded.checklist, &previous) {
            let _ = ceremony::errors::chain_text(&e);
        }
    }
});
