//! Token initialisation: `C_InitToken`, then at once `C_Login(SO)`, an optional
//! `C_SetPIN` to the new SO PIN, and `C_InitPIN` for the user PIN.
//!
//! On the SmartCard-HSM, `C_InitToken` sets the user PIN to part of the SO PIN, so the
//! user PIN must be set in the same breath; this function never stops between the calls
//! unless one fails, and then says exactly which.

use super::error::HsmError;
use super::module::{Module, TokenInfo};
use crate::secret::Pin;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::UserType;

/// What initialising a token needs. The PINs are borrowed and dropped by the caller.
pub struct TokenInit<'a> {
    pub serial: &'a str,
    pub label: &'a str,
    /// The SO PIN the token has now (for a factory-fresh token, the vendor's transport PIN).
    pub current_so_pin: &'a Pin,
    /// The SO PIN it is to have; may equal the current one.
    pub new_so_pin: &'a Pin,
    pub user_pin: &'a Pin,
}

/// Initialises the token and returns its fresh description.
pub fn init_token(module: &Module, init: &TokenInit<'_>) -> Result<TokenInfo, HsmError> {
    let (slot, info) = module.slot_of(init.serial)?;
    if info.so_pin.locked {
        return Err(HsmError::PinLocked {
            serial: init.serial.into(),
            who: "SO",
        });
    }
    module
        .ctx
        .init_token(slot, init.current_so_pin.as_auth(), init.label)
        .map_err(|e| so_pin_error(module, init.serial, e, "C_InitToken"))?;
    // Slot numbers may change after initialisation; find the token again by serial.
    let (slot, _) = module.slot_of(init.serial)?;
    let session = module
        .ctx
        .open_rw_session(slot)
        .map_err(HsmError::op("C_OpenSession"))?;
    session
        .login(UserType::So, Some(init.current_so_pin.as_auth()))
        .map_err(|e| so_pin_error(module, init.serial, e, "C_Login(SO)"))?;
    let result = set_pins(&session, init);
    let logout = session.logout().map_err(HsmError::op("C_Logout"));
    result?;
    logout?;
    module.token(init.serial)
}

fn set_pins(session: &cryptoki::session::Session, init: &TokenInit<'_>) -> Result<(), HsmError> {
    if !init.new_so_pin.same_as(init.current_so_pin) {
        session
            .set_pin(init.current_so_pin.as_auth(), init.new_so_pin.as_auth())
            .map_err(HsmError::op("C_SetPIN(SO)"))?;
    }
    session
        .init_pin(init.user_pin.as_auth())
        .map_err(HsmError::op("C_InitPIN"))
}

fn so_pin_error(module: &Module, serial: &str, e: CkError, op: &'static str) -> HsmError {
    match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => HsmError::PinIncorrect {
            serial: serial.into(),
            flags: module.token(serial).map(|t| t.so_pin).unwrap_or_default(),
        },
        CkError::Pkcs11(RvError::PinLocked, _) => HsmError::PinLocked {
            serial: serial.into(),
            who: "SO",
        },
        other => HsmError::Pkcs11 { op, source: other },
    }
}

/// Initialises the token in the first slot whose token is not initialised (SoftHSM
/// always offers one). Used only to make drill tokens, which must have a serial before
/// the ceremony can identify them.
pub fn init_free_slot(module: &Module, so_pin: &Pin, label: &str) -> Result<TokenInfo, HsmError> {
    let slots = module
        .ctx
        .get_slots_with_token()
        .map_err(HsmError::op("C_GetSlotList"))?;
    for slot in slots {
        let info = module
            .ctx
            .get_token_info(slot)
            .map_err(HsmError::op("C_GetTokenInfo"))?;
        if !info.token_initialized() {
            module
                .ctx
                .init_token(slot, so_pin.as_auth(), label)
                .map_err(HsmError::op("C_InitToken"))?;
            let tokens = module.tokens()?;
            return tokens
                .into_iter()
                .find(|t| t.initialized && t.label == label)
                .ok_or_else(|| HsmError::Token {
                    serial: String::new(),
                    problem: format!("initialised {label} but cannot find it again"),
                });
        }
    }
    Err(HsmError::Token {
        serial: String::new(),
        problem: "no free slot to make a drill token in".into(),
    })
}
