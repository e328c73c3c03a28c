"""The owner's powers in the state machine, through the timelock (issue 9,
finding 1).

In a world handed over to a timelock (world.hand_over_to_timelock, as the
stateful tests' worlds are), every owner change is scheduled by the
proposer, public for the delay, then executed or cancelled; the deployer's
own calls on the engine are refused. A world without one (tests that drive
the rules by hand, test_attackers.py) calls the engine directly. Either way
the change, when it runs, must leave every open position (the risk
parameters it keeps included) and every balance as it was, read from the
chain alone (check_governance_untouched), and the timelock's operations must
be in the same state on chain and in the model.

The hostile owner's what-if is a differential test on the chain's data: the
harshest parameters the owner may set, executed after the delay, then every
open position tried for liquidation, against the same tries from the same
moment without the change. A rule that let a parameter change reach open
positions liquidates more, or pays more, in the first run, even were the
same mistake in the model.
"""
from dataclasses import dataclass, replace
from typing import Callable, List, Optional

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from model import MarketParams

from ..chains.contracts import codec
from ..protocol.handover import NO_PREDECESSOR
from ..protocol.markets import MARKETS, PRICE, USDC
from .invariants import GovernanceBreach, check_governance_untouched
from .twin import Disagreement
from .world import refresh_feeds

NOT_READY = "timelock_controller: operation is not ready"
NOT_OWNER = "ownable: caller is not the owner"

# Who asks for an owner change: the proposer with the delay (most often;
# half the time it then waits the delay out and executes), with a second too
# little (refused), a stranger (refused), or the deployer calling the engine
# as if it still owned it (refused); after a refusal the proposer schedules it.
# (Hypothesis leans to small integers: 0, the commonest draw, executes.)
askers = st.integers(0, 9).map(lambda n: {7: "stranger", 8: "short delay", 9: "deployer"}.get(
    n, "owner, executed" if n < 4 else "owner"))
# How an execution is tried: once ready (most often), a second early
# (refused), by a stranger (refused). Integers: Hypothesis draws them evenly,
# where a sampled list leans to its ends.
attempts = st.integers(0, 7).map(lambda n: {6: "a second early", 7: "stranger"}.get(n, "ready"))
# Liquidation reward floors: 0 (bps only), small, the standard markets' 5 USDC,
# their whole 10 USDC minimum collateral, and just past it or past 32 bits.
reward_floors = st.one_of(st.integers(0, 10 * USDC),
                          st.sampled_from([0, 1, 5 * USDC, 10 * USDC, 10 * USDC + 1, 2**32]))


@dataclass
class Scheduled:
    fn: str
    args: list
    data: bytes
    salt: bytes
    id: bytes
    ready: int                              # the first block time it may execute at
    then: Optional[Callable[[], None]]      # what the harness learns when it ran (a feed's new name)

    def execute_args(self, engine: str) -> list:
        """Timelock.execute's arguments for this operation on `engine`."""
        return [engine, 0, self.data, NO_PREDECESSOR, self.salt]


def _chain_arg(a):
    return a.as_tuple() if isinstance(a, MarketParams) else a


