# hsm_control.py: run-time speed and fault control for the SmartCard-HSM emulator.
#
# Owns: reading the JSON control file (default <state dir>/control.json) before each
# APDU and while idle, per-token overrides, command delays, and "cut" rules that pull
# the card out of the reader. The format is documented in sc_hsm_emulator.py and in
# docs/sc-hsm-emulator.md.
#
# Rule life cycle: a rule starts counting matching commands when the emulator first
# sees it in the file; when the count reaches "nth" it fires once. The card then stays
# out of the reader while the rule is still in the file (or for "out_ms" if given).
# Removing the rule re-inserts the card; writing it again starts a fresh count.

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from hsm_apdu import RULE_INS

STAGES = ("before", "after", "after_answer")


@dataclass
class CutRule:
    key: str  # identity: canonical JSON + position
    ins: int | None  # None = any instruction
    nth: int
    at: str
    out_ms: int | None


def _parse_ins(value) -> int | None:
    if value in (None, "*", "ANY", "any"):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip().upper().replace(" ", "_")
    if text in RULE_INS:
        return RULE_INS[text]
    return int(text, 16)


def _parse_rules(raw) -> list[CutRule]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [raw]
    rules = []
    for index, item in enumerate(raw):
        at = item.get("at", "before")
        if at not in STAGES:
            raise ValueError(f"cut rule 'at' must be one of {STAGES}")
        rules.append(CutRule(
            key=f"{index}:{json.dumps(item, sort_keys=True)}",
            ins=_parse_ins(item.get("ins")),
            nth=int(item.get("nth", 1)),
            at=at,
            out_ms=item.get("out_ms"),
        ))
    return rules


class Control:
    """The control file as seen by one token (top level merged with tokens.<N>)."""

    def __init__(self, path: str, token: int, log):
        self.path = path
        self.token = str(token)
        self.log = log
        self.settings: dict = {}
        self.rules: list[CutRule] = []
        self.counts: dict[str, int] = {}
        self.fired: dict[str, float] = {}
        self._last_text: str | None = None

    def refresh(self) -> None:
        """Re-read the file; a missing file means defaults, a broken one keeps the last good view."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read()
        except FileNotFoundError:
            text = ""
        if text == self._last_text:
            return
        try:
            self._apply(text)
        except (ValueError, TypeError, AttributeError) as err:
            self.log(f"control file ignored: {err}")
        self._last_text = text

    def _apply(self, text: str) -> None:
        doc = json.loads(text) if text.strip() else {}
        if not isinstance(doc, dict):
            raise ValueError("control file must hold a JSON object")
        settings = {k: v for k, v in doc.items() if k != "tokens"}
        settings.update((doc.get("tokens") or {}).get(self.token) or {})
        rules = _parse_rules(settings.get("cut"))
        live = {rule.key for rule in rules}
        self.counts = {k: v for k, v in self.counts.items() if k in live}
        self.fired = {k: v for k, v in self.fired.items() if k in live}
        self.settings, self.rules = settings, rules
        self.log(f"control: {json.dumps(settings, sort_keys=True)}")

    def delay_seconds(self, ins: int) -> float:
        ms = float(self.settings.get("delay_ms", 0) or 0)
        if ins == 0x46:
            ms += float(self.settings.get("keygen_delay_ms", 0) or 0)
        if ins == 0x68:
            ms += float(self.settings.get("sign_delay_ms", 0) or 0)
        return ms / 1000.0

    def present(self) -> bool:
        """False while the card must stay out of the reader."""
        if self.settings.get("present", True) is False:
            return False
        now = time.monotonic()
        for rule in self.rules:
            fired_at = self.fired.get(rule.key)
            if fired_at is None:
                continue
            if rule.out_ms is None or (now - fired_at) * 1000 < rule.out_ms:
                return False
        return True

    def cut_for(self, ins: int) -> CutRule | None:
        """Count this command against every live rule; the rule due now, if any."""
        due = None
        for rule in self.rules:
            if rule.key in self.fired or rule.ins not in (None, ins):
                continue
            self.counts[rule.key] = self.counts.get(rule.key, 0) + 1
            if self.counts[rule.key] >= rule.nth and due is None:
                due = rule
        return due

    def fire(self, rule: CutRule) -> None:
        self.fired[rule.key] = time.monotonic()
        self.log(f"cut fired: {rule.key.split(':', 1)[1]}")
