//! PINs in memory: zeroized on drop, never printed.
//!
//! A PIN is typed into the TUI (or made up by a drill), handed to the engine as a [`Pin`],
//! used for one PKCS#11 call and dropped. `Pin` has no `Display`, and its `Debug` prints
//! nothing of the value, so it cannot reach a log, a transcript or a panic message by
//! accident.

use secrecy::{ExposeSecret, SecretString};

/// A PIN or SO PIN. Zeroized when dropped.
pub struct Pin(SecretString);

impl Pin {
    /// Takes ownership of the typed text; the `String` is moved, not copied.
    pub fn new(text: String) -> Self {
        Pin(SecretString::from(text))
    }

    /// The PIN for the one call that needs it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The form cryptoki takes.
    pub fn as_auth(&self) -> &SecretString {
        &self.0
    }

    /// Length in characters, for rule checks and masked display.
    pub fn len(&self) -> usize {
        self.0.expose_secret().chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Compares in time independent of where the first difference is.
    pub fn same_as(&self, other: &Pin) -> bool {
        let a = self.0.expose_secret().as_bytes();
        let b = other.0.expose_secret().as_bytes();
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Random PINs for drills, from the OS RNG; they exist only in memory.
pub fn random_pin(length: usize, alphabet: &[u8]) -> Pin {
    let mut out = String::with_capacity(length);
    let mut byte = [0u8; 1];
    while out.len() < length {
        getrandom::fill(&mut byte).expect("OS random number generator");
        // Rejection sampling keeps the distribution uniform over the alphabet.
        let limit = 256 - (256 % alphabet.len());
        if (byte[0] as usize) < limit {
            out.push(alphabet[byte[0] as usize % alphabet.len()] as char);
        }
    }
    Pin::new(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let pin = Pin::new("123456".into());
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
    }

    #[test]
    fn random_pins_follow_the_alphabet_and_length() {
        let pin = random_pin(16, b"0123456789abcdef");
        assert_eq!(pin.len(), 16);
        assert!(pin.expose().bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!pin.same_as(&random_pin(16, b"0123456789abcdef")));
    }
}
