# pragma version ~=0.4.3
"""
@title isomargin order book: two-step trades, filled at a later price round
@custom:contract-name OrderBook
@notice A trade is requested here and executed later by anyone (a keeper),
        at a price round published after the request. Filling at the round
        already on chain let a trader who saw the next round coming open a
        block before it and close a block after it, risk-free (issue 8,
        review finding 3). Each request escrows its tokens (the collateral
        it brings, if any) and EXECUTION_FEE, paid to whoever executes or
        clears it. An order the engine refuses with a reason is cancelled
        and refunded, the reason logged; a failure without a reason (out of
        gas, say) reverts, so no keeper can starve a call into a refusal.
        The Engine creates this contract from a blueprint (its nonce 4) and
        accepts trades from it only. model/orders.py is the Python twin.
"""
from ethereum.ercs import IERC20
from interfaces import AggregatorV3
from modules import sequencer
from modules import positions
from modules import markets

# @dev Order kinds, as OrderRequested logs them.
OPEN: constant(uint256) = 1
INCREASE: constant(uint256) = 2
DECREASE: constant(uint256) = 3
CLOSE: constant(uint256) = 4

# @dev An owner may take back a pending order after CANCEL_DELAY seconds:
# not at once, or a trader could request, watch the next round come in and
# cancel when it is against them (a free option on the round).
CANCEL_DELAY: constant(uint256) = 60
# @dev After ORDER_EXPIRY seconds an order can no longer be executed (its
# trader's view of the market is two hours old); anyone may clear it.
ORDER_EXPIRY: constant(uint256) = 7200

# @dev The longest refusal reason decoded; every engine and token reason
# is shorter. A longer one does not decode: execution reverts, no reason.
MAX_REASON: constant(uint256) = 128
# Error(string) selector + offset + length + MAX_REASON bytes.
MAX_RESPONSE: constant(uint256) = 196

# @dev Field bounds of the packed order words.
MAX_U128: constant(uint256) = 2**128 - 1

# @dev Why an order was cancelled when nobody's contract refused it.
BY_OWNER: constant(String[MAX_REASON]) = "orders: cancelled by the owner"
EXPIRED: constant(String[MAX_REASON]) = "orders: expired"


# @dev A pending order as views show it (all zero once it is gone).
# market_id is set for an open, position_id for the other kinds; amount is
# the tokens it brings to the position (amount or collateral_delta).
struct Order:
    owner: address
    kind: uint256
    market_id: uint256
    position_id: uint256
    is_long: bool
    size: uint256
    amount: uint256
    acceptable_price: uint256
    requested_at: uint256


event OrderRequested:
    order_id: indexed(uint256)
    owner: indexed(address)
    kind: uint256
    market_id: uint256
    position_id: uint256
    is_long: bool
    size: uint256
    amount: uint256
    acceptable_price: uint256
    requested_at: uint256
    execution_fee: uint256

event OrderExecuted:
    order_id: indexed(uint256)
    keeper: indexed(address)
    position_id: uint256

event OrderCancelled:
    order_id: indexed(uint256)
    by: indexed(address)
    reason: String[MAX_REASON]


interface IEngine:
    def position(position_id: uint256) -> positions.PositionView: view
    def market_state(market_id: uint256) -> markets.MarketState: view


ENGINE: public(immutable(address))
TOKEN: public(immutable(IERC20))
SEQUENCER: public(immutable(address))
SEQUENCER_GRACE: public(immutable(uint256))
EXECUTION_FEE: public(immutable(uint256))


# @dev Order words: three per order, cleared when it is executed or
# cancelled (so a pending order is one whose owner is set):
#   word0: owner | requested_at << 160 | kind << 224 | is_long << 232
#   word1: size | amount << 128
#   word2: acceptable_price | target << 128  (market id for an open,
#          position id otherwise)
order_word0: HashMap[uint256, uint256]
order_word1: HashMap[uint256, uint256]
order_word2: HashMap[uint256, uint256]


# @dev Orders ever requested (ids are 1..order_count).
order_count: public(uint256)


# @dev Tokens held for pending orders: their amounts and execution fees.
# The order book's token balance equals it at every step.
pending_escrow: public(uint256)


