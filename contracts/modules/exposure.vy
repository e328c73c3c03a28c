# pragma version ~=0.4.3
"""
@title isomargin exposure: per-market, per-side sums that value the pool
@custom:contract-name exposure
@notice For each market and side the engine keeps exact sums of terms that
        are pure functions of a position's stored fields, so taking a
        position out subtracts exactly what putting it in added:
          units_i      = size * UNIT_SCALE / entry_price
                         (long: rounded up, short: rounded down)
          weight_i     = size * entry_index                    (exact)
          collateral_i = collateral, reserve_i = risk._reserve  (exact)
          size         = the side's open interest (markets.market_oi)
        From them, with the price p and the current borrow index I:
          pnl_long   = ceil(p * U_long / UNIT_SCALE) - S_long
          pnl_short  = S_short - floor(p * U_short / UNIT_SCALE)
          fees_side  = floor((I * S_side - W_side) / INDEX_ONE)
          claim_side = clamp(pnl_side - fees_side, -C_side, R_side)
        and the pool's liability is the sum of every market's two claims
        (> 0: the pool owes traders). Traders' claims round up, so the
        pool is valued low: the LPs who stay are never diluted by it.
        The bound (README, the rules): a position's own claim is
        c_i = max(min(pnl_i, reserve_i) - fee_i, -collateral_i), what closing
        it would move (the close fee aside); clamp is 1-Lipschitz and leaves
        sum(c_i), which lies in [-C, R], where it is, so per side
          |claim_side - sum(c_i)| <= sum |pnl_i - fee_i - c_i| + rounding,
        the first term being how far each position is past its own clamp
        (0 for a position neither past its profit cap nor bankrupt), and
        rounding <= 2 + n * (2 + ceil(p / UNIT_SCALE)) for n positions: one
        unit each for the ceil of the units product and the floor of the
        fees, and per position under one unit of units (worth p / UNIT_SCALE),
        one of its PnL rounding and one of its borrow fee's.
        The engine keeps the sums (_update, _side); the pool values itself
        with _claim, a pure function of them (LiquidityPool.pool_liability),
        which keeps the engine under the EIP-170 size limit.
        model/exposure.py is the Python twin.
"""
from . import risk


# @dev Units scale: with 6-decimal sizes and 8-decimal prices a unit is
# 1e-30 of a token per price unit, so per-position rounding is far below
# one token unit at any realistic price.
UNIT_SCALE: constant(uint256) = 10**30


# @dev One side of one market: its open interest and the sums.
struct Side:
    size: uint256
    units: uint256
    weight: uint256
    collateral: uint256
    reserve: uint256


# @dev Keyed by market_id << 1 | is_long. side_margin packs
# collateral | reserve << 128: both change together on open and close.
side_units: HashMap[uint256, uint256]
side_weight: HashMap[uint256, uint256]
side_margin: HashMap[uint256, uint256]


@internal
@pure
def _units(size: uint256, entry_price: uint256, is_long: bool) -> uint256:
    """
    @dev A position's units, its notional over its entry price: a long's
         round up and a short's down, so the valuation of either side never
         favours the LPs.
    @param size The notional (0: no units).
    @param entry_price The entry price.
    @param is_long The side.
    @return uint256 The units.
    """
    if size == 0:
        return 0
    units: uint256 = size * UNIT_SCALE // entry_price
    if is_long and units * entry_price != size * UNIT_SCALE:
        units += 1
    return units


@internal
def _update(old: risk.Position, new: risk.Position):
    """
    @dev Replaces a position's terms in its side's sums: old out, new in.
         Both are the same market and side (a position never changes
         either); an empty one (size 0) contributes nothing. A sum whose
         inputs the change leaves alone is neither computed nor written, so
         add_collateral and remove_collateral touch one word. The packed
         margin word cannot borrow (a sum holds every term subtracted from
         it); a carry out of the collateral half is refused (bare revert)
         and the reserve half is checked by uint256 arithmetic.
    @param old The position before the change (empty for an open).
    @param new The position after it (empty for a close or liquidation).
    """
    # One of the two may be empty (all zero): OR picks the other's fields.
    side: uint256 = convert(old.is_long, uint256) | convert(new.is_long, uint256)
    key: uint256 = ((old.market_id | new.market_id) << 1) | side
    is_long: bool = side == 1
    if old.size != new.size or old.entry_price != new.entry_price:
        self.side_units[key] = self.side_units[key] - self._units(old.size, old.entry_price, is_long) + self._units(
            new.size, new.entry_price, is_long
        )
    if old.size != new.size or old.entry_index != new.entry_index:
        self.side_weight[key] = self.side_weight[key] - old.size * old.entry_index + new.size * new.entry_index
    margin: uint256 = self.side_margin[key] - old.collateral + new.collateral
    if old.size != new.size or old.max_profit_bps != new.max_profit_bps:
        margin = margin - (risk._reserve(old.size, old.max_profit_bps) << 128) + (
            risk._reserve(new.size, new.max_profit_bps) << 128
        )
    # Token amounts: a sum past 2**128 needs a token supply past it, so no
    # reason string (it would cost the engine 150 bytes of its EIP-170
    # budget); it reverts bare, like checked arithmetic.
    assert margin & risk.MAX_U128 >= new.collateral
    self.side_margin[key] = margin


@internal
@view
def _side(market_id: uint256, is_long: bool, size: uint256) -> Side:
    """
    @dev One side's raw sums.
    @param market_id The market id.
    @param is_long The side: True for longs.
    @param size The side's open interest (markets keeps it).
    @return Side The sums.
    """
    key: uint256 = (market_id << 1) | convert(is_long, uint256)
    margin: uint256 = self.side_margin[key]
    return Side(
        size=size,
        units=self.side_units[key],
        weight=self.side_weight[key],
        collateral=margin & risk.MAX_U128,
        reserve=margin >> 128,
    )


@internal
@pure
def _claim(side: Side, is_long: bool, price: uint256, index: uint256) -> int256:
    """
    @dev What one side's traders could claim from the pool now, clamped to
         what the pool can owe them (their reserves) and what they can lose
         (their collateral). Rounded in the traders' favour.
    @param side The side's sums.
    @param is_long The side: True for longs.
    @param price The market's latest price.
    @param index The market's current borrow index.
    @return int256 The claim; negative when the traders owe the pool.
    """
    value: uint256 = price * side.units
    pnl: int256 = 0
    if is_long:
        pnl = convert((value + UNIT_SCALE - 1) // UNIT_SCALE, int256) - convert(side.size, int256)
    else:
        pnl = convert(side.size, int256) - convert(value // UNIT_SCALE, int256)
    fees: int256 = convert((index * side.size - side.weight) // risk.INDEX_ONE, int256)
    return max(min(pnl - fees, convert(side.reserve, int256)), -convert(side.collateral, int256))
