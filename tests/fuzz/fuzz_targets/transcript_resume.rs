//! A working folder's transcript as a resumed ceremony reads it (`Engine::open`):
//! complete lines verified as a chain, a torn last line split off
//! (`transcript::split_for_resume`), the records replayed against the checklist
//! (`engine::replay`): header, participants, step facts, durations, an interrupted key
//! generation. Input: one flag byte, then the transcript. Flag bit 0 relinks the chain
//! (as anyone editing the file can) so that mutated records reach the replay; bit 1
//! resumes as a real ceremony instead of a drill. The checklist is the repository's
//! root-ceremony.toml (the seeds are transcripts of it).
#![no_main]

use ceremony::checklist::Loaded;
use ceremony::engine::{Mode, State};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn root() -> &'static Loaded {
    static ROOT: OnceLock<Loaded> = OnceLock::new();
    ROOT.get_or_init(|| {
        ceremony_fuzz::checklist(
            "root-ceremony.toml",
            include_str!("../../../checklists/root-ceremony.toml"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((flags, transcript)) = data.split_first() else {
        return;
    };
    let relinked;
    let bytes = if flags & 1 == 1 {
        relinked = ceremony_fuzz::relink(transcript);
        &relinked
    } else {
        transcript
    };
    let mode = if flags & 2 == 2 {
        Mode::Ceremony
    } else {
        Mode::Drill
    };
    let Ok(resumable) = ceremony::engine::transcript::split_for_resume(bytes) else {
        return;
    };
    match ceremony::engine::replay(&resumable.records, root(), mode, None, State::default()) {
        Ok(replayed) => {
            let _ = serde_json::to_string(&replayed.interrupted);
        }
        Err(e) => {
            let _ = ceremony::errors::chain_text(&e);
        }
    }
});
