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
        clears it; a close escrows nothing and pays its keeper out of the
        position's payout (up to EXECUTION_FEE), so an owner the token
        refuses can still ask to close (issue 9, finding 3). An order the
        engine refuses with a reason is cancelled
        and refunded, the reason logged; a failure without a reason (out of
        gas, say) reverts, so no keeper can starve a call into a refusal.
        Exits pay out through this book: the engine pays a decrease's or a
        close's proceeds here and the book pays the receiver the owner
        named (the owner by default). A payout or refund the token refuses
        (a blacklisted receiver) does not revert the exit: it is held here,
        claimable by the owner or the receiver, to any address.
        The Engine creates this contract from a blueprint (its nonce 4,
        before the market rules at 5) and accepts trades from it only. While the engine's guardian pause is
        on, orders that add risk (open, increase) are neither requested
        nor executed: a pending one waits, still executable after the
        unpause (or cancelled by its owner, or cleared once expired).
        Decreases, closes, cancels and clearing never pause.
        model/orders.py is the Python twin.
"""
from ethereum.ercs import IERC20
from modules import sequencer


# @dev The engine's guardian pause (Engine.paused()) and, for a close
# request, the position's owner (Engine.owner_of()).
interface IPaused:
    def paused() -> bool: view
    def owner_of(position_id: uint256) -> address: view

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

# @dev Order ids: sequence << 32 | slot. The sequence (1, 2, ...) orders
# requests in time; the slot is where its words live, recycled.
SLOT_BITS: constant(uint256) = 32
SLOT_MASK: constant(uint256) = 2**32 - 1
# @dev word0 fields past the owner (see the storage notes below).
KIND_SHIFT: constant(uint256) = 200
LONG_BIT: constant(uint256) = 2**203
AMOUNTS_BIT: constant(uint256) = 2**204
SEQUENCE_SHIFT: constant(uint256) = 205
# @dev A free slot's word0: no owner, the next free slot at bit 160, and
# this bit so the word never returns to zero (rewriting a non-zero word
# costs 5,000 gas, creating one 22,100).
FREE_BIT: constant(uint256) = 2**255
MAX_TIME: constant(uint256) = 2**40 - 1
MAX_SEQUENCE: constant(uint256) = 2**49 - 1
# @dev Set when a decrease or close names a receiver other than its owner
# (order_receiver holds it); bit 254, above the 49-bit sequence.
RECEIVER_BIT: constant(uint256) = 2**254

# @dev The engine's refusals that mean "not yet" rather than "never": the
# order waits for a usable round instead of being cancelled for it.
NO_ROUND_YET: constant(String[MAX_REASON]) = "engine: no price round after the request"
STALE: constant(String[MAX_REASON]) = "oracle: price is stale"
# @dev Circle FiatToken's reason while the token is paused (USDC, the
# collateral this is built for): not a refusal of the order, which waits
# for the unpause instead of being cancelled for it.
TOKEN_PAUSED: constant(String[MAX_REASON]) = "Pausable: paused"

# @dev Why an order was cancelled when nobody's contract refused it.
BY_OWNER: constant(String[MAX_REASON]) = "orders: cancelled by the owner"
EXPIRED: constant(String[MAX_REASON]) = "orders: expired"
# @dev Why a payout was held when the token refused it without a reason
# (returned false).
REFUSED: constant(String[MAX_REASON]) = "orders: token refused the transfer"


# @dev A pending order as views show it (all zero once it is gone).
# market_id is set for an open, position_id for the other kinds; amount is
# the tokens it brings to the position (amount or collateral_delta);
# receiver is who an exit pays (the owner unless a decrease or close named
# another).
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
    receiver: address


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
    receiver: address

event OrderExecuted:
    order_id: indexed(uint256)
    keeper: indexed(address)
    position_id: uint256

event OrderCancelled:
    order_id: indexed(uint256)
    by: indexed(address)
    reason: String[MAX_REASON]

event PayoutHeld:
    owner: indexed(address)
    receiver: indexed(address)
    amount: uint256
    reason: String[MAX_REASON]

event PayoutClaimed:
    owner: indexed(address)
    receiver: indexed(address)
    by: address
    to: address
    amount: uint256


ENGINE: public(immutable(address))
TOKEN: public(immutable(IERC20))
SEQUENCER: public(immutable(address))
SEQUENCER_GRACE: public(immutable(uint256))
EXECUTION_FEE: public(immutable(uint256))


# @dev Order words, three per slot. A slot is taken by a request (the one
# freed last, else a new one) and freed by its execution or cancellation;
# words are rewritten, never cleared, so a busy book pays 5,000 gas a word
# where fresh ids paid 22,100 (issue 8's trade budgets):
#   word0: owner | requested_at << 160 | kind << 200 | LONG_BIT | AMOUNTS_BIT
#          | sequence << 205; a free slot: FREE_BIT | next free << 160
#   word1: size | amount << 128, read only under AMOUNTS_BIT (a close
#          brings none, and leaves the last order's word as it was)
#   word2: acceptable_price | target << 128  (market id for an open,
#          position id otherwise)
order_word0: HashMap[uint256, uint256]
order_word1: HashMap[uint256, uint256]
order_word2: HashMap[uint256, uint256]
# @dev The receiver of a decrease or close that named one (under RECEIVER_BIT).
order_receiver: HashMap[uint256, address]


# @dev One word, written once per request and once per removal:
#   pending_escrow | order_count << 128 | free_head << 192 | slot_count << 224
# pending_escrow: tokens held for pending orders (amounts and execution
# fees; the order book's token balance equals it at every step);
# order_count: orders ever requested (the last sequence); free_head: the
# free slot a request takes next (0: none, take slot_count + 1).
book: uint256

# @dev Payouts and refunds the token refused, by owner and receiver: either
# may claim them, to any address. held_total is their sum: the book's token
# balance is pending_escrow + held_total at every step.
claimable: public(HashMap[address, HashMap[address, uint256]])
held_total: public(uint256)


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
def _read(slot: uint256) -> (uint256, Order):
    """
    @dev Unpacks the order in a slot.
    @param slot The slot.
    @return uint256 Its order id (0 when the slot is free).
    @return Order The order (all zero when the slot is free).
    """
    w0: uint256 = self.order_word0[slot]
    owner: address = convert(convert(w0 & (2**160 - 1), uint160), address)
    if owner == empty(address):
        return 0, empty(Order)
    w1: uint256 = 0
    if w0 & AMOUNTS_BIT != 0:
        w1 = self.order_word1[slot]
    w2: uint256 = self.order_word2[slot]
    kind: uint256 = (w0 >> KIND_SHIFT) & 7
    o: Order = Order(
        owner=owner,
        kind=kind,
        market_id=0,
        position_id=0,
        is_long=w0 & LONG_BIT != 0,
        size=w1 & MAX_U128,
        amount=w1 >> 128,
        acceptable_price=w2 & MAX_U128,
        requested_at=(w0 >> 160) & MAX_TIME,
        receiver=owner,
    )
    if w0 & RECEIVER_BIT != 0:
        o.receiver = self.order_receiver[slot]
    if kind == OPEN:
        o.market_id = w2 >> 128
    else:
        o.position_id = w2 >> 128
    return (((w0 >> SEQUENCE_SHIFT) & MAX_SEQUENCE) << SLOT_BITS) | slot, o


@internal
@view
def _lookup(order_id: uint256) -> Order:
    """
    @dev The order with this id, all zero when it is not pending.
    @param order_id The order id.
    @return Order The order.
    """
    slot: uint256 = order_id & SLOT_MASK
    if slot == 0:
        return empty(Order)
    stored: uint256 = 0
    o: Order = empty(Order)
    stored, o = self._read(slot)
    if stored != order_id:
        return empty(Order)
    return o


@internal
@view
def _pending(order_id: uint256) -> Order:
    """
    @dev _lookup, for an order still pending.
    @param order_id The order id.
    @return Order The order.
    """
    o: Order = self._lookup(order_id)
    assert o.owner != empty(address), "orders: not pending"
    return o


@internal
def _remove(order_id: uint256, o: Order):
    """
    @dev Forgets an order before any token moves or the engine is called,
         so nothing can execute or refund it twice: its slot goes to the
         head of the free list, its words stay (see the storage notes).
    @param order_id The order id.
    @param o The order.
    """
    slot: uint256 = order_id & SLOT_MASK
    book: uint256 = self.book
    self.order_word0[slot] = FREE_BIT | (((book >> 192) & SLOT_MASK) << 160)
    escrow: uint256 = (book & MAX_U128) - (o.amount + self._fee_escrowed(o.kind))
    self.book = (book & ~(MAX_U128 | (SLOT_MASK << 192))) | escrow | (slot << 192)


@internal
@view
def _fee_escrowed(kind: uint256) -> uint256:
    """
    @dev The execution fee an order of `kind` escrowed: none for a close,
         whose keeper is paid out of the payout.
    @param kind The order's kind.
    @return uint256 The fee escrowed.
    """
    if kind == CLOSE:
        return 0
    return EXECUTION_FEE


@internal
@pure
def _error_reason(response: Bytes[MAX_RESPONSE], without: String[MAX_REASON]) -> String[MAX_REASON]:
    """
    @dev The reason string of a failed call's Error(string) response;
         reverts with `without` for any other response (none, a custom
         error, a panic): what running out of gas looks like.
    @param response The failed call's return data.
    @param without The revert reason when it carries no reason string.
    @return String[MAX_REASON] The reason.
    """
    if len(response) <= 4 or convert(slice(response, 0, 4), bytes4) != method_id("Error(string)", output_type=bytes4):
        raise without
    return abi_decode(slice(response, 4, len(response) - 4), String[MAX_REASON])


@internal
def _pay_or_hold(owner: address, receiver: address, amount: uint256):
    """
    @dev Pays an owner's tokens (a payout, a refund) to `receiver`; when the
         token refuses with a reason (a blacklisted receiver, say) or
         returns false, the amount is held for the owner and the receiver
         to claim, and the exit goes on. A refusal without a reason (out of
         gas) reverts, so no keeper can push a payout into the held
         balances by starving the call.
    @param owner The order's owner.
    @param receiver Who is paid.
    @param amount The amount; nothing happens for zero.
    """
    if amount == 0:
        return
    ok: bool = False
    response: Bytes[MAX_RESPONSE] = b""
    ok, response = raw_call(
        TOKEN.address,
        abi_encode(receiver, amount, method_id=method_id("transfer(address,uint256)")),
        max_outsize=MAX_RESPONSE,
        revert_on_failure=False,
    )
    reason: String[MAX_REASON] = REFUSED
    if ok:
        if len(response) == 0 or abi_decode(response, bool):
            return
    else:
        # Only a refusal with a reason (Error(string)) is held, as
        # execute_order reads the engine's.
        reason = self._error_reason(response, "orders: payout failed without a reason")
    self.claimable[owner][receiver] += amount
    self.held_total += amount
    log PayoutHeld(owner=owner, receiver=receiver, amount=amount, reason=reason)


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
def _request(
    kind: uint256,
    target: uint256,
    is_long: bool,
    size: uint256,
    amount: uint256,
    acceptable_price: uint256,
    receiver: address,
) -> uint256:
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
    @param receiver Who a decrease or close pays (empty: the owner).
    @return uint256 The order id.
    """
    assert size <= MAX_U128, "orders: size too large"
    assert amount <= MAX_U128, "orders: amount too large"
    assert acceptable_price <= MAX_U128, "orders: acceptable price too large"
    assert target <= MAX_U128, "orders: id too large"
    # 40 bits of time: until the year 36812.
    assert block.timestamp <= MAX_TIME, "orders: timestamp out of range"
    book: uint256 = self.book
    sequence: uint256 = ((book >> 128) & (2**64 - 1)) + 1
    assert sequence <= MAX_SEQUENCE, "orders: order ids exhausted"
    free_head: uint256 = (book >> 192) & SLOT_MASK
    slot_count: uint256 = book >> 224
    slot: uint256 = free_head
    if slot == 0:
        slot_count += 1
        assert slot_count <= SLOT_MASK, "orders: order slots exhausted"
        slot = slot_count
    else:
        free_head = (self.order_word0[slot] >> 160) & SLOT_MASK
    escrow: uint256 = amount + self._fee_escrowed(kind)
    pending_escrow: uint256 = (book & MAX_U128) + escrow
    assert pending_escrow <= MAX_U128, "orders: escrow too large"
    self.book = pending_escrow | (sequence << 128) | (free_head << 192) | (slot_count << 224)
    order_id: uint256 = (sequence << SLOT_BITS) | slot
    w0: uint256 = (
        convert(convert(msg.sender, uint160), uint256)
        | (block.timestamp << 160)
        | (kind << KIND_SHIFT)
        | (sequence << SEQUENCE_SHIFT)
    )
    if is_long:
        w0 |= LONG_BIT
    paid: address = msg.sender
    # Paid to itself, a payout would leave the escrow and the held
    # balances without leaving the book: stuck for ever.
    assert receiver != self, "orders: the order book cannot be a receiver"
    if receiver != empty(address) and receiver != msg.sender:
        w0 |= RECEIVER_BIT
        self.order_receiver[slot] = receiver
        paid = receiver
    # A close brings no tokens: word1 stays as the slot's last order left it.
    if (size | amount) != 0:
        w0 |= AMOUNTS_BIT
        self.order_word1[slot] = size | (amount << 128)
    self.order_word0[slot] = w0
    self.order_word2[slot] = acceptable_price | (target << 128)
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
        receiver=paid,
    )
    return order_id


