"""Liquidation isolation, checked on the chain's own data.

A liquidation may move tokens only between the liquidated position's vault,
its liquidator, the pool and the insurance fund, and must leave every other
position exactly as it was. The state machine (machine.py) runs it per
liquidation, the drills per batch: compare the state before a
set of liquidations with the state after, allowing changes only where one
of them was allowed to make them.

Checked per batch (one price step), a liquidation that touched another
position liquidated in the same step would slip through this check alone;
it cannot slip through the model comparison run at the same time, which
demands every vault pay exactly what the model says its own position owes.
"""
from typing import Iterable

from ..protocol.snapshot import ChainState


class InvariantBreach(AssertionError):
    what = "invariant"

    def __init__(self, step: int, message: str):
        self.step, self.message = step, message
        super().__init__(f"step {step}: {self.what} broken: {message}")


class IsolationBreach(InvariantBreach):
    what = "isolation"


class ConservationBreach(InvariantBreach):
    what = "conservation"


def check_isolation(step: int, deployment, before: ChainState, after: ChainState,
                    liquidated_slots: Iterable[int], liquidators: Iterable[str]) -> None:
    """Raise IsolationBreach unless only the liquidated slots, their vaults,
    the liquidators, the pool and the insurance fund changed."""
    slots = set(liquidated_slots)
    vaults = {deployment.vault_address(s) for s in slots}
    allowed = vaults | set(liquidators) | {deployment.pool, deployment.insurance}
    for holder, value in after.balances.items():
        if holder not in allowed and before.balances.get(holder, 0) != value:
            raise IsolationBreach(step, f"liquidating slots {sorted(slots)} changed the balance of {holder}: "
                                        f"{before.balances.get(holder, 0)} -> {value}")
    for b, a in zip(before.slots, after.slots):
        if b[1] not in slots and b != a:
            raise IsolationBreach(step, f"liquidating slots {sorted(slots)} changed slot {b[1]}:\n"
                                        f"  before: {b}\n  after:  {a}")
    for s in sorted(slots):
        vault = deployment.vault_address(s)
        if after.balances.get(vault, 0) != 0:
            raise IsolationBreach(step, f"slot {s}'s vault still holds {after.balances[vault]} after liquidation")
        if after.slots[s - 1][3]:
            raise IsolationBreach(step, f"slot {s} is still open after its liquidation")
    if before.shares != after.shares:
        changed = sorted(h for h in after.shares if after.shares[h] != before.shares.get(h))
        raise IsolationBreach(step, f"liquidations changed pool shares of {changed}")


def check_conservation(step: int, deployment, state: ChainState) -> None:
    """Every vault holds exactly its position's collateral, and every token
    minted is held by someone tracked: cheap on a state already read."""
    for s in state.slots:
        vault, is_open, collateral = s[2], s[3], s[8]
        expected = collateral if is_open else 0
        if state.balances.get(vault, 0) != expected:
            raise ConservationBreach(step, f"vault of slot {s[1]} holds {state.balances.get(vault, 0)}, "
                                        f"its position says {expected}")
    total = sum(state.balances.values())
    if total != state.total_supply:
        raise ConservationBreach(step, f"tokens not conserved: holders have {total}, supply is {state.total_supply}")
