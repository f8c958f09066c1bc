//! A logged-in user session on one token, closed and logged out when dropped.

use super::error::HsmError;
use super::module::{Module, PinFlags};
use crate::secret::Pin;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState, UserType};

/// A read-write session logged in as the user. The PIN is not kept: it is used for
/// `C_Login` and stays with the caller, who drops it.
pub struct UserSession {
    pub(super) session: Session,
    pub(super) serial: String,
}

impl UserSession {
    /// Reads the user-PIN flags (refusing a locked PIN), then logs in once.
    /// A wrong PIN comes back as [`HsmError::PinIncorrect`] with the flags after the
    /// attempt; nothing is retried.
    pub fn login(module: &Module, serial: &str, pin: &Pin) -> Result<UserSession, HsmError> {
        let (slot, info) = module.slot_of(serial)?;
        if info.user_pin.locked {
            return Err(HsmError::PinLocked {
                op: "C_Login(user)",
                serial: serial.into(),
                who: "user",
            });
        }
        let session = module
            .ctx
            .open_rw_session(slot)
            .map_err(HsmError::on("C_OpenSession", serial))?;
        match session.login(UserType::User, Some(pin.as_auth())) {
            Ok(()) => Ok(UserSession {
                session,
                serial: serial.into(),
            }),
            Err(e) => Err(login_error(module, serial, e)),
        }
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// True while the token still answers and this session is logged in as the user.
    /// A token that was pulled out, or a module that re-read its tokens, ends the
    /// login; the caller then asks for the PIN again.
    pub fn is_logged_in(&self) -> bool {
        self.session
            .get_session_info()
            .is_ok_and(|info| info.session_state() == SessionState::RwUser)
    }

    /// `C_GenerateRandom` from the token's RNG.
    pub fn random(&self, len: usize) -> Result<Vec<u8>, HsmError> {
        let mut buf = vec![0u8; len];
        self.session
            .generate_random_slice(&mut buf)
            .map_err(HsmError::on("C_GenerateRandom", &self.serial))?;
        Ok(buf)
    }
}

impl Drop for UserSession {
    /// Logs out before cryptoki closes the session; a failure here cannot be acted on
    /// (the session closes regardless, which ends the login too).
    fn drop(&mut self) {
        let _ = self.session.logout();
    }
}

fn login_error(module: &Module, serial: &str, e: CkError) -> HsmError {
    match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => {
            let flags = user_flags(module, serial);
            let state = if flags == PinFlags::default() {
                "the token reports no try counter, so the tries left are not known".to_string()
            } else {
                flags.describe().to_string()
            };
            HsmError::PinIncorrect {
                op: "C_Login(user)",
                serial: serial.into(),
                who: "user",
                flags,
                state,
            }
        }
        CkError::Pkcs11(RvError::PinLocked, _) => HsmError::PinLocked {
            op: "C_Login(user)",
            serial: serial.into(),
            who: "user",
        },
        other => HsmError::on("C_Login(user)", serial)(other),
    }
}

fn user_flags(module: &Module, serial: &str) -> PinFlags {
    module.token(serial).map(|t| t.user_pin).unwrap_or_default()
}
