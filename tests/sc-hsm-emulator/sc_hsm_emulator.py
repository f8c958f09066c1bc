#!/usr/bin/python3
# sc_hsm_emulator.py: ceremony's own SmartCard-HSM (Nitrokey HSM 2) card emulator, for tests.
#
# Owns: the command line, the run loop (insert the card into a vpcd reader, answer
# APDUs, pull it out when the control file says so), saving state after every command
# that changed it, and the APDU log. The applet itself is in hsm_card.py.
#
# Usually started by build/sc-hsm-emulator. By hand (pcscd with vpcd must be running):
#   tests/sc-hsm-emulator/sc_hsm_emulator.py --reader 0 --state /tmp/ceremony-sc-hsm [--fresh]
#
# Options:
#   --reader N   0 or 1: vpcd reader (port 35963 + N)
#   --card C     which card is in that reader: folder DIR/tokenC, serial DECEMU0000C
#                (default C = N); the control file's per-token settings follow the reader
#   --state DIR  state root (default $CEREMONY_SC_HSM_DIR or /tmp/ceremony-sc-hsm)
#   --fresh      forget the saved state: factory state of a new Nitrokey HSM 2
#   --port P, --host H   where vpcd listens (default 127.0.0.1, 35963 + N)
#   --control F  control file (default DIR/control.json)
#
# Files: DIR/tokenN/state.json (PINs, counters, files, keys: the card's memory, in
# clear, test use only), DIR/tokenN/apdu.log (one line per APDU: instruction, what it
# touched, status word, time; never PIN bytes).
#
# CONTROL FILE (JSON, re-read before every APDU and every 100 ms while idle; a missing
# file means defaults, an unparsable one keeps the last good settings):
#   {
#     "delay_ms": 0,          added before every answer
#     "keygen_delay_ms": 0,   added before the GENERATE ASYMMETRIC KEY PAIR answer
#     "sign_delay_ms": 0,     added before the SIGN answer
#     "present": true,        false: the card is out of the reader until set true again
#     "cut": [                rules that pull the card (a single object is fine too)
#       {"ins": "GENERATE_KEY_PAIR", "nth": 1, "at": "after", "out_ms": 2000}
#     ],
#     "tokens": {"1": {...}}  per-token settings; they replace the top-level keys
#   }
# Cut rules: "ins" is a name (SELECT, READ_BINARY, UPDATE_BINARY, DELETE_FILE, VERIFY,
# CHANGE_REFERENCE_DATA, RESET_RETRY_COUNTER, INITIALIZE_DEVICE, ENUMERATE_OBJECTS,
# GENERATE_KEY_PAIR, SIGN, GET_CHALLENGE), a hex INS ("46") or "*" for any command.
# The rule counts matching commands from the moment the emulator first sees it and
# fires on the nth. "at": "before" = pulled on receipt, the command is not executed;
# "after" = executed and saved, pulled before answering (the host gets no answer);
# "after_answer" = executed, answered, then pulled (the next command fails). The card
# stays out while the fired rule is still in the file (or for out_ms milliseconds);
# remove the rule (or rewrite the file without it) to re-insert the card.

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hsm_state  # noqa: E402
from hsm_apdu import ins_name  # noqa: E402
from hsm_card import SmartCardHsm  # noqa: E402
from hsm_control import Control, CutRule  # noqa: E402
from vpcd_link import CTRL_GET_ATR, LinkClosed, VpcdLink  # noqa: E402

# First "standard" SmartCard-HSM ATR in OpenSC's table (T=1): the sc-hsm driver is
# chosen from the ATR alone.
ATR = bytes.fromhex("3BFE1800008131FE458031815448534D31738021408107FA")
BASE_PORT = 35963
IDLE_POLL_S = 0.1
RECONNECT_S = 0.2


class ApduLog:
    def __init__(self, path: str, token: int):
        self.fh = open(path, "a", encoding="utf-8", buffering=1)
        self.token = token

    def _write(self, text: str) -> None:
        stamp = datetime.datetime.now().isoformat(timespec="milliseconds")
        self.fh.write(f"{stamp} tok{self.token} {text}\n")

    def event(self, text: str) -> None:
        self._write(f"-- {text}")

    def apdu(self, raw: bytes, note: str, answer: bytes | None, elapsed_ms: float) -> None:
        head = raw[:4].hex(" ").upper()
        sw = answer[-2:].hex().upper() if answer else "----"
        length = f" +{len(answer) - 2}B" if answer and len(answer) > 2 else ""
        self._write(f"{head} {ins_name(raw[1])}: {note.strip()} -> {sw}{length} {elapsed_ms:.1f} ms")


