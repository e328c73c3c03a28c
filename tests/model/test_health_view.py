"""Lens.health's liquidation price and its two flags (issue 9, finding 6),
checked against the model engine's own liquidate.

The named price is the last healthy one: there liquidate refuses ("engine:
position is healthy"); one feed unit further (a long below it, a short
above it) liquidate goes through. With the profit cap, equity is flat past
the cap's price: when even the capped best is below maintenance margin the
view says liquidatable_at_any_price, when the least healthy price a feed
can give (1 for a long, MAX_U128 for a short) still leaves it healthy,
liquidatable_at_no_price; the price is 0 with either flag and only then.

Figures on SIMPLE (tests/model/support.py): size S = 10_000 USDC, 1_000
USDC collateral, maintenance 5% = 500 USDC, borrow fee 10 units a second
on S; profit capped at 50% here (5_000 USDC).
"""
import pytest

from model import Revert
from model.risk import MAX_U128

from .support import KEEPER, USDC, make_world, params

S = 10_000 * USDC
A = 1_010 * USDC        # 1_000 USDC collateral + the 10 USDC open fee
CAPPED = params(max_profit_bps=5_000)


def _bounds(w, pid):
    h = w.engine.health(pid)
    return h.liquidation_price, h.liquidatable_at_any_price, h.liquidatable_at_no_price


def _liquidatable_at(w, pid, price) -> bool:
    """What the engine's liquidate says at `price`, the state rolled back
    either way; Lens.health's `liquidatable` must say the same."""
    j = w.p.journal
    mark = j.begin()
    try:
        w.set_price(price)
        said = w.engine.health(pid).liquidatable
        try:
            w.engine.liquidate(pid, sender=KEEPER)
            done = True
        except Revert as e:
            assert e.reason == "engine: position is healthy", e.reason
            done = False
    finally:
        j.undo(mark)
    assert said == done
    return done


@pytest.mark.parametrize("is_long, liq", [(True, 298_000_000_000), (False, 102_000_000_000)])
def test_named_price_is_the_last_healthy_one_with_fees_and_the_cap(is_long, liq):
    w = make_world(params=CAPPED)
    pid = w.open(is_long=is_long, size=S, amount=A)
    # 540_000_000 s of borrow fees: 10 * 540_000_000 = 5_400 USDC, so the
    # position needs a profit of 5_400 + 500 - 1_000 = 4_900 USDC, under the
    # 5_000 cap: move = ceil(2e11 * 4.9e9 / 1e10) = 9.8e10 from the 2e11 entry.
    # long: 2e11 + 9.8e10 = 2,980 USD, just under the cap's 3,000; short: 1,020.
    w.wait(540_000_000)
    w.set_price(w.engine.position(pid).entry_price)
    h = w.engine.health(pid)
    assert (h.borrow_fee, h.liquidatable) == (5_400 * USDC, True)
    assert _bounds(w, pid) == (liq, False, False)
    further = liq - 1 if is_long else liq + 1
    nearer = liq + 1 if is_long else liq - 1
    # At the named price the profit is 4_900 USDC: equity 1_000 + 4_900 - 5_400 = 500 = maintenance.
    w.set_price(liq)
    assert (w.engine.health(pid).equity, w.engine.health(pid).maintenance_margin) == (500 * USDC, 500 * USDC)
    assert not _liquidatable_at(w, pid, liq)
    assert not _liquidatable_at(w, pid, nearer)
    assert _liquidatable_at(w, pid, further)
    # The profit rounds down: one unit further it is 4_899.999999, equity one unit short.
    w.set_price(further)
    assert w.engine.health(pid).equity == 500 * USDC - 1


@pytest.mark.parametrize("is_long", [True, False])
def test_capped_best_below_maintenance_is_liquidatable_at_any_price(is_long):
    w = make_world(params=CAPPED)
    pid = w.open(is_long=is_long, size=S, amount=A)
    # 5_600 USDC of fees: a needed profit of 5_100 is past the 5_000 cap. The
    # uncapped rule named 2,000 +- 2e11 * 5.1e9 / 1e10 = 3,020 (long) / 980 (short).
    w.wait(560_000_000)
    w.set_price(w.engine.position(pid).entry_price)
    assert _bounds(w, pid) == (0, True, False)
    for price in (1, 980 * 10**8, 2_000 * 10**8, 3_020 * 10**8, 1_000_000 * 10**8, MAX_U128):
        assert _liquidatable_at(w, pid, price), price


def test_long_healthy_down_to_price_1_is_liquidatable_at_no_price():
    # Entry 1_000 feed units. Collateral 10_490 USDC on 10_000: at price 1 the
    # loss is ceil(1e10 * 999 / 1_000) = 9_990 USDC, equity 500 = maintenance.
    # The old rule named price 1 (liquidatable below 1: at no price a feed gives).
    w = make_world(price=1_000)
    pid = w.open(is_long=True, size=S, amount=10_500 * USDC)
    assert w.engine.position(pid).collateral == 10_490 * USDC
    assert _bounds(w, pid) == (0, False, True)
    assert not _liquidatable_at(w, pid, 1)
    # One second of borrow fees (10 units) later: move = floor(1_000 * (9.99e9 - 10) / 1e10) = 998,
    # so the last healthy price is 2 and price 1 liquidates.
    w.wait(1)
    assert _bounds(w, pid) == (2, False, False)
    assert not _liquidatable_at(w, pid, 2) and _liquidatable_at(w, pid, 1)


def test_short_healthy_up_to_the_feed_s_ceiling_is_liquidatable_at_no_price():
    # Entry 2**127 feed units, collateral 10_990 USDC: at MAX_U128 = 2**128 - 1
    # the loss is ceil(1e10 * (2**127 - 1) / 2**127) = 10_000 USDC, equity 990 >= 500.
    # The old rule named 2**127 + 2**127 * 10_490 / 10_000, a price no feed can give.
    w = make_world(price=2**127)
    pid = w.open(is_long=False, size=S, amount=11_000 * USDC)
    assert _bounds(w, pid) == (0, False, True)
    assert not _liquidatable_at(w, pid, MAX_U128)
