"""A liquidation keeper: sends liquidations, survives what goes wrong, and
counts each liquidation once.

What can go wrong, and what the keeper does:
  - someone else liquidated (or the owner closed) first: the engine says
    "engine: position not open" - a lost race, nothing to count;
  - the price moved back before the transaction landed: "engine: position
    is healthy" - nothing to count;
  - the oracle is stale or broken: "oracle: ..." - try again next scan;
  - the client failed (ChainError): ask the chain whether the position is
    still open. Open: the call never ran, send it again (a few times, with
    back-off). Gone: either our call ran and only its answer was lost, or
    someone else's did; the port tells which, and ours is counted once.
    If even that question cannot be answered, the position is "unsettled"
    and `reconcile` asks again later; a standalone keeper, which cannot
    tell its own call from another's, waits for the engine's event.
The ledger is keyed by position id, which is unique for ever (slot and
generation), so a liquidation seen twice - by receipt and again by event,
or after a retry - is still one liquidation.

Which positions to try is not decided here: a drill asks the model, the
standalone keeper reads the chain (harness/keeper/chain_source.py).
"""
import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Optional

from ..chains.chain import ChainError, TxResult

NOT_OPEN = "engine: position not open"
HEALTHY = "engine: position is healthy"
# A port's answer when only the engine's events can say whose call closed a position.
AWAIT_EVENT = "closed; whose call did it is in the events"

OUTCOMES = ("liquidated", "lost_race", "healthy", "oracle", "reverted", "unsettled", "gave_up")


@dataclass
class Attempt:
    position_id: int
    keeper: str
    outcome: str                 # one of OUTCOMES
    reason: Optional[str] = None
    gas_used: Optional[int] = None
    value: Optional[dict] = None  # the liquidation's settlement, when known
    rpc_errors: int = 0
    adopted: bool = False        # landed although the client reported an error
    earlier: bool = False        # before this keeper started: only the engine's log shows it


def classify(reason: Optional[str]) -> str:
    if reason == NOT_OPEN:
        return "lost_race"
    if reason == HEALTHY:
        return "healthy"
    if reason and reason.startswith("oracle:"):
        return "oracle"
    return "reverted"


class TwinPort:
    """Liquidations through a drill driver: model and chain in lockstep."""

    def __init__(self, driver):
        self.driver = driver

    def liquidate(self, position_id: int, sender: str) -> TxResult:
        mark = self.driver.model.events_mark()
        return self._as_event(self.driver.send_atomic("engine", "liquidate", [position_id], sender), mark)

    def is_open(self, position_id: int) -> bool:
        if getattr(self.driver, "checks_chain", False):
            return self.driver.position_is_open(position_id)
        return self.driver.model.engine.position(position_id).is_open

    def adopt(self, position_id: int, sender: str) -> Optional[TxResult]:
        # Gone on chain: if the model still has it open, the only call that
        # can have closed it is the one whose answer was lost - ours.
        if not self.driver.model.engine.position(position_id).is_open:
            return None
        mark = self.driver.model.events_mark()
        return self._as_event(self.driver.adopt("engine", "liquidate", [position_id], sender), mark)

    def _as_event(self, out: TxResult, mark: int) -> TxResult:
        """What the liquidation did, as the model's PositionLiquidated event
        says: the same fields the standalone keeper reads from the chain's."""
        if out is None or not out.ok:
            return out
        event = self.driver.model.events_since(mark, "PositionLiquidated")[-1].event
        return replace(out, value=event.args())


class ChainPort:
    """Liquidations straight on a chain (the standalone keeper)."""

    def __init__(self, chain, engine: str):
        self.chain, self.engine = chain, engine

    def liquidate(self, position_id: int, sender: str) -> TxResult:
        return self.chain.transact(self.engine, "Engine", "liquidate", [position_id], sender)

    def is_open(self, position_id: int) -> bool:
        return bool(self.chain.call(self.engine, "Engine", "position", [position_id])[3])

    def adopt(self, position_id: int, sender: str):
        # Who closed it is in the PositionLiquidated event; the keeper's
        # event sync settles it (settle_event).
        return AWAIT_EVENT


