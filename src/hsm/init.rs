//! Token initialisation: `C_InitToken`, then at once `C_Login(SO)`, `C_InitPIN` for the
//! user PIN and an optional `C_SetPIN` to the new SO PIN; and the SO PIN check that
//! runs before any of it.
//!
//! On the SmartCard-HSM, `C_InitToken` sets the user PIN to part of the SO PIN, so the
//! user PIN must be set in the same breath; this function never stops between the calls
//! unless one fails, and then says exactly which.

use super::error::HsmError;
use super::module::{Module, PinFlags, TokenInfo};
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
///
/// The order is the one OpenSC's SmartCard-HSM driver needs: it keeps the SO PIN given
/// at `C_Login(SO)` and sends that copy with `C_InitPIN`, and `C_SetPIN(SO)` does not
/// update the copy. So the user PIN is set while the SO PIN is still the current one,
/// and the SO PIN is changed last.
pub fn init_token(module: &Module, init: &TokenInit<'_>) -> Result<TokenInfo, HsmError> {
    let (slot, info) = module.slot_of(init.serial)?;
    if info.so_pin.locked {
        return Err(so_locked(init.serial, "C_InitToken"));
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
        .map_err(HsmError::on("C_OpenSession", init.serial))?;
    session
        .login(UserType::So, Some(init.current_so_pin.as_auth()))
        .map_err(|e| so_pin_error(module, init.serial, e, "C_Login(SO)"))?;
    let result = set_pins(module, &session, init);
    let logout = session
        .logout()
        .map_err(HsmError::on("C_Logout", init.serial));
    result?;
    logout?;
    module.token(init.serial)
}

fn set_pins(
    module: &Module,
    session: &cryptoki::session::Session,
    init: &TokenInit<'_>,
) -> Result<(), HsmError> {
    session
        .init_pin(init.user_pin.as_auth())
        .map_err(|e| so_pin_error(module, init.serial, e, "C_InitPIN"))?;
    if !init.new_so_pin.same_as(init.current_so_pin) {
        session
            .set_pin(init.current_so_pin.as_auth(), init.new_so_pin.as_auth())
            .map_err(|e| so_pin_error(module, init.serial, e, "C_SetPIN(SO)"))?;
    }
    Ok(())
}

/// Proves the SO PIN before anything is changed, so that a wrong one is named while
/// the operator is still at the PIN prompts. `C_Login(SO)` checks it on SoftHSM; OpenSC
/// only stores it there, so `C_SetPIN(SO)` from the PIN to itself makes the card check
/// it and leaves it as it was. A wrong PIN costs one try, as `C_InitToken` would.
/// A token never initialised has no SO PIN to check.
pub fn check_so_pin(module: &Module, serial: &str, pin: &Pin) -> Result<(), HsmError> {
    let (slot, info) = module.slot_of(serial)?;
    if !info.initialized {
        return Ok(());
    }
    if info.so_pin.locked {
        return Err(so_locked(serial, "C_Login(SO)"));
    }
    let session = module
        .ctx
        .open_rw_session(slot)
        .map_err(HsmError::on("C_OpenSession", serial))?;
    session
        .login(UserType::So, Some(pin.as_auth()))
        .map_err(|e| so_pin_error(module, serial, e, "C_Login(SO)"))?;
    let checked = session
        .set_pin(pin.as_auth(), pin.as_auth())
        .map_err(|e| so_pin_error(module, serial, e, "C_SetPIN(SO)"));
    let logout = session.logout().map_err(HsmError::on("C_Logout", serial));
    checked?;
    logout
}

fn so_locked(serial: &str, op: &'static str) -> HsmError {
    HsmError::PinLocked {
        op,
        serial: serial.into(),
        who: "SO",
    }
}

fn so_pin_error(module: &Module, serial: &str, e: CkError, op: &'static str) -> HsmError {
    match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => {
            let flags = module.token(serial).map(|t| t.so_pin).unwrap_or_default();
            let state = if flags == PinFlags::default() {
                SO_TRIES_UNKNOWN.to_string()
            } else {
                flags.describe().to_string()
            };
            HsmError::PinIncorrect {
                op,
                serial: serial.into(),
                who: "SO",
                flags,
                state,
            }
        }
        CkError::Pkcs11(RvError::PinLocked, _) => so_locked(serial, op),
        other => HsmError::on(op, serial)(other),
    }
}

/// What can be said about SO tries when the module reports no SO-PIN counters.
const SO_TRIES_UNKNOWN: &str = "one try was used; a Nitrokey HSM 2 allows 15 wrong SO PINs in all and does not report through PKCS#11 how many are left (sc-hsm-tool --print shows it)";

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
