"""The ``llm`` decision mode: an OpenAI-compatible model picks one offered candidate (or holds).

The network call lives in :class:`~trading.decision.llm.client.OpenAIChooser`; everything that
judges its reply (:mod:`~trading.decision.llm.parse`) is pure, so strategies stay pure and the
rules decide whenever the reply is late, malformed, off-menu, oversized or tries to instruct us.
"""

from trading.decision.llm.client import OpenAIChooser, build_chooser
from trading.decision.llm.config import LLMConfig
from trading.decision.llm.parse import ChoiceRejected, ParsedChoice, parse_choice
from trading.decision.llm.prompt import build_messages, response_format

__all__ = [
    "ChoiceRejected",
    "LLMConfig",
    "OpenAIChooser",
    "ParsedChoice",
    "build_chooser",
    "build_messages",
    "parse_choice",
    "response_format",
]
