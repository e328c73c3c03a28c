# pragma version ~=0.4.3
"""
@title isomargin engine: isolated-margin positions, one vault per position
@notice Every position's collateral sits in its own vault (a minimal proxy
        of Vault.vy that only this engine can move funds out of). Settling
        one position moves tokens out of that position's vault and never
        any other's. The liquidity pool (LiquidityPool.vy) is the traders'
        counterparty; the insurance fund is one more vault.
        The Python twin of every rule here is model/engine.py, function for
        function, with the same integer rounding: always against the trader.
"""
from ethereum.ercs import IERC20
from snekmate.auth import ownable
from snekmate.auth import ownable_2step
from interfaces import AggregatorV3
from interfaces import IVault

initializes: ownable
initializes: ownable_2step[ownable := ownable]

exports: (
    ownable_2step.owner,
    ownable_2step.pending_owner,
    ownable_2step.transfer_ownership,
    ownable_2step.accept_ownership,
)

BPS: constant(uint256) = 10_000
# Borrow index: fee per unit of notional, scaled by 1e18.
INDEX_ONE: constant(uint256) = 10**18
MAX_U128: constant(uint256) = 2**128 - 1
# Marks the end of the recycled-vault stack. Non-zero, so that pushing onto
# an empty stack rewrites a non-zero slot (2.9k gas) instead of 20k.
FREE_END: constant(uint256) = max_value(uint256)
GEN_BITS: constant(uint256) = 32
GEN_MASK: constant(uint256) = 2**32 - 1
U16: constant(uint256) = 2**16 - 1
U32: constant(uint256) = 2**32 - 1
U64: constant(uint256) = 2**64 - 1
# The engine's own nonces 1..3 create the vault implementation, the
# insurance vault and the pool; vault slot v is created with nonce 3 + v.
NONCE_BEFORE_VAULTS: constant(uint256) = 3
MAX_PAGE: constant(uint256) = 100

# Bounds checked on every write of market parameters.
MAX_MARKETS: constant(uint256) = 65_535
MIN_INITIAL_MARGIN_BPS: constant(uint256) = 10
MAX_FEE_BPS: constant(uint256) = 500
MAX_LIQUIDATION_FEE_BPS: constant(uint256) = 1_000
MAX_MAX_PROFIT_BPS: constant(uint256) = 100_000
# About 1000% of notional a year.
MAX_BORROW_RATE: constant(uint256) = 317_097_919_837
MAX_STALENESS: constant(uint256) = 7 * 86_400


struct MarketParams:
    initial_margin_bps: uint256
    maintenance_margin_bps: uint256
    open_fee_bps: uint256
    close_fee_bps: uint256
    liquidation_fee_bps: uint256
    insurance_share_bps: uint256
    max_profit_bps: uint256
    borrow_rate: uint256
    staleness: uint256
    min_collateral: uint256
    oi_cap: uint256


struct MarketState:
    feed: address
    oi_long: uint256
    oi_short: uint256
    borrow_index: uint256
    last_accrual: uint256


struct Position:
    owner: address
    market_id: uint256
    is_long: bool
    max_profit_bps: uint256
    generation: uint256
    is_open: bool
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256


struct PositionView:
    position_id: uint256
    slot: uint256
    vault: address
    is_open: bool
    owner: address
    market_id: uint256
    is_long: bool
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256
    max_profit_bps: uint256
    reserve: uint256


struct Health:
    price: uint256
    pnl: int256
    borrow_fee: uint256
    equity: int256
    maintenance_margin: uint256
    liquidation_price: uint256
    liquidatable: bool


struct Totals:
    pool_assets: uint256
    pool_shares: uint256
    total_reserved: uint256
    insurance_assets: uint256
    open_positions: uint256
    vault_count: uint256
    market_count: uint256
    paused: bool


struct Settlement:
    pnl: int256
    borrow_fee: uint256
    trading_fee: uint256
    to_trader: uint256
    to_pool: uint256
    from_pool: uint256
    bad_debt: uint256


event MarketListed:
    market_id: indexed(uint256)
    feed: indexed(address)
    timestamp: uint256

event MarketParamsSet:
    market_id: indexed(uint256)
    params: MarketParams
    borrow_index: uint256

event MarketFeedSet:
    market_id: indexed(uint256)
    feed: indexed(address)

event BorrowIndexAccrued:
    market_id: indexed(uint256)
    borrow_index: uint256
    timestamp: uint256

event VaultCreated:
    slot: indexed(uint256)
    vault: indexed(address)

event PositionOpened:
    position_id: indexed(uint256)
    owner: indexed(address)
    market_id: indexed(uint256)
    is_long: bool
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256
    max_profit_bps: uint256
    open_fee: uint256
    vault: address

event CollateralAdded:
    position_id: indexed(uint256)
    amount: uint256
    collateral: uint256

event CollateralRemoved:
    position_id: indexed(uint256)
    amount: uint256
    collateral: uint256
    price: uint256

event PositionIncreased:
    position_id: indexed(uint256)
    size_delta: uint256
    collateral_delta: uint256
    size: uint256
    collateral: uint256
    entry_price: uint256
    entry_index: uint256
    max_profit_bps: uint256
    borrow_fee: uint256
    open_fee: uint256
    price: uint256

