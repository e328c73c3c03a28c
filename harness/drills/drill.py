"""A liquidation drill: deploy, open a population, play a price path, let
keepers liquidate, and check the chain against the model at every step.

One step is: time passes (`step_seconds`), each market's oracle publishes
its next price (or stays silent in a `stale` segment), the keepers whose
turn it is scan and act, then the whole state is compared with the model
and isolation is checked. The drill stops at the first disagreement, with
the field, both values and the action that led there.

Every figure comes from the model's return values and state, which the
step checks prove equal to the chain's, so a chain run and an offline run
(`backend="model"`) of the same scenario give the same figures; only gas
and the checks themselves need a chain.
"""
import random
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from tqdm import tqdm

from model.liquidation_index import LiquidationIndex
from model.orders import MAX_U128, OrderCancelled, OrderExecuted
from model.pool import LP_REQUEST_DELAY

from ..chains.chain import Chain, ChainError
from ..chains.faults import FlakyChain
from ..keeper.health import model_market_view
from ..keeper.keeper import Attempt, Keeper, TwinPort
from ..protocol.markets import MAX_UINT256
from ..twin.invariants import InvariantBreach, check_conservation, check_isolation
from ..twin.twin import Disagreement
from .drivers import make_driver
from .population import Planned, plan_population
from .scenario import Scenario
READ_RETRIES = 3
# Orders requested before one price round and one execution pass: well
# under ORDER_EXPIRY seconds of one-second transactions, so none expires
# waiting for its round.
ORDER_BATCH = 200
# Traders take any price: the drill is about liquidations, not slippage.
ANY_PRICE_BUY, ANY_PRICE_SELL = MAX_U128, 0


class SetupError(RuntimeError):
    """The scenario's world could not be built (a parameter the chain refused)."""


@dataclass
class PositionRecord:
    plan: Planned
    position_id: Optional[int] = None
    status: str = "rejected"          # rejected | open | liquidated | closed
    reject_reason: Optional[str] = None
    size: int = 0
    collateral: int = 0
    open_fee: int = 0
    entry_price: int = 0
    exit_step: Optional[int] = None
    keeper: Optional[str] = None
    settlement: Optional[dict] = None
    received: int = 0                 # tokens back to the trader (mark-to-market if still open)
    bad_debt: int = 0
    delay_steps: Optional[int] = None

    @property
    def loss(self) -> int:
        return self.plan.amount - self.received


@dataclass
class LiquidationEvent:
    step: int
    position_id: int
    market: str
    keeper: str
    price: int
    reward: int
    insurance_cut: int
    to_pool: int
    bad_debt: int
    insurance_cover: int
    gas_used: Optional[int]
    delay_steps: int
    adopted: bool
    eth_usd: int


@dataclass
class StepRecord:
    # One point of the report's series. Its first point is before the
    # opens and its last after the final closes, so the table's start and
    # end are the series' own ends.
    phase: str                         # start (before the opens) | opened | step | closed (after close_all)
    step: int                          # the price step: 0 before the first, steps + 1 for the final closes
    seconds: int                       # of chain time since the start point
    prices: Dict[str, int]             # what the oracle says
    market_prices: Dict[str, int]      # where the market is (differs while stale)
    oracle_ok: Dict[str, bool]
    open_positions: int
    oi_long: Dict[str, int]
    oi_short: Dict[str, int]
    insurance: int
    pool_assets: int
    liquidatable: int                  # at the scan, before the keepers act
    liquidations: int                  # this step


@dataclass
class DrillResult:
    scenario: Scenario
    backend: str
    measures_gas: bool
    checks_chain: bool
    gas_source: Optional[str] = None
    positions: List[PositionRecord] = field(default_factory=list)
    steps: List[StepRecord] = field(default_factory=list)
    liquidations: List[LiquidationEvent] = field(default_factory=list)
    closes: List[dict] = field(default_factory=list)
    keepers: Dict[str, dict] = field(default_factory=dict)
    steps_checked: int = 0
    isolation_checks: int = 0
    missed_windows: int = 0
    liquidatable_at_end: int = 0
    oracle_refreshes: int = 0
    injected_faults: Dict[str, int] = field(default_factory=dict)
    status: str = "ok"
    failure: Optional[dict] = None
    timing: Dict[str, float] = field(default_factory=dict)
    orders: dict = field(default_factory=dict)


