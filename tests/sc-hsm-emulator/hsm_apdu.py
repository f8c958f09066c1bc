# hsm_apdu.py: command/response APDU framing for the SmartCard-HSM emulator.
#
# Owns: parsing a command APDU in any ISO 7816-4 case (short and extended length),
# the status words the card uses, instruction names for the log, and the CardError
# exception that command handlers raise to answer with a bare status word.

from __future__ import annotations

from dataclasses import dataclass

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_AUTH_BLOCKED = 0x6983
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_FUNC_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_REF_NOT_FOUND = 0x6A88
SW_INS_NOT_SUPPORTED = 0x6D00


def sw_tries_left(tries: int) -> int:
    """63Cx: a wrong PIN, x tries left."""
    return 0x63C0 | min(tries, 15)


INS_NAMES = {
    0x20: "VERIFY",
    0x22: "MANAGE SECURITY ENVIRONMENT",
    0x24: "CHANGE REFERENCE DATA",
    0x2C: "RESET RETRY COUNTER",
    0x46: "GENERATE ASYMMETRIC KEY PAIR",
    0x50: "INITIALIZE DEVICE",
    0x52: "IMPORT DKEK SHARE",
    0x54: "PUBLIC KEY AUTHENTICATION",
    0x58: "ENUMERATE OBJECTS",
    0x62: "DECIPHER",
    0x68: "SIGN",
    0x72: "WRAP KEY",
    0x74: "UNWRAP KEY",
    0x84: "GET CHALLENGE",
    0xA4: "SELECT",
    0xB0: "READ BINARY",
    0xB1: "READ BINARY",
    0xD6: "UPDATE BINARY",
    0xD7: "UPDATE BINARY",
    0xE4: "DELETE FILE",
}

# Names accepted in control-file cut rules ("ins": "GENERATE_KEY_PAIR" or "46").
RULE_INS = {
    "SELECT": 0xA4,
    "READ_BINARY": 0xB1,
    "UPDATE_BINARY": 0xD7,
    "DELETE_FILE": 0xE4,
    "VERIFY": 0x20,
    "CHANGE_REFERENCE_DATA": 0x24,
    "RESET_RETRY_COUNTER": 0x2C,
    "INITIALIZE_DEVICE": 0x50,
    "INITIALIZE": 0x50,
    "ENUMERATE_OBJECTS": 0x58,
    "GENERATE_KEY_PAIR": 0x46,
    "GENERATE": 0x46,
    "SIGN": 0x68,
    "GET_CHALLENGE": 0x84,
}


def ins_name(ins: int) -> str:
    return INS_NAMES.get(ins, f"INS {ins:02X}")


class CardError(Exception):
    """Raised by a command handler: the card answers with this status word only."""

    def __init__(self, sw: int):
        super().__init__(f"{sw:04X}")
        self.sw = sw


@dataclass
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    ne: int  # expected response length; 0 when the command has no Le
    extended: bool

    @property
    def p1p2(self) -> int:
        return (self.p1 << 8) | self.p2


def parse_command(raw: bytes) -> Command:
    """Decode a command APDU. Raises CardError(6700) when the framing is wrong."""
    if len(raw) < 4:
        raise CardError(SW_WRONG_LENGTH)
    cla, ins, p1, p2 = raw[:4]
    body = raw[4:]
    data, ne, extended = _split_body(body)
    return Command(cla, ins, p1, p2, data, ne, extended)


def _split_body(body: bytes) -> tuple[bytes, int, bool]:
    if not body:
        return b"", 0, False  # case 1
    if len(body) == 1:
        return b"", body[0] or 256, False  # case 2 short
    if body[0] != 0:
        return _split_short(body)
    if len(body) == 3:
        return b"", int.from_bytes(body[1:3], "big") or 65536, True  # case 2 extended
    return _split_extended(body)


def _split_short(body: bytes) -> tuple[bytes, int, bool]:
    lc = body[0]
    if len(body) == 1 + lc:
        return body[1:], 0, False  # case 3 short
    if len(body) == 2 + lc:
        return body[1:1 + lc], body[-1] or 256, False  # case 4 short
    raise CardError(SW_WRONG_LENGTH)


def _split_extended(body: bytes) -> tuple[bytes, int, bool]:
    if len(body) < 3:
        raise CardError(SW_WRONG_LENGTH)
    lc = int.from_bytes(body[1:3], "big")
    if lc == 0:
        raise CardError(SW_WRONG_LENGTH)
    if len(body) == 3 + lc:
        return body[3:], 0, True  # case 3 extended
    if len(body) == 5 + lc:
        return body[3:3 + lc], int.from_bytes(body[-2:], "big") or 65536, True  # case 4 extended
    raise CardError(SW_WRONG_LENGTH)


def response(data: bytes = b"", sw: int = SW_OK) -> bytes:
    return data + sw.to_bytes(2, "big")