event PositionDecreased:
    position_id: indexed(uint256)
    size_delta: uint256
    size: uint256
    collateral: uint256
    entry_index: uint256
    price: uint256
    pnl: int256
    borrow_fee: uint256
    close_fee: uint256
    to_trader: uint256
    to_pool: uint256

event PositionClosed:
    position_id: indexed(uint256)
    price: uint256
    pnl: int256
    borrow_fee: uint256
    close_fee: uint256
    to_trader: uint256
    to_pool: uint256
    bad_debt: uint256
    insurance_cover: uint256

event PositionLiquidated:
    position_id: indexed(uint256)
    liquidator: indexed(address)
    price: uint256
    pnl: int256
    borrow_fee: uint256
    reward: uint256
    insurance_cut: uint256
    to_pool: uint256
    bad_debt: uint256
    insurance_cover: uint256

event InsuranceFunded:
    funder: indexed(address)
    amount: uint256

event GuardianSet:
    guardian: indexed(address)

event Paused:
    account: indexed(address)

event Unpaused:
    account: indexed(address)


TOKEN: public(immutable(IERC20))
POOL: public(immutable(address))
INSURANCE: public(immutable(address))
VAULT_IMPLEMENTATION: public(immutable(address))

guardian: public(address)
paused: public(bool)
total_reserved: public(uint256)
open_positions: public(uint256)
market_count: public(uint256)
vault_count: public(uint256)

# Markets are packed so that a trade reads five cold slots, not eleven
# (see _params, _store_params; market_params() and market_state() unpack):
#   market_risk:   the bps, max profit, staleness and borrow-rate fields
#   market_limits: min_collateral | oi_cap << 128
#   market_oi:     oi_long | oi_short << 128
#   market_index:  borrow_index | last_accrual << 128
market_risk: HashMap[uint256, uint256]
market_limits: HashMap[uint256, uint256]
market_feed: HashMap[uint256, address]
market_oi: HashMap[uint256, uint256]
market_index: HashMap[uint256, uint256]

# Positions live in vault slots: slot v owns vault _vault(v) for good (its
# CREATE address, computed, never stored), and a position id is
# (v << 32 | generation), unique for ever although slots are recycled.
# Each slot is three packed words (see _store):
#   word0: owner | market_id << 160 | is_long << 176 | max_profit_bps << 184
#          | generation << 216 | is_open << 248
#   word1: size | collateral << 128   (a closed slot: next free slot)
#   word2: entry_price | entry_index << 128
pos_word0: HashMap[uint256, uint256]
pos_word1: HashMap[uint256, uint256]
pos_word2: HashMap[uint256, uint256]
free_head: uint256


@deploy
def __init__(token: IERC20, vault_blueprint: address, pool_blueprint: address, guardian: address):
    ownable.__init__()
    ownable_2step.__init__()
    TOKEN = token
    impl: address = create_from_blueprint(vault_blueprint, self, token)
    VAULT_IMPLEMENTATION = impl
    INSURANCE = create_minimal_proxy_to(impl)
    POOL = create_from_blueprint(pool_blueprint, token, self)
    # Vault addresses are computed from nonces (see _vault): check the rule.
    assert impl == self._created_address(1) and POOL == self._created_address(NONCE_BEFORE_VAULTS), "engine: nonce rule"
    self.free_head = FREE_END
    self.guardian = guardian
    log GuardianSet(guardian=guardian)


# ---------------------------------------------------------------- math

@internal
@pure
def _fee(amount: uint256, bps: uint256) -> uint256:
    # Every fee and margin requirement rounds up: against the trader.
    return (amount * bps + BPS - 1) // BPS


@internal
@pure
def _reserve(size: uint256, max_profit_bps: uint256) -> uint256:
    return size * max_profit_bps // BPS


@internal
@pure
def _pnl(is_long: bool, size: uint256, entry_price: uint256, price: uint256) -> int256:
    # Profits round down, losses round up.
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
    pnl: int256 = self._pnl(pos.is_long, pos.size, pos.entry_price, price)
    cap: int256 = convert(self._reserve(pos.size, pos.max_profit_bps), int256)
    return min(pnl, cap)


@internal
@pure
def _borrow_fee(size: uint256, entry_index: uint256, index: uint256) -> uint256:
    return (size * (index - entry_index) + INDEX_ONE - 1) // INDEX_ONE


@internal
@pure
def _equity(pos: Position, price: uint256, index: uint256) -> int256:
    return convert(pos.collateral, int256) + self._capped_pnl(pos, price) - convert(
        self._borrow_fee(pos.size, pos.entry_index, index), int256
    )


@internal
@pure
def _average_entry(is_long: bool, size: uint256, entry_price: uint256, size_delta: uint256, price: uint256) -> uint256:
    # Keeps the position's units (size / entry) additive. A long's entry
    # rounds up and a short's down, so rounding never gifts the trader PnL.
    num: uint256 = (size + size_delta) * entry_price * price
    den: uint256 = size * price + size_delta * entry_price
    if is_long:
        return (num + den - 1) // den
    return num // den


