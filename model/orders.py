"""Twin of contracts/OrderBook.vy: two-step trades, filled at a later round.

A request escrows its tokens and EXECUTION_FEE; execute_order (anyone)
calls the engine and either fills the order or, when the engine refuses
with a reason, cancels it and refunds its owner, the reason logged. The
model keeps each order as one Order record where the contract packs three
words; _request still checks the packing's bounds with its reasons.
A reasonless failure (Revert(None): checked arithmetic, a missing
contract; on chain also out of gas) reverts the execution itself.
"""
from dataclasses import dataclass

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
BY_OWNER = "orders: cancelled by the owner"
EXPIRED = "orders: expired"
NO_REASON = "orders: execution failed without a reason"


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


def is_buy(kind: int, is_long: bool) -> bool:
    """Whether an order on a position of this side buys: open or increase a
    long, decrease or close a short (the engine's acceptable-price rule)."""
    return is_long if kind in (OPEN, INCREASE) else not is_long


class OrderBook(Sequencer, Contract):
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
        self.order_count = 0
        self.pending_escrow = 0
        self._orders = self.mapping(EMPTY_ORDER)
        token._approve(address, engine.address, MAX_UINT256)

    # ---------------------------------------------------------------- storage

    def _read(self, order_id: int) -> Order:
        return self._orders[order_id]

    def _pending(self, order_id: int) -> Order:
        o = self._read(order_id)
        require(o.owner != ZERO_ADDRESS, "orders: not pending")
        return o

    def _remove(self, order_id: int, o: Order) -> None:
        """Forget the order before any token moves or the engine is called."""
        self._orders[order_id] = EMPTY_ORDER
        self.pending_escrow -= o.amount + self.EXECUTION_FEE

    def _pay(self, to: str, amount: int) -> None:
        if amount != 0:
            self.token.transfer(to, amount, sender=self.address)

    def _request(self, kind: int, target: int, is_long: bool, size: int, amount: int, acceptable_price: int, *,
                 sender: str) -> int:
        require(size <= MAX_U128, "orders: size too large")
        require(amount <= MAX_U128, "orders: amount too large")
        require(acceptable_price <= MAX_U128, "orders: acceptable price too large")
        require(target <= MAX_U128, "orders: id too large")
        order_id = self.order_count + 1
        self.order_count = order_id
        now = self.env.timestamp
        market_id, position_id = (target, 0) if kind == OPEN else (0, target)
        self._orders[order_id] = Order(sender, kind, market_id, position_id, is_long, size, amount,
                                       acceptable_price, now)
        escrow = amount + self.EXECUTION_FEE
        self.pending_escrow += escrow
        if escrow != 0:
            # The contract also checks the escrow arrived whole; the model's token is exact.
            self.token.transferFrom(sender, self.address, escrow, sender=self.address)
        self._emit(OrderRequested(order_id, sender, kind, market_id, position_id, is_long, size, amount,
                                  acceptable_price, now, self.EXECUTION_FEE))
        return order_id

    # ---------------------------------------------------------------- requests

    @external
    def request_open(self, market_id: int, is_long: bool, size: int, amount: int, acceptable_price: int, *,
                     sender: str) -> int:
        return self._request(OPEN, market_id, is_long, size, amount, acceptable_price, sender=sender)

    @external
    def request_increase(self, position_id: int, size_delta: int, collateral_delta: int, acceptable_price: int, *,
                         sender: str) -> int:
        return self._request(INCREASE, position_id, False, size_delta, collateral_delta, acceptable_price,
                             sender=sender)

    @external
    def request_decrease(self, position_id: int, size_delta: int, acceptable_price: int, *, sender: str) -> int:
        return self._request(DECREASE, position_id, False, size_delta, 0, acceptable_price, sender=sender)

    @external
    def request_close(self, position_id: int, acceptable_price: int, *, sender: str) -> int:
        return self._request(CLOSE, position_id, False, 0, 0, acceptable_price, sender=sender)

    # ---------------------------------------------------------------- execution

    def _market_of(self, o: Order) -> int:
        if o.kind == OPEN:
            return o.market_id
        return self.engine.position(o.position_id).market_id

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

    def _latest_round_updated_at(self, feed: str) -> int:
        aggregator = self.feeds[feed]
        if aggregator is None:
            raise Revert(None)      # no contract there
        return aggregator.latestRoundData()[3]

    @external
    def execute_order(self, order_id: int, *, sender: str):
        """Returns what happened (model-only: the contract returns nothing):
        ("executed", position_id, the engine call's own return) or
        ("cancelled", reason, None)."""
        o = self._pending(order_id)
        now = self.env.timestamp
        require(now <= o.requested_at + ORDER_EXPIRY, "orders: expired, clear it")
        self._check_sequencer(self.SEQUENCER, self.SEQUENCER_GRACE)
        feed = self.engine.market_state(self._market_of(o)).feed
        if feed != ZERO_ADDRESS:
            require(self._latest_round_updated_at(feed) > o.requested_at,
                    "orders: no price round after the request yet")
        self._remove(order_id, o)
        method, args = self._calldata(o)
        try:
            result = method(*args, sender=self.address)
        except Revert as refusal:
            reason = refusal.reason
            # No reason, or one too long to decode: the execution reverts.
            require(reason is not None and len(reason.encode()) <= MAX_REASON, NO_REASON)
            self._pay(o.owner, o.amount)
            self._pay(sender, self.EXECUTION_FEE)
            self._emit(OrderCancelled(order_id, sender, reason))
            return ("cancelled", reason, None)
        position_id = result if o.kind == OPEN else o.position_id
        self._pay(sender, self.EXECUTION_FEE)
        self._emit(OrderExecuted(order_id, sender, position_id))
        return ("executed", position_id, result)

    @external
    def cancel_order(self, order_id: int, *, sender: str) -> None:
        o = self._pending(order_id)
        require(o.owner == sender, "orders: caller is not the order owner")
        require(self.env.timestamp >= o.requested_at + CANCEL_DELAY, "orders: too early to cancel")
        self._remove(order_id, o)
        self._pay(o.owner, o.amount + self.EXECUTION_FEE)
        self._emit(OrderCancelled(order_id, sender, BY_OWNER))

    @external
    def clear_expired(self, order_id: int, *, sender: str) -> None:
        o = self._pending(order_id)
        require(self.env.timestamp > o.requested_at + ORDER_EXPIRY, "orders: not expired")
        self._remove(order_id, o)
        self._pay(o.owner, o.amount)
        self._pay(sender, self.EXECUTION_FEE)
        self._emit(OrderCancelled(order_id, sender, EXPIRED))

    # ---------------------------------------------------------------- views

    def orders(self, order_id: int) -> Order:
        return self._read(order_id)

    def check_sequencer(self) -> bool:
        self._check_sequencer(self.SEQUENCER, self.SEQUENCER_GRACE)
        return True

    # ---------------------------------------------------------------- model-only views

    def pending_ids(self) -> list:
        return sorted(i for i, o in self._orders.items() if o.owner != ZERO_ADDRESS)

    def executable_error(self, order_id: int):
        """Why execute_order would wait now (None: it would run, and fill or
        cancel): what a keeper asks before sending."""
        try:
            with self._journal.savepoint():
                self.execute_order(order_id, sender=self.address)
        except Revert as r:
            return r.reason
        return None
