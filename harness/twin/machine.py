"""The model-vs-chain state machine.

Hypothesis drives random users (traders, LPs, liquidators, the owner, the
guardian, a stranger) against a Twin: every action runs on the model and on
the chain, their outcomes must match (same success or same revert reason),
and after every step the whole state must match exactly. Invariants are
checked on the chain's own data too, so a bug shared by model and contract
in accounting still shows up as broken conservation or isolation.
"""
import json
import time

from hypothesis import strategies as st, target
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from model import MarketParams, Revert
from model.markets import _index_at
from model.risk import MAX_U128, _liquidation_bounds
from model.pool import LP_REQUEST_DELAY

from ..chains.artifacts import ROOT
from ..protocol.markets import MARKETS, PRICE, USDC
from .adversaries import AdversaryRules, deploy_attackers
from .boundaries import BoundaryRules
from .economics import attack_table
from .governance import GovernanceRules
from .token_faults import TokenFaultRules
from .invariants import (check_conservation, check_exposure, check_isolation,
                         check_liability_bound, check_one_position)
from .replay_files import write_replay
from .twin import Disagreement, Twin
from .world import World, build_world, hand_over_to_timelock, refresh_feeds, settle_request

REPLAY_DIR = ROOT / "reports" / "replays"

# Mostly valid input, with the edges and the invalid on purpose: a machine
# whose opens all revert would agree with the model and prove little (the
# outcome table printed by the test shows the mix).
collaterals = st.one_of(
    st.integers(10 * USDC, 5_000 * USDC),
    st.integers(10 * USDC, 5_000 * USDC),
    st.integers(5_000 * USDC, 60_000 * USDC),
    st.sampled_from([0, 1, 10 * USDC - 1, 10 * USDC, 10 * USDC + 1]),
)
amounts = st.one_of(st.integers(1, 20_000 * USDC), st.integers(1, 20_000 * USDC),
                    st.sampled_from([0, 1]), st.integers(20_000 * USDC, 3_000_000 * USDC))
# Share of the market's maximum leverage, in percent; over 100 is refused.
leverage_pct = st.one_of(st.integers(5, 100), st.integers(5, 100), st.integers(5, 100), st.integers(100, 160))
picks = st.integers(0, 2**16)
fractions_bps = st.one_of(st.integers(1, 9_999), st.integers(1, 9_999), st.sampled_from([1, 5_000, 9_999, 10_000]))
price_moves_bps = st.one_of(st.integers(-800, 800), st.integers(-800, 800), st.integers(-9_500, 9_000))
waits = st.one_of(st.integers(1, 900), st.integers(1, 900), st.integers(900, 3 * 86_400))
rare = st.integers(0, 5)          # an action fires only when this draws 0