@deploy
def __init__(token: IERC20, engine: address, sequencer_feed: address, sequencer_grace: uint256, execution_fee: uint256):
    """
    @dev Deployed by the engine from a blueprint, right after the pool.
         The engine moves escrowed tokens into vaults and the pool through
         the allowance given here.
    @param token The collateral token.
    @param engine The engine, the only contract orders are sent to.
    @param sequencer_feed Chainlink's L2 sequencer-uptime feed, or empty.
    @param sequencer_grace Seconds after an outage before execution resumes.
    @param execution_fee Tokens each order escrows for its keeper.
    """
    ENGINE = engine
    TOKEN = token
    SEQUENCER = sequencer_feed
    SEQUENCER_GRACE = sequencer_grace
    EXECUTION_FEE = execution_fee
    assert extcall token.approve(engine, max_value(uint256), default_return_value=True), "orders: approve failed"


# ---------------------------------------------------------------- storage

@internal
@view
def _read(order_id: uint256) -> Order:
    """
    @dev Unpacks an order's three words (all zero once it is gone).
    @param order_id The order id.
    @return Order The order.
    """
    w0: uint256 = self.order_word0[order_id]
    w1: uint256 = self.order_word1[order_id]
    w2: uint256 = self.order_word2[order_id]
    kind: uint256 = (w0 >> 224) & 255
    o: Order = Order(
        owner=convert(convert(w0 & (2**160 - 1), uint160), address),
        kind=kind,
        market_id=0,
        position_id=0,
        is_long=((w0 >> 232) & 255) == 1,
        size=w1 & MAX_U128,
        amount=w1 >> 128,
        acceptable_price=w2 & MAX_U128,
        requested_at=(w0 >> 160) & (2**64 - 1),
    )
    if kind == OPEN:
        o.market_id = w2 >> 128
    else:
        o.position_id = w2 >> 128
    return o


@internal
@view
def _pending(order_id: uint256) -> Order:
    """
    @dev _read, for an order still pending.
    @param order_id The order id.
    @return Order The order.
    """
    o: Order = self._read(order_id)
    assert o.owner != empty(address), "orders: not pending"
    return o


@internal
def _remove(order_id: uint256, o: Order):
    """
    @dev Forgets an order before any token moves or the engine is called,
         so nothing can execute or refund it twice.
    @param order_id The order id.
    @param o The order.
    """
    self.order_word0[order_id] = 0
    self.order_word1[order_id] = 0
    self.order_word2[order_id] = 0
    self.pending_escrow -= o.amount + EXECUTION_FEE


@internal
def _pay(to: address, amount: uint256):
    """
    @dev Pays out of the escrow; nothing moves for a zero amount.
    @param to The recipient.
    @param amount The amount.
    """
    if amount != 0:
        assert extcall TOKEN.transfer(to, amount, default_return_value=True), "orders: transfer failed"


@internal
def _request(kind: uint256, target: uint256, is_long: bool, size: uint256, amount: uint256, acceptable_price: uint256) -> uint256:
    """
    @dev Stores an order and escrows its tokens. Only the packing's bounds
         are checked here; every trading rule is the engine's, at
         execution, when the order is filled or cancelled with its reason.
    @param kind OPEN, INCREASE, DECREASE or CLOSE.
    @param target The market id (OPEN) or the position id.
    @param is_long The side (OPEN only).
    @param size The notional to open, add or remove.
    @param amount The tokens brought to the position.
    @param acceptable_price The worst price the trader accepts.
    @return uint256 The order id.
    """
    assert size <= MAX_U128, "orders: size too large"
    assert amount <= MAX_U128, "orders: amount too large"
    assert acceptable_price <= MAX_U128, "orders: acceptable price too large"
    assert target <= MAX_U128, "orders: id too large"
    order_id: uint256 = self.order_count + 1
    self.order_count = order_id
    self.order_word0[order_id] = (
        convert(convert(msg.sender, uint160), uint256)
        | (block.timestamp << 160)
        | (kind << 224)
        | (convert(is_long, uint256) << 232)
    )
    # A close or decrease brings no tokens: word1 stays zero, unwritten.
    if (size | amount) != 0:
        self.order_word1[order_id] = size | (amount << 128)
    self.order_word2[order_id] = acceptable_price | (target << 128)
    escrow: uint256 = amount + EXECUTION_FEE
    self.pending_escrow += escrow
    if escrow != 0:
        before: uint256 = staticcall TOKEN.balanceOf(self)
        assert extcall TOKEN.transferFrom(msg.sender, self, escrow, default_return_value=True), "orders: transfer failed"
        # A fee-on-transfer token would leave the escrow short, and the
        # shortfall would be paid out of other traders' escrow.
        assert staticcall TOKEN.balanceOf(self) == before + escrow, "orders: token transfer not exact"
    market_id: uint256 = 0
    position_id: uint256 = target
    if kind == OPEN:
        market_id = target
        position_id = 0
    log OrderRequested(
        order_id=order_id,
        owner=msg.sender,
        kind=kind,
        market_id=market_id,
        position_id=position_id,
        is_long=is_long,
        size=size,
        amount=amount,
        acceptable_price=acceptable_price,
        requested_at=block.timestamp,
        execution_fee=EXECUTION_FEE,
    )
    return order_id


