//! The text of an error for the people at the table: the error and its causes, each
//! said once. Library errors often include their cause's text in their own message
//! (`"{0}"`, `"transcript: {0}"`) and also name it as their source; printing the whole
//! chain would then say the same thing twice.

use std::error::Error;

/// The error's message, followed by each cause whose text it does not already hold.
pub fn chain_text(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let words = c.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("token 0123: already holds a key with id 01")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("{0}")]
        Same(#[from] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading the transcript")]
    struct Wrapper(#[source] std::io::Error);

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        let e = Outer::from(Inner);
        assert_eq!(chain_text(&e), "token 0123: already holds a key with id 01");
    }

    #[test]
    fn a_cause_not_in_the_message_is_added() {
        let e = Wrapper(std::io::Error::other("disk full"));
        assert_eq!(chain_text(&e), "reading the transcript: disk full");
    }
}