class ProtocolMachine(AdversaryRules, BoundaryRules, TokenFaultRules, GovernanceRules, RuleBasedStateMachine):
    """Subclassed per run with `world` set (see make_machine)."""

    world: World = None
    stats: dict = None

    def __init__(self):
        super().__init__()
        self.twin: Twin = self.world.twin
        # Every transaction of the machine goes through the twin: reads of an
        # unchanged chain can be reused (Twin.cache_reads).
        self.twin.cache_reads = True
        self.mark = self.twin.savepoint()
        self.model = self.twin.model
        self.engine = self.model.engine
        self.checked = 0
        self.in_what_if = False
        self.scheduled = []         # the timelock's pending owner changes (governance.py)
        self.salts, self.operations = 0, []     # salts used, operations tried (governance.py)
        self.bad_debts = 0
        self.most_liquidatable = 0
        self.choose_attackers()

    def teardown(self):
        self.stats["steps"] += self.checked
        # Steer generation towards the runs that stress the books most.
        target(float(self.bad_debts), label="liquidations and closes with bad debt")
        target(float(self.most_liquidatable), label="most positions liquidatable at once")
        self.twin.rollback(self.mark)

    # ---------------------------------------------------------------- helpers

    def send(self, target, fn, args, sender, seconds=1):
        if sender in self.world.attacker_names:
            return self.send_as_contract(target, fn, args, sender, seconds)
        mark = self.model.events_mark()
        vaults_before = self.engine.vault_count
        one = self._one_position_parties(target, fn, args, sender)
        before = self.twin.read_chain() if one is not None else None
        try:
            outcome = self.twin.send(target, fn, args, sender, seconds)
        except Disagreement as err:
            err.add_note(f"replay on any network: ape run replay {self._write_replay()} [--network ...]")
            raise
        if one is not None and outcome.ok:
            check_one_position(self.twin.step, self.twin.last_action, self.twin.deployment, before,
                               self.twin.read_chain(), one)
        if outcome.ok and self.attackers_on:
            self.check_fills(mark)
        if outcome.ok:
            self.count_vault_events(mark)
        # Which actions succeed and which revert, and why: a machine whose
        # opens all revert would agree with the model and prove little.
        # The token's own calls by name (the engine has a pause too).
        name = f"{target}.{fn}" if target in ("token", "timelock") else fn
        key = (("what-if " if self.in_what_if else "") + name, outcome.reason or "ok")
        if fn == "execute_order" and outcome.ok and outcome.value:
            # Filled or cancelled, and why: the engine's refusals are here now.
            done, detail, result = outcome.value
            key = (key[0], "executed" if done == "executed" else f"cancelled: {detail}")
            if done == "executed" and hasattr(result, "bad_debt") and result.bad_debt:
                key = (key[0], "executed, with bad debt")
            elif done == "executed" and type(result) is int and self.engine.vault_count == vaults_before:
                key = (key[0], "executed, an open in a recycled vault")
        if fn == "liquidate" and outcome.ok and outcome.value:
            if outcome.value.bad_debt:
                key = (key[0], "ok, with bad debt")
            elif outcome.value.insurance_cut:
                key = (key[0], "ok, with an insurance cut")
        self.stats["outcomes"][key] = self.stats["outcomes"].get(key, 0) + 1
        if not self.in_what_if and key[1].endswith("with bad debt"):
            self.bad_debts += 1
        return outcome

    def _one_position_parties(self, target, fn, args, sender):
        """Who besides the protocol an action on one position may pay or
        charge (None: not such an action). Liquidations have their own,
        stricter check (_check_isolation)."""
        if target == "engine" and fn in ("add_collateral", "remove_collateral"):
            return {sender}
        if target == "orders" and fn == "execute_order":
            order = self.model.orders.orders(args[0])
            return {sender, order.owner, order.receiver}
        return None

    def _write_replay(self):
        # "fiat": the world's collateral is MockFiatToken (replay.py deploys it).
        body = json.dumps({"log": self.twin.log, "steps": self.twin.step, "fiat": self.twin.fiat is not None},
                          indent=1)
        latest, _ = write_replay(REPLAY_DIR, body)
        return latest.relative_to(ROOT)

    def pick_position(self, pick):
        ids = sorted(self.engine.open_position_ids())
        if not ids or pick % 17 == 0:
            return (pick % 7 << 32) | (pick % 3)      # rarely open: a bad id
        return ids[pick % len(ids)]

    def owner_of(self, position_id):
        pos = self.engine.position(position_id)
        return pos.owner if pos.is_open else self.world.stranger

    def market_id(self, symbol):
        return self.world.markets[symbol]

    # ---------------------------------------------------------------- traders

    @initialize(opens=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(sorted(MARKETS)), st.booleans(),
                                         st.integers(10 * USDC, 5_000 * USDC), st.integers(10, 95)),
                               min_size=1, max_size=6))
    def some_positions(self, opens):
        """Every example starts with positions for the other rules to act on."""
        for trader, symbol, is_long, collateral, pct in opens:
            self.open_position(trader, symbol, is_long, collateral, pct, 1)
        # A fresh round on every market, then a keeper fills them all.
        for symbol in sorted(MARKETS):
            feed = self.engine.feeds[self.twin.deployment.feeds[symbol]]
            self.send(f"feed:{symbol}", "set_answer", [feed.answer], self.world.owner)
        self.execute_every_order(0)

    @rule(trader=st.integers(0, 4), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          collateral=collaterals, pct=leverage_pct, bad_market=st.integers(0, 30), limit=st.integers(0, 30))
    def open_position(self, trader, symbol, is_long, collateral, pct, bad_market, limit=1):
        """request_open; the order fills at a later round (execute_order)."""
        market_id = self.market_id(symbol) if bad_market else 99
        params = self.engine.market_params(self.market_id(symbol))
        size = collateral * 10_000 * pct // (100 * params.initial_margin_bps)
        # The trader sends collateral plus the open fee, as a front end would.
        amount = collateral + (size * params.open_fee_bps + 9_999) // 10_000
        self.send("orders", "request_open", [market_id, is_long, size, amount, self._limit(symbol, is_long, limit)],
                  self.world.traders[trader])

    def _limit(self, symbol, buying, roll):
        """Mostly any price; sometimes 1% around the last answer (some such
        orders are cancelled for the price)."""
        if roll:
            return 2**128 - 1 if buying else 0
        answer = self.engine.feeds[self.twin.deployment.feeds[symbol]].answer
        return max(answer, 1) * (101 if buying else 99) // 100

    def _symbol_of(self, pid):
        market_id = self.engine.position(pid).market_id
        return next((s for s, m in self.world.markets.items() if m == market_id), sorted(MARKETS)[0])

    @rule(pick=picks, amount=amounts, by_owner=st.integers(0, 9))
    def add_collateral(self, pick, amount, by_owner):
        pid = self.pick_position(pick)
        sender = self.owner_of(pid) if by_owner else self.world.stranger
        self.send("engine", "add_collateral", [pid, amount], sender)

    @rule(pick=picks, fraction=fractions_bps)
    def remove_collateral(self, pick, fraction):
        pid = self.pick_position(pick)
        amount = self.engine.position(pid).collateral * fraction // 10_000
        self.send("engine", "remove_collateral", [pid, amount], self.owner_of(pid))

    @rule(pick=picks, fraction=fractions_bps, collateral=st.one_of(st.just(0), amounts), limit=st.integers(0, 30))
    def increase_position(self, pick, fraction, collateral, limit):
        pid = self.pick_position(pick)
        size_delta = self.engine.position(pid).size * fraction // 10_000
        is_long = self.engine.position(pid).is_long
        self.send("orders", "request_increase",
                  [pid, size_delta, collateral, self._limit(self._symbol_of(pid), is_long, limit)], self.owner_of(pid))

    @rule(pick=picks, fraction=fractions_bps, limit=st.integers(0, 30))
    def decrease_position(self, pick, fraction, limit):
        pid = self.pick_position(pick)
        size_delta = self.engine.position(pid).size * fraction // 10_000
        is_long = self.engine.position(pid).is_long
        self.send("orders", "request_decrease",
                  [pid, size_delta, self._limit(self._symbol_of(pid), not is_long, limit)] + self._receiver(fraction % 12),
                  self.owner_of(pid))

    @rule(pick=picks, by_owner=st.integers(0, 9), limit=st.integers(0, 30), receiver=st.integers(0, 11))
    def close_position(self, pick, by_owner, limit, receiver):
        """Now and then the proceeds go to a receiver: another trader, a
        liquidator or the stranger (whom the fiat world may blacklist)."""
        pid = self.pick_position(pick)
        sender = self.owner_of(pid) if by_owner else self.world.stranger
        is_long = self.engine.position(pid).is_long
        args = [pid, self._limit(self._symbol_of(pid), not is_long, limit)]
        self.send("orders", "request_close", args + self._receiver(receiver), sender)

    def _receiver(self, roll):
        """[] (the owner) most of the time, else [an account]."""
        w = self.world
        named = w.traders + w.liquidators[:1] + [w.stranger]
        return [named[roll - 8]] if 8 <= roll < 8 + len(named) else []

    @rule(roll=st.integers(0, 3), to=st.integers(0, 2**16))
    def claim_held_payout(self, roll, to):
        """Someone claims a payout the token refused: the owner or the
        receiver (the rule's success), or a stranger (refused)."""
        book = self.model.orders
        held = sorted(k for k, v in book.claimable.items() if v)
        w = self.world
        if not held:
            return
        owner, receiver = held[to % len(held)]
        by = [owner, receiver, receiver, w.stranger][roll]
        dest = (w.traders + [w.stranger])[to % (len(w.traders) + 1)]
        self.send("orders", "claim", [owner, receiver, dest], by)

    # ---------------------------------------------------------------- keepers

    def pick_order(self, pick):
        ids = self.model.orders.pending_ids()
        if not ids or pick % 19 == 0:
            # Sometimes not pending: an id executed or cancelled (its slot
            # may hold a newer order now), or one never given out.
            book = self.model.orders
            return book.order_id_of(1 + pick % book.order_count) if book.order_count and pick % 2 else pick % 3
        return ids[pick % len(ids)]

    @rule(pick=picks, keeper=st.integers(0, 1))
    def execute_order(self, pick, keeper):
        self.send("orders", "execute_order", [self.pick_order(pick)], self.world.liquidators[keeper])

    @rule(keeper=st.integers(0, 1))
    def execute_every_order(self, keeper):
        for oid in self.model.orders.pending_ids():
            self.send("orders", "execute_order", [oid], self.world.liquidators[keeper])

    @rule(pick=picks, by_owner=st.integers(0, 9))
    def cancel_order(self, pick, by_owner):
        oid = self.pick_order(pick)
        owner = self.model.orders.orders(oid).owner
        sender = owner if by_owner and owner in self.world.traders + [self.world.stranger] else self.world.stranger
        self.send("orders", "cancel_order", [oid], sender)

    @rule(pick=picks, keeper=st.integers(0, 1))
    def clear_expired(self, pick, keeper):
        self.send("orders", "clear_expired", [self.pick_order(pick)], self.world.liquidators[keeper])

    # ---------------------------------------------------------------- liquidators

    @rule(pick=picks, liquidator=st.integers(0, 1))
    def liquidate(self, pick, liquidator):
        pid = self.pick_position(pick)
        self._liquidate(pid, self.world.liquidators[liquidator])

    @rule(liquidator=st.integers(0, 1))
    def liquidate_all_liquidatable(self, liquidator):
        for pid in self._liquidatable():
            self._liquidate(pid, self.world.liquidators[liquidator])

    def _liquidatable(self):
        """Positions the model calls liquidatable in the next transaction's
        block (one second on: fees accrue, a price may turn stale)."""
        out = []
        now = self.model.env.timestamp
        self.model.env.timestamp = self.twin.clock + 1
        try:
            for pid in sorted(self.engine.open_position_ids()):
                try:
                    if self.engine.health(pid).liquidatable:
                        out.append(pid)
                except Revert:  # a faulty oracle: nothing can be liquidated now
                    pass
        finally:
            self.model.env.timestamp = now
        return out

    def _liquidate(self, pid, liquidator):
        # What Lens.health says of it first, flags and all (boundaries.py).
        self._compare_health(pid)
        before = self.twin.read_chain()
        mark = self.model.events_mark()
        outcome = self.send("engine", "liquidate", [pid], liquidator)
        if outcome.ok:
            self._check_isolation(pid, liquidator, before, self.twin.read_chain(), mark)

    def _check_isolation(self, pid, liquidator, before, after, mark):
        """A liquidation moves tokens only between the liquidated vault, the
        liquidator, the pool and the insurance fund, and leaves every other
        position exactly as it was (invariants.py, as the drills check it);
        a vault it found frozen keeps its tokens."""
        frozen = [e.event.vault for e in self.model.events_since(mark, "VaultFrozen")]
        check_isolation(self.twin.step, self.twin.deployment, before, after, {pid >> 32}, {liquidator}, frozen)

    # ---------------------------------------------------------------- LPs

    @rule(lp=st.integers(0, 1), amount=amounts, for_other=rare)
    def lp_request_deposit(self, lp, amount, for_other):
        who = self.world.lps[lp]
        controller = self.world.lps[1 - lp] if for_other == 0 else who
        self.send("pool", "requestDeposit", [amount, controller, who], who)

    @rule(lp=st.integers(0, 1), fraction=fractions_bps)
    def lp_request_redeem(self, lp, fraction):
        who = self.world.lps[lp]
        shares = self.model.pool.balanceOf(who) * fraction // 10_000
        self.send("pool", "requestRedeem", [shares, who, who], who)

    def _pending(self):
        pool = self.model.pool
        return [i for i in range(1, pool.request_count + 1) if pool.lp_requests[i].amount]

    @rule(pick=picks, wait=st.integers(0, 3), publish=st.integers(0, 3))
    def lp_execute(self, pick, wait, publish):
        """A keeper executes a request: usually after the delay and a fresh
        round of every feed, sometimes too early (the pool must refuse)."""
        pending = self._pending()
        rid = pending[pick % len(pending)] if pending else pick % 3 + 1
        if wait:
            self.twin.wait(LP_REQUEST_DELAY)
        if publish:
            refresh_feeds(self.twin)
        self.send("pool", "execute_request", [rid], self.world.stranger)

    @rule(pick=picks, by_owner=st.integers(0, 5))
    def lp_cancel(self, pick, by_owner):
        pending = self._pending()
        if not pending:
            return
        rid = pending[pick % len(pending)]
        r = self.model.pool.lp_requests[rid]
        self.send("pool", "cancel_request", [rid], r.owner if by_owner else self.world.stranger)

    # ---------------------------------------------------------------- markets and time

    @rule(symbol=st.sampled_from(sorted(MARKETS)), move=price_moves_bps)
    def move_price(self, symbol, move):
        self.before_price_move()
        feed = self.model.engine.feeds[self.twin.deployment.feeds[symbol]]
        price = max(feed.answer, PRICE) * (10_000 + move) // 10_000
        self.send(f"feed:{symbol}", "set_answer", [max(price, 1)], self.world.owner)

    @rule(symbol=st.sampled_from(sorted(MARKETS)), fault=st.sampled_from(["zero", "negative", "stale"]), roll=rare)
    def oracle_fault(self, symbol, fault, roll):
        if roll:
            return
        feed = self.model.engine.feeds[self.twin.deployment.feeds[symbol]]
        if fault == "stale":
            self.send(f"feed:{symbol}", "set_round", [feed.answer, self.twin.clock - 4_000], self.world.owner)
        else:
            self.send(f"feed:{symbol}", "set_answer", [0 if fault == "zero" else -feed.answer], self.world.owner)

    @precondition(lambda self: self.engine.open_positions > 0)
    @rule(symbol=st.sampled_from(sorted(MARKETS)), fault=st.sampled_from(["silent", "silent", "zero", "negative"]),
          past=st.sampled_from([0, 1, 2, 3_600]))
    def what_if_the_oracle_dies(self, symbol, fault, past):
        """Rolled back: a market's feed falls silent after a last round past
        the liquidation price of the market's first position (so that it,
        and others on its side, are liquidated at the last good price), or
        answers zero or a negative (the fallback is then the last trade's price,
        where most positions are healthy and close), and nothing publishes until the engine's fallback (the
        model's fallback_starts) is a second away: a liquidation is still
        refused with the feed's reason. From the start on (`past` seconds
        after it) every position of the market leaves: liquidated at the
        last good price if it is liquidatable there, else closed by its
        owner (issue 9, finding 2: a dead oracle traps nothing for ever). The
        order's own edge is tests/unit/test_oracle_fallback.py's."""
        market_id = self.market_id(symbol)
        ids = [pid for pid in sorted(self.engine.open_position_ids())
               if self.engine.position(pid).market_id == market_id]
        if not ids:
            return
        self.in_what_if = True
        try:
            with self.twin.what_if():
                feed = self.model.engine.feeds[self.twin.deployment.feeds[symbol]]
                if fault == "silent":
                    # The last good round, the price the fallback takes: past the
                    # first position's liquidation price on every draw, so the
                    # floored class does not hang on the position's leverage.
                    self.send(f"feed:{symbol}", "set_answer", [self._past_liquidation(ids[0], feed.answer)],
                              self.world.owner)
                else:
                    self.send(f"feed:{symbol}", "set_answer", [0 if fault == "zero" else -max(feed.answer, 1)],
                              self.world.owner)
                start = self.model.engine.fallback_starts(market_id)
                assert start is not None, f"market {market_id} has open positions and no last good price"
                first = ids[0]
                if start - 1 > self.twin.clock:
                    # A second before the fallback starts, the feed's own reason still refuses.
                    self.twin.wait(start - 2 - self.twin.clock)
                    o = self.send("engine", "liquidate", [first], self.world.liquidators[0])
                    assert not o.ok and o.reason.startswith("oracle: "), \
                        f"{first}: liquidate a second before the fallback starts: {o.reason or 'ok'}"
                    self._count("what-if oracle dies", "refused a second before the fallback")
                # The first exit runs at start + max(past - 1, 0), or at once if that has passed.
                self.twin.wait(max(start - 2 + past - self.twin.clock, 0))
                for pid in ids:
                    self._exit_on_a_dead_feed(pid)
                self.twin.check()
        finally:
            self.in_what_if = False

    def _past_liquidation(self, pid, answer):
        """A price at least 30% against `pid` and beyond its liquidation price
        (model.risk's bounds at the market's index now: the borrow fee only
        grows until the exit, so it stays liquidatable there)."""
        e = self.engine
        _, pos = e._load(pid)
        state, p = e.market_state(pos.market_id), e.market_params(pos.market_id)
        index = _index_at(state.borrow_index, state.last_accrual, p.borrow_rate, self.twin.clock)
        liq, _, _ = _liquidation_bounds(pos, index, pos.maintenance_margin_bps)
        if pos.is_long:
            return max(min(answer * 7 // 10, liq - 1 if liq else answer), 1)
        return min(max(answer * 13 // 10, liq + 1 if liq else 0), MAX_U128)

    def _fill_on_a_dead_feed(self, pid, oid):
        keeper = self.world.liquidators[0]
        o = self.send("orders", "execute_order", [oid], keeper)
        if self.accept_trapped(o, self.exit_parties(pid, keeper)):
            return
        assert o.ok and o.value[0] == "executed", f"{pid}: not closed at the last good price: {o.reason or o.value[1]}"
        self._count("what-if oracle dies", "closed at the last good price")

    def _exit_on_a_dead_feed(self, pid):
        """Liquidated at the last good price if it is liquidatable there, else
        closed by its owner: either way it leaves."""
        liquidator = self.world.liquidators[0]
        o = self.send("engine", "liquidate", [pid], liquidator)
        if o.ok:
            self._count("what-if oracle dies", "liquidated at the last good price")
            return
        if self.accept_trapped(o, self.exit_parties(pid, liquidator)):
            return
        assert o.reason == "engine: position is healthy", f"{pid}: liquidate on a dead feed: {o.reason}"
        o = self.send("orders", "request_close", [pid, 0 if self.engine.position(pid).is_long else 2**128 - 1],
                      self.owner_of(pid))
        if not o.ok and self.accept_trapped(o, self.exit_parties(pid, liquidator)):
            return
        assert o.ok, f"{pid}: request_close on a dead feed: {o.reason}"
        self._fill_on_a_dead_feed(pid, self.model.orders.last_order_id())

    def _count(self, fn, why):
        self.stats["outcomes"][(fn, why)] = self.stats["outcomes"].get((fn, why), 0) + 1

    @rule(seconds=waits, publish=st.integers(0, 3))
    def time_passes(self, seconds, publish):
        """Time passes; usually the feeds then publish again (a heartbeat),
        sometimes they stay silent and go stale. With the heartbeat, the
        governance executor also runs the owner changes whose delay is now
        over (governance.py), as one watching the timelock would."""
        self.twin.wait(seconds)
        if publish:
            for symbol in sorted(MARKETS):
                feed = self.model.engine.feeds[self.twin.deployment.feeds[symbol]]
                if feed.answer > 0:
                    self.send(f"feed:{symbol}", "set_answer", [feed.answer], self.world.owner)
            if self.scheduled:
                self.execute_ready_changes()

    @rule(amount=amounts)
    def fund_insurance(self, amount):
        self.send("engine", "fund_insurance", [amount], self.world.owner)

    # ---------------------------------------------------------------- what-ifs

    @precondition(lambda self: self.engine.open_positions > 0)
    @rule(roll=st.integers(0, 2))
    def what_if_everything_can_exit(self, roll):
        """Rolled back afterwards: each liquidatable position can be
        liquidated; every open position can be closed by its owner; every
        LP can withdraw what the pool says is free."""
        if roll:
            return
        self.in_what_if = True
        try:
            self._what_if_everything_can_exit()
        finally:
            self.in_what_if = False

    def _what_if_everything_can_exit(self):
        liquidator = self.world.liquidators[0]
        for pid in self._liquidatable():
            with self.twin.what_if():
                o = self.send("engine", "liquidate", [pid], liquidator)
                assert o.ok or self.accept_trapped(o, self.exit_parties(pid, liquidator)), \
                    f"{pid} is liquidatable but liquidate reverts: {o.reason}"
                # The state the exit reached, not only that it went through (issue 12).
                self.twin.check()
        for pid in sorted(self.engine.open_position_ids()):
            if self._oracle_ok(self.engine.position(pid).market_id):
                with self.twin.what_if():
                    self._close_now(pid)
                    self.twin.check()
        # Every LP can redeem a share of what the pool reports as free.
        pool = self.twin.deployment.pool
        free = self.twin.chain.call(pool, "LiquidityPool", "free_assets", [])
        assert free == self.model.pool.free_assets(), "pool.free_assets differs from the model's"
        # The guardian's pause holds LP executions by design (README).
        if free and not self.engine.paused and all(self._oracle_ok(m) for m in range(1, self.engine.market_count + 1)):
            for lp in self.world.lps:
                shares = min(self.model.pool.balanceOf(lp), self.model.pool.convertToShares(free) // 2)
                if shares and self.model.pool.previewRedeem(shares):
                    with self.twin.what_if():
                        parties = [lp, self.twin.deployment.pool, self.world.stranger]
                        r = self.send("pool", "requestRedeem", [shares, lp, lp], lp)
                        if self.accept_trapped(r, parties):
                            continue
                        assert r.ok, f"{lp} cannot request a redeem of {shares}: {r.reason}"
                        done = settle_request(self.twin, r.value, self.world.stranger)
                        assert done.ok or self.accept_trapped(done, parties), \
                            f"{lp} cannot redeem {shares} of free assets: {done.reason}"
                        self.twin.check()

    def _check_liability_bound(self, state):
        """pool_liability against the per-position claims recomputed from the
        chain's positions, within exposure.vy's bound (when every feed is
        positive, else the view reverts by design)."""
        feeds = [self.model.engine.feeds[ms[0]] for ms in state.market_states]
        if any(f.answer <= 0 for f in feeds):
            return
        chain = self.twin.chain
        liability, _ = chain.call(self.twin.deployment.pool, "LiquidityPool", "pool_liability", [])
        now = self.twin.read_time()      # chain.call_timestamp(), asked once a step (economics reads it too)
        prices = [f.answer for f in feeds]
        check_liability_bound(self.twin.step, state, liability, prices, now)

    def _close_now(self, pid):
        """The owner requests a close, the market's feed publishes a round
        (its last answer again) and a keeper executes: it must fill."""
        owner = self.owner_of(pid)
        symbol = self._symbol_of(pid)
        is_long = self.engine.position(pid).is_long
        parties = self.exit_parties(pid, self.world.liquidators[0])
        o = self.send("orders", "request_close", [pid, 0 if is_long else 2**128 - 1], owner)
        if self.accept_trapped(o, parties):
            return
        assert o.ok, f"{pid}: request_close reverts: {o.reason}"
        oid = self.model.orders.last_order_id()     # an attacker contract's request returns no id
        feed = self.engine.feeds[self.twin.deployment.feeds[symbol]]
        self.send(f"feed:{symbol}", "set_answer", [feed.answer], self.world.owner)
        mark = self.model.events_mark()
        o = self.send("orders", "execute_order", [oid], self.world.liquidators[0])
        if self.accept_trapped(o, parties):
            return
        assert o.ok and o.value[0] == "executed", f"{pid} cannot be closed: {o.reason or o.value[1]}"
        if self.model.events_since(mark, "PayoutHeld"):
            # Closed though the token refused the owner: the payout is held (issue 9).
            self._count("what-if exit" if self.in_what_if else "exit", "closed, the payout held for its owner")
        if self.model.events_since(mark, "VaultFrozen"):
            # Closed though the token refused the vault: settled frozen (issue 9).
            self._count("what-if exit" if self.in_what_if else "exit", "closed, its vault frozen")

    def _oracle_ok(self, market_id):
        """Whether the feed will be usable in the next transaction's block."""
        now = self.model.env.timestamp
        self.model.env.timestamp = self.twin.clock + 1
        try:
            self.engine._price(market_id)
            return True
        except Revert:
            return False
        finally:
            self.model.env.timestamp = now

    # ---------------------------------------------------------------- invariants

    @invariant()
    def model_and_chain_agree(self):
        try:
            state = self.twin.check()
        except Disagreement as err:
            err.add_note(f"replay on any network: ape run replay {self._write_replay()} [--network ...]")
            raise
        self.checked += 1
        d = self.twin.deployment
        # Each vault holds exactly its position's collateral, the closed
        # ones together what exits left frozen; every token minted is held
        # by someone we track.
        frozen_total = self.twin.chain.call(d.engine, "Engine", "frozen_total", [])
        assert frozen_total == self.engine.frozen_total, \
            f"frozen_total {frozen_total} on chain, {self.engine.frozen_total} in the model"
        check_conservation(self.twin.step, d, state, frozen_total)
        # The pool's cash (escrowed deposits aside) covers every open
        # position's capped maximum profit, and the escrow is all there.
        pool_assets, total_reserved = state.totals[0], state.totals[2]
        assert state.pool_cash >= total_reserved, "pool cash cannot cover reserved profit"
        assert pool_assets == state.pool_cash + state.pending_deposits, "pool balance != cash + escrow"
        check_exposure(self.twin.step, state)
        self._check_liability_bound(state)
        self.most_liquidatable = max(self.most_liquidatable, len(self._liquidatable()))
        assert state.balances[d.engine] == 0, "the engine itself holds no tokens"
        # The order book holds exactly the pending orders' escrow and the
        # payouts it holds, on chain, and each held payout is the model's.
        book = self.model.orders
        held = sorted(k for k, v in book.claimable.items() if v)
        escrow, held_total, *claims = self.twin.chain.call_many(
            [(d.orders, "OrderBook", "pending_escrow", []), (d.orders, "OrderBook", "held_total", [])]
            + [(d.orders, "OrderBook", "claimable", list(k)) for k in held])
        assert state.balances[d.orders] == escrow + held_total, \
            f"order book holds {state.balances[d.orders]}, pending escrow {escrow} + held {held_total}"
        assert (escrow, held_total) == (book.pending_escrow, book.held_total), "order book totals differ from the model's"
        assert held_total == sum(book.claimable.values()), "held_total is not the sum of the held payouts"
        assert claims == [book.claimable[k] for k in held], "a held payout differs from the model's"


def outcome_table(stats: dict) -> str:
    rows = sorted(stats["outcomes"].items(), key=lambda kv: (kv[0][0], -kv[1]))
    return "\n".join([f"  {fn:28s} {n:6d}  {reason}" for (fn, reason), n in rows] + [attack_table(stats)])


def run_machine(chain, hypothesis_settings, fiat: bool = False) -> tuple:
    """Deploy the standard world on `chain` (with `fiat`, its collateral
    the USDC-like MockFiatToken, whose faults token_faults.py drives) and run
    the machine on it: (stats, seconds). The stateful tests and
    scripts/bench_harness.py share it."""
    world = build_world(Twin(chain, fiat=fiat))
    hand_over_to_timelock(world.twin)
    deploy_attackers(world)
    stats = {"steps": 0, "outcomes": {}, "attacks": {}}
    started = time.perf_counter()
    run_state_machine_as_test(make_machine(world, stats), settings=hypothesis_settings)
    return stats, time.perf_counter() - started


def make_machine(world: World, stats: dict):
    return type("ProtocolMachine", (ProtocolMachine,), {"world": world, "stats": stats})
