"""Economic invariants, on the chain's own data (issue 8).

The twin proves model and chain compute the same thing; these prove what
they compute cannot be milked. Every figure below is read from the chain
(balances, shares, totalAssets, pool_liability, Lens.health, lp_requests);
the model's event log names which step settled bad debt, and the amounts
it gives are tied back to the chain's insurance balance before they count.

(1) An atomic bundle, no price change inside, never ends with its sender
    holding more than before, beyond the liquidation rewards the engine paid
    it in the bundle (a keeper's designed pay). Holdings: tokens, pool shares
    (its own and those escrowed in its redeem requests), deposit escrow, its
    pending orders' escrow and execution fee, and each open position at
    max(equity, 0) (Lens.health: a close pays at most that). Shares are
    valued at the pool's conversion *before* the bundle, for both sides: a
    share's price moving with the pool's income is yield on capital left at
    risk over blocks; what a bundle extracts shows up as more tokens or more
    shares. Allowed on the shares the bundle converts, at that rate: the
    borrow fees of the block's second (fee_accrual) and clamp limits (A) and
    (B) below; what it keeps through each is totalled in the table.

(2) Between two steps with no feed answer changed, no action lowers the
    value of a pool share, (totalAssets + 1) / (totalSupply + 10**6), by more
    than the step's bad debt past the insurance fund plus ROUNDING_PER_CHANGE
    per position change, plus clamp limits (A) and (B). Compared by
    cross-multiplication:
        (V1 + 1 + A) * (S0 + 10**6) >= (V0 + 1) * (S1 + 10**6)
    The bound: a deposit mints floor(a*S'/(V+1)) shares and a redeem pays
    floor(s*(V+1)/S'), both in the pool's favour: 0. Each position opened,
    resized or closed moves its side's aggregates by its own exact terms but
    the valuation rounds them: ceil(price*U/1e30) moves by at most
    price*u/1e30 + 1, which is the position's size +- (1 + ceil(price/1e30))
    = 2 at today's prices (price < 1e30), and floor((index*S - W)/1e18) by at
    most 1 against the fee the engine settles. Clamps are 1-Lipschitz, so 3
    per change. Time passing only accrues fees, which lower every claim.
    Changes a bundle makes inside one transaction count each.
    A is that rounding plus sum(bad_debt - insurance_cover) of the step's
    PositionClosed and PositionLiquidated events plus the clamp limits.

Known limits of the valuation (exposure.vy clamps per side, not per
position; contracts unchanged, test_attackers.py characterises each with
its figure). Both are bounded by clamp_terms from the chain's positions:
how far each is past its own clamp at the window's start (side_clamps)
and the reserve the window's opens and increases added:
(A) a side past its reserve cap is valued at the cap; an open (or increase)
    on it raises the cap by its reserve while its own pnl is 0, so the pool
    is valued lower by up to min(reserve added, the side's profit past its
    caps) for as long as the position is open: shares minted meanwhile are
    cheap (a bundle that fills its own open and executes its deposit).
(B) a bankrupt unliquidated position's loss past its collateral nets
    against its side's profits and collateral: the pool is valued higher by
    up to that loss, and a close next to it lowers the share value by as
    much with no bad debt settled.
    Why that loss at the window's start is all (2) needs, time passing
    included. Per side, with x_i = pnl_i - fee_i and c_i = max(min(pnl_i,
    R_i) - fee_i, -C_i) (a position's own claim, the README's liability
    bound), V* = cash - sum c_i values the pool position by position. With
    no price change V* falls by nothing but bad debt past insurance: a
    close, decrease or liquidation moves cash by the claim it removes
    (fees to the pool aside), an open adds a claim of 0, and time only
    adds borrow fees, lowering every c_i. The pool's value V differs from
    V* by sum c_i - clamp(sum x_i, -C, R), which lies in [-up, down] with
    down = sum max(c_i - x_i, 0) (loss past collateral, side_clamps' third
    term) and up = sum max(x_i - c_i, 0) (profit past reserves). So
        V1 - V0 >= (V1* - V0*) - (V0 - V0*) + (V1 - V1*) >= -past - down0 - up1:
    (B) is down0, the netting the pool's value held at the window's start,
    and must be read at the time that value was read (chain_clamps: the
    node's call time, which on ape is not the last block's or the twin's
    clock; on ape's test chain a read runs at the pending block's time less
    a second). A position a wait inside the window makes bankrupt (borrow
    fees past its collateral, no price change) needs no term: its netting
    is in V1 - V1* >= 0, on the pool's side. up1 is what (A) bounds.

(3) Every executed order filled at a round with updatedAt > its request
    time: requested_at read from the chain's order book when the request
    lands, the fill's round from the chain's feed right after the
    execution's transaction (check_fills, after every transaction).

(4) Every pending LP request can be cancelled by its owner now, and executed
    after the delay and a fresh round of every feed, or else refused only for
    a documented reason that leaves it pending (what-ifs, rolled back).
    Every step in process (revm); every WHAT_IF_EVERY_ON_A_NODE-th step on
    a node's fast path and every WHAT_IF_EVERY_THROUGH_APE-th through ape,
    where these what-ifs were a third and most of the time.

(1)-(4) run in every example on the fast paths and, through ape, in the
examples whose attackers act (adversaries.ATTACKERS_EVERY_THROUGH_APE);
the test's table says how many.
"""
from dataclasses import dataclass
from typing import Optional

