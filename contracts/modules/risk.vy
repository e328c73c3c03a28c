# pragma version ~=0.4.3
"""
@title isomargin risk math: fees, PnL, equity, liquidation price, settlement
@custom:contract-name risk
@notice Pure integer arithmetic, no state: every rounding goes against the
        trader (fees and losses round up, profits down). model/risk.py is
        the Python twin, function for function, with the same rounding.
        The shared numeric constants live here because every other module
        already imports this one for its structs.
"""


# @dev The denominator of every basis-point parameter.
BPS: constant(uint256) = 10_000


# @dev Borrow index scale: the index is the fee per unit of notional,
# scaled by 1e18.
INDEX_ONE: constant(uint256) = 10**18


# @dev The width of every packed 128-bit field (sizes, collateral, prices,
# borrow index, open interest), checked before packing.
MAX_U128: constant(uint256) = 2**128 - 1


# @dev A position as the engine works with it; positions.vy packs it into
# three storage words.
struct Position:
    owner: address
    market_id: uint256
    is_long: bool
    max_profit_bps: uint256
    # The market's maintenance margin and liquidation fee when the position
    # opened or last changed size: a parameter change never moves an open
    # position's liquidation line or its liquidator's cut.
    maintenance_margin_bps: uint256
    liquidation_fee_bps: uint256
    generation: uint256
    is_open: bool
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256


# @dev Where a whole position's value goes when it is closed.
struct Settlement:
    pnl: int256
    borrow_fee: uint256
    trading_fee: uint256
    to_trader: uint256
    to_pool: uint256
    from_pool: uint256
    bad_debt: uint256


@internal
@pure
def _fee(amount: uint256, bps: uint256) -> uint256:
    """
    @dev `bps` of `amount`, rounded up: every fee and margin requirement
         rounds against the trader.
    @param amount The notional the fee or margin applies to.
    @param bps The rate in basis points.
    @return uint256 The fee or margin requirement.
    """
    return (amount * bps + BPS - 1) // BPS


@internal
@pure
def _reserve(size: uint256, max_profit_bps: uint256) -> uint256:
    """
    @dev The pool assets a position locks: its maximum (capped) profit.
         Rounded down, as the profit it caps is.
    @param size The position's notional.
    @param max_profit_bps The profit cap in basis points of notional.
    @return uint256 The reserve.
    """
    return size * max_profit_bps // BPS


@internal
@pure
def _pnl(is_long: bool, size: uint256, entry_price: uint256, price: uint256) -> int256:
    """
    @dev Uncapped PnL of `size` notional entered at `entry_price`.
         Profits round down, losses round up.
    @param is_long True for a long position.
    @param size The notional.
    @param entry_price The average entry price.
    @param price The current oracle price.
    @return int256 The PnL, negative for a loss.
    """
    if is_long == (price >= entry_price):
        gain: uint256 = 0
        if is_long:
            gain = size * (price - entry_price) // entry_price
        else:
            gain = size * (entry_price - price) // entry_price
        return convert(gain, int256)
    loss: uint256 = 0
    if is_long:
        loss = (size * (entry_price - price) + entry_price - 1) // entry_price
    else:
        loss = (size * (price - entry_price) + entry_price - 1) // entry_price
    return -convert(loss, int256)


@internal
@pure
def _capped_pnl(pos: Position, price: uint256) -> int256:
    """
    @dev PnL capped at the position's reserve, so the pool never owes a
         trader more than it has locked for them.
    @param pos The position.
    @param price The current oracle price.
    @return int256 The capped PnL.
    """
    pnl: int256 = self._pnl(pos.is_long, pos.size, pos.entry_price, price)
    cap: int256 = convert(self._reserve(pos.size, pos.max_profit_bps), int256)
    return min(pnl, cap)


@internal
@pure
def _borrow_fee(size: uint256, entry_index: uint256, index: uint256) -> uint256:
    """
    @dev Borrow fee accrued on `size` since the index was `entry_index`,
         rounded up.
    @param size The notional.
    @param entry_index The borrow index when the fee was last paid.
    @param index The current borrow index.
    @return uint256 The fee owed.
    """
    return (size * (index - entry_index) + INDEX_ONE - 1) // INDEX_ONE


@internal
@pure
def _equity(pos: Position, price: uint256, index: uint256) -> int256:
    """
    @dev What the position is worth to its trader now: collateral plus
         capped PnL less the borrow fee owed.
    @param pos The position.
    @param price The current oracle price.
    @param index The current borrow index.
    @return int256 The equity, negative when the position is bankrupt.
    """
    return convert(pos.collateral, int256) + self._capped_pnl(pos, price) - convert(
        self._borrow_fee(pos.size, pos.entry_index, index), int256
    )