class Drill:
    def __init__(self, scenario: Scenario, backend: str, chain: Optional[Chain] = None, *, progress: bool = True):
        self.s = scenario
        self.backend = backend
        if chain is not None and scenario.rpc_error_rate:
            chain = FlakyChain(chain, rate=scenario.rpc_error_rate, seed=scenario.seed)
        self.chain = chain
        self.progress = progress
        self.driver = make_driver(backend, scenario.accounts_needed(), chain)
        self.model = self.driver.model
        self.engine = self.model.engine
        self.step = 0
        # What the keepers find, by the engine's rule on the model (whatever
        # the backend: the model is checked against the chain every step);
        # the index checks only what its bound cannot rule out.
        self.scanner = LiquidationIndex(self.engine)
        self.result = DrillResult(scenario, self.driver.label, self.driver.measures_gas, self.driver.checks_chain,
                                  self.driver.gas_source)

    # ---------------------------------------------------------------- running

    def run(self) -> DrillResult:
        """The whole drill, or the rest of it after open_only."""
        r = self.result
        try:
            if not self._opened:
                self.open_only()
            t = time.perf_counter()
            self._bar = tqdm(total=self.s.steps, desc=f"{self.s.name} [{self.driver.label}]", unit="step",
                             disable=not self.progress)
            try:
                for step in range(1, self.s.steps + 1):
                    self._play_step(step)
            finally:
                self._bar.close()
            if self.s.close_all:
                self._close_all()
            r.timing["steps_s"] = time.perf_counter() - t
            self._finish()
        except Disagreement as err:
            r.status = "disagreement"
            r.failure = {"kind": "disagreement", "drill_step": self.step, "transaction": err.step,
                         "action": err.action, "field": err.field, "model": repr(err.model),
                         "chain": repr(err.chain), "message": str(err)}
            self._finish(partial=True)
        except InvariantBreach as err:
            r.status = f"{err.what} breach"
            r.failure = {"kind": err.what, "drill_step": self.step, "message": str(err)}
            self._finish(partial=True)
        r.timing["wall_time_s"] = time.perf_counter() - self._t0
        return r

    def open_only(self) -> List[PositionRecord]:
        """Set up and open the population, and stop (run() goes on from
        there): on the model backend, which positions the engine refuses,
        before anything is drilled."""
        r = self.result
        self._t0 = time.perf_counter()
        self._setup()
        r.timing["setup_s"] = time.perf_counter() - self._t0
        t = time.perf_counter()
        self._open_population()
        r.timing["open_s"] = time.perf_counter() - t
        self._opened = True
        return r.positions

    _opened = False

    # ---------------------------------------------------------------- setup

    def _send(self, target: str, fn: str, args, sender: str, what: str):
        out = self.driver.send(target, fn, args, sender)
        if not out.ok:
            raise SetupError(f"{what}: {target}.{fn} reverted: {out.reason}")
        return out

    def _lp_deposit(self, lp: str, assets: int) -> None:
        """An LP deposit through the pool's async flow: request, wait
        LP_REQUEST_DELAY, every feed publishes again, a keeper executes."""
        d = self.driver
        r = self._send("pool", "requestDeposit", [assets, lp, lp], lp, "LP deposit request")
        d.wait(LP_REQUEST_DELAY)
        for symbol in sorted(self.market_ids):
            self._publish(symbol, d.model.engine.feeds[d.deployment.feeds[symbol]].answer)
        self._send("pool", "execute_request", [r.value], lp, "LP deposit execution")

    def _setup(self) -> None:
        s, d = self.s, self.driver
        accounts = d.accounts
        self.owner = d.deployment.deployer
        self.lps = accounts[2:2 + s.lp_count]
        k0 = 2 + s.lp_count
        self.keeper_addresses = accounts[k0:k0 + s.keepers.count]
        self.traders = accounts[k0 + s.keepers.count:k0 + s.keepers.count + s.trader_accounts]
        self.market_ids: Dict[str, int] = {}
        self.last_update: Dict[str, int] = {}
        for m in s.markets:
            feed = d.add_feed(m.symbol, m.decimals, m.price)
            self.market_ids[m.symbol] = self._send("engine", "list_market", [feed, m.params], self.owner,
                                                   f"listing {m.symbol}").value
            self.last_update[m.symbol] = d.clock
        self.symbol_of = {mid: sym for sym, mid in self.market_ids.items()}
        self.plan = plan_population(s)
        need = [0] * s.trader_accounts
        fee = self.model.orders.EXECUTION_FEE
        for p in self.plan:
            # The open's execution fee; a close escrows none (its keeper is paid out of the payout).
            need[p.trader] += p.amount + fee
        engine = d.deployment.engine
        if s.insurance:
            self._send("token", "mint", [self.owner, s.insurance], self.owner, "minting the insurance fund")
            self._send("token", "approve", [engine, MAX_UINT256], self.owner, "approving the engine")
        for lp in self.lps:
            self._send("token", "mint", [lp, s.lp_deposit], self.owner, "minting LP funds")
            self._send("token", "approve", [d.deployment.pool, MAX_UINT256], lp, "approving the pool")
            self._lp_deposit(lp, s.lp_deposit)
        for trader, amount in zip(self.traders, need):
            if amount:
                self._send("token", "mint", [trader, amount], self.owner, "minting trader funds")
                self._send("token", "approve", [d.deployment.orders, MAX_UINT256], trader,
                           "approving the order book")
        if s.insurance:
            self._send("engine", "fund_insurance", [s.insurance], self.owner, "funding insurance")
        self.orders_mark = self.model.events_mark()
        self.state = self._check()
        self.t0 = d.clock
        self._record_step("start", 0, 0, 0)
        # No sleeping between retries: chain time is pinned, and wall time only slows the drill.
        self.keepers = [Keeper(f"keeper-{i}", a, TwinPort(d), sleep=None, on_attempt=self._on_attempt)
                        for i, a in enumerate(self.keeper_addresses)]
        self.keeper_by_name = {k.name: k for k in self.keepers}
        self.pending: List[tuple] = []          # (due step, keeper index, candidates)
        self.episodes: Dict[int, int] = {}      # position id -> step it became liquidatable
        self.records_by_id: Dict[int, PositionRecord] = {}
        self.step_liquidated_slots: set = set()
        self.step_liquidators: set = set()

    # ---------------------------------------------------------------- opening

    def _open_population(self) -> None:
        d, r = self.driver, self.result
        bar = tqdm(total=len(self.plan), desc="opening", unit="pos", disable=not self.progress, leave=False)
        for first in range(0, len(self.plan), ORDER_BATCH):
            batch = self.plan[first:first + ORDER_BATCH]
            requests = []
            for p in batch:
                self._keep_oracle_fresh(p.market)
                limit = ANY_PRICE_BUY if p.is_long else ANY_PRICE_SELL
                out = d.send("orders", "request_open", [self.market_ids[p.market], p.is_long, p.size, p.amount, limit],
                             self.traders[p.trader])
                requests.append((p, out))
            self._round_after_requests({p.market for p in batch})
            for p, req in requests:
                rec = PositionRecord(p)
                if not req.ok:
                    rec.reject_reason = req.reason
                else:
                    done = self._execute_order(req.value)
                    if isinstance(done, OrderExecuted):
                        pos = self.engine.position(done.position_id)
                        rec.position_id, rec.status = done.position_id, "open"
                        rec.size, rec.collateral, rec.entry_price = pos.size, pos.collateral, pos.entry_price
                        rec.open_fee = p.amount - pos.collateral
                        self.records_by_id[done.position_id] = rec
                    else:
                        rec.reject_reason = done
                r.positions.append(rec)
                bar.update()
        bar.close()
        self.state = self._check()
        self._record_step("opened", 0, self._liquidatable_now(), 0)

    def _round_after_requests(self, symbols) -> None:
        # An order executes only on a price round newer than its request:
        # each market's feed publishes again, at the price it already has.
        for symbol in sorted(symbols):
            self._publish(symbol, self.model.engine.feeds[self.driver.deployment.feeds[symbol]].answer)

    def _execute_order(self, order_id: int):
        """The drill's keeper executes: the model's OrderExecuted event, or
        why the order could not run (the OrderCancelled reason, or the
        revert reason when it still waits)."""
        mark = self.model.events_mark()
        out = self.driver.send("orders", "execute_order", [order_id], self.keeper_addresses[0]
                               if self.keeper_addresses else self.owner)
        if not out.ok:
            return out.reason
        ev = self.model.events_since(mark, "OrderExecuted", "OrderCancelled")[-1].event
        return ev if isinstance(ev, OrderExecuted) else ev.reason

    def _keep_oracle_fresh(self, symbol: str) -> None:
        # A long opening phase would outlive the oracle's staleness: the
        # feed re-publishes the same price, as a heartbeat does.
        m = self.s.market(symbol)
        if self.driver.clock + 1 - self.last_update[symbol] > m.params.staleness // 2:
            self._publish(symbol, self.model.engine.feeds[self.driver.deployment.feeds[symbol]].answer)
            self.result.oracle_refreshes += 1

    def _publish(self, symbol: str, price: int) -> None:
        self._send(f"feed:{symbol}", "set_answer", [price], self.owner, f"publishing {symbol}")
        self.last_update[symbol] = self.driver.clock

    # ---------------------------------------------------------------- one step

    def _play_step(self, step: int) -> None:
        s, d = self.s, self.driver
        self.step = step
        d.wait(s.step_seconds)
        for m in s.markets:
            ps = m.path[step - 1]
            if ps.update:
                self._publish(m.symbol, ps.price)
        views = {mid: model_market_view(self.engine, mid, d.clock + 1) for mid in self.symbol_of}
        found = [pid for pid, _ in self.scanner.liquidatable(views)]
        self._track_episodes(step, found, views)

        for i, k in enumerate(self.keepers):
            if self._scans(i, step):
                self.pending.append((step + s.keepers.latency, i, self._pick(i, step, found)))
        due = [p for p in self.pending if p[0] <= step]
        self.pending = [p for p in self.pending if p[0] > step]
        self.step_liquidated_slots, self.step_liquidators = set(), set()
        before = self.state
        liquidations_before = len(self.result.liquidations)
        self._execute(step, due)
        for k in self.keepers:
            k.reconcile()
        self.state = self._check()
        if s.isolation == "step" and self.state is not None and self.step_liquidated_slots:
            check_isolation(step, d.deployment, before, self.state, self.step_liquidated_slots,
                            self.step_liquidators)
            self.result.isolation_checks += 1
        self._record_step("step", step, len(found), len(self.result.liquidations) - liquidations_before)
        self._progress_update()

    def _scans(self, i: int, step: int) -> bool:
        k = self.s.keepers
        offset = (i * k.scan_every // k.count) if k.stagger else 0
        return (step - 1 - offset) % k.scan_every == 0

    def _pick(self, i: int, step: int, found: List[int]) -> List[int]:
        # "random": keepers with their own priorities, so they collide less
        # than when all chase the deepest first.
        if self.s.keepers.pick == "deepest":
            return found
        order = list(found)
        random.Random(f"isomargin:{self.s.seed}:keeper:{i}:step:{step}").shuffle(order)
        return order

    def _execute(self, step: int, due: List[tuple]) -> None:
        # Keepers that act in the same step race: their transactions
        # interleave, the first in each step's rotation going first.
        queues = {}
        for _, i, candidates in due:
            cap = self.s.keepers.max_per_scan
            queues.setdefault(i, []).extend(candidates[:cap] if cap else candidates)
        order = sorted(queues, key=lambda i: (i - step) % len(self.keepers))
        longest = max((len(q) for q in queues.values()), default=0)
        for n in range(longest):
            for i in order:
                if n < len(queues[i]):
                    self.keepers[i].liquidate(queues[i][n])

    def _track_episodes(self, step: int, found: List[int], views) -> None:
        now = set(found)
        for pid in list(self.episodes):
            if pid in now:
                continue
            if views[self.market_ids[self.records_by_id[pid].plan.market]].price is None:
                # The oracle is refused: still waiting, not healthy.
                continue
            # Healthy again before anyone liquidated it: a window missed.
            del self.episodes[pid]
            self.result.missed_windows += 1
        for pid in found:
            self.episodes.setdefault(pid, step)

    # ---------------------------------------------------------------- liquidations

    def _on_attempt(self, a: Attempt) -> None:
        if a.outcome != "liquidated":
            return
        rec = self.records_by_id[a.position_id]
        if rec.status != "open":
            raise AssertionError(f"position {a.position_id} counted as liquidated twice")
        v = a.value
        delay = self.step - self.episodes.pop(a.position_id, self.step)
        rec.status, rec.exit_step, rec.keeper, rec.settlement = "liquidated", self.step, a.keeper, v
        rec.bad_debt, rec.received, rec.delay_steps = v["bad_debt"], 0, delay
        self.result.liquidations.append(LiquidationEvent(
            step=self.step, position_id=a.position_id, market=rec.plan.market, keeper=a.keeper,
            price=v["price"], reward=v["reward"], insurance_cut=v["insurance_cut"], to_pool=v["to_pool"],
            bad_debt=v["bad_debt"], insurance_cover=v["insurance_cover"], gas_used=a.gas_used,
            delay_steps=delay, adopted=a.adopted, eth_usd=self._eth_usd()))
        keeper = self.keeper_by_name[a.keeper]
        slot = a.position_id >> 32
        self.step_liquidated_slots.add(slot)
        self.step_liquidators.add(keeper.address)
        if self.s.isolation == "tx" and self.driver.checks_chain:
            after = self._read(self.driver.read_chain)
            check_isolation(self.step, self.driver.deployment, self.state, after, {slot}, {keeper.address})
            self.result.isolation_checks += 1
            self.state = after

    def _eth_usd(self) -> int:
        if self.s.keepers.eth_usd is not None:
            return self.s.keepers.eth_usd
        if "ETH" in self.market_ids:
            return self.engine.feeds[self.driver.deployment.feeds["ETH"]].answer
        return 2_000 * 10**8

    # ---------------------------------------------------------------- the end

    def _close_all(self) -> None:
        self.step = self.s.steps + 1
        still_open = [rec for rec in self.result.positions if rec.status == "open"]
        for first in range(0, len(still_open), ORDER_BATCH):
            batch = still_open[first:first + ORDER_BATCH]
            requests = []
            for rec in batch:
                limit = ANY_PRICE_SELL if rec.plan.is_long else ANY_PRICE_BUY
                requests.append((rec, self.driver.send("orders", "request_close", [rec.position_id, limit],
                                                       self.traders[rec.plan.trader])))
            self._round_after_requests({rec.plan.market for rec in batch})
            for rec, req in requests:
                self._settle_close(rec, req)
        self.state = self._check()
        self._record_step("closed", self.step, self._liquidatable_now(), 0)

    def _settle_close(self, rec: PositionRecord, req) -> None:
        if not req.ok:
            self.result.closes.append({"position_id": rec.position_id, "ok": False, "reason": req.reason})
            return
        mark = self.model.events_mark()
        keeper = self.keeper_addresses[0] if self.keeper_addresses else self.owner
        out = self.driver.send("orders", "execute_order", [req.value], keeper)
        closed = self.model.events_since(mark, "PositionClosed")
        if not out.ok or not closed:
            reason = out.reason if not out.ok else self.model.events_since(mark, "OrderCancelled")[-1].event.reason
            self.result.closes.append({"position_id": rec.position_id, "ok": False, "reason": reason})
            return
        # What the close did, as the model's PositionClosed event says.
        ev = closed[-1].event
        rec.status, rec.exit_step = "closed", self.step
        rec.received, rec.bad_debt = ev.to_trader, ev.bad_debt
        rec.settlement = {"pnl": ev.pnl, "borrow_fee": ev.borrow_fee, "close_fee": ev.close_fee,
                          "bad_debt": ev.bad_debt, "insurance_cover": ev.insurance_cover}
        self.result.closes.append({"position_id": rec.position_id, "ok": True, "bad_debt": ev.bad_debt,
                                   "insurance_cover": ev.insurance_cover, "gas_used": out.gas_used})

    def _finish(self, partial: bool = False) -> None:
        r = self.result
        if not partial:
            for rec in r.positions:
                if rec.status == "open":
                    # What closing would pay in the next block, at the oracle's last
                    # answer even if stale: the model's estimate of where it stands.
                    rec.received = self.engine.mark_to_market(rec.position_id, self.driver.clock + 1)
        r.liquidatable_at_end = len(self.episodes) if hasattr(self, "episodes") else 0
        r.keepers = {k.name: k.summary() for k in getattr(self, "keepers", [])}
        if not r.measures_gas:
            for summary in r.keepers.values():
                summary["gas_spent"] = None
        if hasattr(self, "orders_mark"):
            r.orders = self._order_counts()
        if isinstance(self.chain, FlakyChain):
            r.injected_faults = dict(sorted(self.chain.injected.items()))

    def _order_counts(self) -> dict:
        # From the model's events (the chain's twins, checked every step).
        evs = [e.event for e in self.model.events_since(self.orders_mark, "OrderRequested", "OrderExecuted",
                                                        "OrderCancelled")]
        reasons: Dict[str, int] = {}
        for e in evs:
            if isinstance(e, OrderCancelled):
                reasons[e.reason] = reasons.get(e.reason, 0) + 1
        return {"requested": sum(1 for e in evs if type(e).__name__ == "OrderRequested"),
                "executed": sum(1 for e in evs if isinstance(e, OrderExecuted)),
                "cancelled": sum(reasons.values()),
                "cancel_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
                "pending_at_end": len(self.model.orders.pending_ids())}

    # ---------------------------------------------------------------- checks and records

    def _read(self, fn):
        for attempt in range(READ_RETRIES + 1):
            try:
                return fn()
            except ChainError:
                if attempt == READ_RETRIES:
                    raise
                time.sleep(0.2 * 2 ** attempt)

    def _check(self):
        state = self._read(self.driver.check)
        if state is not None:
            self.result.steps_checked += 1
            check_conservation(self.step, self.driver.deployment, state)
        return state

    def _liquidatable_now(self) -> int:
        # Outside a step no keeper scans; the same rule counts what one would find.
        views = {mid: model_market_view(self.engine, mid, self.driver.clock + 1) for mid in self.symbol_of}
        return len(self.scanner.liquidatable(views))

    def _record_step(self, phase: str, step: int, found: int, liquidations: int) -> None:
        e, m, d = self.engine, self.model, self.driver.deployment
        prices, market_prices, ok, oi_long, oi_short = {}, {}, {}, {}, {}
        for sym, mid in self.market_ids.items():
            view = model_market_view(e, mid, self.driver.clock + 1)
            prices[sym] = e.feeds[d.feeds[sym]].answer
            path = self.s.market(sym).path
            market_prices[sym] = path[min(step, len(path)) - 1].price if step else self.s.market(sym).price
            ok[sym] = view.oracle_error is None
            st = e.market_state(mid)
            oi_long[sym], oi_short[sym] = st.oi_long, st.oi_short
        self.result.steps.append(StepRecord(
            phase=phase, step=step, seconds=self.driver.clock - self.t0, prices=prices, market_prices=market_prices,
            oracle_ok=ok, open_positions=e.open_positions, oi_long=oi_long, oi_short=oi_short,
            insurance=m.token.balanceOf[d.insurance], pool_assets=m.token.balanceOf[d.pool],
            liquidatable=found, liquidations=liquidations))

    def _progress_update(self) -> None:
        if self._bar is None:
            return
        self._bar.update()
        self._bar.set_postfix(open=self.engine.open_positions, liquidated=len(self.result.liquidations),
                              bankrupt=sum(1 for x in self.result.liquidations if x.bad_debt), refresh=False)

    _bar = None


def run_drill(scenario: Scenario, backend: str, chain: Optional[Chain] = None, *, progress: bool = True) -> DrillResult:
    return Drill(scenario, backend, chain, progress=progress).run()
