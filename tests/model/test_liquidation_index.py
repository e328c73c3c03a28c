"""model/liquidation_index.py against the full scan it replaces.

A random two-market world (one with a small profit cap, one with a borrow
rate that drifts fast) is traded, priced, left to wait for up to a month,
re-parameterised and liquidated, with what-ifs rolled back in between; after
every step each index (a horizon of 0, a minute and the default) must name
exactly the positions, with the same shortfalls in the same order, that the
full scan names: harness.keeper.health.liquidatable over every open
position, the rule the drills used before the index.
"""
from dataclasses import replace

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from harness.keeper.health import liquidatable as full_scan, model_market_view, open_positions
from model import Revert
from model.markets import MAX_BORROW_RATE
from model.risk import _liquidation_bounds
from model.liquidation_index import DEFAULT_HORIZON, LiquidationIndex, views_at

from .support import ALICE, BOB, CAROL, KEEPER, OWNER, P0, SIMPLE, USDC, make_world

TRADERS = (ALICE, BOB, CAROL)
WAITS = st.sampled_from([1, 7, 60, 3_600, 86_400, 7 * 86_400, 30 * 86_400])


class IndexMachine(RuleBasedStateMachine):

    @initialize(cap=st.sampled_from([1, 50, 300, 30_000]), fast_rate=st.sampled_from([10**9, 10**11, MAX_BORROW_RATE]))
    def setup(self, cap, fast_rate):
        # The first market caps profit hard, so positions sit at or near the
        # cap; the second's fee moves liquidation prices within hours.
        w = self.w = make_world(params=replace(SIMPLE, max_profit_bps=cap, oi_cap=10**15), lp_deposit=10**9 * USDC,
                                mint=10**10 * USDC)
        feed2 = w.p.add_feed("feed:BTC", 8, 30_000 * 10**8)
        self.feeds = {w.market: w.feed}
        m2 = w.engine.list_market(feed2.address, replace(SIMPLE, maintenance_margin_bps=300, oi_cap=10**15,
                                                        borrow_rate=fast_rate), sender=OWNER)
        self.feeds[m2] = feed2
        self.indexes = [LiquidationIndex(w.engine, h) for h in (0, 60, DEFAULT_HORIZON)]
        self.ids = []

    @property
    def e(self):
        return self.w.engine

    def _open_ids(self):
        return [pid for pid in self.ids if self.e.position(pid).is_open]

    # ------------------------------------------------------------ trades

    @rule(market=st.sampled_from([1, 2]), is_long=st.booleans(), collateral=st.integers(10, 20_000),
          lev_tenths=st.integers(5, 100), who=st.sampled_from(TRADERS))
    def open(self, market, is_long, collateral, lev_tenths, who):
        size = collateral * USDC * lev_tenths // 10
        try:
            self.ids.append(self.w.trades.open_position(market, is_long, size, collateral * USDC + size // 500,
                                                        sender=who))
        except Revert:
            pass

    @precondition(lambda self: self._open_ids())
    @rule(data=st.data(), kind=st.sampled_from(["add", "remove", "increase", "decrease", "close"]),
          frac=st.integers(1, 99))
    def change(self, data, kind, frac):
        pid = data.draw(st.sampled_from(self._open_ids()))
        v = self.e.position(pid)
        t = self.w.trades
        try:
            if kind == "add":
                self.e.add_collateral(pid, v.collateral * frac // 100 + 1, sender=v.owner)
            elif kind == "remove":
                self.e.remove_collateral(pid, v.collateral * frac // 100 + 1, sender=v.owner)
            elif kind == "increase":
                t.increase_position(pid, v.size * frac // 50 + 1, v.collateral * frac // 200, sender=v.owner)
            elif kind == "decrease":
                t.decrease_position(pid, v.size * frac // 100 + 1, sender=v.owner)
            else:
                t.close_position(pid, sender=v.owner)
        except Revert:
            pass

    @rule(how_many=st.integers(1, 5))
    def liquidate(self, how_many):
        for pid, _ in self._full(self.w.p.env.timestamp)[:how_many]:
            self.e.liquidate(pid, sender=KEEPER)

    # ------------------------------------------------------------ prices, time, parameters

    @rule(market=st.sampled_from([1, 2]), move_bps=st.integers(-4_000, 4_000))
    def move_price(self, market, move_bps):
        feed = self.feeds[market]
        feed.set_answer(max(1, feed.answer * (10_000 + move_bps) // 10_000), sender=OWNER)

    @rule(seconds=WAITS, refresh=st.booleans())
    def wait(self, seconds, refresh):
        # Without a fresh round the oracle goes stale: nothing is liquidatable.
        self.w.wait(seconds)
        if refresh:
            for feed in self.feeds.values():
                feed.set_answer(feed.answer, sender=OWNER)

    @rule(market=st.sampled_from([1, 2]), mm=st.sampled_from([100, 300, 500, 900]),
          rate=st.sampled_from([0, 10**9, 10**11]))
    def set_params(self, market, mm, rate):
        p = self.e.market_params(market)
        try:
            self.e.set_market_params(market, replace(p, maintenance_margin_bps=mm, borrow_rate=rate), sender=OWNER)
        except Revert:
            pass

    @rule(market=st.sampled_from([1, 2]), is_long=st.booleans(), lev_tenths=st.integers(50, 100))
    def what_if(self, market, is_long, lev_tenths):
        # An index that read the log inside a what-if must not keep what was undone.
        with self.w.p.journal.savepoint():
            try:
                self.w.trades.open_position(market, is_long, 1_000 * USDC * lev_tenths // 10, 1_010 * USDC,
                                            sender=ALICE)
            except Revert:
                pass
            for pid, _ in self._full(self.w.p.env.timestamp)[:3]:
                self.e.liquidate(pid, sender=KEEPER)
            self._same(self.w.p.env.timestamp)
        # Real trades after it refill the log past where the index read it
        # inside: the log's length alone no longer shows the undo.
        for who in (BOB, CAROL):
            try:
                self.ids.append(self.w.trades.open_position(market, not is_long, 1_000 * USDC * lev_tenths // 10,
                                                            1_010 * USDC, sender=who))
            except Revert:
                pass

    @precondition(lambda self: self._open_ids())
    @rule(data=st.data(), delta=st.integers(-2, 2))
    def price_at_the_edge(self, data, delta):
        # Where a position's threshold is exact: its liquidation price at
        # this block's index, and a unit or two either side.
        pid = data.draw(st.sampled_from(self._open_ids()))
        market = self.e.position(pid).market_id
        view = model_market_view(self.e, market, self.w.p.env.timestamp)
        _, pos = self.e._load(pid)
        price, _, _ = _liquidation_bounds(pos, view.index, pos.maintenance_margin_bps)
        if price + delta > 0:
            self.feeds[market].set_answer(price + delta, sender=OWNER)

    # ------------------------------------------------------------ the comparison

    def _full(self, timestamp):
        views = {mid: model_market_view(self.e, mid, timestamp) for mid in self.feeds}
        return full_scan(open_positions(self.e), views)

    def _same(self, timestamp):
        expected = self._full(timestamp)
        for ix in self.indexes:
            got = ix.liquidatable(views_at(self.e, timestamp))
            assert got == expected, (ix.horizon, got, expected)

    @invariant()
    def index_holds_every_open_position_as_it_is_now(self):
        if not hasattr(self, "w"):
            return
        live = dict(open_positions(self.e))
        for ix in self.indexes:
            ix.sync()
            got = ix.positions()
            assert got.keys() == live.keys() and all(got[pid] is live[pid] for pid in live), ix.horizon

    @invariant()
    def index_names_what_the_full_scan_names(self):
        if not hasattr(self, "w"):
            return
        now = self.w.p.env.timestamp
        for ts in (now, now + 1, now + 3_600):
            self._same(ts)


IndexMachine.TestCase.settings = settings(max_examples=max(settings().max_examples, 150),
                                          stateful_step_count=max(settings().stateful_step_count, 40),
                                          deadline=None)
TestLiquidationIndex = IndexMachine.TestCase


def test_a_step_checks_about_what_it_liquidates():
    """Not a timing test: the index must prune. With 400 positions far from
    liquidation and one close to it, a scan checks a handful, not 400."""
    w = make_world(params=replace(SIMPLE, oi_cap=10**15), lp_deposit=10**9 * USDC, mint=10**10 * USDC)
    for i in range(400):
        w.trades.open_position(w.market, i % 2 == 0, 2_000 * USDC, 1_010 * USDC, sender=TRADERS[i % 3])
    near = w.trades.open_position(w.market, True, 9_500 * USDC, 1_010 * USDC, sender=ALICE)
    ix = LiquidationIndex(w.engine)
    assert ix.liquidatable(views_at(w.engine, w.p.env.timestamp)) == []
    w.set_price(P0 * 94 // 100)
    found = ix.liquidatable(views_at(w.engine, w.p.env.timestamp))
    ix.checked = 0
    assert [pid for pid, _ in found] == [near]
    assert ix.liquidatable(views_at(w.engine, w.p.env.timestamp)) == found
    assert ix.checked < 10