# ---------------------------------------------------------------- requests

@external
@nonreentrant
def request_open(market_id: uint256, is_long: bool, size: uint256, amount: uint256, acceptable_price: uint256) -> uint256:
    """
    @notice Request a new position; escrows `amount` + EXECUTION_FEE.
    @param market_id The market.
    @param is_long True for a long, False for a short.
    @param size The notional.
    @param amount The tokens paid in: open fee plus collateral.
    @param acceptable_price The highest price a long accepts, the lowest a
           short accepts.
    @return uint256 The order id.
    """
    return self._request(OPEN, market_id, is_long, size, amount, acceptable_price)


@external
@nonreentrant
def request_increase(position_id: uint256, size_delta: uint256, collateral_delta: uint256, acceptable_price: uint256) -> uint256:
    """
    @notice Request to grow your position; escrows `collateral_delta` +
            EXECUTION_FEE.
    @param position_id Your open position.
    @param size_delta The notional to add.
    @param collateral_delta The tokens to add to its vault (may be zero).
    @param acceptable_price The highest price a long accepts, the lowest a
           short accepts.
    @return uint256 The order id.
    """
    return self._request(INCREASE, position_id, False, size_delta, collateral_delta, acceptable_price)


@external
@nonreentrant
def request_decrease(position_id: uint256, size_delta: uint256, acceptable_price: uint256) -> uint256:
    """
    @notice Request to close part of your position; escrows EXECUTION_FEE.
    @param position_id Your open position.
    @param size_delta The notional to close.
    @param acceptable_price The lowest price a long accepts, the highest a
           short accepts.
    @return uint256 The order id.
    """
    return self._request(DECREASE, position_id, False, size_delta, 0, acceptable_price)


@external
@nonreentrant
def request_close(position_id: uint256, acceptable_price: uint256) -> uint256:
    """
    @notice Request to close your whole position; escrows EXECUTION_FEE.
    @param position_id Your open position.
    @param acceptable_price The lowest price a long accepts, the highest a
           short accepts.
    @return uint256 The order id.
    """
    return self._request(CLOSE, position_id, False, 0, 0, acceptable_price)


# ---------------------------------------------------------------- execution

@internal
@view
def _market_of(o: Order) -> uint256:
    """
    @dev The market an order trades: its own for an open, its position's
         otherwise (0 when the position is not open: the engine will say so).
    @param o The order.
    @return uint256 The market id.
    """
    if o.kind == OPEN:
        return o.market_id
    return (staticcall IEngine(ENGINE).position(o.position_id)).market_id


@internal
@view
def _calldata(o: Order) -> Bytes[260]:
    """
    @dev The engine call that fills an order.
    @param o The order.
    @return Bytes The calldata.
    """
    if o.kind == OPEN:
        return abi_encode(
            o.owner, o.market_id, o.is_long, o.size, o.amount, o.acceptable_price, o.requested_at,
            method_id=method_id("open_position(address,uint256,bool,uint256,uint256,uint256,uint256)"),
        )
    if o.kind == INCREASE:
        return abi_encode(
            o.owner, o.position_id, o.size, o.amount, o.acceptable_price, o.requested_at,
            method_id=method_id("increase_position(address,uint256,uint256,uint256,uint256,uint256)"),
        )
    if o.kind == DECREASE:
        return abi_encode(
            o.owner, o.position_id, o.size, o.acceptable_price, o.requested_at,
            method_id=method_id("decrease_position(address,uint256,uint256,uint256,uint256)"),
        )
    return abi_encode(
        o.owner, o.position_id, o.acceptable_price, o.requested_at,
        method_id=method_id("close_position(address,uint256,uint256,uint256)"),
    )


