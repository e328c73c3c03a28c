"""Which positions can be liquidated right now, computed off chain.

The rule is the engine's, through the model's pure functions (`_equity`,
`_fee`): a position is liquidatable when its equity is below maintenance
margin at the oracle price and the borrow index of the block the
liquidation would land in. A market whose oracle the engine would refuse
(stale, not positive) has nothing liquidatable: the call would revert.

The same code serves the drill (positions from the model) and the
standalone keeper (positions read from the chain in pages), so both agree
on what "liquidatable" means.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from model import Revert
from model.engine import MAX_U128, Position, _equity, _fee


@dataclass(frozen=True)
class MarketView:
    market_id: int
    price: Optional[int]        # None: the engine would refuse the oracle now
    index: int                  # borrow index at the view's timestamp
    maintenance_bps: int
    oracle_error: Optional[str] = None


def index_at(borrow_index: int, last_accrual: int, rate: int, timestamp: int) -> int:
    """Twin of Engine._current_index at `timestamp`."""
    return borrow_index + rate * (timestamp - last_accrual) if timestamp > last_accrual else borrow_index


def oracle_error(answer: int, updated_at: int, staleness: int, timestamp: int) -> Optional[str]:
    """Twin of Engine._price's checks; None when the price would be accepted."""
    if answer <= 0:
        return "oracle: price not positive"
    if updated_at + staleness < timestamp:
        return "oracle: price is stale"
    if answer > MAX_U128:
        return "oracle: price out of range"
    return None


def model_market_view(engine, market_id: int, timestamp: int) -> MarketView:
    """A market as the model's engine would see it in a block at `timestamp`."""
    st = engine.market_state[market_id]
    p = engine.market_params[market_id]
    feed = engine.feeds[st.feed]
    error = oracle_error(feed.answer, feed.updated_at, p.staleness, timestamp)
    return MarketView(market_id, None if error else feed.answer,
                      index_at(st.borrow_index, st.last_accrual, p.borrow_rate, timestamp),
                      p.maintenance_margin_bps, error)


def liquidatable(positions: Iterable[Tuple[int, Position]], markets: Dict[int, MarketView]) -> List[Tuple[int, int]]:
    """(position id, shortfall below maintenance) of every liquidatable
    position, deepest first, then by id: a keeper's natural order, since
    the deepest are closest to bad debt."""
    out = []
    for pid, pos in positions:
        m = markets[pos.market_id]
        if m.price is None:
            continue
        shortfall = _fee(pos.size, m.maintenance_bps) - _equity(pos, m.price, m.index)
        if shortfall > 0:
            out.append((pid, shortfall))
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


def open_positions(engine) -> Iterable[Tuple[int, Position]]:
    """The model engine's open positions as (position id, Position)."""
    for slot, pos in engine.slots_.items():
        if pos.is_open:
            yield (slot << 32) | pos.generation, pos


def price_or_none(engine, market_id: int) -> Optional[int]:
    try:
        return engine._price(market_id)
    except Revert:
        return None
