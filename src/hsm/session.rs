//! A logged-in user session on one token, closed and logged out when dropped.

use super::error::HsmError;
use super::module::{Module, PinFlags};
use crate::secret::Pin;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};

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
                serial: serial.into(),
                who: "user",
            });
        }
        let session = module
            .ctx
            .open_rw_session(slot)
            .map_err(HsmError::op("C_OpenSession"))?;
        match session.login(UserType::User, Some(pin.as_auth())) {
            Ok(()) => Ok(UserSession {
                session,
                serial: serial.into(),
            }),
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => Err(HsmError::PinIncorrect {
                serial: serial.into(),
                flags: user_flags(module, serial),
            }),
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(HsmError::PinLocked {
                serial: serial.into(),
                who: "user",
            }),
            Err(e) => Err(HsmError::Pkcs11 {
                op: "C_Login(user)",
                source: e,
            }),
        }
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// `C_GenerateRandom` from the token's RNG.
    pub fn random(&self, len: usize) -> Result<Vec<u8>, HsmError> {
        let mut buf = vec![0u8; len];
        self.session
            .generate_random_slice(&mut buf)
            .map_err(HsmError::op("C_GenerateRandom"))?;
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

fn user_flags(module: &Module, serial: &str) -> PinFlags {
    module.token(serial).map(|t| t.user_pin).unwrap_or_default()
}
