# hsm_cvc.py: EC keys and card-verifiable (CV) certificates for the SmartCard-HSM emulator.
#
# Owns: the supported curves (P-256, P-384, P-521), making and restoring private keys,
# ECDSA signatures in the two forms the card uses (plain r||s inside CV objects, DER
# for the SIGN command), the device certificate EF.C_DevAut (2F02) and the
# authenticated key request answered to GENERATE ASYMMETRIC KEY PAIR.
#
# CV structures follow BSI TR-03110: 7F21 certificate = 7F4E body + 5F37 signature;
# 67 authenticated request = 7F21 + 42 outer CAR + 5F37 outer signature.

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import hsm_tlv
from hsm_tlv import tlv

CURVES = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}

# id-TA-ECDSA-SHA-256 (0.4.0.127.0.7.2.2.2.2.3), content bytes only.
OID_TA_ECDSA_SHA256 = bytes.fromhex("04007F00070202020203")
# id-SC-HSM device role for the CHAT (0.4.0.127.0.7.3.1.2.2), content bytes only.
OID_CHAT_ROLE = bytes.fromhex("04007F000703010202")
CPI = b"\x00"


class CurveError(ValueError):
    """The key request names a curve this card does not support."""


def generator_point(curve_name: str) -> bytes:
    """Uncompressed base point G (the public key of the scalar 1)."""
    one = ec.derive_private_key(1, CURVES[curve_name])
    return point_of(one)


def point_of(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def field_bytes(curve_name: str) -> int:
    return (CURVES[curve_name].key_size + 7) // 8


def curve_of_generator(g_point: bytes) -> str:
    """The curve whose base point is g_point (how the card reads OpenSC's request)."""
    for name in CURVES:
        if generator_point(name) == g_point:
            return name
    raise CurveError("unsupported curve")


def new_key(curve_name: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVES[curve_name])


def restore_key(curve_name: str, scalar: int) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(scalar, CURVES[curve_name])


def scalar_of(key: ec.EllipticCurvePrivateKey) -> int:
    return key.private_numbers().private_value


def sign_message_plain(key: ec.EllipticCurvePrivateKey, curve_name: str, message: bytes) -> bytes:
    """ECDSA-SHA-256 over message, as plain r||s (the CV certificate form)."""
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    size = field_bytes(curve_name)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign_hash_der(key: ec.EllipticCurvePrivateKey, curve_name: str, digest: bytes) -> bytes:
    """ECDSA over a caller-supplied hash of any length, DER-encoded.

    ECDSA uses the leftmost n-bit part of the hash (n = bit length of the group
    order). That value is re-encoded as a 64-byte input which OpenSSL truncates
    back to the same number, so one Prehashed(SHA-512) call serves every length.
    """
    order_bits = CURVES[curve_name].key_size
    e = int.from_bytes(digest, "big")
    if len(digest) * 8 > order_bits:
        e >>= len(digest) * 8 - order_bits
    if order_bits <= 512:
        e <<= 512 - order_bits
    elif e >= 1 << 512:
        raise CurveError("hash too long for this emulator")
    return key.sign(e.to_bytes(64, "big"), ec.ECDSA(Prehashed(hashes.SHA512())))


def sign_data_der(key: ec.EllipticCurvePrivateKey, algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    """ECDSA with the card hashing the data itself, DER-encoded."""
    return key.sign(data, ec.ECDSA(algorithm))


def bcd_date(year: int, month: int, day: int) -> bytes:
    """CV certificate date: YYMMDD, one digit per byte."""
    return bytes(int(c) for c in f"{year % 100:02d}{month:02d}{day:02d}")


def device_certificate(device_key: ec.EllipticCurvePrivateKey, car: str, chr_: str) -> bytes:
    """EF.C_DevAut: the device CV certificate naming the device key (CHR = serial + sequence)."""
    public_key = tlv(0x7F49, tlv(0x06, OID_TA_ECDSA_SHA256) + tlv(0x86, point_of(device_key)))
    chat = tlv(0x7F4C, tlv(0x06, OID_CHAT_ROLE) + tlv(0x53, b"\x00"))
    body = tlv(0x7F4E, b"".join([
        tlv(0x5F29, CPI),
        tlv(0x42, car.encode()),
        public_key,
        tlv(0x5F20, chr_.encode()),
        chat,
        tlv(0x5F25, bcd_date(2024, 1, 1)),
        tlv(0x5F24, bcd_date(2044, 12, 31)),
    ]))
    signature = sign_message_plain(device_key, "P-256", body)
    return tlv(0x7F21, body + tlv(0x5F37, signature))


def key_request_curve(request_body: bytes) -> str:
    """The curve asked for in a GENERATE ASYMMETRIC KEY PAIR request body."""
    items = hsm_tlv.parse(request_body)
    public_key = hsm_tlv.find(items, 0x7F49)
    if public_key is None:
        raise hsm_tlv.TlvError("no public key template")
    g_point = hsm_tlv.find(hsm_tlv.parse(public_key), 0x84)
    if g_point is None:
        raise CurveError("no base point: not an EC request")
    return curve_of_generator(g_point)


def authenticated_request(
    request_body: bytes,
    new_key_: ec.EllipticCurvePrivateKey,
    curve_name: str,
    device_key: ec.EllipticCurvePrivateKey,
    device_chr: str,
) -> bytes:
    """The answer to GENERATE ASYMMETRIC KEY PAIR: 67 { 7F21 {7F4E, 5F37}, 42, 5F37 }.

    The body repeats OpenSC's request with the new public point (86) added to the
    public key template; it is signed by the new key (inner 5F37) and the request
    is then signed by the device key (outer 5F37).
    """
    body_items = []
    for tag, value in hsm_tlv.parse(request_body):
        if tag == 0x7F49:
            value = _with_public_point(value, point_of(new_key_))
        body_items.append(tlv(tag, value))
    body = tlv(0x7F4E, b"".join(body_items))
    inner = tlv(0x7F21, body + tlv(0x5F37, sign_message_plain(new_key_, curve_name, body)))
    outer_car = tlv(0x42, device_chr.encode())
    outer_signature = sign_message_plain(device_key, "P-256", inner + outer_car)
    return tlv(0x67, inner + outer_car + tlv(0x5F37, outer_signature))


def _with_public_point(template: bytes, point: bytes) -> bytes:
    """Domain parameters in tag order with 86 (the public point) before 87 (cofactor)."""
    items = [(t, v) for t, v in hsm_tlv.parse(template) if t != 0x86]
    items.append((0x86, point))
    items.sort(key=lambda item: (item[0] != 0x06, item[0]))
    return b"".join(tlv(t, v) for t, v in items)