@external
@nonreentrant
def execute_order(order_id: uint256):
    """
    @notice Fill a pending order at the latest price round; anyone may, and
            earns EXECUTION_FEE whether the order fills or the engine
            refuses it (then the order is cancelled and its tokens go back
            to its owner, the reason logged).
    @dev Waits (reverts, the order stays pending) while the order is not
         pending, expired, the sequencer is down or in its grace period, or
         no round was published after the request. A refusal without a
         reason reverts too: it is what running out of gas looks like, and
         a keeper must not be able to cancel orders by starving them.
    @param order_id The order.
    """
    o: Order = self._pending(order_id)
    assert block.timestamp <= o.requested_at + ORDER_EXPIRY, "orders: expired, clear it"
    sequencer._check_sequencer(SEQUENCER, SEQUENCER_GRACE)
    feed: address = (staticcall IEngine(ENGINE).market_state(self._market_of(o))).feed
    # No feed: an unknown market or a closed position, which the engine
    # refuses below with its own reason.
    if feed != empty(address):
        updated_at: uint256 = 0
        _: uint80 = 0
        __: int256 = 0
        ___: uint256 = 0
        ____: uint80 = 0
        _, __, ___, updated_at, ____ = staticcall AggregatorV3(feed).latestRoundData()
        assert updated_at > o.requested_at, "orders: no price round after the request yet"
    self._remove(order_id, o)
    ok: bool = False
    response: Bytes[MAX_RESPONSE] = b""
    ok, response = raw_call(ENGINE, self._calldata(o), max_outsize=MAX_RESPONSE, revert_on_failure=False)
    if ok:
        position_id: uint256 = o.position_id
        if o.kind == OPEN:
            position_id = abi_decode(response, uint256)
        self._pay(msg.sender, EXECUTION_FEE)
        log OrderExecuted(order_id=order_id, keeper=msg.sender, position_id=position_id)
        return
    assert len(response) > 4, "orders: execution failed without a reason"
    assert convert(slice(response, 0, 4), bytes4) == method_id("Error(string)", output_type=bytes4), "orders: execution failed without a reason"
    reason: String[MAX_REASON] = abi_decode(slice(response, 4, len(response) - 4), String[MAX_REASON])
    self._pay(o.owner, o.amount)
    self._pay(msg.sender, EXECUTION_FEE)
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=reason)


@external
@nonreentrant
def cancel_order(order_id: uint256):
    """
    @notice Take back your pending order, CANCEL_DELAY seconds after you
            requested it: its tokens and the execution fee come back.
    @param order_id Your order.
    """
    o: Order = self._pending(order_id)
    assert o.owner == msg.sender, "orders: caller is not the order owner"
    assert block.timestamp >= o.requested_at + CANCEL_DELAY, "orders: too early to cancel"
    self._remove(order_id, o)
    self._pay(o.owner, o.amount + EXECUTION_FEE)
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=BY_OWNER)


@external
@nonreentrant
def clear_expired(order_id: uint256):
    """
    @notice Clear an order nobody executed within ORDER_EXPIRY seconds: its
            tokens go back to its owner, the execution fee to the caller.
    @param order_id The expired order.
    """
    o: Order = self._pending(order_id)
    assert block.timestamp > o.requested_at + ORDER_EXPIRY, "orders: not expired"
    self._remove(order_id, o)
    self._pay(o.owner, o.amount)
    self._pay(msg.sender, EXECUTION_FEE)
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=EXPIRED)


# ---------------------------------------------------------------- views

@external
@view
def orders(order_id: uint256) -> Order:
    """
    @notice A pending order (all zero once executed or cancelled).
    @param order_id The order id.
    @return Order The order.
    """
    return self._read(order_id)


@external
@view
def check_sequencer() -> bool:
    """
    @notice True when the L2 sequencer is up and past its grace period (or
            there is no sequencer feed); reverts with the reason otherwise.
            The engine's liquidate calls it: one copy of the check.
    @return bool True.
    """
    sequencer._check_sequencer(SEQUENCER, SEQUENCER_GRACE)
    return True
