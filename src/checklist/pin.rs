//! PIN rules: checking a typed PIN against its rule, and checking the rule itself.
//!
//! Messages never contain the PIN or any character of it.

use super::error::{Problem, child};
use super::model::{PinCharset, PinRule};

/// The shortest PIN a rule may allow.
pub const MIN_PIN_LENGTH: usize = 4;
/// The longest PIN a rule may allow (PKCS#11 modules such as SoftHSM2 stop at 255).
pub const MAX_PIN_LENGTH: usize = 255;

impl PinCharset {
    /// Whether `c` may appear in a PIN of this charset.
    pub fn allows(self, c: char) -> bool {
        match self {
            PinCharset::Digits => c.is_ascii_digit(),
            PinCharset::Hex => c.is_ascii_hexdigit(),
            PinCharset::Printable => c.is_ascii_graphic(),
        }
    }

    /// What the characters are called in a sentence ("hex digits").
    pub fn noun(self) -> &'static str {
        match self {
            PinCharset::Digits => "digits",
            PinCharset::Hex => "hex digits",
            PinCharset::Printable => "printable characters",
        }
    }
}

impl PinRule {
    /// Checks a PIN against the rule. The error says what is wrong and restates the
    /// rule; it never repeats the PIN.
    pub fn check(&self, pin: &str) -> Result<(), String> {
        let n = pin.chars().count();
        if n < self.min_length || n > self.max_length {
            return Err(format!(
                "{n} characters; the PIN must be {}",
                self.describe()
            ));
        }
        if !pin.chars().all(|c| self.charset.allows(c)) {
            let extra = match self.charset {
                PinCharset::Printable => " (ASCII, no spaces)",
                PinCharset::Hex => " (0-9, a-f)",
                PinCharset::Digits => "",
            };
            return Err(format!(
                "contains a character that is not allowed; the PIN must be {}{extra}",
                self.describe()
            ));
        }
        Ok(())
    }

    /// The rule in words: "exactly 16 hex digits", "6 to 15 printable characters".
    pub fn describe(&self) -> String {
        let noun = self.charset.noun();
        if self.min_length == self.max_length {
            format!("exactly {} {noun}", self.min_length)
        } else {
            format!("{} to {} {noun}", self.min_length, self.max_length)
        }
    }

    /// Problems with the rule itself, at `path` (e.g. `tokens.root.so_pin`).
    pub(super) fn problems(&self, path: &str, out: &mut Vec<Problem>) {
        if self.min_length < MIN_PIN_LENGTH {
            out.push(Problem::new(
                child(path, "min_length"),
                format!(
                    "{}; a PIN rule must ask for at least {MIN_PIN_LENGTH}",
                    self.min_length
                ),
            ));
        }
        if self.max_length > MAX_PIN_LENGTH {
            out.push(Problem::new(
                child(path, "max_length"),
                format!(
                    "{}; PKCS#11 modules take at most {MAX_PIN_LENGTH}",
                    self.max_length
                ),
            ));
        }
        if self.min_length > self.max_length {
            out.push(Problem::new(
                path,
                format!(
                    "min_length {} is greater than max_length {}",
                    self.min_length, self.max_length
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(min: usize, max: usize, charset: PinCharset) -> PinRule {
        PinRule {
            min_length: min,
            max_length: max,
            charset,
        }
    }

    #[test]
    fn describes_exact_and_ranged_rules() {
        assert_eq!(
            rule(16, 16, PinCharset::Hex).describe(),
            "exactly 16 hex digits"
        );
        assert_eq!(rule(6, 15, PinCharset::Digits).describe(), "6 to 15 digits");
        assert_eq!(
            rule(6, 15, PinCharset::Printable).describe(),
            "6 to 15 printable characters"
        );
    }

    #[test]
    fn checks_length_and_charset_without_echoing_the_pin() {
        let so = rule(16, 16, PinCharset::Hex);
        assert_eq!(so.check("0123456789abcDEF"), Ok(()));
        assert_eq!(
            so.check("0123"),
            Err("4 characters; the PIN must be exactly 16 hex digits".into())
        );
        let err = so.check("0123456789abcdeg").unwrap_err();
        assert!(
            err.starts_with("contains a character that is not allowed"),
            "{err}"
        );
        assert!(!err.contains("0123456789abcdeg"), "{err}");

        let user = rule(6, 15, PinCharset::Printable);
        assert_eq!(user.check("correct-Horse1"), Ok(()));
        assert!(user.check("with space").is_err());
        assert!(user.check("sixteen-chars-xx").is_err());
        assert!(user.check("pässwort").is_err());

        let digits = rule(6, 8, PinCharset::Digits);
        assert_eq!(digits.check("123456"), Ok(()));
        assert!(digits.check("12345a").is_err());
    }

    #[test]
    fn rule_problems() {
        let mut out = Vec::new();
        rule(3, 300, PinCharset::Digits).problems("tokens.root.user_pin", &mut out);
        rule(8, 6, PinCharset::Digits).problems("tokens.root.so_pin", &mut out);
        rule(16, 16, PinCharset::Hex).problems("tokens.x.so_pin", &mut out);
        let lines: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "tokens.root.user_pin.min_length: 3; a PIN rule must ask for at least 4",
                "tokens.root.user_pin.max_length: 300; PKCS#11 modules take at most 255",
                "tokens.root.so_pin: min_length 8 is greater than max_length 6",
            ]
        );
    }
}