# ---------------------------------------------------------------- requests

@internal
@view
def _adds_risk_while_paused(kind: uint256) -> bool:
    """
    @notice Opens and increases wait while the protocol is paused.
    @dev Whether an order of `kind` must wait for the engine's guardian
         pause to be lifted: only OPEN and INCREASE, which add risk. The
         pause is for an oracle incident; a decrease or close is a
         trader's way out (and cuts the pool's exposure), so it is never
         held, nor are cancels and clearing, which only return escrow. The
         engine refuses opens and increases itself while paused, but with
         a reason, which would cancel the order for the keeper's fee; here
         the order waits instead.
    @param kind The order's kind.
    @return bool True when the engine is paused and the kind is OPEN or INCREASE.
    """
    if kind != OPEN and kind != INCREASE:
        return False
    return staticcall IPaused(ENGINE).paused()


@external
@nonreentrant
def request_open(market_id: uint256, is_long: bool, size: uint256, amount: uint256, acceptable_price: uint256) -> uint256:
    """
    @notice Request a new position; escrows `amount` + EXECUTION_FEE.
            Refused while the engine is paused ("orders: paused").
    @param market_id The market.
    @param is_long True for a long, False for a short.
    @param size The notional.
    @param amount The tokens paid in: open fee plus collateral.
    @param acceptable_price The highest price a long accepts, the lowest a
           short accepts.
    @return uint256 The order id.
    """
    assert not self._adds_risk_while_paused(OPEN), "orders: paused"
    return self._request(OPEN, market_id, is_long, size, amount, acceptable_price, empty(address))