from hypothesis.stateful import invariant

from model.orders import CLOSE
from model.pool import LP_REQUEST_DELAY, VIRTUAL_SHARES

from ..chains.chain import ChainError
from .invariants import InvariantBreach, _open_positions
from .world import refresh_feeds

ROUNDING_PER_CHANGE = 3
# (4)'s what-ifs run every how many steps, by backend (check_economics).
WHAT_IF_EVERY_THROUGH_APE = 5
WHAT_IF_EVERY_ON_A_NODE = 3
POSITION_EVENTS = ("PositionOpened", "PositionIncreased", "PositionDecreased", "PositionClosed",
                   "PositionLiquidated")
# Why an execution may refuse a request and leave it pending, still cancellable.
EXECUTE_REFUSALS = {"pool: assets reserved for open positions", "pool: zero shares", "pool: zero assets",
                    "oracle: price not positive", "pool: paused, executions wait"}


class EconomicBreach(InvariantBreach):
    what = "economic invariant"


@dataclass
class Holdings:
    tokens: int
    shares: int
    escrow: int
    positions: int
    rate: Optional[tuple]     # (totalAssets + 1, totalSupply + VIRTUAL_SHARES) valuing the shares
    valued: bool

    @property
    def share_value(self) -> int:
        return self.shares * self.rate[0] // self.rate[1] if self.rate else 0

    @property
    def total(self) -> int:
        return self.tokens + self.share_value + self.escrow + self.positions


# Reads here come from the twin's state read where it has them (balances,
# shares, the pool's share supply and request count: one cached batch a
# step, see Twin.cache_reads) and otherwise in one call_many per kind: on a
# node that is one round trip, and the attackers' checks read around every
# bundle.

def pool_rate(twin, assets: Optional[int] = None) -> Optional[tuple]:
    """The pool's own conversion, from the chain (`assets`: its totalAssets,
    when just read): None while a feed is not positive."""
    if assets is None:
        try:
            assets = twin.chain.call(twin.deployment.pool, "LiquidityPool", "totalAssets", [])
        except ChainError:
            return None
    return assets + 1, twin.read_chain().totals[1] + VIRTUAL_SHARES      # Lens.totals' pool_shares


def chain_requests(twin) -> dict:
    """request id -> LpRequest tuple (is_deposit, owner, controller, amount,
    requested_at), every pending request on chain."""
    pool = twin.deployment.pool
    ids = list(range(1, twin.read_chain().request_count + 1))
    rows = twin.chain.call_many([(pool, "LiquidityPool", "lp_requests", [i]) for i in ids])
    return {i: r for i, r in zip(ids, rows) if r[3]}