@internal
@pure
def _liquidation_price(pos: Position, index: uint256, maintenance_bps: uint256) -> uint256:
    # Price at which equity meets maintenance margin, ignoring the profit
    # cap (irrelevant near liquidation). Rounded towards the current price.
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


# ---------------------------------------------------------------- storage

@internal
@view
def _read(slot: uint256) -> Position:
    w0: uint256 = self.pos_word0[slot]
    w1: uint256 = self.pos_word1[slot]
    w2: uint256 = self.pos_word2[slot]
    return Position(
        owner=convert(convert(w0 & (2**160 - 1), uint160), address),
        market_id=(w0 >> 160) & 65535,
        is_long=((w0 >> 176) & 255) == 1,
        max_profit_bps=(w0 >> 184) & GEN_MASK,
        generation=(w0 >> 216) & GEN_MASK,
        is_open=(w0 >> 248) == 1,
        size=w1 & MAX_U128,
        collateral=w1 >> 128,
        entry_price=w2 & MAX_U128,
        entry_index=w2 >> 128,
    )


@internal
def _store(slot: uint256, pos: Position):
    assert pos.size <= MAX_U128, "engine: size too large"
    assert pos.collateral <= MAX_U128, "engine: collateral too large"
    w0: uint256 = convert(convert(pos.owner, uint160), uint256)
    w0 |= pos.market_id << 160
    w0 |= convert(pos.is_long, uint256) << 176
    w0 |= pos.max_profit_bps << 184
    w0 |= pos.generation << 216
    w0 |= convert(pos.is_open, uint256) << 248
    self.pos_word0[slot] = w0
    self.pos_word1[slot] = pos.size | (pos.collateral << 128)
    self.pos_word2[slot] = pos.entry_price | (pos.entry_index << 128)


@internal
@view
def _load(position_id: uint256) -> (uint256, Position):
    slot: uint256 = position_id >> GEN_BITS
    pos: Position = self._read(slot)
    assert pos.is_open and pos.generation == position_id & GEN_MASK, "engine: position not open"
    return slot, pos


@internal
@view
def _load_owned(position_id: uint256) -> (uint256, Position):
    # One copy of each check (and of its reason string) keeps the engine
    # under the 24 KiB code-size limit.
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load(position_id)
    assert pos.owner == msg.sender, "engine: caller is not the position owner"
    return slot, pos


@internal
@view
def _not_paused():
    assert not self.paused, "engine: paused"


@internal
@pure
def _min_collateral(collateral: uint256, p: MarketParams):
    # Holds after every change a trader makes, so a liquidation always has
    # collateral to pay its liquidator from.
    assert collateral >= p.min_collateral, "engine: collateral below minimum"


@internal
@view
def _listed(market_id: uint256):
    assert self.market_feed[market_id] != empty(address), "engine: unknown market"


@internal
def _take_slot() -> uint256:
    # Recycle the most recently freed vault (LIFO), else create one.
    slot: uint256 = self.free_head
    if slot != FREE_END:
        self.free_head = self.pos_word1[slot]
        return slot
    slot = self.vault_count + 1
    assert slot + NONCE_BEFORE_VAULTS <= U32, "engine: vault slots exhausted"
    self.vault_count = slot
    vault: address = create_minimal_proxy_to(VAULT_IMPLEMENTATION)
    assert vault == self._vault(slot), "engine: nonce rule"
    log VaultCreated(slot=slot, vault=vault)
    return slot


@internal
@view
def _created_address(nonce: uint256) -> address:
    # keccak256(rlp([self, nonce]))[12:], for nonces below 2**32.
    me: bytes20 = convert(self, bytes20)
    encoded: Bytes[27] = b""
    if nonce < 128:
        encoded = concat(b"\xd6\x94", me, convert(convert(nonce, uint8), bytes1))
    elif nonce < 2**8:
        encoded = concat(b"\xd7\x94", me, b"\x81", convert(convert(nonce, uint8), bytes1))
    elif nonce < 2**16:
        encoded = concat(b"\xd8\x94", me, b"\x82", convert(convert(nonce, uint16), bytes2))
    elif nonce < 2**24:
        encoded = concat(b"\xd9\x94", me, b"\x83", convert(convert(nonce, uint24), bytes3))
    else:
        encoded = concat(b"\xda\x94", me, b"\x84", convert(convert(nonce, uint32), bytes4))
    return convert(convert(convert(keccak256(encoded), uint256) & (2**160 - 1), uint160), address)


@internal
@view
def _vault(slot: uint256) -> address:
    return self._created_address(slot + NONCE_BEFORE_VAULTS)


@internal
def _release_slot(slot: uint256, pos: Position):
    # Only word0 keeps its meaning (owner, generation): the next opener
    # rewrites every field and bumps the generation, so a recycled vault
    # carries no value and no permission from this position.
    w0: uint256 = self.pos_word0[slot]
    self.pos_word0[slot] = w0 & ~(1 << 248)
    self.pos_word1[slot] = self.free_head
    self.free_head = slot
    self.open_positions -= 1
    self._add_open_interest(pos.market_id, pos.is_long, pos.size, False)
    self.total_reserved -= self._reserve(pos.size, pos.max_profit_bps)


