"""Twin of contracts/modules/exposure.vy: per-market, per-side sums of
position terms, and the claim a side's traders have on the pool.

Sums are kept per (market_id, is_long) in the dict `side_sums`, unpacked
(the contract packs collateral | reserve << 128 and keys by
market_id << 1 | is_long); the packing's carry check is kept.
"""
from dataclasses import dataclass

from .errors import Revert, checked
from .risk import INDEX_ONE, MAX_U128, Position, _reserve

UNIT_SCALE = 10**30


@dataclass(frozen=True)
class Side:
    size: int = 0
    units: int = 0
    weight: int = 0
    collateral: int = 0
    reserve: int = 0


def _units(size: int, entry_price: int, is_long: bool) -> int:
    """size * UNIT_SCALE / entry_price: a long's round up, a short's down."""
    if size == 0:
        return 0
    units, rem = divmod(size * UNIT_SCALE, entry_price)
    return units + 1 if is_long and rem else units


def _terms(pos: Position):
    """Model-only: (units, weight, collateral | reserve << 128) of one position."""
    if pos.size == 0:
        return 0, 0, 0
    return (_units(pos.size, pos.entry_price, pos.is_long), pos.size * pos.entry_index,
            pos.collateral | (_reserve(pos.size, pos.max_profit_bps) << 128))


def _claim(side: Side, is_long: bool, price: int, index: int) -> int:
    """clamp(pnl - fees, -collateral, reserve), rounded for the traders."""
    value = checked(price * side.units)
    if is_long:
        pnl = -(-value // UNIT_SCALE) - side.size
    else:
        pnl = side.size - value // UNIT_SCALE
    fees = checked(checked(index * side.size) - side.weight) // INDEX_ONE
    return max(min(pnl - fees, side.reserve), -side.collateral)


class Exposure:
    """Mixin of the model Engine: state side_sums."""

    def __init__(self):
        self.side_sums = self.mapping(Side())

    def _update(self, old: Position, new: Position) -> None:
        key = (old.market_id | new.market_id, old.is_long or new.is_long)
        u0, w0, m0 = _terms(old)
        u1, w1, m1 = _terms(new)
        s = self.side_sums[key]
        units = checked(s.units - u0 + u1)
        weight = checked(s.weight - w0 + w1)
        margin = checked((s.collateral | (s.reserve << 128)) - m0 + m1)
        if margin & MAX_U128 < new.collateral:
            raise Revert(None)      # the contract's bare carry check
        self.side_sums[key] = Side(0, units, weight, margin & MAX_U128, margin >> 128)

    def _side(self, market_id: int, is_long: bool, size: int) -> Side:
        s = self.side_sums[(market_id, is_long)]
        return Side(size, s.units, s.weight, s.collateral, s.reserve)
