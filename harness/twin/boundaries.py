"""Rules aimed at the edges where a rule changes (issue 12).

Random amounts rarely land on a boundary, so a `<` written for `<=`, or a
rounding turned the wrong way, survives. These rules put the machine on
each edge and one unit either side of it: a feed at a position's
liquidation price, a round exactly as old as the market's staleness
allows, collateral removed down to exactly the margin the engine demands.
Where the edge is, is asked of the model (its health view, its own remove
rule in a rolled-back what-if), never re-derived here; the chain must then
agree with the model on which side of it each action falls.

Mixed into ProtocolMachine (machine.py), whose helpers it uses.
"""
from contextlib import contextmanager

from hypothesis import strategies as st
from hypothesis.stateful import rule

from model import Revert
from model.positions import FREE_END
from model.risk import BPS, _reserve

from ..chains.chain import ChainError
from ..protocol.markets import MARKETS, USDC
from .twin import Disagreement

picks = st.integers(0, 2**16)
ticks = st.sampled_from([-1, 0, 1])


class BoundaryRules:

    @contextmanager
    def _at(self, seconds_ahead: int):
        """Model views as of `seconds_ahead` after the twin's clock (when the
        transaction they predict lands)."""
        saved = self.model.env.timestamp
        self.model.env.timestamp = self.twin.clock + seconds_ahead
        try:
            yield
        finally:
            self.model.env.timestamp = saved

    def _open_id(self, pick):
        ids = sorted(self.engine.open_position_ids())
        return ids[pick % len(ids)] if ids else None

    @rule(pick=picks, tick=ticks, liquidator=st.integers(0, 1), fresh=st.integers(0, 2))
    def price_at_a_liquidation_price(self, pick, tick, liquidator, fresh):
        """The position's feed moves to its liquidation price as of the
        liquidation's block (Lens.health's rule), or one unit either side;
        then a liquidator tries. A long at the price is still healthy, one
        unit below is not (a short: one unit above). Now and then, and when
        no open position has such a price (all past it, say), a fresh one is
        opened first: just past its edge, a liquidation leaves a remainder,
        so the insurance cut is exercised in every run."""
        pid = None if not fresh else self._open_id(pick)
        edge = self._edge(pid) if pid is not None else None
        if edge is None:
            symbol = sorted(MARKETS)[pick % len(MARKETS)]
            since = self.model.orders.order_count
            self.open_position(pick % 5, symbol, bool(pick & 1), 500 * USDC, 50, 1)
            done = self._fill_now(symbol, liquidator, since)
            if done is None or not done.ok or done.value[0] != "executed":
                return
            pid = done.value[1]
            edge = self._edge(pid)
            if edge is None:
                return
        self.send(f"feed:{self._symbol_of(pid)}", "set_answer", [max(edge + tick, 1)], self.world.owner)
        self._liquidate(pid, self.world.liquidators[liquidator])

    def _compare_health(self, pid):
        """Lens.health on chain against the model's, every field (price, PnL,
        fee, equity, margin, liquidation price, liquidatable and the two
        flags), at the time the chain's read runs; a revert on both sides
        agrees (a faulty feed, a stale round, a closed position). Called
        before every liquidation attempt (machine.py's _liquidate), so at
        each edge this mixin aims at too."""
        d = self.twin.deployment
        try:
            chain_h = tuple(self.twin.chain.call(d.lens, "Lens", "health", [d.engine, pid]))
        except ChainError:
            chain_h = None
        with self._at(self.twin.read_time() - self.twin.clock):
            try:
                h = self.engine.health(pid)
                model_h = tuple(getattr(h, f) for f in h.__dataclass_fields__)
            except Revert:
                model_h = None
        if model_h != chain_h:
            raise Disagreement(self.twin.step, self.twin.last_action, f"lens.health[{pid}]", model_h, chain_h)

    def _edge(self, pid):
        """Its liquidation price in the block after next (the price is set in
        the next), or None when there is none to aim at."""
        with self._at(2):
            try:
                h = self.engine.health(pid)
            except Revert:                   # a faulty feed: no price to aim at
                return None
        # 0 comes with a flag: liquidatable at every price a feed gives, or at none.
        return h.liquidation_price or None

    @rule(symbol=st.sampled_from(sorted(MARKETS)), offset=ticks, keeper=st.integers(0, 1))
    def round_at_the_staleness_limit(self, symbol, offset, keeper):
        """A round exactly `staleness` seconds old when the next transaction
        lands, or a second younger or older ("oracle: price is stale"); that
        transaction uses the price: a liquidation attempt on a position of
        the market, or, with none open, the execution of a fresh open there
        (which, fresh or stale, has no round after its request: it waits)."""
        market_id = self.market_id(symbol)
        feed = self.engine.feeds[self.twin.deployment.feeds[symbol]]
        if feed.answer <= 0:
            return
        staleness = self.engine.market_params(market_id).staleness
        mine = [pid for pid in sorted(self.engine.open_position_ids())
                if self.engine.position(pid).market_id == market_id]
        if mine:
            # set_round lands at clock + 1, the liquidation at clock + 2.
            self.send(f"feed:{symbol}", "set_round", [feed.answer, self.twin.clock + 2 - staleness + offset],
                      self.world.owner)
            self._liquidate(mine[0], self.world.liquidators[keeper])
            return
        # set_round at clock + 1, the request at + 2, its execution at + 3.
        self.send(f"feed:{symbol}", "set_round", [feed.answer, self.twin.clock + 3 - staleness + offset],
                  self.world.owner)
        since = self.model.orders.order_count
        self.open_position(keeper, symbol, True, 500 * USDC, 50, 1)
        oid = self.model.orders.last_order_id()
        if self.model.orders.order_count > since and oid in self.model.orders.pending_ids():
            self.send("orders", "execute_order", [oid], self.world.liquidators[keeper])

    @rule(pick=picks, extra=st.sampled_from([0, 0, 1]), fresh=st.integers(0, 2), keeper=st.integers(0, 1))
    def remove_collateral_to_the_margin(self, pick, extra, fresh, keeper):
        """Remove exactly the most the engine allows (found by bisecting the
        model's own remove_collateral in rolled-back what-ifs), or one unit
        more, which must be refused for the margin or the minimum. Now and
        then on a fresh position at half the maximum leverage, where the
        initial margin, not the minimum collateral, is the limit."""
        pid = self._open_id(pick) if fresh else None
        if pid is None:
            symbol = sorted(MARKETS)[pick % len(MARKETS)]
            since = self.model.orders.order_count
            self.open_position(pick % 5, symbol, bool(pick & 1), 500 * USDC, 50, 1)
            done = self._fill_now(symbol, keeper, since)
            if done is None or not done.ok or done.value[0] != "executed":
                return
            pid = done.value[1]
        owner = self.owner_of(pid)
        most = self._most_removable(pid, owner)
        if most is None:
            return
        self.send("engine", "remove_collateral", [pid, most + extra], owner)

    def _most_removable(self, pid, owner):
        """The largest amount remove_collateral accepts in the next block,
        or None when it accepts none (a bad feed, the pause, too little)."""
        journal = self.model.journal

        def accepted(amount):
            with journal.savepoint():
                try:
                    self.engine.remove_collateral(pid, amount, sender=owner)
                    return True
                except Revert:
                    return False

        lo, hi = 0, self.engine.position(pid).collateral
        with self._at(1):
            if not accepted(1):
                return None
            lo = 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if accepted(mid):
                    lo = mid
                else:
                    hi = mid - 1
        return lo

    @rule(pick=picks, trader=st.integers(0, 4), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          keeper=st.integers(0, 1))
    def open_in_a_freed_vault(self, pick, trader, symbol, is_long, keeper):
        """A modest open (half the market's maximum leverage) filled at once
        into a vault an exit left free: a position closed first if no vault
        is free yet. Random opens rarely land after an exit in the same
        example, so without this the recycled vault, whose slot a new
        position rewrites, goes untested."""
        if self.engine.free_head == FREE_END:
            pid = self._open_id(pick)
            if pid is None:
                return
            close_symbol = self._symbol_of(pid)
            since = self.model.orders.order_count
            self.send("orders", "request_close", [pid, self._limit(close_symbol, not self.engine.position(pid).is_long, 1)],
                      self.owner_of(pid))
            self._fill_now(close_symbol, keeper, since)
        if self.engine.free_head == FREE_END:
            return
        since = self.model.orders.order_count
        self.open_position(trader, symbol, is_long, 500 * USDC, 50, 1)
        self._fill_now(symbol, keeper, since)

    def _fill_now(self, symbol, keeper, since):
        """The last order, if requested after the book's count was `since`
        and still pending: its market publishes a round, a keeper executes.
        Returns the execution's outcome (None: no such order)."""
        book = self.model.orders
        oid = book.last_order_id()
        if book.order_count == since or oid not in book.pending_ids():
            return None
        feed = self.engine.feeds[self.twin.deployment.feeds[symbol]]
        if feed.answer > 0:
            self.send(f"feed:{symbol}", "set_answer", [feed.answer], self.world.owner)
        return self.send("orders", "execute_order", [oid], self.world.liquidators[keeper])

    @rule(trader=st.integers(0, 4), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          extra=st.sampled_from([0, 1]), keeper=st.integers(0, 1))
    def open_at_the_pool_s_limit(self, trader, symbol, is_long, extra, keeper):
        """An open whose reserve takes exactly the pool cash no position has
        reserved yet, or one unit of size more ("engine: pool liquidity too
        low"), at a tenth of the market's maximum leverage; filled at once."""
        params = self.engine.market_params(self.market_id(symbol))
        free = self.model.pool.cash() - self.engine.total_reserved
        if free <= 0 or params.max_profit_bps == 0:
            return
        size = free * BPS // params.max_profit_bps          # the largest with _reserve(size) <= free
        while _reserve(size + 1, params.max_profit_bps) <= free:
            size += 1
        size += extra
        collateral = -(-size * params.initial_margin_bps // BPS) * 10
        amount = collateral + -(-size * params.open_fee_bps // BPS)
        since = self.model.orders.order_count
        self.send("orders", "request_open", [self.market_id(symbol), is_long, size, amount, self._limit(symbol, is_long, 1)],
                  self.world.traders[trader])
        self._fill_now(symbol, keeper, since)
