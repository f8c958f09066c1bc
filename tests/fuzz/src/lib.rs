//! What the fuzz targets share: how one fuzz input holds a bundle folder or a transcript,
//! and the fix-ups that let mutated inputs past the checksums into the parsers behind
//! them. These only arrange the input; every byte is then parsed by ceremony's own code.

use ceremony::fsutil::sha256_hex;
use std::collections::BTreeMap;

/// Starts each file of a packed folder: `MARK`, the file name, a newline, the bytes.
/// `build/fuzz` packs real bundles this way for the seed corpora.
pub const MARK: &[u8] = b"\x00\xffFILE ";

/// The folder a fuzz input holds: anything before the first mark is ignored; a file
/// name ends at the first newline (a chunk without one is a name with no bytes).
pub fn unpack(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut chunks = split(data, MARK);
    chunks.next();
    for chunk in chunks {
        let (name, bytes) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..i], &chunk[i + 1..]),
            None => (chunk, &[][..]),
        };
        files.insert(String::from_utf8_lossy(name).into_owned(), bytes.to_vec());
    }
    files
}

fn split<'a>(data: &'a [u8], mark: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.windows(mark.len()).position(|w| w == mark) {
            Some(i) => {
                rest = Some(&current[i + mark.len()..]);
                Some(&current[..i])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Writes `SHA256SUMS` as the export does, over every file but itself and the sheet, so
/// that a mutated file reaches the parser behind the checksum.
pub fn reseal(files: &mut BTreeMap<String, Vec<u8>>) {
    let sums: String = files
        .iter()
        .filter(|(name, _)| {
            name.as_str() != ceremony::bundle::SUMS && name.as_str() != ceremony::bundle::SHEET
        })
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect();
    files.insert(ceremony::bundle::SUMS.to_string(), sums.into_bytes());
}

/// The bundle folder of a fuzz input: its first byte holds flags (bit 0: [`reseal`]),
/// the rest the packed files ([`unpack`]). None for an empty input.
pub fn bundle_input(data: &[u8]) -> Option<BTreeMap<String, Vec<u8>>> {
    let (flags, packed) = data.split_first()?;
    let mut files = unpack(packed);
    if flags & 1 == 1 {
        reseal(&mut files);
    }
    Some(files)
}

/// Gives every complete line that is a JSON object the `seq` and `prev` of an intact
/// chain (anyone who edits a transcript can), so that a mutated record reaches the
/// replay behind the chain check. A last line without its newline stays as it is.
pub fn relink(bytes: &[u8]) -> Vec<u8> {
    let cut = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (complete, tail) = bytes.split_at(cut);
    let mut out = Vec::with_capacity(bytes.len());
    let mut head = ceremony::engine::transcript::GENESIS.to_string();
    let mut lines = complete.split(|b| *b == b'\n').collect::<Vec<_>>();
    lines.pop();
    for (seq, line) in lines.into_iter().enumerate() {
        let line = match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(mut record)) => {
                record.insert("seq".into(), seq.into());
                record.insert("prev".into(), head.clone().into());
                serde_json::to_vec(&record).unwrap_or_else(|_| line.to_vec())
            }
            _ => line.to_vec(),
        };
        head = sha256_hex(&line);
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
    out.extend_from_slice(tail);
    out
}

/// A checklist of the repository, loaded as `ceremony::checklist::load` would.
pub fn checklist(name: &str, text: &str) -> ceremony::checklist::Loaded {
    let checklist = ceremony::checklist::parse_str(text)
        .unwrap_or_else(|e| panic!("checklists/{name} does not parse: {e}"));
    ceremony::checklist::Loaded {
        checklist,
        sha256_hex: sha256_hex(text.as_bytes()),
        path: format!("checklists/{name}").into(),
    }
}
