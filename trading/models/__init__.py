"""The trading app's tables, one module per area; import them from here."""

from trading.models.agent import AgentEvent, AgentLease, AgentState, Decision, Fill, Order, Position
from trading.models.market import MarketSnapshot
from trading.models.registry import STRATEGY_NAME_VALIDATOR, AgentTick, Strategy

__all__ = [
    "STRATEGY_NAME_VALIDATOR",
    "AgentEvent",
    "AgentLease",
    "AgentState",
    "AgentTick",
    "Decision",
    "Fill",
    "MarketSnapshot",
    "Order",
    "Position",
    "Strategy",
]
