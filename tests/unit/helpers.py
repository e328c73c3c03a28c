"""Constants and arithmetic shared by the unit tests (imported, unlike conftest)."""
from contextlib import contextmanager

from harness.chains.artifacts import storage_slot
from harness.chains.contracts import hashmap_slot  # noqa: F401 - for the tests
from harness.protocol.markets import MARKETS, MAX_UINT256, PRICE, USDC  # noqa: F401
from model.pool import DECIMALS_OFFSET, LP_REQUEST_DELAY  # the contract's, as tests/test_twins.py holds it
MAX_U128 = 2**128 - 1
ZERO = "0x0000000000000000000000000000000000000000"
ETH = MARKETS["ETH"]
ETH_PARAMS = ETH["params"]
RATE = ETH_PARAMS.borrow_rate  # 3,170,979,198 per second (10%/year, 1e18 scale)
LP_DEPOSIT = 1_000_000 * USDC
# The pool's virtual shares: an empty pool mints 10**DECIMALS_OFFSET shares
# per unit, a deposit pays a * (supply + VIRTUAL_SHARES) / (assets + 1).
VIRTUAL_SHARES = 10**DECIMALS_OFFSET
LP_SHARES = LP_DEPOSIT * VIRTUAL_SHARES   # lp's shares for the first deposit, into the empty pool
INSURANCE_FUND = 10_000 * USDC
MINT = 10_000_000 * USDC
GEN_BITS = 32
# Every order escrows it for its keeper (the standard world's Engine argument).
EXECUTION_FEE = 100_000

# Engine storage slots, from the compiler's layout; used only to reach
# guards that no sequence of calls can reach in a test's lifetime.
SLOT_MARKET_COUNT = storage_slot("Engine", "markets.market_count")
SLOT_VAULT_COUNT = storage_slot("Engine", "positions.vault_count")
SLOT_MARKET_INDEX = storage_slot("Engine", "markets.market_index")   # borrow_index | last_accrual << 128
SLOT_POS_WORD0 = storage_slot("Engine", "positions.pos_word0")


def usd(x) -> int:
    return int(round(x * USDC))


def px(x) -> int:
    return int(round(x * PRICE))


def borrow_fee(size: int, seconds: int, rate: int = RATE) -> int:
    """Engine._borrow_fee for an index that grew for `seconds`: rounds up."""
    return -(-size * rate * seconds // 10**18)


def position_id(slot: int, generation: int) -> int:
    return (slot << GEN_BITS) | generation


# ---------------------------------------------------------------- the pool's async flows, in one place

def request_id(receipt, pool) -> int:
    """The id a request logged (ape's return_value re-runs the call on the
    post-transaction state on the default network: the next id)."""
    for event in receipt.events:
        if event.event_name in ("DepositRequested", "RedeemRequested"):
            return event.request_id
    raise AssertionError("no request logged")


def settle(chain, pool, rid: int, feeds=(), feed_owner=None, keeper=None):
    """The async half of every LP flow: LP_REQUEST_DELAY passes, every
    feed publishes a round (same answer, now), a keeper executes."""
    chain.pending_timestamp = max(chain.pending_timestamp, chain.blocks.head.timestamp + 1) + LP_REQUEST_DELAY
    for feed in feeds:
        feed.set_answer(feed.latestAnswer(), sender=feed_owner)
    return pool.execute_request(rid, sender=keeper or feed_owner)


def lp_deposit(chain, pool, lp, assets: int, feeds=(), feed_owner=None):
    """Request, wait, fresh rounds, execute: the shares minted."""
    rid = request_id(pool.requestDeposit(assets, lp, lp, sender=lp), pool)
    return settle(chain, pool, rid, feeds, feed_owner, keeper=lp).events.filter(pool.RequestExecuted)[0].shares


def lp_redeem(chain, pool, lp, shares: int, feeds=(), feed_owner=None):
    """Request, wait, fresh rounds, execute: the assets paid out."""
    rid = request_id(pool.requestRedeem(shares, lp, lp, sender=lp), pool)
    return settle(chain, pool, rid, feeds, feed_owner, keeper=lp).events.filter(pool.RequestExecuted)[0].assets


class OrderCancelled(Exception):
    """The order book cancelled an order: the engine refused it with `reason`."""

    def __init__(self, reason: str, receipt=None):
        super().__init__(reason)
        self.reason = reason
        self.receipt = receipt


class OrderWaits(Exception):
    """The execution reverted with a "not yet" reason; the order is pending."""

    def __init__(self, reason: str, orders, order_id: int, owner):
        super().__init__(reason)
        self.reason, self.orders, self.order_id, self.owner = reason, orders, order_id, owner


@contextmanager
def waits(reason: str):
    """The engine's "not yet" (a stale price): the execution reverts and the
    order stays pending. The owner then takes it back (CANCEL_DELAY on), so
    balances read as they were before the request."""
    import ape
    try:
        yield
    except OrderWaits as e:
        assert e.reason == reason, f"execution reverted with {e.reason!r}, expected {reason!r}"
        book = e.orders
        order = book.orders(e.order_id)
        assert order.owner == e.owner.address, "the waiting order is no longer pending"
        chain = ape.chain
        chain.pending_timestamp = max(chain.blocks.head.timestamp + 1, order.requested_at + 60)
        book.cancel_order(e.order_id, sender=e.owner)
    else:
        raise AssertionError(f"the order did not wait (expected {reason!r})")


@contextmanager
def cancelled(reason: str):
    """Where a direct call once reverted with the engine's `reason`: the
    order is now executed and cancelled with that reason (conftest Trades).
    The order book's own reasons ("orders: ...") refuse the request itself,
    which reverts."""
    if reason.startswith("orders:"):
        import ape
        with ape.reverts(reason):
            yield
        return
    try:
        yield
    except OrderCancelled as e:
        assert e.reason == reason, f"order cancelled with {e.reason!r}, expected {reason!r}"
    else:
        raise AssertionError(f"order not cancelled (expected {reason!r})")
