//! A loaded PKCS#11 module and the tokens it shows.

use super::error::HsmError;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::slot::{Slot, TokenInfo as RawTokenInfo};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A PKCS#11 module, loaded and initialised once per process.
pub struct Module {
    pub(super) ctx: Pkcs11,
    path: PathBuf,
}

/// What a person needs to tell tokens apart, read with `C_GetTokenInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub serial: String,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub initialized: bool,
    pub user_pin_initialized: bool,
    pub user_pin: PinFlags,
    pub so_pin: PinFlags,
}

/// The PIN counters a token reports. A SmartCard-HSM reports user-PIN flags only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PinFlags {
    pub count_low: bool,
    pub final_try: bool,
    pub locked: bool,
}

impl PinFlags {
    /// The flags spelled out with their consequence.
    pub fn describe(&self) -> &'static str {
        if self.locked {
            "LOCKED: the token refuses every login with this PIN"
        } else if self.final_try {
            "FINAL TRY: one more wrong PIN locks this PIN for good"
        } else if self.count_low {
            "tries left LOW: a wrong PIN was entered since the last good login"
        } else {
            "no wrong PIN recorded"
        }
    }
}

impl std::fmt::Display for PinFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

impl Module {
    /// Loads and initialises the module at `path`.
    pub fn load(path: &Path) -> Result<Module, HsmError> {
        let load_err = |error| HsmError::Load {
            path: path.display().to_string(),
            error,
        };
        let ctx = Pkcs11::new(path).map_err(load_err)?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(load_err)?;
        Ok(Module {
            ctx,
            // Recorded in the transcript: never relative to wherever this run started.
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `C_GetInfo`: the module's manufacturer and description.
    pub fn manufacturer(&self) -> Result<(String, String), HsmError> {
        let info = self
            .ctx
            .get_library_info()
            .map_err(HsmError::op("C_GetInfo"))?;
        Ok((
            info.manufacturer_id().trim().to_string(),
            info.library_description().trim().to_string(),
        ))
    }

    /// Every token present, in slot order.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, HsmError> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(HsmError::op("C_GetSlotList"))?;
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            out.push(self.token_info(slot)?);
        }
        Ok(out)
    }

    fn token_info(&self, slot: Slot) -> Result<TokenInfo, HsmError> {
        let raw = self
            .ctx
            .get_token_info(slot)
            .map_err(HsmError::op("C_GetTokenInfo"))?;
        Ok(describe(&raw))
    }

    /// The slot that currently holds the token with `serial`.
    pub fn slot_of(&self, serial: &str) -> Result<(Slot, TokenInfo), HsmError> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(HsmError::op("C_GetSlotList"))?;
        let mut present = Vec::new();
        for slot in slots {
            let info = self.token_info(slot)?;
            if info.serial == serial {
                return Ok((slot, info));
            }
            present.push(if info.serial.is_empty() {
                "(uninitialised)".to_string()
            } else {
                info.serial
            });
        }
        Err(HsmError::TokenNotFound {
            serial: serial.to_string(),
            present: if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            },
        })
    }

    /// The token with `serial`, freshly read.
    pub fn token(&self, serial: &str) -> Result<TokenInfo, HsmError> {
        Ok(self.slot_of(serial)?.1)
    }

    /// Key, certificate and data objects visible without a login. Other objects do not
    /// count: OpenSC shows a `CKO_PROFILE` object on every SmartCard-HSM, even a
    /// factory-new one. Public keys are visible without login on both SoftHSM (as this
    /// program makes them) and the SmartCard-HSM, so a token with a key pair counts.
    pub fn key_object_count(&self, serial: &str) -> Result<usize, HsmError> {
        let (slot, _) = self.slot_of(serial)?;
        let session = self
            .ctx
            .open_ro_session(slot)
            .map_err(HsmError::on("C_OpenSession", serial))?;
        let mut count = 0;
        for class in [
            ObjectClass::PRIVATE_KEY,
            ObjectClass::PUBLIC_KEY,
            ObjectClass::SECRET_KEY,
            ObjectClass::CERTIFICATE,
            ObjectClass::DATA,
        ] {
            count += session
                .find_objects(&[Attribute::Class(class)])
                .map_err(HsmError::on("C_FindObjects", serial))?
                .len();
        }
        Ok(count)
    }

    /// Whether initialising the token would destroy something: it holds key,
    /// certificate or data objects, or, except on a SmartCard-HSM through OpenSC, it has
    /// a user PIN (which may guard private objects that are invisible without a login).
    /// A SmartCard-HSM always has a user PIN, even new, and shows every key pair's public
    /// half without a login.
    pub fn in_use(&self, info: &TokenInfo) -> Result<bool, HsmError> {
        let smartcard_hsm = info.model == OPENSC_SMARTCARD_HSM_MODEL;
        Ok(self.key_object_count(&info.serial)? > 0
            || (info.user_pin_initialized && !smartcard_hsm))
    }

    /// `C_Finalize` then `C_Initialize`: the module forgets what it knew of every token
    /// and reads them again. Every session of this module ends, and with it every login;
    /// the caller must have dropped its sessions first (a session dropped later would
    /// close a new session that reuses its handle number).
    /// A module that is not initialised (an earlier rebind stopped half-way) is simply
    /// initialised.
    pub fn rebind(&self) -> Result<(), HsmError> {
        match self.ctx.clone().finalize() {
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiNotInitialized, _)) => {}
            Err(e) => return Err(HsmError::op("C_Finalize")(e)),
        }
        self.ctx
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(HsmError::op("C_Initialize"))
    }
}

fn describe(raw: &RawTokenInfo) -> TokenInfo {
    TokenInfo {
        serial: raw.serial_number().trim().to_string(),
        label: raw.label().trim().to_string(),
        manufacturer: raw.manufacturer_id().trim().to_string(),
        model: raw.model().trim().to_string(),
        initialized: raw.token_initialized(),
        user_pin_initialized: raw.user_pin_initialized(),
        user_pin: PinFlags {
            count_low: raw.user_pin_count_low(),
            final_try: raw.user_pin_final_try(),
            locked: raw.user_pin_locked(),
        },
        so_pin: PinFlags {
            count_low: raw.so_pin_count_low(),
            final_try: raw.so_pin_final_try(),
            locked: raw.so_pin_locked(),
        },
    }
}

/// The model OpenSC reports for a SmartCard-HSM (Nitrokey HSM 2).
pub const OPENSC_SMARTCARD_HSM_MODEL: &str = "PKCS#15 emulated";

/// Where OpenSC's PKCS#11 module (Nitrokey HSM 2, SmartCard-HSM) is installed.
pub const OPENSC_PATHS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so",
];

/// The installed OpenSC module, the default for a real ceremony.
pub fn opensc_module() -> Option<PathBuf> {
    OPENSC_PATHS.iter().map(PathBuf::from).find(|p| p.exists())
}
