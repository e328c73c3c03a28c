"""The keeper's second job: executing what traders and LPs requested.

A trade order (OrderBook.execute_order) runs only on a price round newer
than its request, an LP request (LiquidityPool.execute_request) only after
LP_REQUEST_DELAY and a round of every market after it. Until then the
contracts refuse with a reason, and the keeper tries again next round; the
rules themselves are the contracts' and the model's, never restated here:
a drill asks the model (`executable_error`, a what-if run), the standalone
keeper reads the revert reason. What the keeper adds is the operator's
view: each refusal said in words that say what to do about it.
"""
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional

from model import Revert

from ..chains.chain import ChainError, TxResult

# Refusals after which the request is still pending and will run later by itself.
WAITS = {
    "orders: no price round after the request yet": "waits: no price round after its request yet",
    "sequencer: down": "waits: sequencer down",
    "sequencer: grace period after an outage": "waits: sequencer back up, still in its grace period",
    "oracle: price is stale": "waits: the market's price is stale (no round within its staleness)",
    "pool: paused, executions wait": "waits: the protocol is paused (LP executions resume when the owner unpauses)",
    "orders: paused, opens and increases wait":
        "waits: the protocol is paused (opens and increases resume when the owner unpauses; closes and decreases run)",
    "pool: request delay not over": "waits: the pool's request delay is not over",
    "pool: wait for every market's price round after the request":
        "waits: some market has no price round after the request yet",
    "pool: assets reserved for open positions":
        "waits: the pool's free assets are reserved for open positions (retried as positions close)",
}
# Refusals that need someone to act.
ACTIONS = {
    "orders: expired, clear it": "expired: clear it (clear_expired refunds the owner and pays you the fee)",
    "orders: not pending": "is gone: executed, cancelled or cleared already",
    "pool: no pending request": "is gone: executed or cancelled already",
    "orders: execution failed without a reason":
        "failed without a reason (out of gas?): retry with more gas; the order stays pending",
}

OUTCOMES = ("executed", "cancelled", "waits", "gone", "expired", "failed", "rpc_error")


def _noun(kind: str, ident: int) -> str:
    return f"order {ident}" if kind == "order" else f"LP request {ident}"


def explain(kind: str, ident: int, reason: Optional[str]) -> str:
    """A refusal in an operator's words, e.g. "order 12 waits: no price
    round after its request yet"."""
    words = WAITS.get(reason) or ACTIONS.get(reason)
    if words is None:
        words = f"reverted: {reason!r}" if reason else "reverted without a reason"
    return f"{_noun(kind, ident)} {words}"


def outcome_of(reason: Optional[str]) -> str:
    if reason in WAITS:
        return "waits"
    if reason == "orders: expired, clear it":
        return "expired"
    if reason in ("orders: not pending", "pool: no pending request"):
        return "gone"
    return "failed"


@dataclass
class Execution:
    kind: str                    # order | lp_request
    ident: int
    outcome: str                 # one of OUTCOMES
    message: str
    reason: Optional[str] = None
    gas_used: Optional[int] = None


class TwinExecutions:
    """Execution through a drill driver: the model says what is pending and
    whether it would run now, so the keeper sends only what runs."""

    def __init__(self, driver):
        self.driver = driver

    @property
    def _model(self):
        return self.driver.model

    def pending_orders(self) -> List[int]:
        return self._model.orders.pending_ids()

    def pending_requests(self) -> List[int]:
        pool = self._model.pool
        return [i for i in range(1, pool.request_count + 1) if pool.lp_requests[i].amount]

    def _next_block(self, what):
        # Asked at the time the keeper's transaction would run: the next block.
        env = self._model.env
        saved, env.timestamp = env.timestamp, self.driver.clock + 1
        try:
            return what()
        finally:
            env.timestamp = saved

    def order_wait(self, order_id: int) -> Optional[str]:
        return self._next_block(lambda: self._model.orders.executable_error(order_id))

    def request_wait(self, request_id: int) -> Optional[str]:
        return self._next_block(lambda: self._request_error(request_id))

    def _request_error(self, request_id: int) -> Optional[str]:
        # A what-if run of the model's own execute_request, undone after.
        model = self._model
        try:
            with model.journal.savepoint():
                model.pool.execute_request(request_id, sender=model.pool.address)
        except Revert as r:
            return r.reason
        return None

    def execute_order(self, order_id: int, sender: str) -> TxResult:
        mark = self._model.events_mark()
        out = self.driver.send("orders", "execute_order", [order_id], sender)
        if out.ok:
            ev = self._model.events_since(mark, "OrderExecuted", "OrderCancelled")[-1].event
            out = replace(out, value=("executed", ev.position_id) if type(ev).__name__ == "OrderExecuted"
                          else ("cancelled", ev.reason))
        return out

    def execute_request(self, request_id: int, sender: str) -> TxResult:
        return self.driver.send("pool", "execute_request", [request_id], sender)


