# hsm_tlv.py: BER-TLV encoding and decoding for the SmartCard-HSM emulator.
#
# Owns: turning (tag, value) pairs into bytes and back. Tags are ints holding the
# tag bytes as written (0x42, 0x5F20, 0x7F49, ...). Lengths use the short form
# below 128 and 0x81 / 0x82 / 0x83 long forms above, as ISO 7816-4 and the CV
# certificate format (BSI TR-03110) require.

from __future__ import annotations


class TlvError(ValueError):
    """Malformed TLV data (the card answers 6A80 for it)."""


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > 3:
        raise TlvError("length too large")
    return bytes([0x80 | len(body)]) + body


def encode_tag(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def tlv(tag: int, value: bytes) -> bytes:
    """One TLV: tag bytes, BER length, value."""
    return encode_tag(tag) + encode_length(len(value)) + value


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("missing tag")
    first = data[pos]
    tag, pos = first, pos + 1
    if first & 0x1F == 0x1F:
        while True:
            if pos >= len(data):
                raise TlvError("truncated tag")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    return tag, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("missing length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 3 or pos + count > len(data):
        raise TlvError("bad length")
    return int.from_bytes(data[pos:pos + count], "big"), pos + count


def parse(data: bytes) -> list[tuple[int, bytes]]:
    """All TLVs at one level, in order. Raises TlvError on malformed input."""
    items = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if pos + length > len(data):
            raise TlvError("value runs past the end")
        items.append((tag, data[pos:pos + length]))
        pos += length
    return items


def find(items: list[tuple[int, bytes]], tag: int) -> bytes | None:
    """Value of the first TLV with this tag, or None."""
    for item_tag, value in items:
        if item_tag == tag:
            return value
    return None
