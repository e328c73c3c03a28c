"""Twins of the test attackers, contracts/adversaries/ (FlashLender.vy,
BundleAttacker.vy): scaffolding, not protocol rules.

They exist so the state machine can run an attack on model and chain alike
and compare the outcome: a bundle is a list of (target, calldata) pairs, so
the twin needs to turn calldata back into a model call. The model knows no
ABI; whoever deploys the twin passes `decode(target, data) -> (fn, args)`
(the harness builds it from the compiled ABIs).
"""
from typing import Callable

from .errors import require
from .journal import Contract, Journal, external

MAX_CALLS = 8
MAX_DATA = 512


class FlashLender(Contract):
    def __init__(self, journal: Journal, address: str, token, contracts):
        super().__init__(journal)
        self.address = address
        self.TOKEN = token.address
        self._token = token
        self._contracts = contracts

    @external
    def flash(self, amount: int, *, sender: str) -> None:
        before = self._token.balanceOf[self.address]
        self._token.transfer(sender, amount, sender=self.address)
        self._contracts[sender].on_flash(amount, sender=self.address)
        require(self._token.balanceOf[self.address] >= before, "flash: not repaid")


class BundleAttacker(Contract):
    def __init__(self, journal: Journal, address: str, owner: str, token, contracts,
                 decode: Callable[[str, bytes], tuple]):
        super().__init__(journal)
        self.address = address
        self.OWNER = owner
        self.TOKEN = token.address
        self._token = token
        self._contracts = contracts
        self._decode = decode
        self.lender = None
        self.pending = ()

    def _run(self, calls) -> None:
        # A revert inside bubbles up with its reason, as raw_call's does.
        require(len(calls) <= MAX_CALLS, None)
        for target, data in calls:
            require(len(data) <= MAX_DATA, None)
            fn, args = self._decode(target, bytes(data))
            getattr(self._contracts[target], fn)(*args, sender=self.address)

    @external
    def run(self, calls, *, sender: str) -> None:
        require(sender == self.OWNER, "bundle: not the owner")
        self._run(calls)

    @external
    def run_with_loan(self, lender: str, amount: int, calls, *, sender: str) -> None:
        require(sender == self.OWNER, "bundle: not the owner")
        require(len(calls) <= MAX_CALLS, None)
        self.lender = lender
        self.pending = tuple(calls)
        self._contracts[lender].flash(amount, sender=self.address)
        self.lender = None
        self.pending = ()

    @external
    def on_flash(self, amount: int, *, sender: str) -> None:
        require(sender == self.lender, "bundle: not the lender")
        self._run(self.pending)
        self._token.transfer(sender, amount, sender=self.address)
