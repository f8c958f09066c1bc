//! One line of text input, which can never show a PIN. A PIN field's buffer is zeroized
//! when cleared or dropped and it is only ever drawn as asterisks. Every other buffer is
//! zeroized too, because people type a PIN where the screen asks for something else:
//! an initials field takes 1 to 4 letters and wipes itself at anything more; any other
//! field draws asterisks while its text looks like a PIN (no space, and a digit or a
//! sign in it).

use zeroize::Zeroizing;

/// What a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Names and phrases: any text.
    Text,
    /// 1 to 4 letters.
    Initials,
    /// A PIN: drawn as asterisks.
    Pin,
}

pub struct Field {
    pub label: String,
    text: Zeroizing<String>,
    pub kind: Kind,
    /// Set when the field wiped what was typed; cleared by the next key.
    pub wiped: bool,
}

impl Field {
    pub fn new(label: impl Into<String>, kind: Kind) -> Field {
        Field {
            label: label.into(),
            text: empty(),
            kind,
            wiped: false,
        }
    }

    pub fn push(&mut self, c: char) {
        self.wiped = false;
        if c.is_control() || self.text.chars().count() >= MAX_CHARS {
            return;
        }
        if self.kind == Kind::Initials
            && (!c.is_ascii_alphabetic() || self.text.chars().count() >= MAX_INITIALS)
        {
            self.clear();
            self.wiped = true;
            return;
        }
        self.text.push(c);
    }

    pub fn pop(&mut self) {
        self.text.pop();
    }

    pub fn clear(&mut self) {
        // Zeroizing wipes the old buffer when it is replaced.
        self.text = empty();
    }

    /// What the screen shows: the text, or one asterisk per character for a PIN and
    /// for text that looks like one.
    pub fn shown(&self) -> String {
        if self.kind == Kind::Pin || looks_like_pin(&self.text) {
            "*".repeat(self.text.chars().count())
        } else {
            self.text.to_string()
        }
    }

    /// True when the text was typed into a field that is not for a PIN but looks like
    /// one: it is refused rather than sent on.
    pub fn holds_pin_lookalike(&self) -> bool {
        self.kind != Kind::Pin && looks_like_pin(&self.text)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Asks `test` about the text without copying it out.
    pub fn check(&self, test: impl Fn(&str) -> bool) -> bool {
        test(&self.text)
    }

    /// Hands the text over and leaves the field empty. For a PIN the returned `String`
    /// goes straight into a `Pin`, which zeroizes it.
    pub fn take(&mut self) -> String {
        std::mem::replace(&mut self.text, empty()).to_string()
    }

    /// A copy of the text, for a field that never holds a secret (a name); the field
    /// keeps it.
    pub fn copy_text(&self) -> String {
        debug_assert!(self.kind == Kind::Text, "never copy a PIN field");
        self.text.to_string()
    }

    /// Compares with another field without copying either.
    pub fn same_text(&self, other: &Field) -> bool {
        *self.text == *other.text
    }
}

/// Longest input a field takes, in characters.
const MAX_CHARS: usize = 256;
/// Longest initials.
const MAX_INITIALS: usize = 4;
/// Shortest PIN the tokens take (a Nitrokey HSM 2 user PIN has 6 to 15 characters).
const PIN_MIN: usize = 6;

/// No whitespace, at least [`PIN_MIN`] characters, and a digit or a sign other than
/// those in names (`-`, `'`, `.`) among them: names and the phrases people type back
/// have spaces or only letters, PINs mostly do not. (A serial typed back to confirm an
/// erase also matches: it is shown as asterisks while it is typed, and accepted when it
/// is the serial asked for.) A PIN of letters only is not recognised.
fn looks_like_pin(text: &str) -> bool {
    text.chars().count() >= PIN_MIN
        && !text.chars().any(char::is_whitespace)
        && text
            .chars()
            .any(|c| !c.is_alphabetic() && !matches!(c, '-' | '\'' | '.'))
}

/// A new buffer, allocated at its largest size at once, so that it never grows: growing
/// would free an earlier, unwiped copy of what was typed (a PIN, maybe, in the wrong
/// field).
fn empty() -> Zeroizing<String> {
    Zeroizing::new(String::with_capacity(MAX_CHARS * 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_four_letters_and_wipe_anything_else() {
        let mut f = Field::new("operator initials", Kind::Initials);
        for c in "ao".chars() {
            f.push(c);
        }
        assert_eq!(f.shown(), "ao");
        f.push('4');
        assert_eq!((f.shown().as_str(), f.wiped), ("", true));
        for c in "rootpin".chars() {
            f.push(c);
        }
        assert!(f.shown().len() < 4, "{}", f.shown());
        assert!(!f.shown().contains("rootp"));
    }

    #[test]
    fn text_that_looks_like_a_pin_is_drawn_masked_and_refused() {
        let mut f = Field::new("Name", Kind::Text);
        for c in "Wv9#kL2r".chars() {
            f.push(c);
        }
        assert_eq!(f.shown(), "********");
        assert!(f.holds_pin_lookalike());
        let mut g = Field::new("operator types", Kind::Text);
        for c in "initialise ccat-root".chars() {
            g.push(c);
        }
        assert_eq!(g.shown(), "initialise ccat-root");
        assert!(!g.holds_pin_lookalike());
    }

    #[test]
    fn masked_fields_never_show_their_text() {
        let mut f = Field::new("PIN", Kind::Pin);
        for c in "123456".chars() {
            f.push(c);
        }
        assert_eq!(f.shown(), "******");
        assert_eq!(f.take(), "123456");
        assert_eq!(f.shown(), "");
    }
}
