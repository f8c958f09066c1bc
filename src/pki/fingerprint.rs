//! `Fingerprint`: the SHA-256 of a certificate's DER, in the forms people compare:
//! plain lowercase hex (as `step certificate fingerprint` prints and `step ca bootstrap
//! --fingerprint` takes), grouped hex for paper, and PGP words for reading aloud.

use std::fmt;
use std::str::FromStr;

use super::PkiError;
use super::curve::sha256;
use super::pgp_words;

/// SHA-256 of a certificate's DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(der: &[u8]) -> Fingerprint {
        Fingerprint(sha256(der))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Fingerprint {
        Fingerprint(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits, no separators: exactly `step certificate fingerprint`.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// 16 groups of 4 hex digits separated by single spaces, for paper.
    pub fn grouped(&self) -> String {
        let hex = self.hex();
        let groups: Vec<&str> = (0..16).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        groups.join(" ")
    }

    /// 32 PGP words: even-list word for bytes at even positions, odd-list at odd ones.
    pub fn pgp_words(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .enumerate()
            .map(|(i, b)| pgp_words::word(i, *b))
            .collect()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.hex())
    }
}

/// Accepts 64 hex digits in either case, bare, colon-separated (`AB:CD:...`) or in the
/// space-separated groups of [`Fingerprint::grouped`].
impl FromStr for Fingerprint {
    type Err = PkiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| PkiError::Fingerprint {
            input: s.to_string(),
            reason: reason.into(),
        };
        let digits: String = s
            .trim()
            .chars()
            .filter(|c| *c != ':' && *c != ' ')
            .collect();
        if digits.len() != 64 {
            return Err(bad("expected 64 hex digits (SHA-256)"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| bad("not hexadecimal"))?;
        Ok(Fingerprint(bytes))
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let fp = Fingerprint::of(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(fp.hex(), hex);
        assert_eq!(fp.to_string(), hex);
        assert_eq!(
            fp.grouped(),
            "ba78 16bf 8f01 cfea 4141 40de 5dae 2223 b003 61a3 9617 7a9c b410 ff61 f200 15ad"
        );
        let words = fp.pgp_words();
        assert_eq!(words.len(), 32);
        assert_eq!(&words[..3], ["shadow", "indigo", "backward"]); // 0xba, 0x78, 0x16
    }

    #[test]
    fn parses_with_or_without_colons_any_case() {
        let fp = Fingerprint::of(b"abc");
        let colons =
            fp.0.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":");
        assert_eq!(colons.parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(fp.hex().to_uppercase().parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(fp.grouped().parse::<Fingerprint>().unwrap(), fp);
        assert!("abcd".parse::<Fingerprint>().is_err());
        assert!("zz".repeat(32).parse::<Fingerprint>().is_err());
    }
}