@internal
def _add_open_interest(market_id: uint256, is_long: bool, amount: uint256, increase: bool):
    oi: uint256 = self.market_oi[market_id]
    long: uint256 = oi & MAX_U128
    short: uint256 = oi >> 128
    if is_long:
        long = long + amount if increase else long - amount
    else:
        short = short + amount if increase else short - amount
    # Both sides stay within oi_cap <= 2**128 - 1: the packing cannot spill.
    self.market_oi[market_id] = long | (short << 128)


@internal
@view
def _side_open_interest(market_id: uint256, is_long: bool) -> uint256:
    oi: uint256 = self.market_oi[market_id]
    if is_long:
        return oi & MAX_U128
    return oi >> 128


@internal
@view
def _params(market_id: uint256) -> MarketParams:
    a: uint256 = self.market_risk[market_id]
    b: uint256 = self.market_limits[market_id]
    return MarketParams(
        initial_margin_bps=a & U16,
        maintenance_margin_bps=(a >> 16) & U16,
        open_fee_bps=(a >> 32) & U16,
        close_fee_bps=(a >> 48) & U16,
        liquidation_fee_bps=(a >> 64) & U16,
        insurance_share_bps=(a >> 80) & U16,
        max_profit_bps=(a >> 96) & U32,
        borrow_rate=(a >> 160) & U64,
        staleness=(a >> 128) & U32,
        min_collateral=b & MAX_U128,
        oi_cap=b >> 128,
    )


@internal
def _store_params(market_id: uint256, p: MarketParams):
    # _check_params bounds every field within its width.
    self.market_risk[market_id] = (
        p.initial_margin_bps
        | (p.maintenance_margin_bps << 16)
        | (p.open_fee_bps << 32)
        | (p.close_fee_bps << 48)
        | (p.liquidation_fee_bps << 64)
        | (p.insurance_share_bps << 80)
        | (p.max_profit_bps << 96)
        | (p.staleness << 128)
        | (p.borrow_rate << 160)
    )
    self.market_limits[market_id] = p.min_collateral | (p.oi_cap << 128)


# ---------------------------------------------------------------- oracle and fees

@internal
def _accrue(market_id: uint256, borrow_rate: uint256) -> uint256:
    packed: uint256 = self.market_index[market_id]
    index: uint256 = packed & MAX_U128
    last: uint256 = packed >> 128
    if block.timestamp > last:
        index += borrow_rate * (block.timestamp - last)
        assert index <= MAX_U128, "engine: borrow index overflow"
        self.market_index[market_id] = index | (block.timestamp << 128)
        log BorrowIndexAccrued(market_id=market_id, borrow_index=index, timestamp=block.timestamp)
    return index


@internal
@view
def _current_index(market_id: uint256, borrow_rate: uint256) -> uint256:
    packed: uint256 = self.market_index[market_id]
    index: uint256 = packed & MAX_U128
    last: uint256 = packed >> 128
    if block.timestamp > last:
        index += borrow_rate * (block.timestamp - last)
    return index


@internal
@view
def _price(market_id: uint256, staleness: uint256) -> uint256:
    feed: address = self.market_feed[market_id]
    assert feed != empty(address), "engine: unknown market"
    answer: int256 = 0
    updated_at: uint256 = 0
    _: uint80 = 0
    __: uint256 = 0
    ___: uint80 = 0
    _, answer, __, updated_at, ___ = staticcall AggregatorV3(feed).latestRoundData()
    assert answer > 0, "oracle: price not positive"
    assert updated_at + staleness >= block.timestamp, "oracle: price is stale"
    assert convert(answer, uint256) <= MAX_U128, "oracle: price out of range"
    return convert(answer, uint256)


# ---------------------------------------------------------------- token movements

@internal
def _pull(src: address, vault: address, amount: uint256):
    # Fee-on-transfer and rebasing tokens would leave a vault holding less
    # than its position's collateral: refuse them.
    before: uint256 = staticcall TOKEN.balanceOf(vault)
    assert extcall TOKEN.transferFrom(src, vault, amount, default_return_value=True), "engine: transfer failed"
    assert staticcall TOKEN.balanceOf(vault) == before + amount, "engine: token transfer not exact"


@internal
def _pay_from_vault(vault: address, to: address, amount: uint256):
    if amount != 0:
        extcall IVault(vault).pay(to, amount)


@internal
def _pay_from_pool(to: address, amount: uint256):
    if amount != 0:
        assert extcall TOKEN.transferFrom(POOL, to, amount, default_return_value=True), "engine: transfer failed"


@internal
def _cover_bad_debt(bad_debt: uint256) -> uint256:
    # The insurance fund pays the pool what the bankrupt vault could not;
    # whatever it cannot cover is the pool's loss.
    if bad_debt == 0:
        return 0
    cover: uint256 = min(bad_debt, staticcall TOKEN.balanceOf(INSURANCE))
    self._pay_from_vault(INSURANCE, POOL, cover)
    return cover


