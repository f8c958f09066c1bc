//! PKCS#11 return codes in words for the operator: the `CKR_` name as the standard spells
//! it, and one sentence on what it means at a ceremony.
//!
//! cryptoki's own text for a code is a paragraph of the standard ("The desired action
//! cannot be performed because ... One example is ..."); an operator needs the name to
//! look it up and a sentence to act on, once.

use cryptoki::error::{Error as CkError, RvError};

/// `CKR_PIN_INCORRECT` and the like, from cryptoki's variant name.
pub fn ckr_name(rv: &RvError) -> String {
    match rv {
        RvError::VendorDefined(code) => format!("CKR_VENDOR_DEFINED+{code:#x}"),
        RvError::UnknownErrorCode(code) => format!("CKR_{code:#x}"),
        other => format!("CKR_{}", upper_snake(&format!("{other:?}"))),
    }
}

/// `PinIncorrect` -> `PIN_INCORRECT`.
fn upper_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What the code means for the people at the table, where there is more to say than
/// its name.
fn advice(rv: &RvError) -> Option<&'static str> {
    Some(match rv {
        RvError::PinIncorrect => "the PIN is wrong",
        RvError::PinLocked => "the PIN is locked; the token refuses every login with it",
        RvError::PinLenRange | RvError::PinInvalid => {
            "the token does not accept a PIN of this length or these characters"
        }
        RvError::DeviceRemoved | RvError::TokenNotPresent => {
            "the token was pulled out or stopped answering; plug it back in"
        }
        RvError::SessionHandleInvalid | RvError::SessionClosed => {
            "the session with the token was lost (it was pulled out, or the module restarted)"
        }
        RvError::UserNotLoggedIn => "the token needs a login with the user PIN first",
        RvError::UserAlreadyLoggedIn => "the token is already logged in",
        RvError::DeviceError | RvError::GeneralError | RvError::FunctionFailed => {
            "the token failed without saying why; check that it is still plugged in"
        }
        RvError::DeviceMemory => "the token is full",
        RvError::DataInvalid => "the token refused the value (an SO PIN must be 16 hex digits)",
        RvError::MechanismInvalid | RvError::CurveNotSupported => {
            "the token does not support this key type or curve"
        }
        RvError::TemplateInconsistent | RvError::AttributeValueInvalid => {
            "the token refused the key's attributes"
        }
        RvError::TokenWriteProtected => "the token is write-protected",
        RvError::CryptokiNotInitialized | RvError::CryptokiAlreadyInitialized => {
            "the PKCS#11 module is in the wrong state; restart the program"
        }
        _ => return None,
    })
}

/// The code's name and sentence: `CKR_PIN_INCORRECT (the PIN is wrong)`. Errors that
/// are not PKCS#11 return codes (a library that cannot be loaded, a malformed value)
/// keep cryptoki's short text.
pub fn describe(error: &CkError) -> String {
    match error {
        CkError::Pkcs11(rv, _) => match advice(rv) {
            Some(words) => format!("{} ({words})", ckr_name(rv)),
            None => ckr_name(rv),
        },
        other => other.to_string(),
    }
}

/// The `CKR_` name alone, or cryptoki's short text for an error that is not a return
/// code.
pub fn ckr_name_of(error: &CkError) -> String {
    match error {
        CkError::Pkcs11(rv, _) => ckr_name(rv),
        other => other.to_string(),
    }
}

/// The return code, when the error is one.
pub fn rv_of(error: &CkError) -> Option<RvError> {
    match error {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    #[test]
    fn names_follow_the_standard() {
        assert_eq!(ckr_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(ckr_name(&RvError::SlotIdInvalid), "CKR_SLOT_ID_INVALID");
        assert_eq!(
            ckr_name(&RvError::CryptokiNotInitialized),
            "CKR_CRYPTOKI_NOT_INITIALIZED"
        );
        assert_eq!(ckr_name(&RvError::UnknownErrorCode(0x1234)), "CKR_0x1234");
    }

    #[test]
    fn description_is_short_and_never_the_standards_paragraph() {
        let e = CkError::Pkcs11(RvError::UserNotLoggedIn, Function::GenerateKeyPair);
        let text = describe(&e);
        assert_eq!(
            text,
            "CKR_USER_NOT_LOGGED_IN (the token needs a login with the user PIN first)"
        );
        let e = CkError::Pkcs11(RvError::GeneralError, Function::InitToken);
        assert!(!describe(&e).contains("horrible"), "{}", describe(&e));
    }
}
