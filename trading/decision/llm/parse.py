"""Judging the model's reply: strict JSON, one offered instrument, a size within limits, no instructions.

Pure. Any failure is a :class:`ChoiceRejected` with a reason; the decision then falls back to rules.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from trading.strategies.base import Offer, OpenOffer
from trading.strategies.contracts import is_step_multiple


class LLMChoice(BaseModel):
    """The reply's only allowed shape."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    action: Literal["open", "hold"]
    instrument_name: str | None
    size_contracts: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedChoice:
    action: str
    """``open`` or ``hold``."""
    offer: Offer | None
    size_contracts: float
    reason: str

    def describe(self) -> str:
        if self.offer is None:
            return "hold"
        return f"open {self.offer.leg.instrument_name} x {self.size_contracts:g}"


@dataclass(frozen=True, slots=True)
class ChoiceRejected:
    reason: str

    def describe(self) -> str:
        return f"rejected: {self.reason}"


_HOSTILE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE))
    for label, pattern in (
        (
            "asks to ignore instructions",
            r"\b(ignore|disregard|forget)\b[^.]{0,40}\b(instructions?|rules|prompts?)\b",
        ),
        ("mentions a system or developer prompt", r"\b(system|developer)\s+(prompt|message|instructions?)\b"),
        (
            "tries to change the agent's role",
            r"\byou\s+(are|must|should|will)\s+now\b|\bnew\s+instructions?\b",
        ),
        (
            "tries to change limits or safety",
            r"\b(disable|bypass|override|circumvent|ignore|skip|turn\s+off|switch\s+off|lift|remove|relax|raise|"
            r"increase)\b[^.]{0,40}\b(risk\s+(limits?|checks?|engine)|limits?|kill[\s-]?switch|safety|guard\s?rails?|"
            r"checks)\b",
        ),
        ("mentions the kill switch", r"\bkill[\s-]?switch\b"),
        (
            "contains chat-role or template markers",
            r"<\|[a-z_]+\|>|\[/?(INST|SYS)\]|(^|\n)\s*(system|assistant|user|developer)\s*:",
        ),
        ("contains a link or code", r"https?://|```|<script"),
        (
            "asks to move funds",
            r"\b(transfer|withdraw|send)\b[^.]{0,30}\b(funds|btc|eth|coins?|wallet|address)\b",
        ),
        ("asks for credentials", r"\b(api[\s_-]?keys?|passwords?|secrets?|private\s+keys?|tokens?)\b"),
        ("contains control characters", r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"),
    )
)


def hostile_reason(text: str) -> str | None:
    """Why ``text`` reads as an attempt to instruct the agent, or ``None``."""
    for label, pattern in _HOSTILE:
        if pattern.search(text):
            return label
    return None


_FENCE = re.compile(r"\A```(?:json)?\s*\n(?P<body>.*)\n```\s*\Z", re.DOTALL)


def parse_choice(
    offer_set: OpenOffer, text: str | None, *, max_reason_chars: int = 600
) -> ParsedChoice | ChoiceRejected:
    """Check a reply against the offers; one JSON object, optionally in a single ```json fence."""
    if text is None or not text.strip():
        return ChoiceRejected("empty reply")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body").strip()
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, RecursionError) as exc:
        return ChoiceRejected(
            f"malformed JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else 'too deep'})"
        )
    if not isinstance(raw, dict):
        return ChoiceRejected(f"expected a JSON object, got {type(raw).__name__}")
    try:
        choice = LLMChoice.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) or "reply" for e in exc.errors(include_url=False)})
        return ChoiceRejected(f"reply does not fit the schema ({', '.join(fields)})")
    reason = choice.reason.strip()
    if not reason:
        return ChoiceRejected("no reason given")
    if len(reason) > max_reason_chars:
        return ChoiceRejected(f"reason longer than {max_reason_chars} characters")
    for text_field in (reason, choice.instrument_name or ""):
        hostile = hostile_reason(text_field)
        if hostile:
            return ChoiceRejected(f"reply {hostile}")
    if choice.action == "hold":
        if choice.instrument_name is not None or choice.size_contracts not in (None, 0, 0.0):
            return ChoiceRejected("a hold must not name an instrument or a size")
        return ParsedChoice("hold", None, 0.0, reason)
    by_name = {o.leg.instrument_name: o for o in offer_set.offers}
    offer = by_name.get(choice.instrument_name or "")
    if offer is None:
        return ChoiceRejected(
            f"unknown instrument {choice.instrument_name!r}: not among the offered candidates"
        )
    size = choice.size_contracts
    if size is None or not math.isfinite(size) or size <= 0.0:
        return ChoiceRejected(f"size {size!r} is not a positive number of contracts")
    if size > offer.leg.size_contracts + 1e-9:
        return ChoiceRejected(
            f"oversized order: {size:g} contracts > {offer.leg.size_contracts:g} allowed "
            f"for {offer.leg.instrument_name}"
        )
    if not is_step_multiple(size, offer_set.size_step_contracts):
        return ChoiceRejected(f"size {size:g} is not a multiple of {offer_set.size_step_contracts:g}")
    return ParsedChoice("open", offer, round(size, 8), reason)
