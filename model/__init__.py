"""isomargin's reference model: the contracts' rules in pure Python integers.

    from model import Protocol, MarketParams, Revert

One model module per contract file: engine.py (Engine.vy) composed of
risk.py, positions.py, markets.py, transfers.py, guardian.py (the
contracts/modules/ of the same names) and ownable.py (snekmate); pool.py
(LiquidityPool.vy), orders.py (OrderBook.vy, with sequencer.py), vault.py, lens.py, token.py (MockUSDC.vy),
aggregator.py (MockAggregator.vy), timelock.py (Timelock.vy, with
access_control.py, snekmate's). Events: events.py; journal.py makes
every call all-or-nothing, its events included.
"""
from .aggregator import MockAggregator
from .engine import Engine
from .env import ZERO_ADDRESS, Env
from .errors import Revert, require
from .events import Emitted, Event
from .journal import Journal
from .lens import Health, Lens, Totals
from .markets import MarketParams, MarketState, index_at, oracle_error, rate_per_year
from .orders import Order, OrderBook
from .pool import LiquidityPool
from .positions import PositionView, position_id_of
from .protocol import Protocol
from .risk import BPS, INDEX_ONE, Position, Settlement
from .token import Token
from .vault import Vault

__all__ = [
    "BPS", "INDEX_ONE", "Emitted", "Engine", "Env", "Event", "Health", "Journal", "Lens", "LiquidityPool",
    "MarketParams", "MarketState", "MockAggregator", "Order", "OrderBook", "Position", "PositionView", "Protocol", "Revert",
    "Settlement", "Token", "Totals", "Vault", "ZERO_ADDRESS", "index_at", "oracle_error", "position_id_of",
    "rate_per_year", "require",
]
