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
                    liquidated_slots: Iterable[int], liquidators: Iterable[str], frozen: Iterable[str] = ()) -> None:
    """Raise IsolationBreach unless only the liquidated slots, their vaults,
    the liquidators, the pool and the insurance fund changed; a liquidated
    vault is empty afterwards, unless the liquidation found it frozen
    (`frozen`: then it keeps every token it had)."""
    frozen = set(frozen)
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
        if vault in frozen:
            if after.balances.get(vault, 0) != before.balances.get(vault, 0):
                raise IsolationBreach(step, f"slot {s}'s frozen vault paid out in its liquidation")
        elif after.balances.get(vault, 0) != 0:
            raise IsolationBreach(step, f"slot {s}'s vault still holds {after.balances[vault]} after liquidation")
        if after.slots[s - 1][3]:
            raise IsolationBreach(step, f"slot {s} is still open after its liquidation")
    if before.shares != after.shares:
        changed = sorted(h for h in after.shares if after.shares[h] != before.shares.get(h))
        raise IsolationBreach(step, f"liquidations changed pool shares of {changed}")


def check_one_position(step: int, what: str, deployment, before: ChainState, after: ChainState,
                       parties) -> None:
    """Raise IsolationBreach unless an action on one position (`what`: an
    add or removal of collateral, an order's execution) changed at most one
    position slot, and balances only of that slot's vault, `parties` (the
    trader, the executor), the pool, the insurance fund and the order book;
    LP shares not at all. From the chain's data alone: isolated margin is
    that one position's action reaches no other position's vault."""
    changed = [a[1] for b, a in zip(before.slots, after.slots) if b != a] + \
        [a[1] for a in after.slots[len(before.slots):]]
    if len(changed) > 1:
        raise IsolationBreach(step, f"{what} changed {len(changed)} position slots: {changed}")
    allowed = {deployment.vault_address(s) for s in changed} | set(parties) | {
        deployment.pool, deployment.insurance, deployment.orders}
    for holder, value in after.balances.items():
        if holder not in allowed and before.balances.get(holder, 0) != value:
            raise IsolationBreach(step, f"{what} changed the balance of {holder}: "
                                        f"{before.balances.get(holder, 0)} -> {value}")
    if before.shares != after.shares:
        raise IsolationBreach(step, f"{what} changed LP shares")


class GovernanceBreach(InvariantBreach):
    what = "governance"


def check_governance_untouched(step: int, what: str, before: ChainState, after: ChainState) -> None:
    """Raise GovernanceBreach if a change of the owner's (`what`) touched any
    position (its slot: size, collateral, entry, and the margin, fee and max
    profit it keeps from its last resize) or any balance. Read from the
    chain alone: a bug written into both engine and model agrees with
    itself, not with this."""
    for b, a in zip(before.slots, after.slots):
        if b != a:
            raise GovernanceBreach(step, f"{what} changed slot {b[1]}:\n  before: {b}\n  after:  {a}")
    for holder, value in after.balances.items():
        if before.balances.get(holder, 0) != value:
            raise GovernanceBreach(step, f"{what} changed the balance of {holder}: "
                                         f"{before.balances.get(holder, 0)} -> {value}")


def check_conservation(step: int, deployment, state: ChainState, frozen_total: int = 0) -> None:
    """Every open position's vault holds exactly its collateral, the closed
    slots' vaults together exactly what exits found frozen (Engine.frozen_total:
    a retired vault keeps what the token would not let it pay; a free vault
    holds nothing, an exit sweeping what was sent to it), and every token
    minted is held by someone tracked: cheap on a state already read."""
    closed = 0
    for s in state.slots:
        vault, is_open, collateral = s[2], s[3], s[8]
        if not is_open:
            closed += state.balances.get(vault, 0)
        elif state.balances.get(vault, 0) != collateral:
            raise ConservationBreach(step, f"vault of slot {s[1]} holds {state.balances.get(vault, 0)}, "
                                        f"its position says {collateral}")
    if closed != frozen_total:
        raise ConservationBreach(step, f"closed slots' vaults hold {closed}, frozen_total is {frozen_total}")
    total = sum(state.balances.values())
    if total != state.total_supply:
        raise ConservationBreach(step, f"tokens not conserved: holders have {total}, supply is {state.total_supply}")


