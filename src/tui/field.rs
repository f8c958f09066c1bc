//! One line of text input. A masked field holds a PIN: its buffer is zeroized when
//! cleared or dropped and it is only ever drawn as asterisks.

use zeroize::Zeroizing;

pub struct Field {
    pub label: String,
    text: Zeroizing<String>,
    pub masked: bool,
}

impl Field {
    pub fn new(label: impl Into<String>, masked: bool) -> Field {
        Field {
            label: label.into(),
            text: empty(masked),
            masked,
        }
    }

    pub fn push(&mut self, c: char) {
        if self.text.chars().count() < MAX_CHARS && !c.is_control() {
            self.text.push(c);
        }
    }

    pub fn pop(&mut self) {
        self.text.pop();
    }

    pub fn clear(&mut self) {
        // Zeroizing wipes the old buffer when it is replaced.
        self.text = empty(self.masked);
    }

    /// What the screen shows: the text, or one asterisk per character when masked.
    pub fn shown(&self) -> String {
        if self.masked {
            "*".repeat(self.text.chars().count())
        } else {
            self.text.to_string()
        }
    }

    /// Hands the text over and leaves the field empty. For a PIN the returned `String`
    /// goes straight into a `Pin`, which zeroizes it.
    pub fn take(&mut self) -> String {
        std::mem::replace(&mut self.text, empty(self.masked)).to_string()
    }

    /// Compares with another field without copying either.
    pub fn same_text(&self, other: &Field) -> bool {
        *self.text == *other.text
    }
}

/// Longest input a field takes, in characters.
const MAX_CHARS: usize = 256;

/// A new buffer. A masked one is allocated at its largest size at once, so that it never
/// grows: growing would free an earlier, unwiped copy of a PIN being typed.
fn empty(masked: bool) -> Zeroizing<String> {
    let capacity = if masked { MAX_CHARS * 4 } else { 0 };
    Zeroizing::new(String::with_capacity(capacity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_fields_never_show_their_text() {
        let mut f = Field::new("PIN", true);
        for c in "123456".chars() {
            f.push(c);
        }
        assert_eq!(f.shown(), "******");
        assert_eq!(f.take(), "123456");
        assert_eq!(f.shown(), "");
    }
}
