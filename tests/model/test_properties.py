"""Property tests of the model alone.

Part 1: the pure rules of model/engine.py against exact rational arithmetic.
Part 2: a random market (harness/protocol/markets.py's parameters) driven through every
public entry point, with a snapshot before each call: a revert must change
nothing, a call about one position must not touch another position's record
or any balance but its vault's, the sender's, the pool's and insurance's,
and the protocol's accounting invariants must hold after every step.
"""
from fractions import Fraction
from math import ceil, floor

from hypothesis import example, given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.protocol.markets import MARKETS
from model import MarketParams, Position, Protocol, Revert
from model.risk import (BPS, INDEX_ONE, _average_entry, _borrow_fee, _capped_pnl, _fee, _liquidation_bounds,
                        _liquidation_price, _pnl,
                        _reserve, MAX_U128)

from .support import Trades, GUARDIAN, MAX_UINT256, OWNER, PRICE, T0, USDC, diff, snapshot

CHEAP = settings(max_examples=max(settings().max_examples, 500))

sizes = st.integers(1, 10**30)
prices = st.one_of(st.integers(1, 10**6), st.integers(1, 2**128 - 1))
bps = st.integers(0, 100_000)


# ---------------------------------------------------------------- part 1: the pure rules

@CHEAP
@given(amount=sizes, rate=bps)
def test_fees_round_up(amount, rate):
    assert _fee(amount, rate) == ceil(Fraction(amount * rate, BPS))
    assert _reserve(amount, rate) == floor(Fraction(amount * rate, BPS))


@CHEAP
@given(size=sizes, entry=prices, price=prices)
def test_pnl_is_the_floor_of_the_exact_value_for_both_sides(size, entry, price):
    # floor of a signed value: profits round down and losses round up.
    assert _pnl(True, size, entry, price) == floor(Fraction(size * (price - entry), entry))
    assert _pnl(False, size, entry, price) == floor(Fraction(size * (entry - price), entry))
    # so long + short of the same size never make money between them
    assert _pnl(True, size, entry, price) + _pnl(False, size, entry, price) in (0, -1)


@CHEAP
@given(size=sizes, start=st.integers(0, 2**127), elapsed=st.integers(0, 2**127))
def test_borrow_fee_rounds_up(size, start, elapsed):
    assert _borrow_fee(size, start, start + elapsed) == ceil(Fraction(size * elapsed, INDEX_ONE))


@CHEAP
@given(is_long=st.booleans(), size=sizes, entry=prices, delta=sizes, price=prices, later=prices)
def test_average_entry_never_gifts_pnl(is_long, size, entry, delta, price, later):
    # exact: the units size / entry add up
    exact = Fraction(size + delta) / (Fraction(size, entry) + Fraction(delta, price))
    new = _average_entry(is_long, size, entry, delta, price)
    if is_long:
        assert new == ceil(exact)
    else:
        assert new == floor(exact)
    assert min(entry, price) <= new <= max(entry, price)
    # At any later price the merged position is worth at most its two parts, exactly.
    parts = Fraction(size * (later - entry), entry) + Fraction(delta * (later - price), price)
    merged = _pnl(is_long, size + delta, new, later)
    assert merged <= (parts if is_long else -parts)


