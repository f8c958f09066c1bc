# hsm_state.py: the emulated card's non-volatile memory and its file on disk.
#
# Owns: the factory state of a new Nitrokey HSM 2 (initialised, SO PIN
# 3537363231383830, user PIN 648219, no keys), the serial number scheme, and loading
# and saving <instance folder>/state.json atomically (temp file + fsync + rename +
# directory fsync). The state holds PINs and private keys in clear because it is the
# card's memory: test use only.

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import hsm_cvc

FACTORY_SO_PIN = bytes.fromhex("3537363231383830")
FACTORY_USER_PIN = b"648219"
SO_PIN_TRIES = 15
DEFAULT_USER_PIN_TRIES = 3
DEFAULT_OPTIONS = 0x0001  # RESET RETRY COUNTER allowed

AID = bytes.fromhex("E82B0601040181C31F0201")
FID_EF_DIR = 0x2F00
FID_DEVICE_CERT = 0x2F02
FID_TOKEN_INFO = 0x2F03
SYSTEM_FIDS = (FID_EF_DIR, FID_DEVICE_CERT)  # survive INITIALIZE DEVICE
DEVICE_ISSUER_CAR = "DEEMUDICA00001"
CHR_SEQUENCE = "00001"
STATE_VERSION = 1


def serial_for_instance(instance: int) -> str:
    """11-character serial, stable per instance: DECEMU00000, DECEMU00001, ..."""
    return f"DECEMU{instance:05d}"


def ef_dir() -> bytes:
    label = b"SmartCard-HSM"
    app = bytes([0x4F, len(AID)]) + AID + bytes([0x50, len(label)]) + label
    return bytes([0x61, len(app)]) + app


@dataclass
class KeyRecord:
    curve: str
    scalar: int


@dataclass
class CardState:
    serial: str
    device_scalar: int
    so_pin: bytes = FACTORY_SO_PIN
    so_tries_left: int = SO_PIN_TRIES
    user_pin: bytes = FACTORY_USER_PIN
    user_tries_max: int = DEFAULT_USER_PIN_TRIES
    user_tries_left: int = DEFAULT_USER_PIN_TRIES
    options: int = DEFAULT_OPTIONS
    dkek_shares: int = 0
    files: dict[int, bytes] = field(default_factory=dict)
    keys: dict[int, KeyRecord] = field(default_factory=dict)

    @property
    def device_chr(self) -> str:
        return self.serial + CHR_SEQUENCE

    def device_key(self):
        return hsm_cvc.restore_key("P-256", self.device_scalar)

    def wipe_for_initialize(self) -> None:
        """INITIALIZE DEVICE: every key and user file goes; serial and device certificate stay."""
        self.keys.clear()
        self.files = {fid: data for fid, data in self.files.items() if fid in SYSTEM_FIDS}


def factory_state(serial: str) -> CardState:
    device_key = hsm_cvc.new_key("P-256")
    state = CardState(serial=serial, device_scalar=hsm_cvc.scalar_of(device_key))
    state.files[FID_EF_DIR] = ef_dir()
    state.files[FID_DEVICE_CERT] = hsm_cvc.device_certificate(
        device_key, DEVICE_ISSUER_CAR, state.device_chr)
    return state


def to_json(state: CardState) -> dict:
    return {
        "version": STATE_VERSION,
        "serial": state.serial,
        "device_scalar": f"{state.device_scalar:x}",
        "so_pin": state.so_pin.hex(),
        "so_tries_left": state.so_tries_left,
        "user_pin": state.user_pin.hex(),
        "user_tries_max": state.user_tries_max,
        "user_tries_left": state.user_tries_left,
        "options": state.options,
        "dkek_shares": state.dkek_shares,
        "files": {f"{fid:04X}": data.hex() for fid, data in sorted(state.files.items())},
        "keys": {f"{kid:02X}": {"curve": k.curve, "scalar": f"{k.scalar:x}"}
                 for kid, k in sorted(state.keys.items())},
    }


def from_json(doc: dict) -> CardState:
    if doc.get("version") != STATE_VERSION:
        raise ValueError(f"unknown state version {doc.get('version')!r}")
    return CardState(
        serial=doc["serial"],
        device_scalar=int(doc["device_scalar"], 16),
        so_pin=bytes.fromhex(doc["so_pin"]),
        so_tries_left=doc["so_tries_left"],
        user_pin=bytes.fromhex(doc["user_pin"]),
        user_tries_max=doc["user_tries_max"],
        user_tries_left=doc["user_tries_left"],
        options=doc["options"],
        dkek_shares=doc.get("dkek_shares", 0),
        files={int(fid, 16): bytes.fromhex(data) for fid, data in doc["files"].items()},
        keys={int(kid, 16): KeyRecord(k["curve"], int(k["scalar"], 16))
              for kid, k in doc["keys"].items()},
    )


def load(path: str) -> CardState:
    with open(path, encoding="utf-8") as fh:
        return from_json(json.load(fh))


def save(path: str, state: CardState) -> None:
    """Write state.json so that a crash leaves either the old or the new file."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(to_json(state), fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_or_create(path: str, serial: str, fresh: bool) -> CardState:
    """The saved state, or the factory state (written at once) when fresh or absent."""
    if not fresh and os.path.exists(path):
        state = load(path)
        if state.serial != serial:
            raise ValueError(f"{path} holds serial {state.serial}, expected {serial}; use --fresh")
        return state
    state = factory_state(serial)
    save(path, state)
    return state