@internal
@view
def _settle(pos: Position, price: uint256, index: uint256, fee_bps: uint256) -> Settlement:
    # Closing a whole position: collateral + capped PnL - borrow fee - fee.
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


# ---------------------------------------------------------------- positions

@external
@nonreentrant
def open_position(market_id: uint256, is_long: bool, size: uint256, amount: uint256) -> uint256:
    """
    @notice Open a position with `amount` tokens: the open fee goes to the
            pool and the rest becomes the position's collateral in its vault.
    @return The new position's id.
    """
    self._not_paused()
    self._listed(market_id)
    assert size != 0, "engine: zero size"
    assert size <= MAX_U128, "engine: size too large"
    assert amount <= MAX_U128, "engine: amount too large"
    p: MarketParams = self._params(market_id)
    index: uint256 = self._accrue(market_id, p.borrow_rate)
    price: uint256 = self._price(market_id, p.staleness)
    open_fee: uint256 = self._fee(size, p.open_fee_bps)
    assert amount > open_fee, "engine: amount does not cover the open fee"
    collateral: uint256 = amount - open_fee
    self._min_collateral(collateral, p)
    assert collateral >= self._fee(size, p.initial_margin_bps), "engine: leverage above maximum"
    assert self._side_open_interest(market_id, is_long) + size <= p.oi_cap, "engine: open interest cap reached"
    max_profit_bps: uint256 = p.max_profit_bps
    reserved: uint256 = self.total_reserved + self._reserve(size, max_profit_bps)
    assert reserved <= staticcall TOKEN.balanceOf(POOL), "engine: pool liquidity too low"

    slot: uint256 = self._take_slot()
    generation: uint256 = ((self.pos_word0[slot] >> 216) & GEN_MASK) + 1
    assert generation <= GEN_MASK, "engine: slot generations exhausted"
    self._store(slot, Position(
        owner=msg.sender,
        market_id=market_id,
        is_long=is_long,
        max_profit_bps=max_profit_bps,
        generation=generation,
        is_open=True,
        size=size,
        collateral=collateral,
        entry_price=price,
        entry_index=index,
    ))
    self.total_reserved = reserved
    self.open_positions += 1
    self._add_open_interest(market_id, is_long, size, True)

    position_id: uint256 = (slot << GEN_BITS) | generation
    vault: address = self._vault(slot)
    self._pull(msg.sender, vault, collateral)
    if open_fee != 0:
        assert extcall TOKEN.transferFrom(msg.sender, POOL, open_fee, default_return_value=True), "engine: transfer failed"
    log PositionOpened(
        position_id=position_id,
        owner=msg.sender,
        market_id=market_id,
        is_long=is_long,
        size=size,
        collateral=collateral,
        entry_price=price,
        entry_index=index,
        max_profit_bps=max_profit_bps,
        open_fee=open_fee,
        vault=vault,
    )
    return position_id


@external
@nonreentrant
def add_collateral(position_id: uint256, amount: uint256):
    """@notice Add collateral to your position's vault. Works while paused."""
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load_owned(position_id)
    assert amount != 0, "engine: zero amount"
    # Bounded before any arithmetic, so oversized input gets a reason.
    assert amount <= MAX_U128, "engine: amount too large"
    pos.collateral += amount
    self._store(slot, pos)
    self._pull(msg.sender, self._vault(slot), amount)
    log CollateralAdded(position_id=position_id, amount=amount, collateral=pos.collateral)


@external
@nonreentrant
def remove_collateral(position_id: uint256, amount: uint256):
    """@notice Withdraw collateral while initial margin still holds."""
    self._not_paused()
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load_owned(position_id)
    assert amount != 0, "engine: zero amount"
    assert amount < pos.collateral, "engine: amount exceeds collateral"
    pos.collateral -= amount
    p: MarketParams = self._params(pos.market_id)
    self._min_collateral(pos.collateral, p)
    index: uint256 = self._accrue(pos.market_id, p.borrow_rate)
    price: uint256 = self._price(pos.market_id, p.staleness)
    margin: uint256 = self._fee(pos.size, p.initial_margin_bps)
    assert self._equity(pos, price, index) >= convert(margin, int256), "engine: margin too low"
    self._store(slot, pos)
    self._pay_from_vault(self._vault(slot), msg.sender, amount)
    log CollateralRemoved(position_id=position_id, amount=amount, collateral=pos.collateral, price=price)


