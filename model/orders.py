"""Twin of contracts/OrderBook.vy: two-step trades, filled at a later round.

A request escrows its tokens and EXECUTION_FEE (a close escrows nothing:
its keeper is paid out of its payout, up to EXECUTION_FEE); execute_order
(anyone) calls the engine and either fills the order or, when the engine
refuses with a reason, cancels it and refunds its owner, the reason logged.
A decrease's or close's proceeds come here from the engine and go on to the
receiver the owner named (the owner by default); a payout or refund the
token refuses with a reason is held, claimable by the owner or receiver. The
model keeps each slot's order as one record where the contract packs three
words; _request still checks the packing's bounds with its reasons. Order
ids are sequence << 32 | slot, slots recycled last-freed-first, as on chain.
A reasonless failure (Revert(None): checked arithmetic, a missing
contract; on chain also out of gas) reverts the execution itself.
While the engine is paused, opens and increases are neither requested
("orders: paused") nor executed ("orders: paused, opens and increases
wait": the order stays pending); decreases, closes, cancels and clearing
never pause.
"""
from dataclasses import dataclass
from typing import Optional

from .env import ZERO_ADDRESS
from .errors import Revert, require
from .events import Event
from .journal import Contract, Journal, external
from .sequencer import Sequencer
from .token import MAX_UINT256

OPEN = 1
INCREASE = 2
DECREASE = 3
CLOSE = 4
KIND_NAMES = {OPEN: "open", INCREASE: "increase", DECREASE: "decrease", CLOSE: "close"}
# An owner may cancel only CANCEL_DELAY seconds after requesting (no free
# option on the next round); nobody may execute after ORDER_EXPIRY.
CANCEL_DELAY = 60
ORDER_EXPIRY = 7200
MAX_REASON = 128
MAX_RESPONSE = 196
MAX_U128 = 2**128 - 1
SLOT_BITS = 32
SLOT_MASK = 2**32 - 1
# The contract's word0 packing (the model keeps records; named for the twins).
KIND_SHIFT = 200
LONG_BIT = 2**203
AMOUNTS_BIT = 2**204
SEQUENCE_SHIFT = 205
FREE_BIT = 2**255
MAX_TIME = 2**40 - 1
MAX_SEQUENCE = 2**49 - 1
RECEIVER_BIT = 2**254
# The engine's refusals that mean "not yet": the order waits (contract twin).
NO_ROUND_YET = "engine: no price round after the request"
STALE = "oracle: price is stale"
# Circle FiatToken's reason while paused: every execution waits for the unpause.
TOKEN_PAUSED = "Pausable: paused"
BY_OWNER = "orders: cancelled by the owner"
EXPIRED = "orders: expired"
REFUSED = "orders: token refused the transfer"
NO_REASON = "orders: execution failed without a reason"
NO_PAYOUT_REASON = "orders: payout failed without a reason"


@dataclass(frozen=True)
class Order:
    owner: str = ZERO_ADDRESS
    kind: int = 0
    market_id: int = 0
    position_id: int = 0
    is_long: bool = False
    size: int = 0
    amount: int = 0
    acceptable_price: int = 0
    requested_at: int = 0
    receiver: str = ZERO_ADDRESS


EMPTY_ORDER = Order()


@dataclass(frozen=True, slots=True)
class OrderRequested(Event):
    order_id: int
    owner: str
    kind: int
    market_id: int
    position_id: int
    is_long: bool
    size: int
    amount: int
    acceptable_price: int
    requested_at: int
    execution_fee: int
    receiver: str


@dataclass(frozen=True, slots=True)
class OrderExecuted(Event):
    order_id: int
    keeper: str
    position_id: int


@dataclass(frozen=True, slots=True)
class OrderCancelled(Event):
    order_id: int
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class PayoutHeld(Event):
    owner: str
    receiver: str
    amount: int
    reason: str


@dataclass(frozen=True, slots=True)
class PayoutClaimed(Event):
    owner: str
    receiver: str
    by: str
    to: str
    amount: int


def is_buy(kind: int, is_long: bool) -> bool:
    """Whether an order on a position of this side buys: open or increase a
    long, decrease or close a short (the engine's acceptable-price rule)."""
    return is_long if kind in (OPEN, INCREASE) else not is_long


