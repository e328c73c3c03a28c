"""isomargin's reference model: the contracts' rules in pure Python integers.

    from model import Protocol, MarketParams, Revert
"""
from .aggregator import MockAggregator
from .engine import (BPS, INDEX_ONE, Engine, Health, MarketParams, MarketState, Position, PositionView,
                     Settlement, Totals, position_id_of)
from .env import ZERO_ADDRESS, Env
from .errors import Revert, require
from .journal import Journal
from .pool import LiquidityPool
from .protocol import Protocol
from .token import Token

__all__ = [
    "BPS", "INDEX_ONE", "Engine", "Env", "Health", "Journal", "LiquidityPool", "MarketParams", "MarketState",
    "MockAggregator", "Position", "PositionView", "Protocol", "Revert", "Settlement", "Token", "Totals",
    "ZERO_ADDRESS", "position_id_of", "require",
]
