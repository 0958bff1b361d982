"""The network side of the LLM mode: one Chat Completions call per offer set, never raising."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import openai

from trading.decision.llm.config import LLMConfig
from trading.decision.llm.prompt import build_messages, response_format
from trading.strategies.base import OpenOffer


@dataclass(frozen=True, slots=True)
class ChooserReply:
    """The model's text, or why there is none (timeout, HTTP error, refusal, cut-off reply)."""

    text: str | None
    error: str | None = None
    elapsed_ms: float = 0.0


class Chooser(Protocol):
    """Anything that answers an offer set: the OpenAI client here, a scripted one in a backtest."""

    def choose(self, offer_set: OpenOffer) -> ChooserReply: ...


class OpenAIChooser:
    """Asks an OpenAI-compatible server (``base_url``) with the official ``openai`` client."""

    def __init__(self, config: LLMConfig) -> None:
        if not config.configured or config.api_key is None:
            raise ValueError("LLMConfig has no API key; use build_chooser() to get None instead")
        self.config = config
        self._client = openai.OpenAI(
            api_key=config.api_key.get_secret_value(),
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )

    def choose(self, offer_set: OpenOffer) -> ChooserReply:
        cfg = self.config
        kwargs: dict[str, Any] = {"model": cfg.model, "messages": build_messages(offer_set)}
        fmt = response_format(offer_set, cfg.response_format)
        if fmt is not None:
            kwargs["response_format"] = fmt
        if cfg.temperature is not None:
            kwargs["temperature"] = cfg.temperature
        started = time.perf_counter()

        def done(text: str | None, error: str | None) -> ChooserReply:
            return ChooserReply(text, error, 1000.0 * (time.perf_counter() - started))

        try:
            response = self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            return done(None, f"timeout after {cfg.timeout_s:g} s")
        except openai.APIStatusError as exc:
            return done(None, f"HTTP {exc.status_code} from the LLM server")
        except openai.APIConnectionError:
            return done(None, "could not connect to the LLM server")
        except Exception as exc:  # a malformed body or anything else the client raises
            return done(None, f"LLM call failed: {type(exc).__name__}")
        choices = getattr(response, "choices", None)
        if not choices:
            return done(None, "the reply has no choices")
        first = choices[0]
        message = first.message
        text = message.content if isinstance(message.content, str) else None
        if getattr(message, "refusal", None):
            return done(text, "the model refused")
        if message.tool_calls:
            return done(text, "the model called a tool; none are offered")
        if first.finish_reason == "length":
            return done(text, "the reply was cut off (finish_reason=length)")
        return done(text, None)


def build_chooser(config: LLMConfig) -> OpenAIChooser | None:
    """The chooser for ``config``, or ``None`` when no API key is configured."""
    return OpenAIChooser(config) if config.configured else None
