"""Issue 9, finding 5 (Low): "The guardian's pause cannot stop LP flows or
profit payouts during an oracle incident." The pause (Engine.paused(), read
by the pool and the order book) now also holds LP deposit and redeem
requests and their execution, and open and increase orders, requested or
executed. An order held so waits, still pending, and executes after the
unpause. What must keep working, and does: closes, decreases, liquidations,
adding collateral, cancelling one's own orders and LP requests (escrow
back). tests/model/test_pause_coverage.py is the same story on the model.
"""
import ape

from model.orders import CANCEL_DELAY
from model.pool import LP_REQUEST_DELAY

from .helpers import request_id, settle, usd

MAX = 2**128 - 1
WAITS = "orders: paused, opens and increases wait"


def _order_id(receipt, orders):
    return receipt.events.filter(orders.OrderRequested)[0].order_id


def _later(chain, seconds):
    chain.pending_timestamp = chain.blocks.head.timestamp + seconds


def test_the_pause_holds_lp_flows_and_risk_adding_orders_never_exits(
        chain, engine, pool, orders, token, feed, owner, guardian, lp, lp2, alice, bob, carol, liquidator, stranger,
        open_pos, trade, set_price, clock):
    clock.at(0)
    a, _ = open_pos(alice, usd(10_000), usd(2_010))
    b, _ = open_pos(bob, usd(10_000), usd(1_010))
    fee = orders.EXECUTION_FEE()
    # Before the incident: an LP deposit and redeem pending, two open orders
    # pending with a round after them.
    deposit = request_id(pool.requestDeposit(usd(1_000), lp2, lp2, sender=lp2), pool)
    redeem = request_id(pool.requestRedeem(pool.balanceOf(lp) // 100, lp, lp, sender=lp), pool)
    waiting = _order_id(orders.request_open(1, True, usd(10_000), usd(1_010), MAX, sender=carol), orders)
    dropped = _order_id(orders.request_open(1, False, usd(5_000), usd(505), 0, sender=bob), orders)
    _later(chain, 1)
    feed.set_answer(feed.latestAnswer(), sender=owner)

    engine.pause(sender=guardian)

    # Orders that add risk: not requested, not executed, and not cancelled
    # either: the order stays pending with its escrow.
    escrow = orders.pending_escrow()
    with ape.reverts(WAITS):
        orders.execute_order(waiting, sender=stranger)
    assert orders.orders(waiting).owner == carol.address and orders.pending_escrow() == escrow
    with ape.reverts("orders: paused"):
        orders.request_open(1, True, usd(10_000), usd(1_010), MAX, sender=alice)
    with ape.reverts("orders: paused"):
        orders.request_increase(a, usd(100), usd(100), MAX, sender=alice)

    # LP flows: no request, no execution (after the delay and a fresh round).
    _later(chain, LP_REQUEST_DELAY)
    feed.set_answer(feed.latestAnswer(), sender=owner)
    for rid in (deposit, redeem):
        with ape.reverts("pool: paused, executions wait"):
            pool.execute_request(rid, sender=stranger)
    with ape.reverts("pool: paused"):
        pool.requestDeposit(usd(1), lp2, lp2, sender=lp2)
    with ape.reverts("pool: paused"):
        pool.requestRedeem(1, lp, lp, sender=lp)

    # Escrow always comes back: an LP cancels a request, a trader an order.
    shares = pool.balanceOf(lp)
    pool.cancel_request(redeem, sender=lp)
    assert pool.balanceOf(lp) > shares and pool.lp_requests(redeem).amount == 0
    _later(chain, CANCEL_DELAY)
    before = token.balanceOf(bob)
    orders.cancel_order(dropped, sender=bob)
    assert token.balanceOf(bob) == before + usd(505) + fee

    # Exits: add collateral, decrease, close (through the order book), liquidate.
    engine.add_collateral(a, usd(1), sender=alice)
    trade.decrease_position(a, usd(1_000), sender=alice)
    trade.close_position(a, sender=alice)
    set_price(1_880)
    engine.liquidate(b, sender=liquidator)
    assert engine.open_positions() == 0 and engine.paused() is True

    # After the unpause the held order executes (at a round after its
    # request) and so does the held deposit.
    engine.unpause(sender=owner)
    keeper_before = token.balanceOf(stranger)
    receipt = orders.execute_order(waiting, sender=stranger)
    [done] = receipt.events.filter(orders.OrderExecuted)
    assert done.order_id == waiting and engine.position(done.position_id).owner == carol.address
    assert token.balanceOf(stranger) == keeper_before + fee
    assert settle(chain, pool, deposit, [feed], owner, keeper=stranger).events.filter(pool.RequestExecuted)


def test_a_pause_longer_than_the_expiry_refunds_the_order_by_clearing(chain, engine, orders, token, feed, owner,
                                                                      guardian, carol, stranger):
    """Held past ORDER_EXPIRY, an open is cleared like any expired order:
    its owner gets the amount back (the clearer the execution fee)."""
    oid = _order_id(orders.request_open(1, True, usd(10_000), usd(1_010), MAX, sender=carol), orders)
    before = token.balanceOf(carol)
    engine.pause(sender=guardian)
    chain.pending_timestamp = orders.orders(oid).requested_at + 7_201
    with ape.reverts("orders: expired, clear it"):
        orders.execute_order(oid, sender=stranger)
    orders.clear_expired(oid, sender=stranger)
    assert token.balanceOf(carol) == before + usd(1_010)