def holdings(twin, who: str, rate=None) -> Holdings:
    c, d, state = twin.chain, twin.deployment, twin.read_chain()
    rate = rate if rate is not None else pool_rate(twin)
    tokens = state.balances[who] if who in state.balances else c.call(d.token, "MockUSDC", "balanceOf", [who])
    shares = state.shares[who] if who in state.shares else c.call(d.pool, "LiquidityPool", "balanceOf", [who])
    escrow = 0
    for is_deposit, owner, _, amount, _ in chain_requests(twin).values():
        if owner == who:
            if is_deposit:
                escrow += amount
            else:
                shares += amount
    # Its pending orders: escrow and fee come back to it, or become a position
    # and the keeper's pay. Which ids are pending is the model's (the twin
    # compares the order book); the amounts are the chain's.
    ids = twin.model.orders.pending_ids()
    if ids:
        fee, *orders = c.call_many([(d.orders, "OrderBook", "EXECUTION_FEE", [])] +
                                   [(d.orders, "OrderBook", "orders", [i]) for i in ids])
        for o in orders:
            if o[0] == who:
                # A close escrows no fee: its keeper is paid out of the payout.
                escrow += o[6] + (fee if o[1] != CLOSE else 0)
    # Payouts the book holds for it (the token refused its receiver).
    held = [k for k, v in twin.model.orders.claimable.items() if v and k[0] == who]
    if held:
        escrow += sum(c.call_many([(d.orders, "OrderBook", "claimable", list(k)) for k in held]))
    valued = rate is not None
    positions = 0
    own = [v[0] for v in state.slots if v[3] and v[4] == who]
    try:
        healths = c.call_many([(d.lens, "Lens", "health", [d.engine, pid]) for pid in own])
    except ChainError:           # a faulty feed: ask position by position which still have a value
        healths = []
        for pid in own:
            try:
                healths.append(c.call(d.lens, "Lens", "health", [d.engine, pid]))
            except ChainError:   # this position has no value now
                valued = False
    for h in healths:
        positions += max(h[3], 0)
    return Holdings(tokens, shares, escrow, positions, rate, valued)


