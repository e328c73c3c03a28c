"""Issue 9, finding 5, on the model: the guardian's pause holds LP flows and
risk-adding orders, and never an exit or an escrow.

While paused: no LP deposit or redeem request is made ("pool: paused") or
executed ("pool: paused, executions wait"); no open or increase is
requested ("orders: paused") or executed ("orders: paused, opens and
increases wait"), and an order refused so stays pending, executable after
the unpause. Closes, decreases, liquidations, adding collateral, cancelling
one's own orders and LP requests all work. tests/unit/test_pause_coverage.py
is the same story on chain.
"""
import pytest

from model import Revert
from model.orders import CANCEL_DELAY
from model.pool import LP_REQUEST_DELAY

from .support import ALICE, BOB, GUARDIAN, KEEPER, LP, LP2, OWNER, P0, USDC, expect_revert, make_world

S, A = 10_000 * USDC, 1_010 * USDC
MAX = 2**128 - 1


def _reason(call, *args, **kwargs):
    with pytest.raises(Revert) as e:
        call(*args, **kwargs)
    return e.value.reason


def test_lp_requests_and_executions_wait_cancels_do_not():
    w = make_world()
    pool = w.pool
    deposit = pool.requestDeposit(100 * USDC, LP2, LP2, sender=LP2)
    redeem = pool.requestRedeem(pool.balanceOf(LP) // 10, LP, LP, sender=LP)
    w.engine.pause(sender=GUARDIAN)
    w.wait(LP_REQUEST_DELAY)
    w.p.refresh_feeds()
    for rid in (deposit, redeem):
        expect_revert(w.p, "pool: paused, executions wait", pool.execute_request, rid, sender=KEEPER)
    expect_revert(w.p, "pool: paused", pool.requestDeposit, 1, LP2, LP2, sender=LP2)
    expect_revert(w.p, "pool: paused", pool.requestRedeem, 1, LP, LP, sender=LP)
    # An LP's escrow is never held: the redeem's shares come back at once.
    shares = pool.balanceOf(LP)
    pool.cancel_request(redeem, sender=LP)
    assert pool.balanceOf(LP) > shares and pool.lp_requests[redeem].amount == 0
    # After the unpause the deposit still executes, at a round after it.
    w.engine.unpause(sender=OWNER)
    w.wait(1)
    w.p.refresh_feeds()
    assert pool.execute_request(deposit, sender=KEEPER).shares > 0


def test_an_open_order_waits_through_the_pause_and_executes_after():
    w = make_world()
    orders = w.p.orders
    oid = orders.request_open(w.market, True, S, A, MAX, sender=ALICE)
    w.wait(1)
    w.set_price(P0)
    w.engine.pause(sender=GUARDIAN)
    escrow = orders.pending_escrow
    expect_revert(w.p, "orders: paused, opens and increases wait", orders.execute_order, oid, sender=KEEPER)
    assert orders.orders(oid).owner == ALICE and orders.pending_escrow == escrow     # still pending, not cancelled
    assert orders.executable_error(oid) == "orders: paused, opens and increases wait"
    expect_revert(w.p, "orders: paused", orders.request_open, w.market, True, S, A, MAX, sender=BOB)
    w.wait(60)
    w.engine.unpause(sender=OWNER)
    outcome, pid, _ = orders.execute_order(oid, sender=KEEPER)
    assert outcome == "executed" and w.engine.position(pid).size == S


def test_exits_and_cancels_work_while_paused():
    w = make_world()
    orders = w.p.orders
    a = w.open(ALICE, size=S, amount=2_010 * USDC)
    b = w.open(BOB, size=S, amount=A)
    c = w.open(ALICE, size=S, amount=2_010 * USDC)
    w.wait(5)
    pending = orders.request_open(w.market, True, S, A, MAX, sender=BOB)
    w.engine.pause(sender=GUARDIAN)
    expect_revert(w.p, "orders: paused", orders.request_increase, a, USDC, 0, MAX, sender=ALICE)
    expect_revert(w.p, "engine: paused", w.engine.remove_collateral, a, USDC, sender=ALICE)
    w.engine.add_collateral(a, USDC, sender=ALICE)
    w.trades.decrease_position(a, 1_000 * USDC, sender=ALICE)
    w.trades.close_position(c, sender=ALICE)
    # The order book's own exits: a close request and its execution.
    oid = orders.request_close(a, 0, sender=ALICE)
    w.wait(1)
    w.set_price(P0)
    assert orders.execute_order(oid, sender=KEEPER)[0] == "executed"
    # The pending open is cancelled by its owner, escrow and fee back.
    w.wait(CANCEL_DELAY)
    before = w.bal(BOB)
    orders.cancel_order(pending, sender=BOB)
    assert w.bal(BOB) == before + A + orders.EXECUTION_FEE
    w.set_price(P0 * 94 // 100)
    w.engine.liquidate(b, sender=KEEPER)
    assert w.engine.open_positions == 0
