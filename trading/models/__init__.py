"""The trading app's tables, one module per area; import them from here."""

from trading.models.registry import STRATEGY_NAME_VALIDATOR, AgentTick, Strategy

__all__ = ["STRATEGY_NAME_VALIDATOR", "AgentTick", "Strategy"]
