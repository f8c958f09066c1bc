# hsm_card.py: the SmartCard-HSM applet, one command APDU at a time.
#
# Owns: the instruction set OpenSC 0.23's sc-hsm driver uses (SELECT, odd-INS READ /
# UPDATE BINARY, DELETE FILE, ENUMERATE OBJECTS, VERIFY, CHANGE REFERENCE DATA, RESET
# RETRY COUNTER, INITIALIZE DEVICE, GENERATE ASYMMETRIC KEY PAIR, SIGN, GET CHALLENGE)
# and the card's volatile state (user PIN verified, current EF). Non-volatile state is
# an hsm_state.CardState; every handler that changes it sets `dirty` so the caller
# saves it before the answer leaves the card. `note` describes the last command for
# the log and never holds PIN bytes.

from __future__ import annotations

import hmac
import os

from cryptography.hazmat.primitives import hashes

import hsm_cvc
import hsm_tlv
from hsm_apdu import (
    SW_AUTH_BLOCKED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_FILE_NOT_FOUND,
    SW_FUNC_NOT_SUPPORTED,
    SW_INS_NOT_SUPPORTED,
    SW_REF_NOT_FOUND,
    SW_SECURITY_NOT_SATISFIED,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    CardError,
    Command,
    parse_command,
    response,
    sw_tries_left,
)
from hsm_state import AID, SO_PIN_TRIES, SYSTEM_FIDS, CardState, KeyRecord

REF_USER_PIN = 0x81
REF_SO_PIN = 0x88
KEY_PREFIX = 0xCC
PROTECTED_DATA_PREFIX = 0xCD
DEVICE_KEY_FID = 0xCC00
USER_PIN_MIN, USER_PIN_MAX = 6, 16
# FCP tag 85: [0] reserved, [1] flags (01 = initialised), [2] applet type (FF = plain),
# [3] major, [4] minor version -> OpenSC shows "SmartCard-HSM version 3.5".
APPLET_PROPRIETARY = bytes([0x00, 0x01, 0xFF, 0x03, 0x05])
SIGN_HASHES = {0x71: hashes.SHA1, 0x72: hashes.SHA224, 0x73: hashes.SHA256}
SIGN_RAW_HASH = 0x70


