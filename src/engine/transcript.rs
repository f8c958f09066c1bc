//! The transcript: JSON lines, each carrying the SHA-256 of the line before it, appended
//! and fsynced after every step. It holds facts and public outputs, never a secret.

use crate::fsutil::{self, FsError, sha256_hex};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One line of the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub seq: u64,
    /// SHA-256 (hex) of the previous line's bytes.
    pub prev: String,
    /// UTC, RFC 3339.
    pub at: String,
    #[serde(rename = "type")]
    pub kind: RecordKind,
    pub body: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// What ceremony, which checklist, which binary, drill or not.
    Header,
    Participants,
    /// A completed step.
    Step,
    /// A failed attempt at a step; the step is still pending.
    Error,
    /// What a step is about to change on a token (a key generation), written before
    /// the change so that a crash in between can be recognised on resume.
    Intent,
    /// The program was started again on this working folder.
    Resumed,
    /// A departure from the checklist the two people allowed, with what was found and
    /// their confirmations (the removal of a half-made key).
    Exception,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("{path} line {line}: {problem}")]
    Broken {
        path: PathBuf,
        line: usize,
        problem: String,
    },
}

/// The unfinished last line of a transcript, set aside on resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornTail {
    /// File name, beside the transcript, once set aside.
    pub file: String,
    pub bytes: usize,
    pub sha256: String,
    /// The sequence number the torn record would have had.
    pub after_seq: u64,
    /// Length of the complete lines.
    #[serde(skip)]
    cut_at: u64,
    #[serde(skip)]
    tail: Vec<u8>,
}

/// An open transcript file and its current head.
pub struct Transcript {
    path: PathBuf,
    records: Vec<Record>,
    head: String,
}

impl Transcript {
    /// Starts a new transcript; the file must not exist.
    pub fn create(path: &Path) -> Result<Transcript, TranscriptError> {
        if path.exists() {
            return Err(FsError::Exists {
                path: path.to_path_buf(),
            }
            .into());
        }
        Ok(Transcript {
            path: path.to_path_buf(),
            records: Vec::new(),
            head: GENESIS.to_string(),
        })
    }

    /// Opens a transcript to resume it. A last line without its newline is a record
    /// whose write a crash cut short: the complete lines are opened and the returned
    /// [`TornTail`] holds the rest, which [`set_aside`](Self::set_aside) moves into a
    /// file of its own once the caller has checked that the transcript is the one to
    /// resume. Nothing on disk changes here. Every complete line must verify; a broken
    /// chain is never repaired.
    pub fn open_for_resume(path: &Path) -> Result<(Transcript, Option<TornTail>), TranscriptError> {
        let bytes = fsutil::read(path)?;
        let resumable =
            split_for_resume(&bytes).map_err(|(line, problem)| TranscriptError::Broken {
                path: path.to_path_buf(),
                line,
                problem,
            })?;
        let transcript = Transcript {
            path: path.to_path_buf(),
            records: resumable.records,
            head: resumable.head,
        };
        Ok((transcript, resumable.torn))
    }

    /// Writes the torn tail into `transcript.torn-<hash>.bin` beside the transcript
    /// (written once, fsynced, read back; a name that holds other bytes, say from a crash
    /// during an earlier attempt, gets a numbered sibling), then cuts the transcript
    /// back to its complete lines. Sets `torn.file`.
    pub fn set_aside(&self, torn: &mut TornTail) -> Result<(), TranscriptError> {
        let short = torn.sha256.get(..16).unwrap_or(&torn.sha256);
        let stem = format!("transcript.torn-{short}");
        for n in 0.. {
            let file = match n {
                0 => format!("{stem}.bin"),
                n => format!("{stem}-{n}.bin"),
            };
            let aside = self.path.with_file_name(&file);
            let done = match aside.exists() {
                true => fsutil::read(&aside)? == torn.tail,
                false => {
                    fsutil::write_once(&aside, &torn.tail)?;
                    true
                }
            };
            if done {
                torn.file = file;
                break;
            }
        }
        fsutil::truncate(&self.path, torn.cut_at)?;
        Ok(())
    }

