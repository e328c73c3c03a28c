"""What the harness needs of a chain, whatever runs it.

Every backend (revm in process, raw JSON-RPC, ape on any network) offers the same
few operations on raw contracts: deploy, transact, call, time, snapshots.
Tests, drills and the keeper are written against this, once.
"""
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from .contracts import blueprint_initcode, codec, initcode
from .codec import Codec


@dataclass
class TxResult:
    ok: bool
    reason: Optional[str]
    value: Any
    gas_used: int


class ChainError(Exception):
    """A failure of the chain or its client, not a contract revert."""


# Initcode that returns block.timestamp (TIMESTAMP PUSH0 MSTORE PUSH1 32
# PUSH0 RETURN): eth_call'd without a receiver, it reads the time a call
# sees, on any node, with nothing deployed.
TIMESTAMP_PROBE = "0x425f5260205ff3"


class Chain:
    name = "chain"
    accounts: List[str]
    # True where reads are cheapest batched with the transaction before them.
    batches_reads = False

    def codec(self, contract: str) -> Codec:
        return codec(contract)

    def deploy(self, contract: str, args: Sequence, sender: str) -> str:
        return self._deploy_initcode(initcode(contract, args), sender)

    def declare(self, contract: str, sender: str) -> str:
        """Deploy an EIP-5202 blueprint of `contract`; return its address."""
        return self._deploy_initcode(blueprint_initcode(contract), sender)

    # ---- to implement
    def _deploy_initcode(self, initcode: bytes, sender: str) -> str:
        """Send a contract creation; return the created address."""
        raise NotImplementedError

    def transact(self, address: str, contract: str, fn: str, args: Sequence, sender: str) -> TxResult:
        raise NotImplementedError

    def call(self, address: str, contract: str, fn: str, args: Sequence = ()) -> Any:
        raise NotImplementedError

    def transact_then_call(self, address, contract, fn, args, sender, calls):
        """A transaction, then reads of the state it left. Backends that can
        send both in one round trip do (RpcChain)."""
        return self.transact(address, contract, fn, args, sender), self.call_many(calls)

    def call_many(self, calls) -> list:
        """[(address, contract, fn, args), ...] -> results; backends batch it."""
        return [self.call(*c) for c in calls]

    def set_next_timestamp(self, timestamp: int) -> None:
        raise NotImplementedError

    def call_timestamp(self) -> int:
        """The block.timestamp a read made now runs at. Nodes differ: anvil
        runs eth_call in the head block, ape's test chain in its pending
        block less a second, and anvil's pending block follows the wall
        clock, so a check of a time-dependent view must ask, not assume."""
        raise NotImplementedError

    def latest_timestamp(self) -> int:
        raise NotImplementedError

    def snapshot(self) -> Any:
        raise NotImplementedError

    def restore(self, snapshot_id: Any) -> None:
        """Return to a snapshot. The id may be spent (anvil): take a new one after."""
        raise NotImplementedError

    def code_at(self, address: str) -> bytes:
        raise NotImplementedError
