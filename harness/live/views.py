"""A deployment's state in an operator's words: a position, its health,
every open position, the protocol's totals.

Every figure is what a contract view returns (Engine.position,
market_params, market_state; Lens.health, Lens.totals; the pool's
totalAssets, cash, free_assets, pool_liability), decoded into the model's
own dataclasses so the field names cannot drift from the contracts'. No
rule is computed here: where a report says more than a view does (is a
market's price usable now?) it asks the model's function
(model.markets.oracle_error), the one the engine's twin applies.

Amounts are printed in token units beside their base units,
"1,234.567890 USDC (1234567890)", the token's decimals and symbol read
from the token itself; prices in USD with the feed's decimals beside the
feed's raw answer.
"""
from dataclasses import dataclass, fields
from typing import Dict, List

from model.lens import Health, Totals
from model.markets import MarketParams, MarketState, oracle_error
from model.positions import GEN_MASK, MAX_PAGE, PositionView

from ..chains.rpc import Rpc, RpcError
from ..protocol.layout import slot_pages
from ..protocol.snapshot import read_slots
from .manifest import Manifest
from .session import EXIT_NOT_FOUND, CommandError, refusal


# ---------------------------------------------------------------- units

def units(amount: int, decimals: int, symbol: str) -> str:
    """`1,234.567890 USDC (1234567890)`: exact, from integers (a float
    would round the base units the line also shows)."""
    whole, frac = divmod(abs(amount), 10**decimals)
    sign = "-" if amount < 0 else ""
    text = f"{sign}{whole:,}" + (f".{frac:0{decimals}d}" if decimals else "")
    return f"{text} {symbol} ({amount})"


def usd(answer: int, decimals: int) -> str:
    return units(answer, decimals, "USD")


# ---------------------------------------------------------------- reading

@dataclass
class Market:
    market_id: int
    symbol: str
    params: MarketParams
    state: MarketState
    feed_decimals: int
    answer: int
    updated_at: int
    round_id: int


class Deployment:
    """The contracts of a deployment, read through one Rpc. The pool, the
    order book and the token come from the engine's own immutables, so a
    manifest that disagrees with the engine cannot mislead a report."""

    def __init__(self, rpc: Rpc, m: Manifest):
        self.rpc, self.m = rpc, m
        self.engine, self.lens = m.address("engine"), m.address("lens")
        if not rpc.code(self.engine):
            raise CommandError(f"no contract at the engine's address {self.engine} (a devnet restarted since "
                               f"the deploy?)", EXIT_NOT_FOUND)
        self.token, self.pool, self.orders, self.insurance = rpc.call_many(
            [(self.engine, "Engine", fn, ()) for fn in ("TOKEN", "POOL", "ORDERS", "INSURANCE")])
        self.decimals, self.symbol, self.share_decimals, self.share_symbol = rpc.call_many(
            [(self.token, "MockUSDC", "decimals", ()), (self.token, "MockUSDC", "symbol", ()),
             (self.pool, "LiquidityPool", "decimals", ()), (self.pool, "LiquidityPool", "symbol", ())])
        self._symbols = {mk["market_id"]: sym for sym, mk in m.markets.items()}
        self._markets: Dict[int, Market] = {}

    def amount(self, value: int) -> str:
        return units(value, self.decimals, self.symbol)

    def call(self, address: str, contract: str, fn: str, args=()):
        """A view call; a refusal becomes the contract's reason as a CommandError."""
        try:
            return self.rpc.call(address, contract, fn, list(args))
        except RpcError as err:
            raise CommandError(refusal(err), EXIT_NOT_FOUND) from None

    def market_name(self, market_id: int) -> str:
        return f"{self._symbols.get(market_id, '?')} (market {market_id})"

    def market(self, market_id: int) -> Market:
        if market_id not in self._markets:
            params = MarketParams(*self.call(self.engine, "Engine", "market_params", [market_id]))
            state = MarketState(*self.call(self.engine, "Engine", "market_state", [market_id]))
            if params.initial_margin_bps == 0:
                raise CommandError(f"no market {market_id} on this engine", EXIT_NOT_FOUND)
            round_id, answer, _, updated_at, _ = self.call(state.feed, "MockAggregator", "latestRoundData")
            decimals = self.call(state.feed, "MockAggregator", "decimals")
            self._markets[market_id] = Market(market_id, self._symbols.get(market_id, "?"), params, state, decimals,
                                              answer, updated_at, round_id)
        return self._markets[market_id]

    def position(self, position_id: int) -> PositionView:
        view = PositionView(*self.call(self.engine, "Engine", "position", [position_id]))
        if not view.is_open or view.position_id != position_id:
            # The engine's empty view (id 0's too). It keeps nothing of a closed position
            # (its slot is freed for the next), so closed and never opened
            # look the same: its events tell them apart (`ape run audit`).
            raise CommandError(f"no open position {position_id} on this engine (never opened, or closed)",
                               EXIT_NOT_FOUND)
        return view

    def health(self, position_id: int) -> Health:
        return Health(*self.call(self.lens, "Lens", "health", [self.engine, position_id]))

    def open_positions(self) -> List[PositionView]:
        count = self.call(self.engine, "Engine", "vault_count")
        views = read_slots(self.rpc.call_many, self.lens, self.engine, slot_pages(count, MAX_PAGE))
        return [PositionView(*v) for v in views if v[3]]

    def totals(self) -> Totals:
        return Totals(*self.call(self.lens, "Lens", "totals", [self.engine]))

    def timestamp(self) -> int:
        return self.rpc.timestamp("latest")


