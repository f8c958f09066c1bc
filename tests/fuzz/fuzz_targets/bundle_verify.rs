//! A bundle folder as `ceremony verify` / `ceremonyd verify` check it: SHA256SUMS,
//! bundle.json, PEM certificates, the CRL (DER), SSH keys, the transcript, FINGERPRINT.txt
//! and the fingerprint sheet, through `ceremony::bundle::verify_files` (the folder held
//! in memory). Input: one flag byte, then the packed folder (`ceremony_fuzz::unpack`);
//! flag bit 0 writes SHA256SUMS afresh so that mutated files get past the checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some(files) = ceremony_fuzz::bundle_input(data) else {
        return;
    };
    let dir = Path::new("bundle");
    match ceremony::bundle::verify_files(&files, None) {
        Ok(verified) => {
            let _ = verified.summary(dir);
            let _ = verified.check_seal(Some("00"));
        }
        Err(problems) => {
            let _ = ceremony::bundle::problems_report(dir, &problems);
        }
    }
});
