"""Twin of contracts/Lens.vy: many token balances in one call, and the two
views that left the engine for EIP-170's sake (health, totals).

`health_of` and `totals_of` are the rules, written once: Lens.health and
Lens.totals resolve an engine address to call them, and the model Engine's
own health() and totals() (model-only conveniences) call them directly.
"""
from dataclasses import dataclass

from .errors import Revert, require
from .journal import Mapping
from .markets import _checked_price, _fallback_price, _index_at
from .positions import MAX_PAGE
from .risk import _borrow_fee, _capped_pnl, _fee, _liquidation_bounds

MAX_HOLDERS = 1024


@dataclass(frozen=True)
class Health:
    """Lens.Health. liquidation_price is the last healthy price (risk's
    _liquidation_bounds), 0 exactly when one of the two flags is set."""
    price: int
    pnl: int
    borrow_fee: int
    equity: int
    maintenance_margin: int
    liquidation_price: int
    liquidatable: bool
    liquidatable_at_any_price: bool
    liquidatable_at_no_price: bool
    at_last_good_price: bool = False     # a dead feed: price is the last good one


@dataclass(frozen=True)
class Totals:
    pool_assets: int
    pool_shares: int
    total_reserved: int
    insurance_assets: int
    open_positions: int
    vault_count: int
    market_count: int
    paused: bool


def health_of(engine, position_id: int) -> Health:
    """Lens.health's steps, in its order: the position view, the market's
    maintenance margin, then the engine's index and price."""
    v = engine.position(position_id)
    require(v.is_open, "engine: position not open")
    _, pos = engine._load(position_id)
    p = engine.market_params(v.market_id)
    # The position's own margin (from its last resize), as liquidate uses.
    mm_bps = pos.maintenance_margin_bps
    st = engine.market_state(v.market_id)
    index = _index_at(st.borrow_index, st.last_accrual, p.borrow_rate, engine.env.timestamp)
    ok, answer, updated_at = engine.rules.feed_round(st.feed)
    now = engine.env.timestamp
    price = _fallback_price(ok, answer, updated_at, engine.market_last_price[v.market_id], p.staleness, now)
    at_last_good = price != 0
    if not at_last_good:
        if not ok:
            raise Revert(None)      # the feed's own revert (no contract there)
        price = _checked_price(answer, updated_at, p.staleness, now)
    pnl = _capped_pnl(pos, price)
    borrow_fee = _borrow_fee(pos.size, pos.entry_index, index)
    equity = pos.collateral + pnl - borrow_fee
    mm = _fee(pos.size, mm_bps)
    liq, at_any, at_none = _liquidation_bounds(pos, index, mm_bps)
    return Health(price, pnl, borrow_fee, equity, mm, liq, equity < mm, at_any, at_none, at_last_good)


def slots_of(engine, first: int, count: int) -> list:
    """Lens.slots's page: from slot max(first, 1), at most MAX_PAGE."""
    if first > engine.vault_count:
        return []
    start = max(first, 1)
    last = min(start + min(count, MAX_PAGE), engine.vault_count + 1)
    return [engine.slot(s) for s in range(start, last)]


def totals_of(engine, pool_shares: int) -> Totals:
    return Totals(engine.token.balanceOf[engine.POOL], pool_shares, engine.total_reserved,
                  engine.token.balanceOf[engine.INSURANCE], engine.open_positions, engine.vault_count,
                  engine.market_count, engine.paused)


class Lens:
    """Resolves a token or engine address through `contracts` (address ->
    model contract), as the chain resolves a staticcall's target."""

    def __init__(self, address: str, contracts):
        self.address = address
        self.contracts = contracts

    def _at(self, address: str):
        c = self.contracts[address]
        if c is None:
            raise Revert(None)      # no contract there
        return c

    def balances(self, token: str, holders: list) -> list:
        if len(holders) > MAX_HOLDERS:
            raise Revert(None)      # the ABI decoder refuses a longer DynArray
        balance_of = self._at(token).balanceOf
        if isinstance(balance_of, Mapping):
            return [balance_of[h] for h in holders]
        return [balance_of(h) for h in holders]

    def health(self, engine: str, position_id: int) -> Health:
        return health_of(self._at(engine), position_id)

    def slots(self, engine: str, first: int, count: int) -> list:
        return slots_of(self._at(engine), first, count)

    def totals(self, engine: str) -> Totals:
        e = self._at(engine)
        return totals_of(e, self._at(e.POOL).totalSupply())