# ---------------------------------------------------------------- reports

def _rows(rows) -> List[str]:
    width = max(len(k) for k, _ in rows)
    return [f"  {k:<{width}}  {v}" for k, v in rows]


def position_report(d: Deployment, position_id: int) -> str:
    """Engine.position, then Lens.health: what an operator asks about one
    position is nearly always both; a health the Lens refuses (a stale
    price) is said in its place rather than hiding the position."""
    v = d.position(position_id)
    mk = d.market(v.market_id)
    lines = [f"position {position_id} (slot {v.slot}, generation {position_id & GEN_MASK}): open"]
    lines += _rows([
        ("market", f"{d.market_name(v.market_id)}, {'long' if v.is_long else 'short'}"),
        ("owner", v.owner),
        ("vault", v.vault),
        ("size", d.amount(v.size)),
        ("collateral", d.amount(v.collateral)),
        ("entry price", usd(v.entry_price, mk.feed_decimals)),
        ("entry borrow index", f"{v.entry_index}"),
        ("max profit", f"{v.max_profit_bps} bps of size"),
        ("pool reserve", d.amount(v.reserve)),
    ])
    lines += ["", _health_lines(d, position_id, mk)]
    return "\n".join(lines)


def health_report(d: Deployment, position_id: int) -> str:
    v = d.position(position_id)
    return _health_lines(d, position_id, d.market(v.market_id), strict=True)


def _liquidation_price(h: Health, decimals: int) -> str:
    if h.liquidatable_at_any_price:
        return "none: liquidatable at every price"
    if h.liquidatable_at_no_price:
        return "none: liquidatable at no price"
    return usd(h.liquidation_price, decimals)


def _health_lines(d: Deployment, position_id: int, mk: Market, strict: bool = False) -> str:
    try:
        h = d.health(position_id)
    except CommandError as err:
        if strict:
            raise CommandError(f"position {position_id}: Lens.health refused: {err}", err.code) from None
        return f"health: unavailable, Lens.health refused: {err}"
    return "\n".join([f"health of position {position_id} (Lens.health, now):"] + _rows([
        ("price", usd(h.price, mk.feed_decimals)),
        ("pnl", d.amount(h.pnl)),
        ("borrow fee", d.amount(h.borrow_fee)),
        ("equity", d.amount(h.equity)),
        ("maintenance margin", d.amount(h.maintenance_margin)),
        ("liquidation price", _liquidation_price(h, mk.feed_decimals)),
        ("liquidatable", "yes" if h.liquidatable else "no"),
    ]))


def positions_report(d: Deployment) -> str:
    views = d.open_positions()
    lines = [f"{len(views)} open position(s)"]
    for v in views:
        mk = d.market(v.market_id)
        try:
            h = d.health(v.position_id)
            health = (f"equity {d.amount(h.equity)}, maintenance {d.amount(h.maintenance_margin)}, "
                      f"{'LIQUIDATABLE' if h.liquidatable else 'healthy'}")
        except CommandError as err:
            health = f"health refused: {err}"
        lines.append(f"  {v.position_id}  {mk.symbol} {'long' if v.is_long else 'short'}  owner {v.owner}")
        lines.append(f"      size {d.amount(v.size)}, collateral {d.amount(v.collateral)}, "
                     f"entry {usd(v.entry_price, mk.feed_decimals)}")
        lines.append(f"      {health}")
    return "\n".join(lines)


def totals_report(d: Deployment) -> str:
    t = d.totals()
    now = d.timestamp()
    lines = [f"totals (Lens.totals){': PAUSED' if t.paused else ''}"] + _rows([
        ("pool token balance", d.amount(t.pool_assets)),
        ("pool shares", units(t.pool_shares, d.share_decimals, d.share_symbol)),
        ("reserved for profits", d.amount(t.total_reserved)),
        ("insurance fund", d.amount(t.insurance_assets)),
        ("open positions", f"{t.open_positions}"),
        ("vault slots", f"{t.vault_count}"),
        ("markets", f"{t.market_count}"),
        ("paused", "yes" if t.paused else "no"),
    ])
    lines += ["", "pool (LiquidityPool views):"]
    pool = []
    for label, fn in (("value (totalAssets)", "totalAssets"), ("cash", "cash"), ("free assets", "free_assets")):
        pool.append((label, _or_refusal(lambda fn=fn: d.amount(d.call(d.pool, "LiquidityPool", fn)))))
    pool.append(("traders' claim (pool_liability)", _or_refusal(
        lambda: d.amount(d.call(d.pool, "LiquidityPool", "pool_liability")[0]))))
    lines += _rows(pool)
    for market_id in range(1, t.market_count + 1):
        mk = d.market(market_id)
        problem = oracle_error(mk.answer, mk.updated_at, mk.params.staleness, now)
        lines += ["", f"market {d.market_name(market_id)}:"] + _rows([
            ("feed", f"{mk.state.feed}, round {mk.round_id}"),
            ("price", usd(mk.answer, mk.feed_decimals) + (f"  REFUSED NOW: {problem}" if problem else "")),
            ("open interest long", d.amount(mk.state.oi_long)),
            ("open interest short", d.amount(mk.state.oi_short)),
            ("borrow index", f"{mk.state.borrow_index} (accrued at {mk.state.last_accrual})"),
            ("params", ", ".join(f"{f.name} {getattr(mk.params, f.name)}" for f in fields(mk.params))),
        ])
    return "\n".join(lines)


def _or_refusal(read) -> str:
    try:
        return read()
    except CommandError as err:
        return f"refused: {err}"
