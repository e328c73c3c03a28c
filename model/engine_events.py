"""The events contracts/Engine.vy declares itself, fields in its order.

(The modules' events live with their twins: VaultCreated in positions.py,
BorrowIndexAccrued in markets.py, GuardianSet/Paused/Unpaused in
guardian.py, the ownership events in ownable.py.)
"""
from dataclasses import dataclass

from .events import Event
from .markets import MarketParams


@dataclass(frozen=True, slots=True)
class MarketListed(Event):
    market_id: int
    feed: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class MarketParamsSet(Event):
    market_id: int
    params: MarketParams
    borrow_index: int


@dataclass(frozen=True, slots=True)
class MarketFeedSet(Event):
    market_id: int
    feed: str


@dataclass(frozen=True, slots=True)
class PositionOpened(Event):
    position_id: int
    owner: str
    market_id: int
    is_long: bool
    size: int
    collateral: int
    entry_price: int
    entry_index: int
    max_profit_bps: int
    open_fee: int
    vault: str


@dataclass(frozen=True, slots=True)
class CollateralAdded(Event):
    position_id: int
    amount: int
    collateral: int


@dataclass(frozen=True, slots=True)
class CollateralRemoved(Event):
    position_id: int
    amount: int
    collateral: int
    price: int


@dataclass(frozen=True, slots=True)
class PositionIncreased(Event):
    position_id: int
    size_delta: int
    collateral_delta: int
    size: int
    collateral: int
    entry_price: int
    entry_index: int
    max_profit_bps: int
    borrow_fee: int
    open_fee: int
    price: int


@dataclass(frozen=True, slots=True)
class PositionDecreased(Event):
    position_id: int
    size_delta: int
    size: int
    collateral: int
    entry_index: int
    price: int
    pnl: int
    borrow_fee: int
    close_fee: int
    to_trader: int
    to_pool: int


@dataclass(frozen=True, slots=True)
class PositionClosed(Event):
    position_id: int
    price: int
    pnl: int
    borrow_fee: int
    close_fee: int
    to_trader: int
    to_pool: int
    bad_debt: int
    insurance_cover: int


@dataclass(frozen=True, slots=True)
class PositionLiquidated(Event):
    position_id: int
    liquidator: str
    price: int
    pnl: int
    borrow_fee: int
    reward: int
    insurance_cut: int
    to_pool: int
    bad_debt: int
    insurance_cover: int


@dataclass(frozen=True, slots=True)
class InsuranceFunded(Event):
    funder: str
    amount: int
