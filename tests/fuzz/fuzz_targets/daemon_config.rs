//! `ceremonyd`'s configuration file as `ceremonyd --config` reads it
//! (`daemon::config::parse_str`): TOML, every key and value checked, problems rendered.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ceremony::daemon::config::parse_str(text) {
        Ok(config) => {
            let _ = config.ca.owner.to_string();
        }
        Err(problems) => {
            for p in &problems {
                let _ = p.to_string();
            }
        }
    }
});