@external
@nonreentrant
def increase_position(position_id: uint256, size_delta: uint256, collateral_delta: uint256):
    """
    @notice Grow a position at the oracle price, optionally adding collateral.
            The borrow fee so far and the open fee on the added size are paid
            from collateral; initial margin must hold afterwards.
    """
    self._not_paused()
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load_owned(position_id)
    assert size_delta != 0, "engine: zero size"
    assert size_delta <= MAX_U128, "engine: size too large"
    assert collateral_delta <= MAX_U128, "engine: amount too large"
    market_id: uint256 = pos.market_id
    p: MarketParams = self._params(market_id)
    index: uint256 = self._accrue(market_id, p.borrow_rate)
    price: uint256 = self._price(market_id, p.staleness)
    borrow_fee: uint256 = self._borrow_fee(pos.size, pos.entry_index, index)
    open_fee: uint256 = self._fee(size_delta, p.open_fee_bps)
    funds: uint256 = pos.collateral + collateral_delta
    assert funds > borrow_fee + open_fee, "engine: collateral does not cover fees"
    old_reserve: uint256 = self._reserve(pos.size, pos.max_profit_bps)
    pos.entry_price = self._average_entry(pos.is_long, pos.size, pos.entry_price, size_delta, price)
    pos.size += size_delta
    pos.collateral = funds - borrow_fee - open_fee
    pos.entry_index = index
    pos.max_profit_bps = p.max_profit_bps
    self._min_collateral(pos.collateral, p)
    margin: uint256 = self._fee(pos.size, p.initial_margin_bps)
    assert self._equity(pos, price, index) >= convert(margin, int256), "engine: leverage above maximum"
    assert self._side_open_interest(market_id, pos.is_long) + size_delta <= p.oi_cap, "engine: open interest cap reached"
    new_reserve: uint256 = self._reserve(pos.size, pos.max_profit_bps)
    reserved: uint256 = self.total_reserved - old_reserve + new_reserve
    if new_reserve > old_reserve:
        assert reserved <= staticcall TOKEN.balanceOf(POOL), "engine: pool liquidity too low"
    self._store(slot, pos)
    self.total_reserved = reserved
    self._add_open_interest(market_id, pos.is_long, size_delta, True)
    vault: address = self._vault(slot)
    if collateral_delta != 0:
        self._pull(msg.sender, vault, collateral_delta)
    self._pay_from_vault(vault, POOL, borrow_fee + open_fee)
    log PositionIncreased(
        position_id=position_id,
        size_delta=size_delta,
        collateral_delta=collateral_delta,
        size=pos.size,
        collateral=pos.collateral,
        entry_price=pos.entry_price,
        entry_index=index,
        max_profit_bps=pos.max_profit_bps,
        borrow_fee=borrow_fee,
        open_fee=open_fee,
        price=price,
    )


@external
@nonreentrant
def decrease_position(position_id: uint256, size_delta: uint256):
    """
    @notice Close part of a position. PnL on the closed part (capped by the
            reserve it releases) less the whole borrow fee so far and the
            close fee is paid to the trader, or taken from collateral. The
            rest of the position must not be liquidatable afterwards.
    """
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load_owned(position_id)
    assert size_delta != 0, "engine: zero size"
    assert size_delta < pos.size, "engine: decrease covers the whole position, close it"
    market_id: uint256 = pos.market_id
    p: MarketParams = self._params(market_id)
    index: uint256 = self._accrue(market_id, p.borrow_rate)
    price: uint256 = self._price(market_id, p.staleness)
    old_reserve: uint256 = self._reserve(pos.size, pos.max_profit_bps)
    new_reserve: uint256 = self._reserve(pos.size - size_delta, pos.max_profit_bps)
    pnl: int256 = min(
        self._pnl(pos.is_long, size_delta, pos.entry_price, price), convert(old_reserve - new_reserve, int256)
    )
    borrow_fee: uint256 = self._borrow_fee(pos.size, pos.entry_index, index)
    close_fee: uint256 = self._fee(size_delta, p.close_fee_bps)
    net: int256 = pnl - convert(borrow_fee + close_fee, int256)
    to_trader: uint256 = 0
    to_pool: uint256 = 0
    if net >= 0:
        to_trader = convert(net, uint256)
    else:
        to_pool = convert(-net, uint256)
        assert to_pool < pos.collateral, "engine: loss exceeds collateral, close it"
    pos.size -= size_delta
    pos.collateral -= to_pool
    pos.entry_index = index
    self._min_collateral(pos.collateral, p)
    maintenance: uint256 = self._fee(pos.size, p.maintenance_margin_bps)
    assert self._equity(pos, price, index) >= convert(maintenance, int256), "engine: position would be liquidatable"
    self._store(slot, pos)
    self.total_reserved -= old_reserve - new_reserve
    self._add_open_interest(market_id, pos.is_long, size_delta, False)
    self._pay_from_pool(msg.sender, to_trader)
    self._pay_from_vault(self._vault(slot), POOL, to_pool)
    log PositionDecreased(
        position_id=position_id,
        size_delta=size_delta,
        size=pos.size,
        collateral=pos.collateral,
        entry_index=index,
        price=price,
        pnl=pnl,
        borrow_fee=borrow_fee,
        close_fee=close_fee,
        to_trader=to_trader,
        to_pool=to_pool,
    )