@external
@nonreentrant
def request_increase(position_id: uint256, size_delta: uint256, collateral_delta: uint256, acceptable_price: uint256) -> uint256:
    """
    @notice Request to grow your position; escrows `collateral_delta` +
            EXECUTION_FEE. Refused while the engine is paused ("orders:
            paused"); adding collateral alone is the engine's
            add_collateral, which never pauses.
    @param position_id Your open position.
    @param size_delta The notional to add.
    @param collateral_delta The tokens to add to its vault (may be zero).
    @param acceptable_price The highest price a long accepts, the lowest a
           short accepts.
    @return uint256 The order id.
    """
    assert not self._adds_risk_while_paused(INCREASE), "orders: paused"
    return self._request(INCREASE, position_id, False, size_delta, collateral_delta, acceptable_price, empty(address))


@external
@nonreentrant
def request_decrease(
    position_id: uint256, size_delta: uint256, acceptable_price: uint256, receiver: address = empty(address)
) -> uint256:
    """
    @notice Request to close part of your position; escrows EXECUTION_FEE.
            Works while the engine is paused: a way out is never held.
    @param position_id Your open position.
    @param size_delta The notional to close.
    @param acceptable_price The lowest price a long accepts, the highest a
           short accepts.
    @param receiver Who is paid the proceeds (empty: you).
    @return uint256 The order id.
    """
    return self._request(DECREASE, position_id, False, size_delta, 0, acceptable_price, receiver)