def _backoff(attempt: int) -> float:
    return min(0.25 * 2 ** attempt, 5.0)


class Keeper:
    def __init__(self, name: str, address: str, port, *, max_per_scan: int = 0, retries: int = 3,
                 sleep: Optional[Callable[[float], None]] = time.sleep,
                 on_attempt: Optional[Callable[[Attempt], None]] = None,
                 gate: Optional[Callable[[int, str], Optional[str]]] = None):
        # gate(position id, sender): a reason not to send (profit.RewardCheck), or None.
        self.name, self.address, self.port = name, address, port
        self.gate = gate
        self.max_per_scan = max_per_scan
        self.retries = retries
        self.sleep = sleep or (lambda _s: None)
        self.on_attempt = on_attempt
        self.ledger: Dict[int, Attempt] = {}
        self.unsettled: Dict[int, Attempt] = {}
        self.counts: Counter = Counter()
        self.gas_spent = 0            # every transaction's gas, reverted ones too
        self.duplicates_ignored = 0

    # ---------------------------------------------------------------- acting

    def run(self, candidates: List[int], stop: Optional[Callable[[], bool]] = None) -> List[Attempt]:
        """Try to liquidate `candidates` in order, at most max_per_scan of
        them; once `stop()` is true, send no more (the next run finds them)."""
        if self.max_per_scan:
            candidates = candidates[: self.max_per_scan]
        done = []
        for pid in candidates:
            if stop is not None and stop():
                break
            done.append(self.liquidate(pid))
        return done

    def liquidate(self, position_id: int) -> Attempt:
        if self.gate is not None:
            held = self.gate(position_id, self.address)
            if held is not None:
                # Not sent, so not an attempt; counted apart.
                self.counts["held_back"] += 1
                return self._settle(Attempt(position_id, self.name, "held_back", held), sent=False)
        errors = 0
        while True:
            try:
                out = self.port.liquidate(position_id, self.address)
            except ChainError:
                errors += 1
                self.counts["rpc_errors"] += 1
                still_open = self._probe(position_id)
                if still_open is None:
                    return self._settle(Attempt(position_id, self.name, "unsettled", "client error", rpc_errors=errors))
                if not still_open:
                    return self._gone(position_id, errors)
                if errors > self.retries:
                    return self._settle(Attempt(position_id, self.name, "gave_up", "client error", rpc_errors=errors))
                self.sleep(_backoff(errors))
                continue
            if out.gas_used:
                self.gas_spent += out.gas_used
            if out.ok:
                return self._settle(Attempt(position_id, self.name, "liquidated", None, out.gas_used, out.value,
                                            rpc_errors=errors))
            return self._settle(Attempt(position_id, self.name, classify(out.reason), out.reason, out.gas_used,
                                        rpc_errors=errors))

    def reconcile(self) -> List[Attempt]:
        """Ask again about positions whose fate a client error hid."""
        settled = []
        for pid in sorted(self.unsettled):
            if self.unsettled[pid].reason == AWAIT_EVENT:
                continue
            still_open = self._probe(pid)
            if still_open is None:
                continue
            prior = self._resolve(pid)
            if still_open:
                # The call never ran; the next scan decides whether to retry.
                continue
            settled.append(self._gone(pid, prior.rpc_errors))
        return settled

    def _gone(self, position_id: int, errors: int) -> Attempt:
        adopted = self.port.adopt(position_id, self.address)
        if adopted == AWAIT_EVENT:
            return self._settle(Attempt(position_id, self.name, "unsettled", AWAIT_EVENT, rpc_errors=errors))
        if adopted is None:
            return self._settle(Attempt(position_id, self.name, "lost_race", NOT_OPEN, rpc_errors=errors))
        return self._settle(Attempt(position_id, self.name, "liquidated", None, adopted.gas_used, adopted.value,
                                    rpc_errors=errors, adopted=True))

    def _probe(self, position_id: int) -> Optional[bool]:
        for attempt in range(self.retries + 1):
            try:
                return self.port.is_open(position_id)
            except ChainError:
                self.counts["rpc_errors"] += 1
                self.sleep(_backoff(attempt))
        return None

    # ---------------------------------------------------------------- counting

    def _settle(self, attempt: Attempt, sent: bool = True) -> Attempt:
        if sent:
            self.counts[attempt.outcome] += 1
        if attempt.outcome == "unsettled":
            self.unsettled[attempt.position_id] = attempt
        elif attempt.outcome == "liquidated":
            if attempt.position_id in self.ledger:
                # Cannot happen on chain (the second call reverts); guard the count anyway.
                self.duplicates_ignored += 1
                if sent:
                    self.counts["liquidated"] -= 1
                return attempt
            self.ledger[attempt.position_id] = attempt
        if self.on_attempt is not None:
            self.on_attempt(attempt)
        return attempt

    def _resolve(self, position_id: int) -> Optional[Attempt]:
        prior = self.unsettled.pop(position_id, None)
        if prior is not None:
            self.counts["unsettled"] -= 1
        return prior

    def settle_event(self, position_id: int, liquidator: Optional[str], value: Optional[dict]) -> None:
        """A position closed, by the engine's log: ours to count if we
        liquidated it, else settles any attempt of ours left unsettled."""
        if liquidator == self.address:
            self.credit_event(position_id, value or {})
        elif self._resolve(position_id) is not None:
            self._settle(Attempt(position_id, self.name, "lost_race", NOT_OPEN))

    def credit_event(self, position_id: int, value: dict) -> bool:
        """A PositionLiquidated event naming us: count it unless already counted."""
        prior = self._resolve(position_id)
        known = self.ledger.get(position_id)
        if known is not None:
            # Already counted from its receipt: the event only adds the figures.
            if known.value is None:
                known.value = value
            return False
        # Ours, by the log, with no receipt in hand: a lost one (an attempt
        # of this run, left unsettled) or one from before a restart.
        self._settle(Attempt(position_id, self.name, "liquidated", None, None, value,
                             rpc_errors=prior.rpc_errors if prior else 0, adopted=True, earlier=prior is None),
                     sent=prior is not None)
        return True

    @property
    def liquidated(self) -> int:
        return len(self.ledger)

    def rewards(self, *, earlier: Optional[bool] = None) -> int:
        return sum((a.value or {}).get("reward", 0) for a in self.ledger.values()
                   if earlier is None or a.earlier == earlier)

    def summary(self) -> dict:
        """This run's figures; what the log shows this account liquidated
        before the run (a restart's history) apart, under before_this_run."""
        now = [a for a in self.ledger.values() if not a.earlier]
        return {
            "liquidated": len(now),
            "attempts": sum(self.counts[o] for o in OUTCOMES),
            "lost_races": self.counts["lost_race"],
            "healthy_reverts": self.counts["healthy"],
            "oracle_reverts": self.counts["oracle"],
            "other_reverts": self.counts["reverted"],
            "rpc_errors": self.counts["rpc_errors"],
            "gave_up": self.counts["gave_up"],
            "held_back": self.counts["held_back"],      # not sent: the gate's reason (reward below gas cost)
            "unsettled": len(self.unsettled),
            # this run's, counted without a receipt: a client error hid it
            "adopted": sum(1 for a in now if a.adopted),
            "duplicates_ignored": self.duplicates_ignored,
            "rewards": self.rewards(earlier=False),
            "gas_spent": self.gas_spent,
            "before_this_run": {"liquidated": len(self.ledger) - len(now), "rewards": self.rewards(earlier=True)},
        }