def fee_accrual(twin, seconds: int) -> int:
    """An upper bound on the pool's value growth from borrow fees alone from
    the time a read runs at now (chain.call_timestamp) to the transaction
    `seconds` after the twin's clock, from the chain's market states and
    exposures: per side ceil(d_index * S / INDEX_ONE) + 1 (the valuation
    floors its fees). The two times differ by a wait the chain has not seen
    yet (time_passes, then a bundle) and, on ape's test chain, by a second."""
    from model.markets import index_at
    from model.risk import INDEX_ONE
    state, read_at, at = twin.read_chain(), twin.read_time(), twin.clock + seconds
    growth = 0
    for m, (ms, params, sides) in enumerate(zip(state.market_states, state.market_params, state.exposures)):
        _, _, _, borrow_index, last_accrual = ms
        rate = params[8]
        d_index = (index_at(borrow_index, last_accrual, rate, max(at, read_at))
                   - index_at(borrow_index, last_accrual, rate, read_at))
        for side in sides:
            growth += -(-d_index * side[0] // INDEX_ONE) + 1
    return growth


def side_clamps(state, prices, timestamp: int) -> dict:
    """Per (market_id, is_long), from the chain's positions: (reserve, past
    the cap, past the collateral) = (sum R_i, sum max(pnl_i - fee_i - R_i, 0),
    sum max(-C_i - (pnl_i - fee_i), 0)): how far each position is past its
    own clamp, totalled per side, which is all the per-side clamp of
    exposure.vy can net."""
    from model.markets import index_at
    from model.risk import _borrow_fee, _pnl, _reserve
    sides = {}
    for pos in _open_positions(state):
        m = pos.market_id - 1
        _, _, _, borrow_index, last_accrual = state.market_states[m]
        index = index_at(borrow_index, last_accrual, state.market_params[m][8], timestamp)
        raw = _pnl(pos.is_long, pos.size, pos.entry_price, prices[m]) - _borrow_fee(pos.size, pos.entry_index, index)
        reserve = _reserve(pos.size, pos.max_profit_bps)
        r, up, down = sides.get((pos.market_id, pos.is_long), (0, 0, 0))
        sides[(pos.market_id, pos.is_long)] = (r + reserve, up + max(raw - reserve, 0),
                                               down + max(-pos.collateral - raw, 0))
    return sides


def reserve_added(model, events) -> dict:
    """(market_id, is_long) -> reserve the events' opens and increases added,
    each at its own figures (a position opened and closed again inside the
    window counts: its reserve moved the cap while it was open)."""
    from model.risk import _reserve
    added = {}
    for e in events:
        ev, name = e.event, type(e.event).__name__
        if name == "PositionOpened":
            key, r = (ev.market_id, ev.is_long), _reserve(ev.size, ev.max_profit_bps)
        elif name == "PositionIncreased":
            opened = next(o.event for o in model.events_since(0, "PositionOpened")
                          if o.event.position_id == ev.position_id)
            key = (opened.market_id, opened.is_long)
            r = _reserve(ev.size, ev.max_profit_bps) - _reserve(ev.size - ev.size_delta, ev.max_profit_bps)
        else:
            continue
        added[key] = added.get(key, 0) + max(r, 0)
    return added


def clamp_terms(before: dict, added: dict) -> tuple:
    """(A, B): the most the per-side clamp can lower the pool's value over a
    window with no price change and no bad debt, from side_clamps at its
    start and reserve_added over it.
    (A) a side past its reserve cap claims min(sum pnl - fees, sum R): new
        reserve on it (an open, an increase) raises the claim by up to the
        reserve added, at most the side's profit past the caps at the start
        (a position is not past its cap when it fills, and with no price
        change none gets past it inside the window).
    (B) a bankrupt position's loss past its own collateral nets against its
        side's profits and collateral: a step that removes what it nets
        against (a close next to it) lowers the value by up to that loss
        (one a wait makes bankrupt inside the window raises the value
        instead: the module docstring's (B) says why).
    Each per side, + 2 per side for the valuation's rounding."""
    a = b = 0
    for key, (_, up0, down0) in before.items():
        if up0 and added.get(key):
            a += min(added[key], up0) + 2
        if down0:
            b += down0 + 2
    return a, b


def settled_bad_debt(events) -> tuple:
    """(sum bad_debt - insurance_cover, sum insurance_cover, sum insurance_cut,
    position changes) over model events."""
    past, cover, cut, changes = 0, 0, 0, 0
    # A liquidation that found its vault frozen keeps its settlement in its
    # event, but its vault paid nobody: no insurance cut arrived.
    frozen = {e.event.position_id for e in events if type(e.event).__name__ == "VaultFrozen"}
    for e in events:
        name = type(e.event).__name__
        if name in POSITION_EVENTS:
            changes += 1
        if name in ("PositionClosed", "PositionLiquidated"):
            past += e.event.bad_debt - e.event.insurance_cover
            cover += e.event.insurance_cover
        if name == "PositionLiquidated" and e.event.position_id not in frozen:
            cut += e.event.insurance_cut
    return past, cover, cut, changes


class EconomicChecks:
    """Mixed into ProtocolMachine (through adversaries.AdversaryRules)."""

    _watch = None

    # ---- (1) atomic bundles

    def check_bundle(self, attack, who, before: Holdings, after: Holdings, mark, accrual: int = 0,
                     clamps=None) -> None:
        """`accrual`: how much the pool's value grows by borrow fees alone
        between the block `before` was read in and the bundle's (the
        conversions inside the bundle happen at that later value).
        `clamps`: side_clamps before the bundle; the shares it converts may
        be priced off by clamp limits (A) and (B) over the bundle, each
        allowed on exactly the shares moved and counted in the table."""
        events = self.model.events_since(mark, "PositionLiquidated")
        rewards = sum(e.event.reward for e in events if e.event.liquidator == who)
        moved = abs(after.shares - before.shares)
        a, b = (clamp_terms(clamps, reserve_added(self.model, self.model.events_since(mark)))
                if clamps is not None else (0, 0))
        drift = -(-moved * (accrual + a + b) // before.rate[1]) if moved else 0
        gain = after.total - before.total
        if moved and gain > rewards:
            # What the bundle kept beyond its rewards, attributed accrual first, then (A), then (B).
            left = gain - rewards - (-(-moved * accrual // before.rate[1]))
            share_a = min(max(left, 0), -(-moved * a // before.rate[1]) if a else 0)
            share_b = min(max(left - share_a, 0), -(-moved * b // before.rate[1]) if b else 0)
            bt = self.stats.setdefault("bundles", {"(A) kept": 0, "(B) kept": 0})
            bt["(A) kept"] += share_a
            bt["(B) kept"] += share_b
        if gain > rewards + drift:
            raise EconomicBreach(self.twin.step, f"{attack}: the bundle ended holding {after.total - before.total} "
                                                 f"more than before (rewards {rewards}):\n  before {before}\n"
                                                 f"  after  {after}")

    # ---- (2) share value

    def _share_watch_point(self):
        t, d = self.twin, self.twin.deployment
        addresses = [a for _, a in sorted(d.feeds.items())]
        rounds = [(a, "MockAggregator", "latestRoundData", []) for a in addresses]
        try:        # the feeds and the pool's value in one batch
            *rounds, assets = t.chain.call_many(rounds + [(d.pool, "LiquidityPool", "totalAssets", [])])
            rate = pool_rate(t, assets)
        except ChainError:      # a feed is not positive: no value to compare
            rounds, rate = t.chain.call_many(rounds), None
        feeds = [r[1] for r in rounds]
        answers = dict(zip(addresses, feeds))
        insurance = t.read_chain().totals[3]          # Lens.totals' insurance_assets
        return dict(rate=rate, feeds=feeds, events=self.model.events_mark(), step=t.step,
                    insurance=insurance, clamps=self.chain_clamps(answers))

    def chain_clamps(self, answers=None):
        """side_clamps of the chain's positions, at the time the pool's value
        read next to it runs at (chain.call_timestamp: the borrow fees in a
        bankrupt position's loss are those totalAssets saw, not those of the
        last block or of the twin's clock, which a wait has moved on); None
        while a feed is not positive. `answers`: feed address -> latest
        answer, when the caller has just read them."""
        t = self.twin
        state = t.read_chain()
        answers = answers or {}
        prices = [answers[ms[0]] if ms[0] in answers else
                  t.chain.call(ms[0], "MockAggregator", "latestRoundData", [])[1] for ms in state.market_states]
        if any(p <= 0 for p in prices):
            return None
        return side_clamps(state, prices, t.read_time())

    def check_share_value(self, strict: bool = False) -> None:
        """`strict` leaves the side-clamp netting out of the allowance: the
        rule as the issue states it, which the finding breaks."""
        now = self._share_watch_point()
        prev, self._watch = self._watch, now
        if prev is None or prev["feeds"] != now["feeds"] or prev["rate"] is None or now["rate"] is None:
            return
        events = self.model.events_since(prev["events"])
        past, cover, cut, changes = settled_bad_debt(events)
        funded = sum(e.event.amount for e in events if type(e.event).__name__ == "InsuranceFunded")
        # The model's figures count only if the chain's insurance vault moved by exactly them.
        if now["insurance"] - prev["insurance"] != funded + cut - cover:
            raise EconomicBreach(self.twin.step, f"insurance moved {now['insurance'] - prev['insurance']} on chain, "
                                                 f"the step's events say {funded + cut - cover}")
        (v0, s0), (v1, s1) = prev["rate"], now["rate"]
        # How far the share value fell, in assets at the new supply.
        drop = max((v0 * s1 - v1 * s0 + s0 - 1) // s0, 0)
        # Known limits of the per-side clamp (clamp_terms; test_attackers.py
        # reproduces each): the fall beyond bad debt and rounding is allowed
        # only as far as (A) and (B), bounded from the chain's positions at
        # the window's start and the reserve it added, explain it. Bounded
        # by the fall itself, not by the clamp's netting at the end: a
        # bundle can open past the cap, convert shares and close again
        # inside one window, leaving no netting behind but the transfer.
        base = past + ROUNDING_PER_CHANGE * changes
        term_a = term_b = 0
        if not strict and prev["clamps"] is not None:
            a, b = clamp_terms(prev["clamps"], reserve_added(self.model, events))
            term_a = min(max(drop - base, 0), a)
            term_b = min(max(drop - base - term_a, 0), b)
        allowance = base + term_a + term_b
        self.stats.setdefault("share value", {"checked": 0, "bad debt past insurance": 0, "worst drop": 0})
        sv = self.stats["share value"]
        sv["checked"] += 1
        sv["bad debt past insurance"] += past
        sv["(A) new reserve past a cap"] = sv.get("(A) new reserve past a cap", 0) + term_a
        sv["(B) bankrupt loss netted, unwound"] = sv.get("(B) bankrupt loss netted, unwound", 0) + term_b
        sv["worst drop"] = max(sv["worst drop"], drop - past)
        if (v1 + allowance) * s0 < v0 * s1:
            raise EconomicBreach(self.twin.step, f"a pool share lost value with no price change: "
                                                 f"(totalAssets+1, supply+1e6) {prev['rate']} -> {now['rate']}, "
                                                 f"allowance {allowance} (bad debt past insurance {past}, clamp terms A {term_a} B {term_b}, "
                                                 f"{changes} position changes), steps {prev['step']}..{self.twin.step}: "
                                                 f"{[type(e.event).__name__ for e in events]}")

    # ---- (3) every fill at a round after its request

    def check_fills(self, mark) -> None:
        """After each transaction: orders it requested have their requested_at
        read from the chain's order book; orders it executed are checked
        against the chain's feed: the round they filled at (the feed's latest,
        nothing publishes inside a transaction of the machine's) must have
        updatedAt > requested_at. The model's events name which orders."""
        t, d = self.twin, self.twin.deployment
        if not hasattr(self, "_requested"):
            self._requested = {}
        events = self.model.events_since(mark, "OrderRequested", "OrderExecuted")
        executed = {e.event.order_id for e in events if type(e.event).__name__ == "OrderExecuted"}
        at_once = set()        # requested and filled here, allowed: its execution is checked already
        for e in events:
            oid = e.event.order_id
            if type(e.event).__name__ == "OrderRequested":
                o = t.chain.call(d.orders, "OrderBook", "orders", [oid])
                if int(o[0], 16) == 0:
                    # Gone from the book in the transaction that requested it:
                    # a fill there is the breach, but for a close on a dead
                    # feed (no round comes); a cancellation (a refusal that
                    # is not "not yet") is allowed.
                    if oid in executed:
                        r = e.event
                        # The position is closed by now: its slot still names its market.
                        market = r.market_id or self.engine._read(r.position_id >> 32).market_id
                        if not self._at_last_good_price(r.kind, market):
                            raise EconomicBreach(t.step, f"order {oid} filled in the transaction that requested it")
                        at_once.add(oid)
                    continue
                # A request on no open position is accepted; its execution cancels it.
                market = o[2] or next((v[5] for v in t.read_chain().slots if v[0] == o[3] and v[3]), None)
                self._requested[oid] = (o[8], market, o[1])
                continue
            if oid in at_once:
                continue
            if oid not in self._requested:
                raise EconomicBreach(t.step, f"order {oid} executed, its request never seen on chain")
            requested_at, market, kind = self._requested.pop(oid)
            if market is None:
                raise EconomicBreach(t.step, f"order {oid} on no open position executed")
            feed = t.read_chain().market_states[market - 1][0]
            updated_at = t.chain.call(feed, "MockAggregator", "latestRoundData", [])[3]
            fills = self.stats.setdefault("fills (3)", {"checked": 0, "least rounds gap (s)": None})
            fills["checked"] += 1
            if updated_at <= requested_at and self._at_last_good_price(kind, market):
                continue
            gap = updated_at - requested_at
            if fills["least rounds gap (s)"] is None or gap < fills["least rounds gap (s)"]:
                fills["least rounds gap (s)"] = gap
            if updated_at <= requested_at:
                raise EconomicBreach(t.step, f"order {oid} filled at a round of {updated_at}, requested at "
                                             f"{requested_at}")

    def _at_last_good_price(self, kind, market) -> bool:
        """Whether a fill of this order kind on this market may take a round
        from before its request: a close on a dead feed settles at the last
        good price by design (markets._trade_price), once the fallback has
        started; counted apart."""
        start = self.model.engine.fallback_starts(market) if market else None
        if kind != CLOSE or start is None or self.model.env.timestamp < start:
            return False
        fills = self.stats.setdefault("fills (3)", {"checked": 0, "least rounds gap (s)": None})
        fills["at the last good price"] = fills.get("at the last good price", 0) + 1
        return True

    # ---- (4) pending LP requests

    def check_pending_requests(self) -> None:
        t = self.twin
        for rid, (is_deposit, owner, controller, amount, _) in sorted(chain_requests(t).items()):
            # The token's faults (token_faults.py) trap what moves tokens
            # to or from a blacklisted party, or anything while it is paused.
            parties = [owner, controller, t.deployment.pool, self.world.stranger]
            with t.what_if():
                o = self._cancel_as(owner, rid)
                if not o.ok and not self.accept_trapped(o, parties):
                    raise EconomicBreach(t.step, f"LP request {rid} cannot be cancelled by its owner: {o.reason}")
                t.check()       # the state the what-if reached, not only its outcome
            with t.what_if():
                t.wait(LP_REQUEST_DELAY)
                refresh_feeds(t)
                o = self.send("pool", "execute_request", [rid], self.world.stranger)
                if not o.ok and self.accept_trapped(o, parties):
                    continue
                if not o.ok and o.reason not in EXECUTE_REFUSALS:
                    raise EconomicBreach(t.step, f"LP request {rid} cannot be executed: {o.reason}")
                t.check()
                if not o.ok:
                    again = self._cancel_as(owner, rid)
                    if not again.ok and not self.accept_trapped(again, parties):
                        raise EconomicBreach(t.step, f"LP request {rid} refused ({o.reason}) and then cannot be "
                                                     f"cancelled: {again.reason}")

    def _cancel_as(self, owner, rid):
        return self.send("pool", "cancel_request", [rid], owner)

    def chain_liability(self):
        try:
            return self.twin.chain.call(self.twin.deployment.pool, "LiquidityPool", "pool_liability", [])[0]
        except ChainError:
            return None

    @invariant()
    def check_economics(self) -> None:
        """The machine's per-step hook, in the examples whose attackers act
        (adversaries.ATTACKERS_EVERY_THROUGH_APE): (2) every step, (4) every
        step in process (revm), every WHAT_IF_EVERY_ON_A_NODE-th step on a
        node over JSON-RPC and every WHAT_IF_EVERY_THROUGH_APE-th through
        ape. (4)'s what-ifs cost a wait, a round of every feed and two
        transactions and two snapshots per pending request: on anvil a third
        of the fast path's time, through ape most of the pass's. A request
        that stays pending is still checked at the next sampled step, and
        the fast path in process checks every step."""
        if not self.attackers_on:
            return
        self.check_share_value()
        self._econ_steps = getattr(self, "_econ_steps", 0) + 1
        name = self.twin.chain.name
        every = (WHAT_IF_EVERY_THROUGH_APE if name.startswith("ape") else
                 WHAT_IF_EVERY_ON_A_NODE if name.startswith("rpc") else 1)
        if self._econ_steps % every:
            return
        self.stats["pending checks (4)"] = self.stats.get("pending checks (4)", 0) + 1
        self.in_what_if = True
        try:
            self.check_pending_requests()
        finally:
            self.in_what_if = False


def attack_table(stats: dict) -> str:
    rows = []
    if "examples" in stats:
        rows.append(f"  attackers and economic checks in {stats['examples with attackers']} of {stats['examples']} "
                    f"examples; pending-request what-ifs (4) at {stats.get('pending checks (4)', 0)} steps")
    for name, a in sorted(stats.get("attacks", {}).items()):
        outcomes = ", ".join(f"{r}: {n}" for r, n in sorted(a["outcomes"].items(), key=lambda kv: -kv[1]))
        gain = (f"gain total {a['gain']} best {a['best']} over {a['valued']} valued" if a["valued"]
                else "no valued outcome")
        rows.append(f"  {name:40s} tried {a['tried']:5d}  {gain}\n      {outcomes}")
    fills = stats.get("fills (3)")
    if fills:
        rows.append(f"  fills (3): {fills['checked']} executed orders, each at a round after its request "
                    f"(least gap {fills['least rounds gap (s)']} s) or a close at a dead feed's last good price "
                    f"({fills.get('at the last good price', 0)})")
    sv = stats.get("share value")
    if sv:
        rows.append(f"  share value (2): {sv['checked']} steps compared, bad debt past insurance "
                    f"{sv['bad debt past insurance']}, clamp limit (A) {sv.get('(A) new reserve past a cap', 0)}, "
                    f"(B) {sv.get('(B) bankrupt loss netted, unwound', 0)}, worst drop beyond bad debt {sv['worst drop']}")
    bt = stats.get("bundles")
    if bt:
        rows.append(f"  bundles (1): kept through clamp limit (A) {bt['(A) kept']}, (B) {bt['(B) kept']}")
    return "\n".join(rows)
