//! PKCS#11 tokens through cryptoki: listing, initialisation, PIN state, key generation,
//! signing and read-back.
//!
//! Tokens are always chosen by serial, never by slot number (SoftHSM renumbers slots and
//! USB tokens move). Every login first reads the PIN flags so that a low try count is
//! reported before the PIN is spent, and a wrong PIN is never retried here. No
//! certificate objects are ever written to a token: on the SmartCard-HSM that would
//! overwrite the key's public data.

mod ckr;
mod curves;
mod error;
mod halves;
mod init;
mod keys;
mod module;
mod session;

pub use ckr::{ckr_name, describe as describe_ckr};
pub use curves::{curve_params_der, unwrap_ec_point};
pub use error::HsmError;
pub use error::is_pulled;
pub use halves::{Half, KeyObject, lone_halves};
pub use init::{TokenInit, check_so_pin, init_free_slot, init_token};
pub use keys::{KeyFacts, TokenKey};
pub use module::{Module, OPENSC_PATHS, PinFlags, TokenInfo, opensc_module};
pub use session::UserSession;