class ChainExecutions:
    """Execution straight on a chain (the standalone keeper): pending work
    is read from the contracts, a refusal is the contract's revert reason."""

    def __init__(self, chain, orders: Optional[str], pool: Optional[str]):
        self.chain, self.orders, self.pool = chain, orders, pool
        # LP request ids below this were seen settled: settled never becomes
        # pending again. (Order slots are recycled: each pass reads them all.)
        self.first_request = 1

    def pending_orders(self) -> List[int]:
        """Every order in the book's slots, oldest request first."""
        if not self.orders:
            return []
        n = self.chain.call(self.orders, "OrderBook", "slot_count")
        rows = self.chain.call_many([(self.orders, "OrderBook", "order_at", [s]) for s in range(1, n + 1)])
        return sorted(order_id for order_id, _ in rows if order_id)

    def pending_requests(self) -> List[int]:
        if not self.pool:
            return []
        count = self.chain.call(self.pool, "LiquidityPool", "request_count")
        ids, first = [], self.first_request
        for i in range(first, count + 1):
            if self.chain.call(self.pool, "LiquidityPool", "lp_requests", [i])[3] != 0:   # its amount
                ids.append(i)
            elif not ids and i == first:
                first += 1
        self.first_request = first
        return ids

    def order_wait(self, order_id: int) -> Optional[str]:
        return None          # the revert reason says it, at no cost on a node that estimates gas first

    request_wait = order_wait

    def execute_order(self, order_id: int, sender: str) -> TxResult:
        return self.chain.transact(self.orders, "OrderBook", "execute_order", [order_id], sender)

    def execute_request(self, request_id: int, sender: str) -> TxResult:
        return self.chain.transact(self.pool, "LiquidityPool", "execute_request", [request_id], sender)


class Executor:
    """Executes pending orders and LP requests for one keeper address, and
    counts what happened to each try."""

    def __init__(self, name: str, address: str, port, *, on_execution: Optional[Callable[[Execution], None]] = None):
        self.name, self.address, self.port = name, address, port
        self.on_execution = on_execution
        self.counts: Counter = Counter()
        self.cancel_reasons: Counter = Counter()
        self.gas_spent = 0
        self.waiting: Dict[str, str] = {}        # what waits now, by noun: the last round's messages

    def run(self, stop: Optional[Callable[[], bool]] = None) -> List[Execution]:
        """One pass: every pending order, then every pending LP request;
        once `stop()` is true, send no more."""
        done = []
        self.waiting = {}
        try:
            work = [("order", i) for i in self.port.pending_orders()]
            work += [("lp_request", i) for i in self.port.pending_requests()]
        except ChainError as err:
            self.counts["rpc_error"] += 1
            return [self._note(Execution("order", 0, "rpc_error", f"could not read pending work: {err}"))]
        for kind, ident in work:
            if stop is not None and stop():
                break
            done.append(self._one(kind, ident))
        return done

    def _one(self, kind: str, ident: int) -> Execution:
        wait = self.port.order_wait(ident) if kind == "order" else self.port.request_wait(ident)
        if wait is not None:
            return self._note(Execution(kind, ident, outcome_of(wait), explain(kind, ident, wait), wait), sent=False)
        try:
            out = (self.port.execute_order if kind == "order" else self.port.execute_request)(ident, self.address)
        except ChainError as err:
            return self._note(Execution(kind, ident, "rpc_error",
                                        f"{_noun(kind, ident)}: RPC error ({err}); retried next round"))
        if out.gas_used:
            self.gas_spent += out.gas_used
        if not out.ok:
            return self._note(Execution(kind, ident, outcome_of(out.reason), explain(kind, ident, out.reason),
                                        out.reason, out.gas_used))
        if kind == "order" and out.value and out.value[0] == "cancelled":
            reason = out.value[1]
            return self._note(Execution(kind, ident, "cancelled",
                                        f"order {ident} cancelled by the engine ({reason}); escrow refunded to its owner",
                                        reason, out.gas_used))
        return self._note(Execution(kind, ident, "executed", f"{_noun(kind, ident)} executed", None, out.gas_used))

    def _note(self, e: Execution, sent: bool = True) -> Execution:
        self.counts[e.outcome] += 1
        if e.outcome == "cancelled":
            self.cancel_reasons[e.reason] += 1
        if e.outcome in ("waits", "expired", "failed"):
            self.waiting[_noun(e.kind, e.ident)] = e.message
        if self.on_execution is not None:
            self.on_execution(e)
        return e

    def summary(self) -> dict:
        return {
            "executed": self.counts["executed"],
            "cancelled": self.counts["cancelled"],
            "cancel_reasons": dict(sorted(self.cancel_reasons.items())),
            "waits": self.counts["waits"],
            "expired": self.counts["expired"],
            "failed": self.counts["failed"],
            "rpc_errors": self.counts["rpc_error"],
            "waiting_now": dict(sorted(self.waiting.items())),
            "gas_spent": self.gas_spent,
        }
