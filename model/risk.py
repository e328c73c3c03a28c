"""Twin of contracts/modules/risk.vy: the engine's pure arithmetic.

No state, no checks: every function here is a pure function of its
arguments, with the contract's integer rounding (always against the
trader). Position and Settlement are the structs these rules take and give.
"""
from dataclasses import dataclass

from .env import ZERO_ADDRESS

BPS = 10_000
# Borrow index: fee per unit of notional, scaled by 1e18.
INDEX_ONE = 10**18
# Packed position and market fields are 128 bits wide.
MAX_U128 = 2**128 - 1


@dataclass(frozen=True)
class Position:
    owner: str = ZERO_ADDRESS
    market_id: int = 0
    is_long: bool = False
    max_profit_bps: int = 0
    # The market's maintenance margin and liquidation fee at the position's
    # open or last resize: a parameter change never moves them.
    maintenance_margin_bps: int = 0
    liquidation_fee_bps: int = 0
    generation: int = 0
    is_open: bool = False
    size: int = 0
    collateral: int = 0
    entry_price: int = 0
    entry_index: int = 0


@dataclass
class Settlement:
    pnl: int = 0
    borrow_fee: int = 0
    trading_fee: int = 0
    to_trader: int = 0
    to_pool: int = 0
    from_pool: int = 0
    bad_debt: int = 0


def _fee(amount: int, bps: int) -> int:
    """ceil(amount * bps / BPS): fees and margin requirements round up."""
    return (amount * bps + BPS - 1) // BPS


def _reserve(size: int, max_profit_bps: int) -> int:
    """The most a position can win: what the pool keeps back for it."""
    return size * max_profit_bps // BPS


def _pnl(is_long: bool, size: int, entry_price: int, price: int) -> int:
    """Profits round down, losses round up."""
    if is_long == (price >= entry_price):
        move = price - entry_price if is_long else entry_price - price
        return size * move // entry_price
    move = entry_price - price if is_long else price - entry_price
    return -((size * move + entry_price - 1) // entry_price)


def _capped_pnl(pos: Position, price: int) -> int:
    return min(_pnl(pos.is_long, pos.size, pos.entry_price, price), _reserve(pos.size, pos.max_profit_bps))


def _borrow_fee(size: int, entry_index: int, index: int) -> int:
    return (size * (index - entry_index) + INDEX_ONE - 1) // INDEX_ONE


def _equity(pos: Position, price: int, index: int) -> int:
    return pos.collateral + _capped_pnl(pos, price) - _borrow_fee(pos.size, pos.entry_index, index)


def _average_entry(is_long: bool, size: int, entry_price: int, size_delta: int, price: int) -> int:
    """Keeps size / entry additive; a long's entry rounds up, a short's down,
    so rounding never gifts the trader PnL."""
    num = (size + size_delta) * entry_price * price
    den = size * price + size_delta * entry_price
    if is_long:
        return (num + den - 1) // den
    return num // den


def _liquidation_price(pos: Position, index: int, maintenance_bps: int) -> int:
    """Where equity meets maintenance margin, ignoring the profit cap
    (irrelevant near liquidation); rounded towards the current price."""
    slack = pos.collateral - (_borrow_fee(pos.size, pos.entry_index, index) + _fee(pos.size, maintenance_bps))
    if slack >= 0:
        move = pos.entry_price * slack // pos.size
        if pos.is_long:
            return 0 if move >= pos.entry_price else pos.entry_price - move
        return pos.entry_price + move
    move_up = (pos.entry_price * -slack + pos.size - 1) // pos.size
    if pos.is_long:
        return pos.entry_price + move_up
    return 0 if move_up >= pos.entry_price else pos.entry_price - move_up


def _liquidation_bounds(pos: Position, index: int, maintenance_bps: int):
    """(liquidation price, at any price, at no price), the profit cap
    included, over the prices a feed can give (1 to MAX_U128): the best
    equity is the capped profit at an unbounded price (long) or at price 1
    (short). The price is `_liquidation_price`'s, the last healthy one; a
    long healthy down to 1 or a short up to MAX_U128 is liquidatable at no
    price, a long healthy only above MAX_U128 at every price."""
    best = _reserve(pos.size, pos.max_profit_bps) if pos.is_long else _capped_pnl(pos, 1)
    shortfall = _borrow_fee(pos.size, pos.entry_index, index) + _fee(pos.size, maintenance_bps) - pos.collateral
    if best < shortfall:
        return 0, True, False
    price = _liquidation_price(pos, index, maintenance_bps)
    if pos.is_long:
        if price <= 1:
            return 0, False, True
        if price > MAX_U128:
            return 0, True, False
    elif price >= MAX_U128:
        return 0, False, True
    return price, False, False


def _settle(pos: Position, price: int, index: int, fee_bps: int) -> Settlement:
    """Closing a whole position: collateral + capped PnL - borrow fee - fee."""
    s = Settlement()
    s.pnl = _capped_pnl(pos, price)
    s.borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
    s.trading_fee = _fee(pos.size, fee_bps)
    value = pos.collateral + s.pnl - (s.borrow_fee + s.trading_fee)
    if value >= pos.collateral:
        s.to_trader = pos.collateral
        s.from_pool = value - pos.collateral
    elif value > 0:
        s.to_trader = value
        s.to_pool = pos.collateral - value
    else:
        s.to_pool = pos.collateral
        s.bad_debt = -value
    return s


def shortfall(pos: Position, price: int, index: int) -> int:
    """How far equity is below the position's own maintenance margin:
    liquidate's test (`equity < maintenance`) as a number, > 0 when
    liquidatable. Model-only: the keeper ranks positions by it."""
    return _fee(pos.size, pos.maintenance_margin_bps) - _equity(pos, price, index)