@internal
@pure
def _average_entry(is_long: bool, size: uint256, entry_price: uint256, size_delta: uint256, price: uint256) -> uint256:
    """
    @dev The entry price after adding `size_delta` at `price`. Keeps the
         position's units (size / entry) additive. A long's entry rounds
         up and a short's down, so rounding never gifts the trader PnL.
    @param is_long True for a long position.
    @param size The notional before the increase.
    @param entry_price The entry price before the increase.
    @param size_delta The notional added.
    @param price The price the notional is added at.
    @return uint256 The new average entry price.
    """
    num: uint256 = (size + size_delta) * entry_price * price
    den: uint256 = size * price + size_delta * entry_price
    if is_long:
        return (num + den - 1) // den
    return num // den


@internal
@pure
def _liquidation_price(pos: Position, index: uint256, maintenance_bps: uint256) -> uint256:
    """
    @dev Price at which equity meets maintenance margin, ignoring the profit
         cap (irrelevant near liquidation). Rounded towards the current price,
         so a keeper acting on it is never early.
    @param pos The position.
    @param index The current borrow index.
    @param maintenance_bps The market's maintenance margin in basis points.
    @return uint256 The liquidation price; 0 if no positive price reaches it.
    """
    slack: int256 = convert(pos.collateral, int256) - convert(
        self._borrow_fee(pos.size, pos.entry_index, index) + self._fee(pos.size, maintenance_bps), int256
    )
    if slack >= 0:
        move: uint256 = pos.entry_price * convert(slack, uint256) // pos.size
        if pos.is_long:
            if move >= pos.entry_price:
                return 0
            return pos.entry_price - move
        return pos.entry_price + move
    move_up: uint256 = (pos.entry_price * convert(-slack, uint256) + pos.size - 1) // pos.size
    if pos.is_long:
        return pos.entry_price + move_up
    if move_up >= pos.entry_price:
        return 0
    return pos.entry_price - move_up


@internal
@pure
def _liquidation_bounds(pos: Position, index: uint256, maintenance_bps: uint256) -> (uint256, bool, bool):
    """
    @dev Where liquidation starts, the profit cap included, over the prices
         a feed can give (1 to MAX_U128). The best equity is the capped
         profit at an unbounded price for a long and at price 1 for a
         short: below maintenance margin, the position is liquidatable at
         every price. Otherwise the price is `_liquidation_price`'s, the last
         healthy one (a long is liquidatable below it, a short above it):
         a long healthy down to price 1, or a short healthy up to MAX_U128,
         is liquidatable at none; a long healthy only above MAX_U128, at
         every price. The flags are exclusive and the price is 0 with either.
    @param pos The position.
    @param index The current borrow index.
    @param maintenance_bps The market's maintenance margin in basis points.
    @return uint256 The liquidation price (0 when either flag is set).
    @return bool Liquidatable at every price a feed can give.
    @return bool Liquidatable at no price a feed can give.
    """
    best: int256 = convert(self._reserve(pos.size, pos.max_profit_bps), int256)
    if not pos.is_long:
        best = self._capped_pnl(pos, 1)
    shortfall: int256 = convert(self._borrow_fee(pos.size, pos.entry_index, index) + self._fee(pos.size, maintenance_bps), int256) - convert(pos.collateral, int256)
    if best < shortfall:
        return 0, True, False
    # Here a short is healthy at price 1, so its price is at least 1.
    price: uint256 = self._liquidation_price(pos, index, maintenance_bps)
    if pos.is_long:
        if price <= 1:
            return 0, False, True
        if price > MAX_U128:
            return 0, True, False
    elif price >= MAX_U128:
        return 0, False, True
    return price, False, False


@internal
@pure
def _settle(pos: Position, price: uint256, index: uint256, fee_bps: uint256) -> Settlement:
    """
    @dev Splits a whole position's value (collateral + capped PnL - borrow
         fee - fee) between trader, pool and bad debt. The vault pays at most
         its collateral; a profit beyond it comes from the pool, a loss beyond
         it is bad debt.
    @param pos The position being closed.
    @param price The current oracle price.
    @param index The current borrow index.
    @param fee_bps The closing fee in basis points.
    @return Settlement The amounts each party gets.
    """
    s: Settlement = empty(Settlement)
    s.pnl = self._capped_pnl(pos, price)
    s.borrow_fee = self._borrow_fee(pos.size, pos.entry_index, index)
    s.trading_fee = self._fee(pos.size, fee_bps)
    value: int256 = convert(pos.collateral, int256) + s.pnl - convert(s.borrow_fee + s.trading_fee, int256)
    if value >= convert(pos.collateral, int256):
        s.to_trader = pos.collateral
        s.from_pool = convert(value, uint256) - pos.collateral
    elif value > 0:
        s.to_trader = convert(value, uint256)
        s.to_pool = pos.collateral - s.to_trader
    else:
        s.to_pool = pos.collateral
        s.bad_debt = convert(-value, uint256)
    return s