    /// Opens an existing transcript and verifies the whole chain.
    pub fn open(path: &Path) -> Result<Transcript, TranscriptError> {
        let bytes = fsutil::read(path)?;
        let (records, head) =
            verify_chain(&bytes).map_err(|(line, problem)| TranscriptError::Broken {
                path: path.to_path_buf(),
                line,
                problem,
            })?;
        Ok(Transcript {
            path: path.to_path_buf(),
            records,
            head,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// SHA-256 of the last line (the genesis value when empty).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Appends a record, fsyncs, and moves the head.
    pub fn append(&mut self, kind: RecordKind, body: Value) -> Result<&Record, TranscriptError> {
        let record = Record {
            seq: self.records.len() as u64,
            prev: self.head.clone(),
            at: crate::engine::clock::now_rfc3339(),
            kind,
            body,
        };
        let line = serde_json::to_string(&record).expect("a record always serialises");
        fsutil::append_line(&self.path, &line)?;
        self.head = sha256_hex(line.as_bytes());
        self.records.push(record);
        Ok(self.records.last().expect("just pushed"))
    }
}

/// A transcript's bytes as a resume reads them.
#[derive(Debug)]
pub struct Resumable {
    /// The complete lines, verified.
    pub records: Vec<Record>,
    /// SHA-256 of the last complete line.
    pub head: String,
    /// The unfinished last line a crash left, if any.
    pub torn: Option<TornTail>,
}

/// What [`Transcript::open_for_resume`] makes of a transcript's bytes; a broken chain is
/// the line number and the problem.
pub fn split_for_resume(bytes: &[u8]) -> Result<Resumable, (usize, String)> {
    let cut = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (complete, tail) = bytes.split_at(cut);
    let (records, head) = verify_chain(complete)?;
    if tail.is_empty() {
        return Ok(Resumable {
            records,
            head,
            torn: None,
        });
    }
    let torn = TornTail {
        file: String::new(),
        bytes: tail.len(),
        sha256: sha256_hex(tail),
        after_seq: records.len() as u64,
        cut_at: cut as u64,
        tail: tail.to_vec(),
    };
    Ok(Resumable {
        records,
        head,
        torn: Some(torn),
    })
}

/// Checks every line's sequence number and back-link; returns the records and the head.
pub fn verify_chain(bytes: &[u8]) -> Result<(Vec<Record>, String), (usize, String)> {
    let text = std::str::from_utf8(bytes).map_err(|_| (0, "not UTF-8".to_string()))?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err((text.lines().count(), "the last line is incomplete".into()));
    }
    let mut head = GENESIS.to_string();
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let record: Record =
            serde_json::from_str(line).map_err(|e| (i + 1, format!("not a record: {e}")))?;
        if record.seq != i as u64 {
            return Err((i + 1, format!("seq is {}, expected {i}", record.seq)));
        }
        if record.prev != head {
            return Err((
                i + 1,
                "prev does not match the SHA-256 of the line before".into(),
            ));
        }
        head = sha256_hex(line.as_bytes());
        records.push(record);
    }
    Ok((records, head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_torn_last_line_is_set_aside_and_a_broken_chain_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transcript.jsonl");
        let mut t = Transcript::create(&path).unwrap();
        t.append(RecordKind::Header, json!({"a": 1})).unwrap();
        let head = t.head().to_string();
        let whole = std::fs::read(&path).unwrap();
        let torn = b"{\"seq\":1,\"prev\":\"ab";
        std::fs::write(&path, [whole.as_slice(), torn].concat()).unwrap();

        assert!(Transcript::open(&path).is_err(), "a plain open refuses it");
        let (t, tail) = Transcript::open_for_resume(&path).unwrap();
        let mut tail = tail.expect("a torn tail");
        assert_eq!(t.head(), head);
        assert_eq!(t.records().len(), 1);
        assert_eq!(tail.bytes, torn.len());
        assert_eq!(tail.after_seq, 1);
        assert_eq!(tail.sha256, sha256_hex(torn));
        assert!(
            std::fs::read(&path).unwrap().ends_with(torn),
            "opening changes nothing"
        );
        // An earlier attempt left a partial file under the name: a sibling is used.
        let name = format!("transcript.torn-{}.bin", &tail.sha256[..16]);
        std::fs::write(dir.path().join(&name), &torn[..3]).unwrap();
        t.set_aside(&mut tail).unwrap();
        assert_eq!(tail.file, name.replace(".bin", "-1.bin"));
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        assert_eq!(std::fs::read(dir.path().join(&tail.file)).unwrap(), torn);
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), &torn[..3]);

        // A complete file opens unchanged; an edited line is an error, not a tail.
        let (_, none) = Transcript::open_for_resume(&path).unwrap();
        assert!(none.is_none());
        let edited = String::from_utf8(whole)
            .unwrap()
            .replacen("\"a\":1", "\"a\":2", 1);
        std::fs::write(
            &path,
            format!("{edited}{}", "{\"seq\":1,\"prev\":\"00\"}\n{"),
        )
        .unwrap();
        let err = Transcript::open_for_resume(&path)
            .err()
            .expect("broken chain");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(
            std::fs::read(&path).unwrap().ends_with(b"{"),
            "nothing was cut"
        );
    }

    #[test]
    fn chain_survives_reopen_and_detects_edits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let mut t = Transcript::create(&path).unwrap();
        t.append(RecordKind::Header, json!({"a": 1})).unwrap();
        t.append(RecordKind::Step, json!({"id": "x"})).unwrap();
        let head = t.head().to_string();
        let reopened = Transcript::open(&path).unwrap();
        assert_eq!(reopened.head(), head);
        assert_eq!(reopened.records().len(), 2);

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replacen("\"a\":1", "\"a\":2", 1)).unwrap();
        let err = Transcript::open(&path).err().expect("edit detected");
        assert!(
            err.to_string().contains("line 2: prev does not match"),
            "{err}"
        );
    }
}