class OrderBook(Sequencer, Contract):
    """Twin of OrderBook.vy, the only way trades reach the engine: request_open,
    request_increase, request_decrease, request_close (the trader, `sender=`), then
    execute_order (anyone, at a round after the request). See the module docstring."""

    CANCEL_DELAY = CANCEL_DELAY
    ORDER_EXPIRY = ORDER_EXPIRY

    def __init__(self, journal: Journal, address: str, token, engine, sequencer_feed: str, sequencer_grace: int,
                 execution_fee: int):
        """The engine deploys the order book, which approves it for every
        escrowed token."""
        super().__init__(journal)
        self.address = address
        self.token = token
        self.engine = engine
        self.env = engine.env
        self.feeds = engine.feeds
        self.ENGINE = engine.address
        self.TOKEN = token.address
        self.SEQUENCER = sequencer_feed
        self.SEQUENCER_GRACE = sequencer_grace
        self.EXECUTION_FEE = execution_fee
        # The contract packs these four into one word (`book`).
        self.order_count = 0
        self.pending_escrow = 0
        self.free_head = 0
        self.slot_count = 0
        self._slots = self.mapping((0, EMPTY_ORDER))      # slot -> (order id, order)
        self._next_free = self.mapping(0)                 # a free slot -> the next free one
        self._ids = self.mapping(0)                       # model-only: sequence -> order id
        # Payouts and refunds the token refused: (owner, receiver) -> amount.
        self.claimable = self.mapping(arity=2)
        self.held_total = 0
        token._approve(address, engine.address, MAX_UINT256)

    # ---------------------------------------------------------------- storage

    def _read(self, slot: int):
        return self._slots[slot]

    def _lookup(self, order_id: int) -> Order:
        slot = order_id & SLOT_MASK
        if slot == 0:
            return EMPTY_ORDER
        stored, o = self._read(slot)
        return o if stored == order_id else EMPTY_ORDER

    def _pending(self, order_id: int) -> Order:
        o = self._lookup(order_id)
        require(o.owner != ZERO_ADDRESS, "orders: not pending")
        return o

    def _remove(self, order_id: int, o: Order) -> None:
        """Forget the order before any token moves or the engine is called;
        its slot heads the free list."""
        slot = order_id & SLOT_MASK
        self._slots[slot] = (0, EMPTY_ORDER)
        self._next_free[slot] = self.free_head
        self.pending_escrow -= o.amount + self._fee_escrowed(o.kind)
        self.free_head = slot

    def _fee_escrowed(self, kind: int) -> int:
        """The execution fee an order of `kind` escrowed: none for a close."""
        return 0 if kind == CLOSE else self.EXECUTION_FEE

    def _error_reason(self, reason: Optional[str], without: str) -> str:
        """A failed call's reason string; reverts with `without` when it has
        none (or one longer than MAX_REASON, which the decoder refuses)."""
        require(reason is not None and len(reason.encode()) <= MAX_REASON, without)
        return reason

    def _pay_or_hold(self, owner: str, receiver: str, amount: int) -> None:
        """Pays `receiver`; a refusal with a reason holds the amount for
        (owner, receiver) to claim instead; one without reverts."""
        if amount == 0:
            return
        try:
            self.token.transfer(receiver, amount, sender=self.address)
            return
        except Revert as refusal:
            reason = self._error_reason(refusal.reason, NO_PAYOUT_REASON)
        self.claimable[(owner, receiver)] += amount
        self.held_total += amount
        self._emit(PayoutHeld(owner, receiver, amount, reason))

    def _pay(self, to: str, amount: int) -> None:
        if amount != 0:
            self.token.transfer(to, amount, sender=self.address)

    def _request(self, kind: int, target: int, is_long: bool, size: int, amount: int, acceptable_price: int,
                 receiver: str, *, sender: str) -> int:
        require(size <= MAX_U128, "orders: size too large")
        require(amount <= MAX_U128, "orders: amount too large")
        require(acceptable_price <= MAX_U128, "orders: acceptable price too large")
        require(target <= MAX_U128, "orders: id too large")
        now = self.env.timestamp
        require(now <= MAX_TIME, "orders: timestamp out of range")
        sequence = self.order_count + 1
        require(sequence <= MAX_SEQUENCE, "orders: order ids exhausted")
        slot = self.free_head
        if slot == 0:
            require(self.slot_count + 1 <= SLOT_MASK, "orders: order slots exhausted")
            self.slot_count += 1
            slot = self.slot_count
        else:
            self.free_head = self._next_free[slot]
        escrow = amount + self._fee_escrowed(kind)
        require(self.pending_escrow + escrow <= MAX_U128, "orders: escrow too large")
        self.pending_escrow += escrow
        self.order_count = sequence
        order_id = (sequence << SLOT_BITS) | slot
        self._ids[sequence] = order_id
        market_id, position_id = (target, 0) if kind == OPEN else (0, target)
        require(receiver != self.address, "orders: the order book cannot be a receiver")
        paid = receiver if receiver != ZERO_ADDRESS else sender
        self._slots[slot] = (order_id, Order(sender, kind, market_id, position_id, is_long, size, amount,
                                             acceptable_price, now, paid))
        if escrow != 0:
            # The contract also checks the escrow arrived whole; the model's token is exact.
            self.token.transferFrom(sender, self.address, escrow, sender=self.address)
        self._emit(OrderRequested(order_id, sender, kind, market_id, position_id, is_long, size, amount,
                                  acceptable_price, now, self.EXECUTION_FEE, paid))
        return order_id

    # ---------------------------------------------------------------- requests

    def _adds_risk_while_paused(self, kind: int) -> bool:
        """Whether an order of `kind` waits for the engine's pause to lift:
        only an open or an increase (the contract's natspec says why)."""
        if kind != OPEN and kind != INCREASE:
            return False
        return self.engine.paused

    @external
    def request_open(self, market_id: int, is_long: bool, size: int, amount: int, acceptable_price: int, *,
                     sender: str) -> int:
        """The trader asks to open: escrows `amount` (collateral + open fee) and the
        execution fee. Filled by execute_order at a round after now, at a price <= acceptable_price
        for a long, >= for a short. Returns the order id. Refused while the engine is paused."""
        require(not self._adds_risk_while_paused(OPEN), "orders: paused")
        return self._request(OPEN, market_id, is_long, size, amount, acceptable_price, ZERO_ADDRESS,
                             sender=sender)

    @external
    def request_increase(self, position_id: int, size_delta: int, collateral_delta: int, acceptable_price: int, *,
                         sender: str) -> int:
        """As request_open, for more size (and `collateral_delta` more collateral) on
        the caller's position. Refused while the engine is paused."""
        require(not self._adds_risk_while_paused(INCREASE), "orders: paused")
        return self._request(INCREASE, position_id, False, size_delta, collateral_delta, acceptable_price,
                             ZERO_ADDRESS, sender=sender)

    @external
    def request_decrease(self, position_id: int, size_delta: int, acceptable_price: int,
                         receiver: str = ZERO_ADDRESS, *, sender: str) -> int:
        """Asks to close `size_delta` of a position (escrows only the execution fee); a long
        sells, so the fill is at a price >= acceptable_price, a short's <=. Anyone may ask:
        the engine refuses at execution unless the requester owns the position. The
        proceeds go to `receiver` (default: the requester)."""
        return self._request(DECREASE, position_id, False, size_delta, 0, acceptable_price, receiver,
                             sender=sender)

    @external
    def request_close(self, position_id: int, acceptable_price: int, receiver: str = ZERO_ADDRESS, *,
                      sender: str) -> int:
        """Asks to close the whole position, prices, ownership and receiver as in
        request_decrease; escrows nothing (the keeper is paid out of the payout), so only the
        owner of an open position may ask."""
        require(self.engine.owner_of(position_id) == sender, "orders: not your open position")
        return self._request(CLOSE, position_id, False, 0, 0, acceptable_price, receiver, sender=sender)

    # ---------------------------------------------------------------- execution

    def _calldata(self, o: Order):
        """The engine call that fills the order: (method, positional args)."""
        e = self.engine
        if o.kind == OPEN:
            return e.open_position, (o.owner, o.market_id, o.is_long, o.size, o.amount, o.acceptable_price,
                                     o.requested_at)
        if o.kind == INCREASE:
            return e.increase_position, (o.owner, o.position_id, o.size, o.amount, o.acceptable_price,
                                         o.requested_at)
        if o.kind == DECREASE:
            return e.decrease_position, (o.owner, o.position_id, o.size, o.acceptable_price, o.requested_at)
        return e.close_position, (o.owner, o.position_id, o.acceptable_price, o.requested_at)

    @external
    def execute_order(self, order_id: int, *, sender: str):
        """Returns what happened (model-only: the contract returns nothing):
        ("executed", position_id, the engine call's own return) or
        ("cancelled", reason, None)."""
        o = self._pending(order_id)
        now = self.env.timestamp
        require(now <= o.requested_at + ORDER_EXPIRY, "orders: expired, clear it")
        require(not self._adds_risk_while_paused(o.kind), "orders: paused, opens and increases wait")
        self._check_sequencer(self.SEQUENCER, self.SEQUENCER_GRACE)
        self._remove(order_id, o)
        method, args = self._calldata(o)
        try:
            result = method(*args, sender=self.address)
        except Revert as refusal:
            reason = self._error_reason(refusal.reason, NO_REASON)
            # Not yet, rather than never: the whole execution reverts.
            require(reason != NO_ROUND_YET, "orders: no price round after the request yet")
            require(reason != STALE, STALE)
            require(reason != TOKEN_PAUSED, TOKEN_PAUSED)
            self._pay_or_hold(o.owner, o.owner, o.amount)
            self._pay(sender, self._fee_escrowed(o.kind))
            self._emit(OrderCancelled(order_id, sender, reason))
            return ("cancelled", reason, None)
        position_id = result if o.kind == OPEN else o.position_id
        fee = self.EXECUTION_FEE
        if o.kind in (DECREASE, CLOSE):
            # What the engine paid here (its return on chain): a decrease's
            # event, a close's Settlement.
            payout = result.to_trader if o.kind == DECREASE else result.to_trader + result.from_pool
            if o.kind == CLOSE:
                fee = min(fee, payout)
                payout -= fee
            self._pay_or_hold(o.owner, o.receiver, payout)
        self._pay(sender, fee)
        self._emit(OrderExecuted(order_id, sender, position_id))
        return ("executed", position_id, result)

    @external
    def cancel_order(self, order_id: int, *, sender: str) -> None:
        """The owner withdraws a pending order, CANCEL_DELAY after the request: escrow and
        execution fee back."""
        o = self._pending(order_id)
        require(o.owner == sender, "orders: caller is not the order owner")
        require(self.env.timestamp >= o.requested_at + CANCEL_DELAY, "orders: too early to cancel")
        self._remove(order_id, o)
        self._pay_or_hold(o.owner, o.owner, o.amount + self._fee_escrowed(o.kind))
        self._emit(OrderCancelled(order_id, sender, BY_OWNER))

    @external
    def clear_expired(self, order_id: int, *, sender: str) -> None:
        """Anyone clears an order ORDER_EXPIRY after its request: escrow back to the owner,
        the execution fee to the caller."""
        o = self._pending(order_id)
        require(self.env.timestamp > o.requested_at + ORDER_EXPIRY, "orders: not expired")
        self._remove(order_id, o)
        self._pay_or_hold(o.owner, o.owner, o.amount)
        self._pay(sender, self._fee_escrowed(o.kind))
        self._emit(OrderCancelled(order_id, sender, EXPIRED))

    @external
    def claim(self, owner: str, receiver: str, to: str, *, sender: str) -> int:
        """The owner or the receiver takes what is held for (owner, receiver), to any address."""
        require(sender == owner or sender == receiver, "orders: caller is neither the owner nor the receiver")
        require(to != self.address, "orders: the order book cannot be a receiver")
        amount = self.claimable[(owner, receiver)]
        require(amount != 0, "orders: nothing to claim")
        self.claimable[(owner, receiver)] = 0
        self.held_total -= amount
        self._pay(to, amount)
        self._emit(PayoutClaimed(owner, receiver, sender, to, amount))
        return amount

    # ---------------------------------------------------------------- views

    def orders(self, order_id: int) -> Order:
        """A pending order (all zero once executed, cancelled or for an id never issued)."""
        return self._lookup(order_id)

    def order_at(self, slot: int):
        """(order_id, Order) in slot `slot` (1 to slot_count); (0, empty) when free."""
        return self._read(slot)

    def next_order_id(self) -> int:
        """The id the next request will get."""
        return ((self.order_count + 1) << SLOT_BITS) | (self.free_head or self.slot_count + 1)

    def check_sequencer(self) -> bool:
        """Reverts while an L2 sequencer is down or in its grace period (what liquidate asks)."""
        self._check_sequencer(self.SEQUENCER, self.SEQUENCER_GRACE)
        return True

    # ---------------------------------------------------------------- model-only views

    def pending_ids(self) -> list:
        """Pending order ids, oldest request first."""
        return sorted(i for i, _ in self._slots.values() if i)

    def order_id_of(self, sequence: int) -> int:
        """The id the sequence-th request got (executed or not): what a
        harness that counted requests looks up."""
        return self._ids[sequence]

    def last_order_id(self) -> int:
        """Model-only: the id of the latest request."""
        return self._ids[self.order_count]

    def executable_error(self, order_id: int):
        """Why execute_order would wait now (None: it would run, and fill or
        cancel): what a keeper asks before sending."""
        try:
            with self._journal.savepoint():
                self.execute_order(order_id, sender=self.address)
        except Revert as r:
            return r.reason
        return None