# 0.1x to 200x, and a borrow index from nothing to 100% of notional, so
# that both signs of slack (collateral less fees and maintenance) come up.
positions = st.builds(
    lambda is_long, size, lev_tenths, entry: Position(
        owner="x", market_id=1, is_long=is_long, max_profit_bps=100_000, generation=1, is_open=True,
        size=size, collateral=max(1, size * 10 // lev_tenths), entry_price=entry, entry_index=0),
    st.booleans(), st.integers(1, 10**18), st.integers(1, 2_000), st.integers(1, 10**14))


@CHEAP
@given(pos=positions, index=st.integers(0, 10**18), mm=st.integers(1, 10_000))
def test_liquidation_price_is_the_last_healthy_price(pos, index, mm):
    # Uncapped equity (the liquidation price ignores the profit cap).
    def healthy(price):
        equity = pos.collateral + _pnl(pos.is_long, pos.size, pos.entry_price, price) - _borrow_fee(
            pos.size, pos.entry_index, index)
        return equity >= _fee(pos.size, mm)

    liq = _liquidation_price(pos, index, mm)
    if pos.is_long:
        if liq == 0:
            assert healthy(1)            # no positive price liquidates it
        else:
            assert healthy(liq)
            assert liq == 1 or not healthy(liq - 1)
    else:
        if liq == 0:
            assert not healthy(1)        # no positive price is healthy
        else:
            assert healthy(liq) and not healthy(liq + 1)


capped_positions = st.builds(
    lambda is_long, size, lev_tenths, entry, cap: Position(
        owner="x", market_id=1, is_long=is_long, max_profit_bps=cap, generation=1, is_open=True,
        size=size, collateral=max(1, size * 10 // lev_tenths), entry_price=entry, entry_index=0),
    st.booleans(), st.integers(1, 10**18), st.integers(1, 2_000),
    # Entries near the feed's ceiling too, where a short's loss or a long's
    # needed gain runs out of prices.
    st.one_of(st.integers(1, 10**14), st.integers(2**120, MAX_U128)),
    st.one_of(st.integers(0, 20_000), st.sampled_from([0, 1, 10_000, 100_000])))


def _pos(is_long, size, collateral, entry, cap=100_000):
    return Position(owner="x", market_id=1, is_long=is_long, max_profit_bps=cap, generation=1, is_open=True,
                    size=size, collateral=collateral, entry_price=entry, entry_index=0)


@CHEAP
@given(pos=capped_positions, index=st.integers(0, 10**18), mm=st.integers(1, 10_000))
# The edges the uncapped, unbounded rule got wrong: a long healthy down to
# price 1 exactly (it named 1); a short healthy up to MAX_U128 and a long
# healthy only above it (it named prices no feed can give); a long and a
# short whose capped best is below maintenance (it named 3,100 and 900).
@example(pos=_pos(True, 100, 100, 100), index=0, mm=100)
@example(pos=_pos(False, 10**6, 2 * 10**6, 2**127), index=0, mm=100)
@example(pos=_pos(True, 10**6, 10**5, 2**127), index=2 * 10**18, mm=100)
@example(pos=_pos(True, 10**10, 10**9, 2_000 * 10**8, cap=5_000), index=6 * 10**17, mm=500)
@example(pos=_pos(False, 10**10, 10**9, 2_000 * 10**8, cap=5_000), index=6 * 10**17, mm=500)
def test_liquidation_bounds_say_where_liquidation_starts_with_the_cap(pos, index, mm):
    """Lens.health's rule (issue 9, finding 6): the price counts the profit
    cap, and 0 comes with a flag that says 'every price' or 'no price', over
    the prices a feed can give (1 to MAX_U128). The capped equity is monotone
    in the price (rising for a long, falling for a short), so the two ends
    and the two units either side of the named price decide every price."""
    def liquidatable(price):
        equity = pos.collateral + _capped_pnl(pos, price) - _borrow_fee(pos.size, pos.entry_index, index)
        return equity < _fee(pos.size, mm)

    liq, at_any, at_none = _liquidation_bounds(pos, index, mm)
    # The healthiest and the least healthy prices a feed can give.
    best, worst = (MAX_U128, 1) if pos.is_long else (1, MAX_U128)
    assert not (at_any and at_none) and (liq == 0) == (at_any or at_none)
    assert at_any == liquidatable(best)
    assert at_none == (not liquidatable(worst))
    if at_any or at_none:
        return
    # The last healthy price: one unit further (a long below, a short above) liquidates.
    further = liq - 1 if pos.is_long else liq + 1
    assert 1 <= further <= MAX_U128 and 1 <= liq <= MAX_U128
    assert not liquidatable(liq) and liquidatable(further)


# ---------------------------------------------------------------- part 2: a random market

TRADERS = ["t0", "t1", "t2", "t3"]
LPS = ["lp0", "lp1"]
KEEPERS = ["k0", "k1"]
STRANGER = "stranger"

amounts = st.one_of(st.integers(0, 50_000 * USDC), st.sampled_from([0, 1, 9 * USDC, 10 * USDC, 10 * USDC + 1]),
                    st.integers(50_000 * USDC, 2_000_000 * USDC))
# These opens should mostly succeed, or the rest of the machine has little
# to act on (open_anything tries the rest): collateral a trader would post,
# leverage as a percentage of the market's maximum.
collaterals = st.integers(20 * USDC, 20_000 * USDC)
leverage_of_max = st.integers(1, 95)
picks = st.integers(0, 2**16)
fractions_bps = st.one_of(st.integers(1, 10_000), st.sampled_from([1, 5_000, 9_999, 10_000]))
moves_bps = st.one_of(st.integers(-1_500, 1_500), st.integers(-9_000, 9_000))


class ModelMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        p = self.p = Protocol(deployer=OWNER, guardian=GUARDIAN, timestamp=T0)
        self.e = p.engine
        self.trades = Trades(p)
        self.feeds, self.markets = {}, {}
        for symbol, m in MARKETS.items():
            feed = p.add_feed(f"feed:{symbol}", m["decimals"], m["price"])
            self.feeds[symbol] = feed
            self.markets[symbol] = self.e.list_market(feed.address, m["params"], sender=OWNER)
        for who in [OWNER, STRANGER] + TRADERS + LPS:
            p.token.mint(who, 10_000_000 * USDC, sender=OWNER)
            p.token.approve(self.e.address, MAX_UINT256, sender=who)
            p.token.approve(p.orders.address, MAX_UINT256, sender=who)
            p.token.approve(p.pool.address, MAX_UINT256, sender=who)
        for lp in LPS:
            p.lp_deposit(lp, 1_000_000 * USDC)
        self.requests = []
        self.e.fund_insurance(10_000 * USDC, sender=OWNER)

    # ---------------------------------------------------------------- the one way in

    def call(self, fn, *args, sender, pid=None, seconds=1):
        """Run one call a block later; check what it may and may not change."""
        self.p.env.timestamp += seconds
        before = snapshot(self.p)
        try:
            out = fn(*args, sender=sender)
        except Revert:
            changed = diff(before, snapshot(self.p))
            assert not changed, f"a reverted {fn.__name__} changed {changed}"
            return None
        if pid is not None:
            self.check_isolation(pid, sender, before, snapshot(self.p))
        return out

    def check_isolation(self, pid, sender, before, after):
        slot = pid >> 32
        vault = self.e.vaults(slot)
        b_slots, a_slots = before["engine.slots_"], after["engine.slots_"]
        for s in set(b_slots) | set(a_slots):
            if s != slot:
                assert b_slots.get(s) == a_slots.get(s), f"acting on slot {slot} changed slot {s}"
        market = b_slots[slot].market_id
        b_st, a_st = before["engine._market_state"], after["engine._market_state"]
        for m in set(b_st) | set(a_st):
            if m != market:
                assert b_st.get(m) == a_st.get(m), f"acting on a market {market} position changed market {m}"
        allowed = {vault, sender, self.p.pool.address, self.e.INSURANCE}
        b_bal, a_bal = before["token.balanceOf"], after["token.balanceOf"]
        for holder in set(b_bal) | set(a_bal):
            if holder not in allowed:
                assert b_bal.get(holder, 0) == a_bal.get(holder, 0), f"acting on {pid} moved {holder}'s tokens"

    def pick(self, pick):
        ids = sorted(self.e.open_position_ids())
        if not ids or pick % 17 == 0:
            return (pick % 7 << 32) | (pick % 3)
        return ids[pick % len(ids)]

    def owner_of(self, pid):
        v = self.e.position(pid)
        return v.owner if v.is_open else STRANGER

    def oracle_ok(self, market_id):
        try:
            self.e._price(market_id)
            return True
        except Revert:
            return False

    # ---------------------------------------------------------------- traders

    @initialize(opens=st.lists(st.tuples(st.sampled_from(TRADERS), st.sampled_from(sorted(MARKETS)), st.booleans(),
                                         collaterals, leverage_of_max), min_size=3, max_size=8))
    def some_positions(self, opens):
        for args in opens:
            self.open_position(*args)

    @rule(trader=st.sampled_from(TRADERS), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          amount=collaterals, leverage=leverage_of_max)
    def open_position(self, trader, symbol, is_long, amount, leverage):
        # leverage is a percentage of the market's maximum, 10_000 / initial margin
        market = self.markets[symbol]
        size = amount * leverage * BPS // (100 * self.e.market_params(market).initial_margin_bps)
        pid = self.call(self.trades.open_position, market, is_long, size, amount, sender=trader)
        if pid is not None:
            v = self.e.position(pid)
            assert v.is_open and v.owner == trader and self.p.token.balanceOf[v.vault] == v.collateral

    @rule(trader=st.sampled_from(TRADERS), market=st.integers(0, 3), is_long=st.booleans(), size=amounts,
          amount=amounts)
    def open_anything(self, trader, market, is_long, size, amount):
        self.call(self.trades.open_position, market, is_long, size, amount, sender=trader)

    @rule(pick=picks, amount=amounts, by_owner=st.booleans())
    def add_collateral(self, pick, amount, by_owner):
        pid = self.pick(pick)
        self.call(self.e.add_collateral, pid, amount, sender=self.owner_of(pid) if by_owner else STRANGER, pid=pid)

    @rule(pick=picks, fraction=fractions_bps)
    def remove_collateral(self, pick, fraction):
        pid = self.pick(pick)
        amount = self.e.position(pid).collateral * fraction // BPS
        self.call(self.e.remove_collateral, pid, amount, sender=self.owner_of(pid), pid=pid)

    @rule(pick=picks, fraction=fractions_bps, collateral=st.one_of(st.just(0), amounts))
    def increase_position(self, pick, fraction, collateral):
        pid = self.pick(pick)
        delta = self.e.position(pid).size * fraction // BPS
        self.call(self.trades.increase_position, pid, delta, collateral, sender=self.owner_of(pid), pid=pid)

    @rule(pick=picks, fraction=fractions_bps)
    def decrease_position(self, pick, fraction):
        pid = self.pick(pick)
        delta = self.e.position(pid).size * fraction // BPS
        self.call(self.trades.decrease_position, pid, delta, sender=self.owner_of(pid), pid=pid)

    @rule(pick=picks, by_owner=st.booleans())
    def close_position(self, pick, by_owner):
        pid = self.pick(pick)
        owner = self.owner_of(pid) if by_owner else STRANGER
        vault = self.e.position(pid).vault
        held = self.p.token.balanceOf[owner]
        s = self.call(self.trades.close_position, pid, sender=owner, pid=pid)
        if s is not None:
            assert self.p.token.balanceOf[owner] - held == s.to_trader + s.from_pool
            assert self.p.token.balanceOf[vault] == 0

    # ---------------------------------------------------------------- keepers

    @rule(pick=picks, keeper=st.sampled_from(KEEPERS))
    def liquidate(self, pick, keeper):
        pid = self.pick(pick)
        v = self.e.position(pid)
        self.p.env.timestamp += 1
        predicted = v.is_open and self.oracle_ok(v.market_id) and self.e.health(pid).liquidatable
        out = self.call(self.e.liquidate, pid, sender=keeper, pid=pid, seconds=0)
        # health() is what keepers act on: it must agree with liquidate itself.
        assert (out is not None) == predicted

    @rule(keeper=st.sampled_from(KEEPERS))
    def liquidate_all_liquidatable(self, keeper):
        self.p.env.timestamp += 1
        for pid in sorted(self.e.open_position_ids()):
            if self.oracle_ok(self.e.position(pid).market_id) and self.e.health(pid).liquidatable:
                assert self.call(self.e.liquidate, pid, sender=keeper, pid=pid, seconds=0) is not None

    # ---------------------------------------------------------------- LPs, markets, time, governance

    @rule(lp=st.sampled_from(LPS), amount=amounts)
    def lp_request_deposit(self, lp, amount):
        rid = self.call(self.p.pool.requestDeposit, amount, lp, lp, sender=lp)
        if rid is not None:
            self.requests.append((rid, lp))

    @rule(lp=st.sampled_from(LPS), fraction=fractions_bps)
    def lp_request_redeem(self, lp, fraction):
        rid = self.call(self.p.pool.requestRedeem, self.p.pool.balanceOf(lp) * fraction // BPS, lp, lp, sender=lp)
        if rid is not None:
            self.requests.append((rid, lp))

    @rule(pick=st.integers(0, 7), refresh=st.booleans())
    def lp_execute(self, pick, refresh):
        if not self.requests:
            return
        rid, _ = self.requests[pick % len(self.requests)]
        if refresh:
            self.p.env.timestamp += 60
            self.p.refresh_feeds()
        self.call(self.p.pool.execute_request, rid, sender=KEEPERS[0])
        if self.p.pool.lp_requests[rid].amount == 0:
            self.requests.remove((rid, _))

    @rule(pick=st.integers(0, 7))
    def lp_cancel(self, pick):
        if not self.requests:
            return
        rid, lp = self.requests[pick % len(self.requests)]
        self.call(self.p.pool.cancel_request, rid, sender=lp)
        if self.p.pool.lp_requests[rid].amount == 0:
            self.requests.remove((rid, lp))

    @rule(symbol=st.sampled_from(sorted(MARKETS)), move=moves_bps)
    def move_price(self, symbol, move):
        feed = self.feeds[symbol]
        price = max(feed.answer, PRICE) * (BPS + move) // BPS
        self.call(feed.set_answer, max(price, 1), sender=OWNER)

    @rule(symbol=st.sampled_from(sorted(MARKETS)), fault=st.sampled_from(["zero", "negative", "stale"]))
    def oracle_fault(self, symbol, fault):
        feed = self.feeds[symbol]
        if fault == "stale":
            self.call(feed.set_round, feed.answer, self.p.env.timestamp - 4_000, sender=OWNER)
        else:
            self.call(feed.set_answer, 0 if fault == "zero" else -abs(feed.answer), sender=OWNER)

    @rule(seconds=st.one_of(st.integers(1, 600), st.integers(600, 3 * 86_400)), refresh=st.booleans())
    def time_passes(self, seconds, refresh):
        self.p.env.timestamp += seconds
        if refresh:   # the oracle's heartbeat: the same answer, fresh
            for feed in self.feeds.values():
                self.call(feed.set_answer, feed.answer, sender=OWNER, seconds=0)

    @rule(symbol=st.sampled_from(sorted(MARKETS)), im=st.integers(5, 3_000), mm_share=st.integers(0, 100),
          rate=st.integers(0, 400_000_000_000), max_profit=st.integers(0, 120_000), by_owner=st.booleans())
    def set_market_params(self, symbol, im, mm_share, rate, max_profit, by_owner):
        base = MARKETS[symbol]["params"]
        mm = im * mm_share // 100
        params = MarketParams(**{**base.__dict__, "initial_margin_bps": im, "maintenance_margin_bps": mm,
                                 "liquidation_fee_bps": min(base.liquidation_fee_bps, mm),
                                 "borrow_rate": rate, "max_profit_bps": max_profit})
        self.call(self.e.set_market_params, self.markets[symbol], params, sender=OWNER if by_owner else STRANGER)

    # One rule for the rarer calls, so that the market is not paused half the time.
    @rule(action=st.sampled_from(["pause", "unpause", "fund"]), who=st.sampled_from([GUARDIAN, OWNER, STRANGER]),
          amount=amounts)
    def admin(self, action, who, amount):
        if action == "pause":
            self.call(self.e.pause, sender=who)
        elif action == "unpause":
            self.call(self.e.unpause, sender=who)
        else:
            self.call(self.e.fund_insurance, amount, sender=who)

    @precondition(lambda self: self.e.open_positions > 0)
    @rule()
    def what_if_everyone_exits(self):
        """Inside a savepoint: liquidate what is liquidatable, close the rest
        where the oracle allows, then every LP takes out all it may. Nothing
        of it may remain afterwards."""
        before = snapshot(self.p)
        with self.p.journal.savepoint():
            self.p.env.timestamp += 1
            for pid in sorted(self.e.open_position_ids()):
                market = self.e.position(pid).market_id
                if not self.oracle_ok(market):
                    continue
                if self.e.health(pid).liquidatable:
                    self.e.liquidate(pid, sender=KEEPERS[0])
                else:
                    self.trades.close_position(pid, sender=self.e.position(pid).owner)
            if self.e.open_positions == 0:
                assert self.e.total_reserved == 0
        self.p.env.timestamp -= 1
        assert diff(before, snapshot(self.p)) == {}

    # ---------------------------------------------------------------- invariants

    @invariant()
    def accounting_holds(self):
        p, e = self.p, self.e
        bal = p.token.balanceOf
        assert sum(bal.values()) == p.token.totalSupply, "tokens not conserved"
        assert sum(p.pool.shares.balanceOf.values()) == p.pool.totalSupply(), "shares not conserved"
        assert bal[e.address] == 0, "the engine holds no tokens"
        assert bal[p.pool.address] >= e.total_reserved, "pool cannot pay reserved profit"
        open_slots, reserved, oi = 0, 0, {}
        for slot in range(1, e.vault_count + 1):
            pos = e.slots_[slot]
            vault = e.vaults(slot)
            if pos.is_open:
                open_slots += 1
                reserved += _reserve(pos.size, pos.max_profit_bps)
                key = (pos.market_id, pos.is_long)
                oi[key] = oi.get(key, 0) + pos.size
                assert bal[vault] == pos.collateral, f"vault {slot} holds {bal[vault]} for {pos.collateral}"
                assert 0 < pos.size <= 2**128 - 1 and pos.collateral <= 2**128 - 1
            else:
                assert bal[vault] == 0, f"free vault {slot} holds {bal[vault]}"
        assert e.open_positions == open_slots
        assert e.total_reserved == reserved
        for market in self.markets.values():
            st_ = e.market_state(market)
            assert (st_.oi_long, st_.oi_short) == (oi.get((market, True), 0), oi.get((market, False), 0))
        # the free list holds exactly the closed slots, each once
        free, slot = [], e.free_head
        while slot != 2**256 - 1:
            free.append(slot)
            slot = e.free_next[slot]
        assert sorted(free) == [s for s in range(1, e.vault_count + 1) if not e.slots_[s].is_open]
        assert len(set(e.vaults(s) for s in range(1, e.vault_count + 1))) == e.vault_count
        assert p.journal.depth == 0 and not p.journal.log


TestModelMachine = ModelMachine.TestCase
# At least this much whatever the profile: a run costs a few seconds.
TestModelMachine.settings = settings(max_examples=max(settings().max_examples, 200),
                                     stateful_step_count=max(settings().stateful_step_count, 50))