@external
@nonreentrant
def close_position(position_id: uint256):
    """
    @notice Close your whole position at the oracle price. Always possible,
            paused or not; a bankrupt position pays the pool all it holds and
            the insurance fund covers the rest it can.
    """
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load_owned(position_id)
    p: MarketParams = self._params(pos.market_id)
    index: uint256 = self._accrue(pos.market_id, p.borrow_rate)
    price: uint256 = self._price(pos.market_id, p.staleness)
    s: Settlement = self._settle(pos, price, index, p.close_fee_bps)
    self._release_slot(slot, pos)
    vault: address = self._vault(slot)
    self._pay_from_vault(vault, msg.sender, s.to_trader)
    self._pay_from_vault(vault, POOL, s.to_pool)
    self._pay_from_pool(msg.sender, s.from_pool)
    cover: uint256 = self._cover_bad_debt(s.bad_debt)
    log PositionClosed(
        position_id=position_id,
        price=price,
        pnl=s.pnl,
        borrow_fee=s.borrow_fee,
        close_fee=s.trading_fee,
        to_trader=s.to_trader + s.from_pool,
        to_pool=s.to_pool,
        bad_debt=s.bad_debt,
        insurance_cover=cover,
    )


@external
@nonreentrant
def liquidate(position_id: uint256):
    """
    @notice Liquidate a position whose equity is below maintenance margin.
            It is closed whole at the oracle price; the caller earns the
            liquidation fee, the insurance fund its share of what is left,
            the pool the rest. Only this position's vault is touched.
    """
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load(position_id)
    market_id: uint256 = pos.market_id
    p: MarketParams = self._params(market_id)
    index: uint256 = self._accrue(market_id, p.borrow_rate)
    price: uint256 = self._price(market_id, p.staleness)
    pnl: int256 = self._capped_pnl(pos, price)
    borrow_fee: uint256 = self._borrow_fee(pos.size, pos.entry_index, index)
    equity: int256 = convert(pos.collateral, int256) + pnl - convert(borrow_fee, int256)
    maintenance: uint256 = self._fee(pos.size, p.maintenance_margin_bps)
    assert equity < convert(maintenance, int256), "engine: position is healthy"
    reward: uint256 = min(self._fee(pos.size, p.liquidation_fee_bps), pos.collateral)
    rest: int256 = equity - convert(reward, int256)
    remainder: uint256 = 0
    bad_debt: uint256 = 0
    if rest > 0:
        remainder = min(convert(rest, uint256), pos.collateral - reward)
    else:
        bad_debt = convert(-rest, uint256)
    insurance_cut: uint256 = remainder * p.insurance_share_bps // BPS
    to_pool: uint256 = pos.collateral - reward - insurance_cut
    self._release_slot(slot, pos)
    vault: address = self._vault(slot)
    self._pay_from_vault(vault, msg.sender, reward)
    self._pay_from_vault(vault, INSURANCE, insurance_cut)
    self._pay_from_vault(vault, POOL, to_pool)
    cover: uint256 = self._cover_bad_debt(bad_debt)
    log PositionLiquidated(
        position_id=position_id,
        liquidator=msg.sender,
        price=price,
        pnl=pnl,
        borrow_fee=borrow_fee,
        reward=reward,
        insurance_cut=insurance_cut,
        to_pool=to_pool,
        bad_debt=bad_debt,
        insurance_cover=cover,
    )


@external
@nonreentrant
def fund_insurance(amount: uint256):
    """@notice Anyone may top up the insurance fund."""
    assert amount != 0, "engine: zero amount"
    self._pull(msg.sender, INSURANCE, amount)
    log InsuranceFunded(funder=msg.sender, amount=amount)


# ---------------------------------------------------------------- governance

@internal
@view
def _check_params(p: MarketParams):
    assert p.initial_margin_bps >= MIN_INITIAL_MARGIN_BPS and p.initial_margin_bps <= BPS, "params: initial margin out of bounds"
    assert p.maintenance_margin_bps != 0 and p.maintenance_margin_bps < p.initial_margin_bps, "params: maintenance margin out of bounds"
    assert p.open_fee_bps <= MAX_FEE_BPS, "params: open fee out of bounds"
    assert p.close_fee_bps <= MAX_FEE_BPS, "params: close fee out of bounds"
    assert p.liquidation_fee_bps <= MAX_LIQUIDATION_FEE_BPS and p.liquidation_fee_bps <= p.maintenance_margin_bps, "params: liquidation fee out of bounds"
    assert p.insurance_share_bps <= BPS, "params: insurance share out of bounds"
    assert p.max_profit_bps != 0 and p.max_profit_bps <= MAX_MAX_PROFIT_BPS, "params: max profit out of bounds"
    assert p.borrow_rate <= MAX_BORROW_RATE, "params: borrow rate out of bounds"
    assert p.staleness != 0 and p.staleness <= MAX_STALENESS, "params: staleness out of bounds"
    assert p.min_collateral != 0 and p.min_collateral <= MAX_U128, "params: min collateral out of bounds"
    assert p.oi_cap != 0 and p.oi_cap <= MAX_U128, "params: open interest cap out of bounds"


@external
def list_market(feed: address, params: MarketParams) -> uint256:
    ownable._check_owner()
    assert feed != empty(address), "params: zero feed"
    self._check_params(params)
    market_id: uint256 = self.market_count + 1
    assert market_id <= MAX_MARKETS, "params: too many markets"
    self.market_count = market_id
    self.market_feed[market_id] = feed
    self.market_index[market_id] = block.timestamp << 128
    self._store_params(market_id, params)
    log MarketListed(market_id=market_id, feed=feed, timestamp=block.timestamp)
    log MarketParamsSet(market_id=market_id, params=params, borrow_index=0)
    return market_id