class Emulator:
    def __init__(self, card: SmartCardHsm, link: VpcdLink, control: Control,
                 log: ApduLog, state_path: str):
        self.card = card
        self.link = link
        self.control = control
        self.log = log
        self.state_path = state_path
        self.stopping = False

    def run(self) -> None:
        while not self.stopping:
            self.control.refresh()
            if not self.control.present():
                self._stay_out()
                continue
            if not self.link.connected and not self._insert():
                self._sleep(RECONNECT_S)
                continue
            try:
                message = self.link.receive(IDLE_POLL_S)
                if message:
                    self._handle(message)
            except LinkClosed as err:
                self.log.event(f"reader gone ({err}); reconnecting")
                self._pull()
                self._sleep(RECONNECT_S)
        self.link.close()
        self.log.event("emulator stopped")

    def _stay_out(self) -> None:
        if self.link.connected:
            self._pull()
            self.log.event("card pulled by the control file")
        self._sleep(IDLE_POLL_S)

    def _insert(self) -> bool:
        if not self.link.connect():
            return False
        self.card.power_reset()
        self.log.event(f"card inserted (vpcd {self.link.host}:{self.link.port})")
        return True

    def _pull(self) -> None:
        self.link.close()
        self.card.power_reset()

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    def _handle(self, message: bytes) -> None:
        if len(message) == 1:
            self._control_code(message[0])
            return
        self.control.refresh()
        rule = self.control.cut_for(message[1] if len(message) > 1 else -1)
        if rule and rule.at == "before":
            self._cut(rule, message, None, 0.0)
            return
        started = time.monotonic()
        answer = self.card.process(message)
        if self.card.dirty:
            hsm_state.save(self.state_path, self.card.state)
            self.card.dirty = False
        self._sleep(self.control.delay_seconds(message[1]) - (time.monotonic() - started))
        elapsed_ms = (time.monotonic() - started) * 1000
        if rule and rule.at == "after":
            self._cut(rule, message, answer, elapsed_ms)
            return
        self.link.send(answer)
        self.log.apdu(message, self.card.note, answer, elapsed_ms)
        if rule:
            self._cut(rule, message, None, elapsed_ms)

    def _cut(self, rule: CutRule, message: bytes, unsent: bytes | None, elapsed_ms: float) -> None:
        if rule.at != "after_answer":
            note = self.card.note if unsent else "not executed"
            self.log.apdu(message, f"{note} [answer lost]", unsent, elapsed_ms)
        self.control.fire(rule)
        self._pull()
        self.log.event(f"card pulled by cut rule (at {rule.at})")

    def _control_code(self, code: int) -> None:
        if code == CTRL_GET_ATR:
            self.link.send(ATR)
            return
        self.card.power_reset()
        names = {0: "power off", 1: "power on", 2: "reset"}
        self.log.event(names.get(code, f"control code {code}"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="SmartCard-HSM card emulator for vpcd (tests only)")
    parser.add_argument("--reader", type=int, choices=(0, 1), default=0)
    parser.add_argument("--card", type=int, help="which card (its folder tokenC and serial "
                        "DECEMU0000C); default: the reader's number")
    parser.add_argument("--state", default=os.environ.get("CEREMONY_SC_HSM_DIR", "/tmp/ceremony-sc-hsm"))
    parser.add_argument("--fresh", action="store_true", help="start from the factory state")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--control", help="control file (default STATE/control.json)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    card = args.reader if args.card is None else args.card
    instance_dir = os.path.join(args.state, f"token{card}")
    os.makedirs(instance_dir, exist_ok=True)
    state_path = os.path.join(instance_dir, "state.json")
    log = ApduLog(os.path.join(instance_dir, "apdu.log"), card)
    try:
        state = hsm_state.load_or_create(
            state_path, hsm_state.serial_for_instance(card), args.fresh)
    except (OSError, ValueError, KeyError) as err:
        print(f"sc_hsm_emulator: cannot load {state_path}: {err}", file=sys.stderr)
        return 2
    log.event(f"emulator started: serial {state.serial}, {len(state.keys)} keys"
              + (" (factory state)" if args.fresh else ""))
    control = Control(args.control or os.path.join(args.state, "control.json"), args.reader, log.event)
    link = VpcdLink(args.host, args.port or BASE_PORT + args.reader)
    emulator = Emulator(SmartCardHsm(state), link, control, log, state_path)

    def stop(_signum, _frame):
        emulator.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    emulator.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