# ---------------------------------------------------------------- exposure sums and the pool's liability

class ExposureBreach(InvariantBreach):
    what = "exposure"


def _open_positions(state: ChainState):
    """The chain's open positions as model Positions, from its PositionView tuples."""
    from model.risk import Position
    for v in state.slots:
        (_, _, _, is_open, owner, market_id, is_long, size, collateral, entry_price, entry_index,
         max_profit_bps, _, maintenance_margin_bps, liquidation_fee_bps) = v
        if is_open:
            yield Position(owner=owner, market_id=market_id, is_long=is_long, max_profit_bps=max_profit_bps,
                           maintenance_margin_bps=maintenance_margin_bps, liquidation_fee_bps=liquidation_fee_bps,
                           is_open=True, size=size, collateral=collateral, entry_price=entry_price,
                           entry_index=entry_index)


def check_exposure(step: int, state: ChainState) -> None:
    """Engine.exposure(m, side) is exactly the sum of the per-position terms
    of the chain's own open positions (model/exposure.py's _units, the
    weight, collateral and reserve), and its size the side's open interest."""
    from model.exposure import _units
    from model.risk import _reserve
    sums = {}
    for pos in _open_positions(state):
        s = sums.setdefault((pos.market_id, pos.is_long), [0, 0, 0, 0, 0])
        terms = (pos.size, _units(pos.size, pos.entry_price, pos.is_long), pos.size * pos.entry_index,
                 pos.collateral, _reserve(pos.size, pos.max_profit_bps))
        for i, t in enumerate(terms):
            s[i] += t
    for market_id, sides in enumerate(state.exposures, start=1):
        for is_long, chain_side in zip((True, False), sides):
            want = tuple(sums.get((market_id, is_long), (0, 0, 0, 0, 0)))
            if tuple(chain_side) != want:
                raise ExposureBreach(step, f"exposure({market_id}, {is_long}) = {tuple(chain_side)}, "
                                           f"the positions sum to {want}")


def liability_bound(state: ChainState, prices, timestamp: int):
    """(sum of per-position clamped claims, the bound exposure.vy derives):
    per position c = max(min(pnl, reserve) - fee, -collateral), and
    |liability - sum c| <= sum |pnl - fee - c| + per side 2 + per position
    (2 + ceil(price / UNIT_SCALE))."""
    from model.exposure import UNIT_SCALE
    from model.markets import index_at
    from model.risk import _borrow_fee, _capped_pnl, _pnl
    total, bound = 0, 4 * len(state.exposures)
    for pos in _open_positions(state):
        m = pos.market_id - 1
        _, _, _, borrow_index, last_accrual = state.market_states[m]
        index = index_at(borrow_index, last_accrual, state.market_params[m][8], timestamp)
        price = prices[m]
        fee = _borrow_fee(pos.size, pos.entry_index, index)
        c = max(_capped_pnl(pos, price) - fee, -pos.collateral)
        total += c
        bound += abs(_pnl(pos.is_long, pos.size, pos.entry_price, price) - fee - c) + 2 + -(-price // UNIT_SCALE)
    return total, bound


def check_liability_bound(step: int, state: ChainState, liability: int, prices, timestamp: int) -> None:
    total, bound = liability_bound(state, prices, timestamp)
    if abs(liability - total) > bound:
        raise ExposureBreach(step, f"pool_liability {liability} is {abs(liability - total)} from the positions' "
                                   f"clamped claims {total}, past the bound {bound}")
