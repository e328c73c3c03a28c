"""Where a standalone keeper learns what is liquidatable: the chain itself.

Which positions are open comes from the engine's events (PositionOpened,
PositionClosed, PositionLiquidated), read in block ranges from a cursor
that only moves forward once a range was read whole, so an RPC error
repeats a range and never skips one. Their state is then read in pages of
100 slots (Engine.slots), plus three reads per market (parameters, state,
oracle), and health is computed locally with the model's own functions:
a scan costs about positions/100 + 3 x markets calls, never one per
position. Without an event source (a backend with no logs), every slot is
paged through instead.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from model import MarketParams
from model.risk import Position

from ..chains.chain import Chain, ChainError
from ..protocol.layout import slot_pages, slot_windows  # noqa: F401 - slot_windows: the keeper's paging
from ..protocol.snapshot import read_slots
from .health import MarketView, liquidatable, market_view, refusals
from .reasons import attempt_words, explain

LOG_RANGE = 2_000


@dataclass(frozen=True)
class EngineEvent:
    block: int
    log_index: int
    name: str                 # PositionOpened | PositionClosed | PositionLiquidated
    position_id: int
    liquidator: Optional[str] = None
    values: Optional[dict] = None


class EventSource:
    """What ChainPositions needs of a log reader."""

    def head(self) -> int:
        raise NotImplementedError

    def fetch(self, from_block: int, to_block: int) -> List[EngineEvent]:
        raise NotImplementedError


def position_of(view) -> Tuple[int, Position]:
    """Engine.PositionView tuple -> (position id, model Position)."""
    (pid, _slot, _vault, is_open, owner, market_id, is_long, size, collateral, entry_price, entry_index,
     max_profit_bps, _reserve, maintenance_margin_bps, liquidation_fee_bps) = view
    return pid, Position(owner=owner, market_id=market_id, is_long=is_long, max_profit_bps=max_profit_bps,
                         maintenance_margin_bps=maintenance_margin_bps, liquidation_fee_bps=liquidation_fee_bps,
                         generation=pid & (2**32 - 1), is_open=is_open, size=size, collateral=collateral,
                         entry_price=entry_price, entry_index=entry_index)


class ChainPositions:
    def __init__(self, chain: Chain, engine: str, lens: Optional[str] = None, *, events: Optional[EventSource] = None,
                 start_block: int = 0, log_range: int = LOG_RANGE):
        # Slots are paged through the Lens (Lens.slots) when there is one;
        # the engine keeps only a per-slot view, for its EIP-170 budget.
        self.chain, self.engine, self.lens, self.events = chain, engine, lens, events
        self.cursor = start_block - 1          # last block whose events are applied
        self.log_range = log_range
        self.open_ids: Set[int] = set()
        self.calls = 0                         # reads made, to show a scan's cost
        self.refused: List[Tuple[int, str]] = []   # the last scan's (position id, the engine's refusal)
        self.head_timestamp: Optional[int] = None  # the latest block's, at the last scan

    # ---------------------------------------------------------------- events

    def sync(self) -> List[EngineEvent]:
        """Apply new events up to the head; return the closings seen
        (liquidations and closes). A ChainError leaves the cursor after the
        last range fully applied."""
        if self.events is None:
            return []
        head = self.events.head()
        gone = []
        while self.cursor < head:
            to = min(self.cursor + self.log_range, head)
            batch = sorted(self.events.fetch(self.cursor + 1, to), key=lambda e: (e.block, e.log_index))
            self.calls += 1
            for e in batch:
                if e.name == "PositionOpened":
                    self.open_ids.add(e.position_id)
                else:
                    self.open_ids.discard(e.position_id)
                    gone.append(e)
            self.cursor = to
        return gone

    # ---------------------------------------------------------------- state

    def _call(self, fn: str, args=()):
        self.calls += 1
        return self.chain.call(self.engine, "Engine", fn, args)

    def positions(self) -> List[Tuple[int, Position]]:
        """Every open position, read in pages."""
        if self.events is None:
            windows = slot_pages(self._call("vault_count"))
        else:
            windows = slot_windows(pid >> 32 for pid in self.open_ids)
        self.calls += len(windows)
        return [position_of(view) for view in read_slots(self.chain.call_many, self.lens, self.engine, windows) if view[3]]

    def markets(self, timestamp: int) -> Dict[int, MarketView]:
        views = {}
        for market_id in range(1, self._call("market_count") + 1):
            p = MarketParams(*self._call("market_params", [market_id]))
            feed, _oi_long, _oi_short, borrow_index, last_accrual = self._call("market_state", [market_id])
            self.calls += 2
            try:
                _, answer, _, updated_at, _ = self.chain.call(feed, "MockAggregator", "latestRoundData")
                answered = True
            except ChainError:
                answered, answer, updated_at = False, 0, 0
            last_price = self.chain.call(self.engine, "Engine", "market_last_price", [market_id])
            views[market_id] = market_view(market_id, p, borrow_index, last_accrual, answer, updated_at, timestamp,
                                           last_price, answered)
        return views

    def scan(self) -> List[Tuple[int, int]]:
        """(position id, shortfall) of what is liquidatable in the next block."""
        self.head_timestamp = self.chain.latest_timestamp()
        timestamp = self.head_timestamp + 1
        positions, markets = self.positions(), self.markets(timestamp)
        self.refused = refusals(positions, markets)
        return liquidatable(positions, markets)


# ---------------------------------------------------------------- the loop

def run_keeper(positions: ChainPositions, keeper, *, rounds: Optional[int] = None, interval: float = 12.0,
               sleep: Callable[[float], None] = None, log: Callable[[str], None] = print, executor=None,
               stop=None, on_round: Callable[[dict], None] = None,
               round_gates: Sequence[Tuple[str, Callable[[], Optional[str]]]] = ()) -> dict:
    """Scan and liquidate, `rounds` times (None: until interrupted). One
    round: apply new events (crediting our liquidations they show), scan,
    liquidate, reconcile anything a client error left unsettled, then (with
    an `executor`) execute pending orders and LP requests, logging why each
    that cannot run yet waits. Every position not liquidated is logged with
    why (skipped: the refusal the engine would give; tried: what went
    wrong), and the summary's "not_liquidated_now" groups the last round's
    by those words. The summary gains the executor's under "executions".

    `stop` (a threading.Event, set by a signal handler) ends the run between
    sends, never inside one: a transaction already sent is waited for and
    counted, what was not sent yet is left for the next run, and the
    summary is this run's as usual, with "stopped" and "rounds" in it.

    `round_gates`, (name, gate) pairs, are asked in order after the scan:
    a gate returns a reason to send nothing this round (the gas price above
    the operator's limit: "gas_limited"; a transaction of this account still
    pending: "pending_tx", nonces.py), or None. The first reason is logged in
    one line and the round counted as "<name>_rounds"; what it found waits
    for the next. `on_round(info)` hears each round's end (the metrics)."""
    import time
    if sleep is None:
        # Waiting on the event wakes up at once when a signal sets it.
        sleep = stop.wait if stop is not None else time.sleep
    stopping = stop.is_set if stop is not None else (lambda: False)
    n = 0
    gated = {name: 0 for name, _ in round_gates}
    why_not: Dict[str, List[int]] = {}
    while (rounds is None or n < rounds) and not stopping():
        n += 1
        try:
            _credit(positions.sync(), keeper)
            found = positions.scan()
        except ChainError as err:
            log(f"round {n}: RPC error while scanning ({err}); retrying next round")
            keeper.counts["rpc_errors"] += 1
            if on_round is not None:
                on_round({"round": n, "error": str(err)})
            sleep(interval)
            continue
        held = gate_name = None
        for gate_name, gate in round_gates:
            held = gate()
            if held is not None:
                break
        if held is not None:
            gated[gate_name] += 1
            log(f"round {n}: {held}; nothing sent this round ({len(found)} liquidatable)")
            why_not = _why_not(positions.refused, [])
            if found:
                why_not.setdefault(f"not sent: {held}", []).extend(pid for pid, _ in found)
            if on_round is not None:
                on_round({"round": n, gate_name: True, "liquidatable": len(found),
                          "head_timestamp": positions.head_timestamp})
            if (rounds is None or n < rounds) and not stopping():
                sleep(interval)
            continue
        attempts = keeper.run([pid for pid, _ in found], stop=stopping)
        keeper.reconcile()
        done = sum(1 for a in attempts if a.outcome == "liquidated")
        log(f"round {n}: {len(positions.open_ids) if positions.events else 'all'} open tracked, "
            f"{len(found)} liquidatable, {done} liquidated, {len(attempts) - done} not")
        why_not = _why_not(positions.refused, [a for a in attempts if a.outcome != "liquidated"])
        for words, ids in why_not.items():
            log(f"round {n}: not liquidated: {_ids(ids)}: {words}")
        if executor is not None and not stopping():
            for e in executor.run(stop=stopping):
                if e.outcome != "executed":
                    log(f"round {n}: {e.message}")
            ex = executor.summary()
            log(f"round {n}: executed {ex['executed']} orders and LP requests so far, "
                f"{ex['cancelled']} cancelled by the engine, {len(ex['waiting_now'])} waiting")
        if on_round is not None:
            on_round({"round": n, "liquidatable": len(found), "head_timestamp": positions.head_timestamp})
        if (rounds is None or n < rounds) and not stopping():
            sleep(interval)
    try:
        _credit(positions.sync(), keeper)
    except ChainError:
        pass
    summary = keeper.summary()
    summary["not_liquidated_now"] = why_not
    summary["rounds"] = n
    for name, count in gated.items():
        summary[f"{name}_rounds"] = count
    if stop is not None and stop.is_set():
        summary["stopped"] = getattr(stop, "reason", None) or "stopped"
    if executor is not None:
        summary["executions"] = executor.summary()
    return summary


def _why_not(refused, failed) -> Dict[str, List[int]]:
    out: Dict[str, List[int]] = {}
    for pid, reason in refused:
        out.setdefault(explain(reason), []).append(pid)
    for a in failed:
        out.setdefault(attempt_words(a), []).append(a.position_id)
    return out


def _ids(ids: List[int]) -> str:
    return ("position " if len(ids) == 1 else "positions ") + ", ".join(str(i) for i in sorted(ids))


def _credit(events: List[EngineEvent], keeper) -> None:
    for e in events:
        keeper.settle_event(e.position_id, e.liquidator if e.name == "PositionLiquidated" else None, e.values)