class SmartCardHsm:
    def __init__(self, state: CardState):
        self.state = state
        self.dirty = False
        self.note = ""
        self.user_verified = False
        self.current_fid: int | None = None
        self.handlers = {
            0xA4: self.select,
            0xB0: self.read_binary,
            0xB1: self.read_binary,
            0xD6: self.update_binary,
            0xD7: self.update_binary,
            0xE4: self.delete_file,
            0x20: self.verify,
            0x24: self.change_reference_data,
            0x2C: self.reset_retry_counter,
            0x50: self.initialize_device,
            0x58: self.enumerate_objects,
            0x46: self.generate_key_pair,
            0x68: self.sign,
            0x84: self.get_challenge,
        }

    # ----- entry points -------------------------------------------------------------

    def power_reset(self) -> None:
        """Power on, power off or reset: the volatile state is gone."""
        self.user_verified = False
        self.current_fid = None

    def process(self, raw: bytes) -> bytes:
        """One command APDU in, one response APDU (data + SW) out."""
        self.note = ""
        try:
            cmd = parse_command(raw)
            handler = self.handlers.get(cmd.ins)
            if handler is None:
                raise CardError(SW_INS_NOT_SUPPORTED)
            return response(handler(cmd) or b"")
        except CardError as err:
            return response(sw=err.sw)
        except (hsm_tlv.TlvError, hsm_cvc.CurveError) as err:
            self.note += f" ({err})"
            code = SW_FUNC_NOT_SUPPORTED if isinstance(err, hsm_cvc.CurveError) else SW_WRONG_DATA
            return response(sw=code)

    # ----- helpers ------------------------------------------------------------------

    def _require_login(self) -> None:
        if not self.user_verified:
            raise CardError(SW_SECURITY_NOT_SATISFIED)

    def _exists(self, fid: int) -> bool:
        if fid >> 8 == KEY_PREFIX:
            return fid == DEVICE_KEY_FID or (fid & 0xFF) in self.state.keys
        return fid in self.state.files

    def _fcp(self, fid: int) -> bytes:
        size = len(self.state.files.get(fid, b""))
        body = (hsm_tlv.tlv(0x81, size.to_bytes(2, "big")) + hsm_tlv.tlv(0x82, b"\x01")
                + hsm_tlv.tlv(0x83, fid.to_bytes(2, "big")) + hsm_tlv.tlv(0x8A, b"\x05"))
        return hsm_tlv.tlv(0x62, body)

    def _applet_fcp(self) -> bytes:
        body = (hsm_tlv.tlv(0x82, b"\x38") + hsm_tlv.tlv(0x83, b"\x3F\x00")
                + hsm_tlv.tlv(0x84, AID) + hsm_tlv.tlv(0x8A, b"\x05")
                + hsm_tlv.tlv(0x85, APPLET_PROPRIETARY))
        return hsm_tlv.tlv(0x62, body)

    def _target_fid(self, cmd: Command) -> int:
        """P1P2 names the EF, or 0000 means the current EF (odd-INS READ/UPDATE)."""
        fid = cmd.p1p2 if cmd.p1p2 else self.current_fid
        if fid is None:
            raise CardError(SW_FILE_NOT_FOUND)
        return fid

    @staticmethod
    def _offset_tlv(items) -> int:
        offset = hsm_tlv.find(items, 0x54)
        if offset is None or len(offset) not in (1, 2):
            raise CardError(SW_WRONG_DATA)
        return int.from_bytes(offset, "big")

    # ----- file system --------------------------------------------------------------

    def select(self, cmd: Command) -> bytes:
        if cmd.p1 == 0x04:
            return self._select_applet(cmd)
        if cmd.p1 in (0x00, 0x02):
            fid = self._fid_from_path(cmd.data, path=False)
        elif cmd.p1 in (0x08, 0x09):
            fid = self._fid_from_path(cmd.data, path=True)
        else:
            raise CardError(SW_WRONG_P1P2)
        self.note = f"FID {fid:04X}"
        if fid == 0x3F00:
            return self._applet_fcp() if cmd.ne else b""
        if not self._exists(fid):
            raise CardError(SW_FILE_NOT_FOUND)
        self.current_fid = fid
        return self._fcp(fid) if cmd.p2 & 0x0C != 0x0C else b""

    def _select_applet(self, cmd: Command) -> bytes:
        if cmd.data != AID:
            self.note = "foreign AID"
            raise CardError(SW_FILE_NOT_FOUND)
        self.note = "SmartCard-HSM applet (login cleared)"
        self.user_verified = False
        self.current_fid = None
        return self._applet_fcp() if cmd.p2 & 0x0C != 0x0C else b""

    @staticmethod
    def _fid_from_path(data: bytes, path: bool) -> int:
        if len(data) == 0:
            return 0x3F00
        if len(data) % 2:
            raise CardError(SW_WRONG_DATA)
        if path and data[:2] == b"\x3F\x00" and len(data) > 2:
            data = data[2:]
        if len(data) != 2:
            raise CardError(SW_FILE_NOT_FOUND)  # no DFs below the applet
        return int.from_bytes(data, "big")

    def read_binary(self, cmd: Command) -> bytes:
        if cmd.ins == 0xB1:
            fid = self._target_fid(cmd)
            offset = self._offset_tlv(hsm_tlv.parse(cmd.data))
        else:
            fid, offset = self.current_fid, cmd.p1p2 & 0x7FFF
            if fid is None or cmd.p1 & 0x80:
                raise CardError(SW_FILE_NOT_FOUND)
        self.note = f"FID {fid:04X} offset {offset}"
        if fid >> 8 == KEY_PREFIX and self._exists(fid):
            raise CardError(SW_SECURITY_NOT_SATISFIED)  # private keys never leave the card
        if fid not in self.state.files:
            raise CardError(SW_FILE_NOT_FOUND)
        if fid >> 8 == PROTECTED_DATA_PREFIX:
            self._require_login()
        self.current_fid = fid
        count = cmd.ne or 65536
        return self.state.files[fid][offset:offset + count]

    def update_binary(self, cmd: Command) -> bytes:
        if cmd.ins == 0xD7:
            fid = self._target_fid(cmd)
            items = hsm_tlv.parse(cmd.data)
            offset = self._offset_tlv(items)
            data = hsm_tlv.find(items, 0x53) or b""
        else:
            fid, offset, data = self.current_fid, cmd.p1p2 & 0x7FFF, cmd.data
            if fid is None:
                raise CardError(SW_FILE_NOT_FOUND)
        self.note = f"FID {fid:04X} offset {offset} length {len(data)}"
        self._require_login()
        if fid >> 8 == KEY_PREFIX or fid in SYSTEM_FIDS:
            raise CardError(SW_CONDITIONS_NOT_SATISFIED)
        old = self.state.files.get(fid, b"").ljust(offset, b"\x00")
        self.state.files[fid] = old[:offset] + data + old[offset + len(data):]
        self.current_fid = fid
        self.dirty = True
        return b""

    def delete_file(self, cmd: Command) -> bytes:
        if cmd.p1 != 0x02 or len(cmd.data) != 2:
            raise CardError(SW_WRONG_P1P2 if cmd.p1 != 0x02 else SW_WRONG_LENGTH)
        fid = int.from_bytes(cmd.data, "big")
        self.note = f"FID {fid:04X}"
        self._require_login()
        if fid == DEVICE_KEY_FID or fid in SYSTEM_FIDS:
            raise CardError(SW_CONDITIONS_NOT_SATISFIED)
        if not self._exists(fid):
            raise CardError(SW_FILE_NOT_FOUND)
        if fid >> 8 == KEY_PREFIX:
            del self.state.keys[fid & 0xFF]
        else:
            del self.state.files[fid]
        if self.current_fid == fid:
            self.current_fid = None
        self.dirty = True
        return b""

    def enumerate_objects(self, cmd: Command) -> bytes:
        fids = [DEVICE_KEY_FID] + [(KEY_PREFIX << 8) | kid for kid in self.state.keys]
        fids += [fid for fid in self.state.files if fid >> 8 != 0x2F]
        fids = sorted(set(fids))
        self.note = f"{len(fids)} objects"
        return b"".join(fid.to_bytes(2, "big") for fid in fids)

    # ----- PINs ---------------------------------------------------------------------

    def _check_so_pin(self, candidate: bytes) -> None:
        """Compare with the SO PIN; a wrong one costs one of the 15 tries."""
        state = self.state
        if state.so_tries_left == 0:
            raise CardError(SW_AUTH_BLOCKED)
        if hmac.compare_digest(candidate, state.so_pin):
            if state.so_tries_left != SO_PIN_TRIES:
                state.so_tries_left = SO_PIN_TRIES
                self.dirty = True
            return
        state.so_tries_left -= 1
        self.dirty = True
        self.note += " wrong SO PIN"
        raise CardError(SW_AUTH_BLOCKED if state.so_tries_left == 0
                        else sw_tries_left(state.so_tries_left))

    def _check_user_pin(self, candidate: bytes) -> None:
        state = self.state
        if state.user_tries_left == 0:
            raise CardError(SW_AUTH_BLOCKED)
        if hmac.compare_digest(candidate, state.user_pin):
            if state.user_tries_left != state.user_tries_max:
                state.user_tries_left = state.user_tries_max
                self.dirty = True
            return
        state.user_tries_left -= 1
        self.user_verified = False
        self.dirty = True
        self.note += " wrong user PIN"
        raise CardError(SW_AUTH_BLOCKED if state.user_tries_left == 0
                        else sw_tries_left(state.user_tries_left))

    @staticmethod
    def _check_new_user_pin(pin: bytes) -> None:
        if not USER_PIN_MIN <= len(pin) <= USER_PIN_MAX:
            raise CardError(SW_WRONG_DATA)

    def verify(self, cmd: Command) -> bytes:
        self.note = f"ref {cmd.p2:02X}" + (" status query" if not cmd.data else f" PIN of {len(cmd.data)} bytes")
        if cmd.p1 != 0x00:
            raise CardError(SW_WRONG_P1P2)
        if cmd.p2 == REF_USER_PIN:
            return self._verify_user(cmd.data)
        if cmd.p2 == REF_SO_PIN:
            if cmd.data:
                self._check_so_pin(cmd.data)
                return b""
            raise CardError(SW_AUTH_BLOCKED if self.state.so_tries_left == 0
                            else sw_tries_left(self.state.so_tries_left))
        raise CardError(SW_REF_NOT_FOUND)  # 85/86: no biometric or PIN-pad templates

    def _verify_user(self, pin: bytes) -> bytes:
        state = self.state
        if not pin:
            if state.user_tries_left == 0:
                raise CardError(SW_AUTH_BLOCKED)
            if self.user_verified:
                return b""
            raise CardError(sw_tries_left(state.user_tries_left))
        self._check_user_pin(pin)
        self.user_verified = True
        return b""

    def change_reference_data(self, cmd: Command) -> bytes:
        self.note = f"ref {cmd.p2:02X}"
        if cmd.p1 != 0x00:
            raise CardError(SW_WRONG_P1P2)
        if cmd.p2 == REF_SO_PIN:
            if len(cmd.data) != 16:
                raise CardError(SW_WRONG_LENGTH)
            self._check_so_pin(cmd.data[:8])
            self.state.so_pin = cmd.data[8:]
            self.dirty = True
            return b""
        if cmd.p2 == REF_USER_PIN:
            old_len = len(self.state.user_pin)
            self._check_user_pin(cmd.data[:old_len])
            self._check_new_user_pin(cmd.data[old_len:])
            self.state.user_pin = cmd.data[old_len:]
            self.dirty = True
            return b""
        raise CardError(SW_REF_NOT_FOUND)

    def reset_retry_counter(self, cmd: Command) -> bytes:
        self.note = f"ref {cmd.p2:02X} mode {cmd.p1:02X}"
        if cmd.p2 != REF_USER_PIN:
            raise CardError(SW_REF_NOT_FOUND)
        if cmd.p1 not in (0x00, 0x01):
            raise CardError(SW_WRONG_P1P2)
        if not self.state.options & 0x0001:
            raise CardError(SW_CONDITIONS_NOT_SATISFIED)
        if len(cmd.data) < 8:
            raise CardError(SW_WRONG_LENGTH)
        self._check_so_pin(cmd.data[:8])
        if cmd.p1 == 0x00:
            self._check_new_user_pin(cmd.data[8:])
            self.state.user_pin = cmd.data[8:]
        self.state.user_tries_left = self.state.user_tries_max
        self.dirty = True
        return b""

    def initialize_device(self, cmd: Command) -> bytes:
        items = hsm_tlv.parse(cmd.data)
        user_pin, init_code = hsm_tlv.find(items, 0x81), hsm_tlv.find(items, 0x82)
        if user_pin is None or init_code is None or len(init_code) != 8:
            raise CardError(SW_WRONG_DATA)
        self._check_new_user_pin(user_pin)
        self._check_so_pin(init_code)
        self._apply_initialize(items, user_pin, init_code)
        self.note = f"{len(self.state.files)} system files kept, keys wiped"
        return b""

    def _apply_initialize(self, items, user_pin: bytes, init_code: bytes) -> None:
        state = self.state
        options = hsm_tlv.find(items, 0x80)
        tries = hsm_tlv.find(items, 0x91)
        shares = hsm_tlv.find(items, 0x92)
        state.options = int.from_bytes(options, "big") if options else 0
        state.so_pin, state.user_pin = init_code, user_pin
        state.user_tries_max = tries[0] if tries else 3
        state.user_tries_left = state.user_tries_max
        state.dkek_shares = shares[0] if shares else 0
        state.wipe_for_initialize()
        self.user_verified = False
        self.current_fid = None
        self.dirty = True

    # ----- keys ---------------------------------------------------------------------

    def generate_key_pair(self, cmd: Command) -> bytes:
        key_id = cmd.p1
        self.note = f"key {key_id:02X}"
        self._require_login()
        if key_id == 0:
            raise CardError(SW_WRONG_P1P2)
        curve = hsm_cvc.key_request_curve(cmd.data)
        key = hsm_cvc.new_key(curve)
        answer = hsm_cvc.authenticated_request(
            cmd.data, key, curve, self.state.device_key(), self.state.device_chr)
        self.state.keys[key_id] = KeyRecord(curve, hsm_cvc.scalar_of(key))
        self.dirty = True
        self.note += f" {curve}"
        return answer

    def sign(self, cmd: Command) -> bytes:
        key_id, algorithm = cmd.p1, cmd.p2
        self.note = f"key {key_id:02X} algorithm {algorithm:02X} input {len(cmd.data)} bytes"
        self._require_login()
        record = self.state.keys.get(key_id)
        if record is None:
            raise CardError(SW_REF_NOT_FOUND)
        key = hsm_cvc.restore_key(record.curve, record.scalar)
        if algorithm == SIGN_RAW_HASH and cmd.data:
            return hsm_cvc.sign_hash_der(key, record.curve, cmd.data)
        if algorithm in SIGN_HASHES:
            return hsm_cvc.sign_data_der(key, SIGN_HASHES[algorithm](), cmd.data)
        raise CardError(SW_FUNC_NOT_SUPPORTED if algorithm != SIGN_RAW_HASH else SW_WRONG_DATA)

    def get_challenge(self, cmd: Command) -> bytes:
        count = cmd.ne or 0
        self.note = f"{count} bytes"
        if count == 0:
            raise CardError(SW_WRONG_LENGTH)
        return os.urandom(count)
