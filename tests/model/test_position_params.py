"""A position keeps the maintenance margin and liquidation fee of its open
or last resize (issue 9, "bounded owner"): a parameter change, whatever the
owner sets within the bounds, never moves an open position's liquidation
line or its liquidator's cut; the trader's own resize takes the new ones.

Figures on SIMPLE (tests/model/support.py): size S = 10_000 USDC, 1_000
USDC collateral, maintenance 5%, liquidation fee 1%.
"""
from dataclasses import replace

import pytest

from model import Revert

from .support import ALICE, KEEPER, OWNER, SIMPLE, USDC, make_world

S = 10_000 * USDC
A = 1_010 * USDC
HOSTILE = replace(SIMPLE, initial_margin_bps=10_000, maintenance_margin_bps=9_999, liquidation_fee_bps=1_000)


def _own(w, pid):
    v = w.engine.position(pid)
    return v.maintenance_margin_bps, v.liquidation_fee_bps


def test_a_parameter_change_leaves_open_positions_alone():
    w = make_world()
    pid = w.open(is_long=True, size=S, amount=A)
    assert _own(w, pid) == (SIMPLE.maintenance_margin_bps, SIMPLE.liquidation_fee_bps)
    w.engine.set_market_params(w.market, HOSTILE, sender=OWNER)
    assert _own(w, pid) == (SIMPLE.maintenance_margin_bps, SIMPLE.liquidation_fee_bps)
    # Healthy by its own 5%, liquidatable by the market's 99.99%: healthy.
    assert not w.engine.health(pid).liquidatable
    with pytest.raises(Revert, match="engine: position is healthy"):
        w.engine.liquidate(pid, sender=OWNER)


def test_a_resize_takes_the_parameters_of_its_time():
    w = make_world()
    pid = w.open(is_long=True, size=S, amount=A)
    raised = replace(SIMPLE, maintenance_margin_bps=SIMPLE.maintenance_margin_bps + 100,
                     liquidation_fee_bps=SIMPLE.liquidation_fee_bps + 50)
    w.engine.set_market_params(w.market, raised, sender=OWNER)
    w.trades.decrease_position(pid, S // 10, sender=ALICE)
    assert _own(w, pid) == (raised.maintenance_margin_bps, raised.liquidation_fee_bps)


def test_the_liquidator_earns_the_position_s_own_fee():
    """1% of 10_000 USDC = 100 USDC, though the market now says 10%."""
    w = make_world()
    pid = w.open(is_long=True, size=S, amount=A)
    w.engine.set_market_params(w.market, replace(SIMPLE, liquidation_fee_bps=SIMPLE.maintenance_margin_bps),
                               sender=OWNER)
    w.set_price(w.feed.answer * 91 // 100)       # a 9% fall: equity 100 USDC < 500
    done = w.engine.liquidate(pid, sender=KEEPER)
    assert done.reward == S * SIMPLE.liquidation_fee_bps // 10_000
