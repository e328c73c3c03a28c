"""A chain whose client fails on purpose: how keepers rehearse bad RPCs.

Two kinds of failure, as a real node gives them:
  "before": the request never reached the node (connection refused) -
            nothing happened on chain;
  "after":  the node ran the transaction but the answer was lost (timeout
            waiting for the receipt) - it happened, and the caller does
            not know.
Failures come from a script (exact, for tests) or at a seeded rate (drills).
"""
import random
from collections import defaultdict, deque
from typing import Dict, Iterable, Optional

from .chain import Chain, ChainError


class FlakyChain(Chain):
    def __init__(self, inner: Chain, *, script: Optional[Dict[str, Iterable[Optional[str]]]] = None,
                 rate: float = 0.0, seed: int = 0, functions: Iterable[str] = ("liquidate", "position")):
        """`script` maps a function name to the fates of its next calls
        ("before", "after" or None for success); `rate` fails any call of
        `functions` with that probability, half of transactions "after"."""
        super().__init__()
        self.inner = inner
        self.name = inner.name
        self.accounts = inner.accounts
        self.script = defaultdict(deque, {k: deque(v) for k, v in (script or {}).items()})
        self.rate = rate
        self.functions = set(functions)
        self.rng = random.Random(f"isomargin:faults:{seed}")
        self.injected = defaultdict(int)

    def _fate(self, fn: str, is_tx: bool) -> Optional[str]:
        queue = self.script.get(fn)
        if queue:
            return queue.popleft()
        if self.rate and fn in self.functions and self.rng.random() < self.rate:
            return "after" if is_tx and self.rng.random() < 0.5 else "before"
        return None

    def transact(self, address, contract, fn, args, sender):
        fate = self._fate(fn, True)
        if fate == "before":
            self.injected[f"{fn}:before"] += 1
            raise ChainError(f"injected: connection refused sending {fn}")
        result = self.inner.transact(address, contract, fn, args, sender)
        if fate == "after":
            self.injected[f"{fn}:after"] += 1
            raise ChainError(f"injected: timed out waiting for the receipt of {fn}")
        return result

    def call(self, address, contract, fn, args=()):
        if self._fate(fn, False):
            self.injected[f"{fn}:call"] += 1
            raise ChainError(f"injected: connection reset reading {fn}")
        return self.inner.call(address, contract, fn, args)

    def deploy(self, contract, args, sender):
        return self.inner.deploy(contract, args, sender)

    def declare(self, contract, sender):
        return self.inner.declare(contract, sender)

    def set_next_timestamp(self, timestamp):
        self.inner.set_next_timestamp(timestamp)

    def latest_timestamp(self):
        return self.inner.latest_timestamp()

    def call_timestamp(self):
        return self.inner.call_timestamp()

    def snapshot(self):
        return self.inner.snapshot()

    def restore(self, snapshot_id):
        self.inner.restore(snapshot_id)

    def code_at(self, address):
        return self.inner.code_at(address)

    def __getattr__(self, name):
        # Backend extras (storage_at, evm, ...) pass straight through.
        return getattr(self.__dict__["inner"], name)
