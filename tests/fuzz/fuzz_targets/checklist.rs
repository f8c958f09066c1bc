//! A checklist file as `ceremony::checklist::load` reads it: UTF-8, TOML, the structural
//! walk, deserialisation and validation; every problem rendered as the CLI prints it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ceremony::checklist::parse_str(text) {
        Ok(checklist) => {
            // What the engine and the screens look up in a valid checklist.
            let _ = checklist.root_certificate_name();
            for step in &checklist.steps {
                let _ = checklist.tokens_used(&step.action);
                let _ = step.action.target();
            }
        }
        Err(e) => {
            let _ = ceremony::errors::chain_text(&e);
        }
    }
});
