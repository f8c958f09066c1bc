# vpcd_link.py: the TCP link between an emulated card and vsmartcard's vpcd reader driver.
#
# Owns: connecting to vpcd (the card is the client; vpcd listens on 35963 for reader 0
# and 35964 for reader 1), message framing (2-byte big-endian length + bytes) and
# socket options. A 1-byte message from vpcd is a control code (0 power off, 1 power
# on, 2 reset, 4 get ATR); anything longer is a command APDU. Closing the socket is
# how the card leaves the reader.

from __future__ import annotations

import select
import socket

CTRL_POWER_OFF = 0
CTRL_POWER_ON = 1
CTRL_RESET = 2
CTRL_GET_ATR = 4


class LinkClosed(Exception):
    """vpcd closed the connection (pcscd stopped or restarted)."""


class VpcdLink:
    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.sock: socket.socket | None = None

    @property
    def connected(self) -> bool:
        return self.sock is not None

    def connect(self, timeout: float = 1.0) -> bool:
        """Insert the card: True once vpcd accepted the connection."""
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError:
            return False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        self.sock = sock
        return True

    def close(self) -> None:
        """Pull the card."""
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def receive(self, timeout: float) -> bytes | None:
        """The next message, or None if nothing arrived within timeout seconds."""
        assert self.sock is not None
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        length = int.from_bytes(self._read_exact(2), "big")
        return self._read_exact(length)

    def send(self, payload: bytes) -> None:
        assert self.sock is not None
        try:
            self.sock.sendall(len(payload).to_bytes(2, "big") + payload)
        except OSError as err:
            raise LinkClosed(str(err)) from err

    def _read_exact(self, count: int) -> bytes:
        chunks = []
        while count:
            try:
                chunk = self.sock.recv(count)
            except OSError as err:
                raise LinkClosed(str(err)) from err
            if not chunk:
                raise LinkClosed("vpcd closed the connection")
            self._quick_ack()
            chunks.append(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def _quick_ack(self) -> None:
        # vpcd writes the length and the body separately; acknowledging at once keeps
        # its second write from waiting for a delayed ACK (~40 ms per APDU).
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if quickack is not None:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
            except OSError:
                pass