class GovernanceRules:
    """Mixed into ProtocolMachine."""

    scheduled: List[Scheduled]

    def _timelock(self):
        return self.twin.deployment.timelock

    # ---------------------------------------------------------------- asking

    def _govern(self, fn, args, who="owner", then=None):
        """An owner change of the engine, as `who` asks for it (see askers)."""
        if not self._timelock():
            sender = self.world.stranger if who == "stranger" else self.world.owner
            outcome = self._changing(f"{fn}{tuple(args)!r}", lambda: self.send("engine", fn, args, sender))
            if outcome.ok and then:
                then()
            return
        if who == "deployer":
            outcome = self.send("engine", fn, args, self.world.owner)
            assert not outcome.ok and outcome.reason == NOT_OWNER, \
                f"the deployer's own {fn} after the hand-over: {outcome.reason or 'went through'}"
        elif who in ("short delay", "stranger"):
            assert not self._schedule(fn, args, who, then), f"{fn} scheduled by {who}"
        # A refused try is followed by the proposer's own, with the delay, as
        # it would be: every draw schedules a change, so how many run does
        # not hang on how often a (derandomized) stream draws the refusals.
        op = self._schedule(fn, args, "owner", then)
        if op and who == "owner, executed":
            self._execute_when_ready(op, self.world.owner)

    def _schedule(self, fn, args, who, then) -> Optional[Scheduled]:
        """`who` schedules `fn(args)` on the engine: the operation, or None
        when the timelock refused it."""
        model_tl = self.twin.targets["timelock"].model
        data = codec("Engine")[fn].encode([_chain_arg(a) for a in args])
        self.salts += 1
        salt = self.salts.to_bytes(32, "big")
        delay = model_tl.get_minimum_delay - (who == "short delay")
        sender = self.world.stranger if who == "stranger" else self.world.owner
        engine = self.twin.deployment.engine
        outcome = self.send("timelock", "schedule", [engine, 0, data, NO_PREDECESSOR, salt, delay], sender)
        op = model_tl.hash_operation(engine, 0, data, NO_PREDECESSOR, salt)
        self.operations.append(op)
        if outcome.ok:
            self.scheduled.append(Scheduled(fn, list(args), data, salt, op, model_tl.get_timestamp[op], then))
        self._compare_operations()
        return self.scheduled[-1] if outcome.ok else None

    def _changing(self, what, send):
        """Send an owner change; if it runs, it must have touched no
        position and no balance (read from the chain)."""
        before = self.twin.read_chain()
        outcome = send()
        if outcome.ok:
            check_governance_untouched(self.twin.step, what, before, self.twin.read_chain())
        return outcome

    def _compare_operations(self):
        """Every operation this example scheduled (or tried to), in the same
        state on chain as in the model: unset, waiting, ready or done."""
        model_tl, address = self.twin.targets["timelock"].model, self._timelock()
        ops = self.operations
        # One batch (a single round trip on the node backends).
        said = self.twin.chain.call_many([(address, "Timelock", "get_minimum_delay", [])] +
                                         [(address, "Timelock", "get_operation_state", [op]) for op in ops])
        if said[0] != model_tl.get_minimum_delay:
            raise Disagreement(self.twin.step, self.twin.last_action, "timelock.get_minimum_delay",
                               model_tl.get_minimum_delay, said[0])
        for op, chain_state in zip(ops, said[1:]):
            if int(chain_state) != int(model_tl.get_operation_state(op)):
                raise Disagreement(self.twin.step, self.twin.last_action, f"timelock.get_operation_state({op.hex()})",
                                   model_tl.get_operation_state(op), chain_state)

    # ---------------------------------------------------------------- the owner's changes

    @rule(symbol=st.sampled_from(sorted(MARKETS)), im=st.integers(5, 3_000), mm_share=st.integers(0, 100),
          rate=st.integers(0, 400_000_000_000), max_profit=st.integers(0, 120_000), who=askers,
          zero_fee=st.integers(0, 9), floor=reward_floors)
    def set_market_params(self, symbol, im, mm_share, rate, max_profit, who, zero_fee, floor):
        """New margins, rate, max profit and liquidation reward floor (now and
        then out of bounds: a zero liquidation fee, a floor above the minimum
        collateral or its 32 bits); the engine checks them when they run."""
        base = MARKETS[symbol]["params"]
        params = MarketParams(**{**base.__dict__, "initial_margin_bps": im,
                                 "maintenance_margin_bps": im * mm_share // 100,
                                 "liquidation_fee_bps": 0 if not zero_fee else
                                 min(base.liquidation_fee_bps, im * mm_share // 100),
                                 "min_liquidation_reward": floor,
                                 "borrow_rate": rate, "max_profit_bps": max_profit})
        self._govern("set_market_params", [self.market_id(symbol), params], who)

    @rule(symbol=st.sampled_from(sorted(MARKETS)), decimals=st.sampled_from(["same", "same", "18", "6"]),
          # The bound's edge (5% and one bps past it, either way) as often as the rest.
          move=st.one_of(st.sampled_from([0, 500, -500, 501, -501]), st.integers(-800, 800)),
          who=askers, roll=st.integers(0, 2))
    def migrate_feed(self, symbol, decimals, move, who, roll):
        """The owner moves a market to another feed: an honest migration
        keeps the decimals and the price; one to other decimals, or to a
        feed the owner controls set up to 8% away, MarketRules must refuse
        past 5% of the old feed's answer when it runs (the old feed may
        have moved during the delay)."""
        if roll:
            return
        old = self.model.engine.feeds[self.twin.deployment.feeds[symbol]]
        new_decimals = old.decimals if decimals == "same" else int(decimals)
        answer = max(old.answer, PRICE) * 10**new_decimals // 10**old.decimals * (10_000 + move) // 10_000
        candidate = f"{symbol}~{len(self.twin.deployment.feeds)}"
        self.twin.add_feed(candidate, new_decimals, max(answer, 1))
        self._govern("set_market_feed", [self.market_id(symbol), self.twin.deployment.feeds[candidate]], who,
                     then=lambda: self.twin.adopt_feed(symbol, candidate))

    @rule(who=st.sampled_from(["guardian", "owner", "stranger"]), roll=st.integers(0, 5))
    def pause(self, who, roll):
        """The guardian pauses at once; the owner is the timelock, so the
        deployer's pause is refused like a stranger's."""
        if roll:
            return
        self.send("engine", "pause", [], getattr(self.world, who))

    @rule(who=st.sampled_from(["guardian", "owner"]))
    def unpause(self, who):
        """Only the owner unpauses: through the timelock, so after the delay
        (waited out at once while the engine is paused; else only scheduled,
        to be refused "engine: not paused" if it still is not when it runs)."""
        if who == "owner":
            self._govern("unpause", [], "owner, executed" if self.engine.paused else "owner")
        else:
            self.send("engine", "unpause", [], self.world.guardian)

    # ---------------------------------------------------------------- the timelock's queue

    @precondition(lambda self: self.scheduled)
    @rule(pick=st.integers(0, 2**16), attempt=attempts)
    def execute_scheduled(self, pick, attempt):
        """A scheduled change runs once its delay is over, by the executor;
        the time it waits passes for everything (fees accrue, every feed
        publishes its answer again at the end, as keepers would)."""
        op = self.scheduled[pick % len(self.scheduled)]
        if attempt == "a second early":
            gap = op.ready - 1 - (self.twin.clock + 1)
            if gap < 0:
                return
            self.twin.wait(gap)
            outcome = self.send("timelock", "execute", op.execute_args(self.twin.deployment.engine), self.world.owner)
            assert not outcome.ok and outcome.reason == NOT_READY, \
                f"{op.fn} ran a second before its delay was over: {outcome.reason or 'went through'}"
            self._compare_operations()
            return
        self._execute_when_ready(op, self.world.stranger if attempt == "stranger" else self.world.owner)

    def _wait_for(self, op, refresh=False):
        """Time passes until `op` may execute in the next block; the feeds
        then publish again (always, with `refresh`)."""
        gap = op.ready - (self.twin.clock + 1)
        if gap > 0:
            self.twin.wait(gap)
        if gap > 0 or refresh:
            refresh_feeds(self.twin)

    def _execute_when_ready(self, op, sender):
        self._wait_for(op)
        self._execute(op, sender)

    def _execute(self, op, sender):
        if op.fn == "set_market_feed":
            self.before_price_move()
        args = op.execute_args(self.twin.deployment.engine)
        outcome = self._changing(f"timelock.execute({op.fn}{tuple(op.args)!r})",
                                 lambda: self.send("timelock", "execute", args, sender))
        if outcome.ok:
            self.scheduled.remove(op)
            if op.then:
                op.then()
        elif not outcome.reason.startswith(("timelock_controller:", "access_control:")):
            # The engine refused the change itself: the proposer drops it
            # rather than leave a change that cannot run in the queue.
            if self.send("timelock", "cancel", [op.id], self.world.owner).ok:
                self.scheduled.remove(op)
        self._compare_operations()

    @precondition(lambda self: self.scheduled)
    @rule()
    def execute_ready_changes(self):
        """The executor runs every scheduled change whose delay is over, as a
        governance keeper would, without waiting for the others."""
        for op in [op for op in self.scheduled if op.ready <= self.twin.clock + 1]:
            self._execute(op, self.world.owner)

    @precondition(lambda self: self.scheduled)
    @rule(pick=st.integers(0, 2**16), by_owner=st.integers(0, 4), roll=st.integers(0, 2))
    def cancel_scheduled(self, pick, by_owner, roll):
        """The canceller drops a pending change (a stranger cannot); a third
        of the draws, so that most changes live to run."""
        if roll != 2:
            return
        op = self.scheduled[pick % len(self.scheduled)]
        outcome = self.send("timelock", "cancel", [op.id], self.world.owner if by_owner else self.world.stranger)
        if outcome.ok:
            self.scheduled.remove(op)
        self._compare_operations()

    # ---------------------------------------------------------------- a hostile owner

    @precondition(lambda self: self.engine.open_positions > 0 and self._timelock())
    @rule(symbol=st.sampled_from(sorted(MARKETS)))
    def what_if_the_owner_turns_hostile(self, symbol):
        """Rolled back: the owner schedules the harshest parameters it may
        set on a market (margins of 100% and 99.99%, the largest liquidation
        fee, the least max profit), executes them
        after the delay, and a liquidator tries every open position. The
        same tries without the change, from the same moment, must close the
        same positions and pay the liquidator the same."""
        mid = self.market_id(symbol)
        base = self.engine.market_params(mid)
        # Finding 1's raid: every position with any leverage at all would be
        # under a 99.99% maintenance margin.
        hostile = replace(base, initial_margin_bps=10_000, maintenance_margin_bps=9_999, liquidation_fee_bps=1_000,
                          max_profit_bps=1)
        self.in_what_if = True
        saved = list(self.scheduled)
        try:
            with self.twin.what_if():
                # The same parameters again, scheduled beside: executing them
                # costs the same transaction (the market's borrow index
                # accrues in both), so the runs differ in the parameters alone.
                ops = [self._schedule("set_market_params", [mid, params], "owner", None) for params in (hostile, base)]
                self.scheduled = saved
                if None in ops:
                    return
                self._wait_for(ops[1], refresh=True)
                sweeps = []
                for op in ops:
                    with self.twin.what_if():
                        executed = self.send("timelock", "execute", op.execute_args(self.twin.deployment.engine),
                                             self.world.owner)
                        assert executed.ok, f"{op.args[1]} did not run after the delay: {executed.reason}"
                        sweeps.append(self._liquidation_sweep())
                        self.twin.check()
                harsh, mild = sweeps
                if harsh != mild:
                    raise GovernanceBreach(self.twin.step, f"harsher parameters on {symbol} reached open positions: "
                                                           f"(liquidated, liquidator, insurance, pool) with them "
                                                           f"{harsh}, without {mild}")
                self._count("what-if hostile owner", "no open position reached" if mild[0] else
                            "no open position reached, none liquidatable without it")
        finally:
            self.scheduled = saved
            self.in_what_if = False

    def _liquidation_sweep(self):
        """A liquidator tries every open position, in id order: the ids the
        chain liquidated and what the liquidator and the insurance fund then
        hold, from the chain's own state."""
        liquidator = self.world.liquidators[0]
        done = []
        for pid in sorted(self.engine.open_position_ids()):
            if self.send("engine", "liquidate", [pid], liquidator).ok:
                done.append(pid)
        state = self.twin.read_chain()
        d = self.twin.deployment
        return done, state.balances.get(liquidator, 0), state.balances.get(d.insurance, 0), \
            state.balances.get(d.pool, 0)