@external
@nonreentrant
def request_close(position_id: uint256, acceptable_price: uint256, receiver: address = empty(address)) -> uint256:
    """
    @notice Request to close your whole position; escrows nothing: the
            keeper is paid out of the payout (up to EXECUTION_FEE), so an
            owner the token refuses can still close. Works while the engine
            is paused: a way out is never held.
    @param position_id Your open position.
    @param acceptable_price The lowest price a long accepts, the highest a
           short accepts.
    @param receiver Who is paid the proceeds (empty: you).
    @return uint256 The order id.
    """
    # Escrowing nothing, a close would cost a spammer nothing but gas, and
    # its keeper would earn nothing for a refusal: only the owner of an
    # open position may ask.
    assert staticcall IPaused(ENGINE).owner_of(position_id) == msg.sender, "orders: not your open position"
    return self._request(CLOSE, position_id, False, 0, 0, acceptable_price, receiver)


# ---------------------------------------------------------------- execution

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
            to its owner, the reason logged). A close pays its keeper out
            of the payout, up to EXECUTION_FEE, and nothing when refused.
            A decrease's or close's proceeds go to its receiver, or are
            held for them (claim) when the token refuses them.
    @dev Waits (reverts, the order stays pending) while the order is not
         pending, expired, an open or increase while the engine is paused
         ("orders: paused, opens and increases wait": it executes after the
         unpause, not cancelled for the fee; decreases and closes execute),
         the sequencer is down or in its grace period, no round was
         published after the request, or the token is paused (Circle's
         "Pausable: paused": the order waits for the unpause). A refusal without a
         reason reverts too: it is what running out of gas looks like, and
         a keeper must not be able to cancel orders by starving them.
    @param order_id The order.
    """
    o: Order = self._pending(order_id)
    assert block.timestamp <= o.requested_at + ORDER_EXPIRY, "orders: expired, clear it"
    assert not self._adds_risk_while_paused(o.kind), "orders: paused, opens and increases wait"
    sequencer._check_sequencer(SEQUENCER, SEQUENCER_GRACE)
    self._remove(order_id, o)
    ok: bool = False
    response: Bytes[MAX_RESPONSE] = b""
    ok, response = raw_call(ENGINE, self._calldata(o), max_outsize=MAX_RESPONSE, revert_on_failure=False)
    if ok:
        position_id: uint256 = o.position_id
        if o.kind == OPEN:
            position_id = abi_decode(response, uint256)
        fee: uint256 = EXECUTION_FEE
        if o.kind == DECREASE or o.kind == CLOSE:
            # The engine paid the proceeds here and returned them; a close's
            # keeper is paid out of them (it escrowed no fee).
            payout: uint256 = abi_decode(response, uint256)
            if o.kind == CLOSE:
                fee = min(fee, payout)
                payout -= fee
            self._pay_or_hold(o.owner, o.receiver, payout)
        self._pay(msg.sender, fee)
        log OrderExecuted(order_id=order_id, keeper=msg.sender, position_id=position_id)
        return
    reason: String[MAX_REASON] = self._error_reason(response, "orders: execution failed without a reason")
    # Not yet, rather than never: revert, and the order (removed above)
    # stays pending for a later round. The engine, not a copy of its rule
    # here, decides whether the round is usable.
    assert keccak256(reason) != keccak256(NO_ROUND_YET), "orders: no price round after the request yet"
    assert keccak256(reason) != keccak256(STALE), STALE
    assert keccak256(reason) != keccak256(TOKEN_PAUSED), TOKEN_PAUSED
    self._pay_or_hold(o.owner, o.owner, o.amount)
    self._pay(msg.sender, self._fee_escrowed(o.kind))
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=reason)


@external
@nonreentrant
def cancel_order(order_id: uint256):
    """
    @notice Take back your pending order, CANCEL_DELAY seconds after you
            requested it: its tokens and the execution fee come back, or
            are held for you to claim when the token refuses to pay you.
            Works while the engine is paused (escrow is never held).
    @param order_id Your order.
    """
    o: Order = self._pending(order_id)
    assert o.owner == msg.sender, "orders: caller is not the order owner"
    assert block.timestamp >= o.requested_at + CANCEL_DELAY, "orders: too early to cancel"
    self._remove(order_id, o)
    self._pay_or_hold(o.owner, o.owner, o.amount + self._fee_escrowed(o.kind))
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=BY_OWNER)


@external
@nonreentrant
def clear_expired(order_id: uint256):
    """
    @notice Clear an order nobody executed within ORDER_EXPIRY seconds: its
            tokens go back to its owner, the execution fee to the caller.
            Works while the engine is paused: an open or increase held by
            a pause longer than ORDER_EXPIRY is refunded this way.
    @param order_id The expired order.
    """
    o: Order = self._pending(order_id)
    assert block.timestamp > o.requested_at + ORDER_EXPIRY, "orders: not expired"
    self._remove(order_id, o)
    self._pay_or_hold(o.owner, o.owner, o.amount)
    self._pay(msg.sender, self._fee_escrowed(o.kind))
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=EXPIRED)


@external
@nonreentrant
def claim(owner: address, receiver: address, to: address) -> uint256:
    """
    @notice Claim what the book holds for `owner` and `receiver` (payouts
            and refunds the token refused): the owner or the receiver may,
            to any address. Works while the engine is paused.
    @param owner The owner of the orders that were paid.
    @param receiver The receiver they named (the owner, for refunds).
    @param to Where the tokens go.
    @return uint256 The amount paid.
    """
    assert msg.sender == owner or msg.sender == receiver, "orders: caller is neither the owner nor the receiver"
    assert to != self, "orders: the order book cannot be a receiver"
    amount: uint256 = self.claimable[owner][receiver]
    assert amount != 0, "orders: nothing to claim"
    self.claimable[owner][receiver] = 0
    self.held_total -= amount
    self._pay(to, amount)
    log PayoutClaimed(owner=owner, receiver=receiver, by=msg.sender, to=to, amount=amount)
    return amount


# ---------------------------------------------------------------- views

@external
@view
def orders(order_id: uint256) -> Order:
    """
    @notice A pending order (all zero once executed or cancelled).
    @param order_id The order id.
    @return Order The order.
    """
    return self._lookup(order_id)


@external
@view
def order_at(slot: uint256) -> (uint256, Order):
    """
    @notice The pending order in a slot, for keepers that list the book:
            slots 1 to slot_count() hold every pending order.
    @param slot The slot.
    @return uint256 The order's id (0 when the slot is free).
    @return Order The order (all zero when the slot is free).
    """
    return self._read(slot)


@external
@view
def order_count() -> uint256:
    """
    @notice Orders ever requested: the sequence part of the last order id.
    @return uint256 The count.
    """
    return (self.book >> 128) & (2**64 - 1)


@external
@view
def pending_escrow() -> uint256:
    """
    @notice Tokens held for pending orders: their amounts and execution fees.
            The order book's token balance equals it plus held_total at
            every step.
    @return uint256 The escrow.
    """
    return self.book & MAX_U128


@external
@view
def next_order_id() -> uint256:
    """
    @notice The id the next request will get (a bundle that requests and
            then acts on its order needs it before the request).
    @return uint256 The order id.
    """
    book: uint256 = self.book
    slot: uint256 = (book >> 192) & SLOT_MASK
    if slot == 0:
        slot = (book >> 224) + 1
    return ((((book >> 128) & (2**64 - 1)) + 1) << SLOT_BITS) | slot


@external
@view
def slot_count() -> uint256:
    """
    @notice Order slots ever used; pending orders are in slots 1 to this.
    @return uint256 The count.
    """
    return self.book >> 224


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
