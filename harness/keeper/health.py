"""Which positions can be liquidated right now, computed off chain.

The rule is the engine's, through the model's pure functions (`_equity`,
`_fee`): a position is liquidatable when its equity is below maintenance
margin at the oracle price and the borrow index of the block the
liquidation would land in. A market whose oracle the engine would refuse
(stale, not positive, reverting) has nothing liquidatable, the call would
revert, until the engine's own fallback takes the last good price
(model.markets._fallback_price, ORACLE_FALLBACK_DELAY after the feed died):
from then on liquidations settle at that price, and so does this view.

The same code serves the drill (positions from the model) and the
standalone keeper (positions read from the chain in pages), so both agree
on what "liquidatable" means.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from model import Revert
from model.markets import exit_price, index_at, oracle_error
from model.risk import Position, _liquidation_bounds, shortfall as _shortfall

from .keeper import HEALTHY


@dataclass(frozen=True)
class MarketView:
    market_id: int
    price: Optional[int]        # None: the engine would refuse the oracle now
    index: int                  # borrow index at the view's timestamp
    maintenance_bps: int
    oracle_error: Optional[str] = None     # the feed's own refusal, even where the last good price stands in
    timestamp: int = 0
    borrow_rate: int = 0
    at_last_good_price: bool = False        # price is the engine's fallback for a dead feed

# The engine's word for a feed whose latestRoundData reverts (the model's
# MockAggregator raises it as the feed would).
FEED_REVERTED = "oracle: the feed reverted"


def market_view(market_id: int, params, borrow_index: int, last_accrual: int, answer: int, updated_at: int,
                timestamp: int, last_price: int = 0, answered: bool = True) -> MarketView:
    """A market as the engine would see it in a block at `timestamp`, from
    its parameters, state and oracle round (the model's or the chain's;
    `answered` False when latestRoundData reverted) and its recorded last
    price (Engine.market_last_price), which a liquidation takes once the
    feed has been unusable for the fallback delay."""
    error = oracle_error(answer, updated_at, params.staleness, timestamp) if answered else FEED_REVERTED
    price = exit_price(answered, answer, updated_at, last_price, params.staleness, timestamp)
    return MarketView(market_id, price, index_at(borrow_index, last_accrual, params.borrow_rate, timestamp),
                      params.maintenance_margin_bps, error, timestamp, params.borrow_rate,
                      error is not None and price is not None)


def model_market_view(engine, market_id: int, timestamp: int) -> MarketView:
    """A market as the model's engine would see it in a block at `timestamp`."""
    st = engine.market_state(market_id)
    answered, answer, updated_at = engine.rules.feed_round(st.feed)
    return market_view(market_id, engine.market_params(market_id), st.borrow_index, st.last_accrual, answer,
                       updated_at, timestamp, engine.market_last_price[market_id], answered)


def shortfall(pos: Position, m: MarketView) -> int:
    """How far `pos` is below maintenance margin in market view `m` (> 0: liquidatable)."""
    return _shortfall(pos, m.price, m.index)


def liquidatable(positions: Iterable[Tuple[int, Position]], markets: Dict[int, MarketView]) -> List[Tuple[int, int]]:
    """(position id, shortfall below maintenance) of every liquidatable
    position, deepest first, then by id: a keeper's natural order, since
    the deepest are closest to bad debt."""
    out = []
    for pid, pos in positions:
        m = markets[pos.market_id]
        if m.price is None:
            continue
        below = shortfall(pos, m)
        if below > 0:
            out.append((pid, below))
    out.sort(key=lambda x: (-x[1], x[0]))
    return out


def refusal(pos: Position, m: MarketView) -> Optional[str]:
    """The reason the engine would refuse to liquidate `pos` in market view
    `m`, None if it would not: the oracle first (the engine prices before it
    checks health), then health, each by the model's rule."""
    if m.price is None:
        return m.oracle_error
    if shortfall(pos, m) <= 0:
        return HEALTHY
    return None


def refusals(positions: Iterable[Tuple[int, Position]], markets: Dict[int, MarketView]) -> List[Tuple[int, str]]:
    """(position id, refusal) of every position that is not liquidatable, by id."""
    out = [(pid, refusal(pos, markets[pos.market_id])) for pid, pos in positions]
    return sorted((pid, r) for pid, r in out if r is not None)


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


class TriggerCache:
    """`liquidatable`, without the exact rule for every position every step.

    Each position gets a trigger price: its liquidation price at the borrow
    index `horizon` seconds ahead (borrow fees only ever raise a long's and
    lower a short's), widened by the rounding of `_pnl` (entry / size + 2
    feed units). Until the horizon, a long above its trigger or a short
    below it cannot be liquidatable, so only positions whose trigger the
    price crossed get the exact check. A position whose borrow fee could
    exceed collateral plus its capped profit is always checked. Entries are
    keyed by the model's Position object, which is replaced on every change.
    """

    def __init__(self, horizon: int = 6 * 3600):
        self.horizon = horizon
        self._cache: Dict[int, tuple] = {}

    def _trigger(self, pos: Position, m: MarketView) -> tuple:
        index_hi = m.index + m.borrow_rate * self.horizon
        price, at_any_price, _ = _liquidation_bounds(pos, index_hi, pos.maintenance_margin_bps)
        if at_any_price:
            trigger = None
        else:
            margin = pos.entry_price // pos.size + 2
            trigger = price + margin if pos.is_long else price - margin
        return (pos, m.timestamp + self.horizon, m.maintenance_bps, m.borrow_rate, trigger)

    def liquidatable(self, positions: Iterable[Tuple[int, Position]],
                     markets: Dict[int, MarketView]) -> List[Tuple[int, int]]:
        cache, out, alive = self._cache, [], []
        for pid, pos in positions:
            alive.append(pid)
            m = markets[pos.market_id]
            if m.price is None:
                continue
            c = cache.get(pid)
            if c is None or c[0] is not pos or c[1] < m.timestamp or c[2] != m.maintenance_bps or c[3] != m.borrow_rate:
                c = cache[pid] = self._trigger(pos, m)
            trigger = c[4]
            if trigger is not None and (m.price >= trigger if pos.is_long else m.price <= trigger):
                continue
            below = shortfall(pos, m)
            if below > 0:
                out.append((pid, below))
        if len(cache) > 2 * len(alive) + 1_000:
            # Closed positions' entries: forget them now and then.
            self._cache = {pid: cache[pid] for pid in alive if pid in cache}
        out.sort(key=lambda x: (-x[1], x[0]))
        return out