@external
@nonreentrant
def set_market_params(market_id: uint256, params: MarketParams):
    """@notice New parameters apply from now: fees accrued so far keep the old rate."""
    ownable._check_owner()
    self._listed(market_id)
    self._check_params(params)
    index: uint256 = self._accrue(market_id, self._params(market_id).borrow_rate)
    self._store_params(market_id, params)
    log MarketParamsSet(market_id=market_id, params=params, borrow_index=index)


@external
def set_market_feed(market_id: uint256, feed: address):
    ownable._check_owner()
    self._listed(market_id)
    assert feed != empty(address), "params: zero feed"
    self.market_feed[market_id] = feed
    log MarketFeedSet(market_id=market_id, feed=feed)


@external
def set_guardian(guardian: address):
    ownable._check_owner()
    self.guardian = guardian
    log GuardianSet(guardian=guardian)


@external
def pause():
    """@notice Stops opening, increasing and collateral removal only."""
    assert msg.sender == self.guardian or msg.sender == ownable.owner, "engine: caller is not the guardian"
    self._not_paused()
    self.paused = True
    log Paused(account=msg.sender)


@external
def unpause():
    ownable._check_owner()
    assert self.paused, "engine: not paused"
    self.paused = False
    log Unpaused(account=msg.sender)


# ---------------------------------------------------------------- views

@internal
@view
def _view(slot: uint256) -> PositionView:
    pos: Position = self._read(slot)
    v: PositionView = empty(PositionView)
    v.slot = slot
    v.vault = self._existing_vault(slot)
    if not pos.is_open:
        return v
    v.position_id = (slot << GEN_BITS) | pos.generation
    v.is_open = True
    v.owner = pos.owner
    v.market_id = pos.market_id
    v.is_long = pos.is_long
    v.size = pos.size
    v.collateral = pos.collateral
    v.entry_price = pos.entry_price
    v.entry_index = pos.entry_index
    v.max_profit_bps = pos.max_profit_bps
    v.reserve = self._reserve(pos.size, pos.max_profit_bps)
    return v


@external
@view
def position(position_id: uint256) -> PositionView:
    """@notice A position's whole state; is_open is False once it is gone."""
    v: PositionView = self._view(position_id >> GEN_BITS)
    if v.position_id != position_id:
        return empty(PositionView)
    return v


@external
@view
def slots(first: uint256, count: uint256) -> DynArray[PositionView, MAX_PAGE]:
    """@notice A page of vault slots with their current positions, in one call."""
    page: DynArray[PositionView, MAX_PAGE] = []
    if first > self.vault_count:
        return page
    last: uint256 = min(first + min(count, MAX_PAGE), self.vault_count + 1)
    for slot: uint256 in range(first, last, bound=MAX_PAGE):
        page.append(self._view(slot))
    return page


@external
@view
def health(position_id: uint256) -> Health:
    """@notice Equity, maintenance margin, liquidation price and liquidatability now."""
    slot: uint256 = 0
    pos: Position = empty(Position)
    slot, pos = self._load(position_id)
    h: Health = empty(Health)
    p: MarketParams = self._params(pos.market_id)
    index: uint256 = self._current_index(pos.market_id, p.borrow_rate)
    mm_bps: uint256 = p.maintenance_margin_bps
    h.price = self._price(pos.market_id, p.staleness)
    h.pnl = self._capped_pnl(pos, h.price)
    h.borrow_fee = self._borrow_fee(pos.size, pos.entry_index, index)
    h.equity = convert(pos.collateral, int256) + h.pnl - convert(h.borrow_fee, int256)
    h.maintenance_margin = self._fee(pos.size, mm_bps)
    h.liquidation_price = self._liquidation_price(pos, index, mm_bps)
    h.liquidatable = h.equity < convert(h.maintenance_margin, int256)
    return h


@internal
@view
def _existing_vault(slot: uint256) -> address:
    if slot == 0 or slot > self.vault_count:
        return empty(address)
    return self._vault(slot)


@external
@view
def vaults(slot: uint256) -> address:
    """@notice The vault of a slot that exists (empty address otherwise)."""
    return self._existing_vault(slot)


@external
@view
def market_params(market_id: uint256) -> MarketParams:
    return self._params(market_id)


@external
@view
def market_state(market_id: uint256) -> MarketState:
    oi: uint256 = self.market_oi[market_id]
    index: uint256 = self.market_index[market_id]
    return MarketState(
        feed=self.market_feed[market_id],
        oi_long=oi & MAX_U128,
        oi_short=oi >> 128,
        borrow_index=index & MAX_U128,
        last_accrual=index >> 128,
    )


@external
@view
def totals() -> Totals:
    return Totals(
        pool_assets=staticcall TOKEN.balanceOf(POOL),
        pool_shares=staticcall IERC20(POOL).totalSupply(),
        total_reserved=self.total_reserved,
        insurance_assets=staticcall TOKEN.balanceOf(INSURANCE),
        open_positions=self.open_positions,
        vault_count=self.vault_count,
        market_count=self.market_count,
        paused=self.paused,
    )
