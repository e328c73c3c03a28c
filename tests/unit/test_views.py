"""Engine views: position, health, totals, slots, market getters."""
from dataclasses import replace

import ape
import pytest

from harness.protocol.layout import vault_address

from .helpers import (ETH_PARAMS, INSURANCE_FUND, LP_DEPOSIT, LP_SHARES, SLOT_VAULT_COUNT, ZERO, borrow_fee,
                      position_id, px, usd)

SIZE = usd(10_000)
AMOUNT = usd(1_010)
EMPTY_VIEW = (0, 0, ZERO, False, ZERO, 0, False, 0, 0, 0, 0, 0, 0, 0, 0)


def _health(lens, engine, pid):
    h = lens.health(engine, pid)
    return (h.price, h.pnl, h.borrow_fee, h.equity, h.maintenance_margin, h.liquidation_price, h.liquidatable)


@pytest.mark.parametrize("is_long, price, expected", [
    # 1,850 long: PnL -750, fee 318 units, equity 249.999682. Liquidation
    # price: slack 1,000 - 0.000318 - 500 = 499.999682; 2,000 * slack /
    # 10,000 = 99.9999364 below entry -> 1,900.0000636.
    (True, 1_850, (px(1_850), -usd(750), 318, 249_999_682, usd(500), 190_000_006_360, True)),
    (False, 1_850, (px(1_850), usd(750), 318, 1_749_999_682, usd(500), 209_999_993_640, False)),
    # Profit capped at 300%: 30,000 at 10,000.
    (True, 10_000, (px(10_000), usd(30_000), 318, usd(31_000) - 318, usd(500), 190_000_006_360, False)),
])
def test_health(lens, engine, alice, open_pos, set_price, clock, is_long, price, expected):
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT, is_long=is_long)
    clock.at(5)
    set_price(price)
    clock.mine(10)
    assert _health(lens, engine, pid) == expected


def test_health_liquidation_price_beyond_entry_when_fees_ate_the_margin(lens, engine, alice, bob, open_pos, set_price,
                                                                        clock):
    # After 200 days the borrow fee (547.945206) exceeds collateral minus
    # maintenance by 47.945206: the long is liquidatable above its entry
    # (2,000 + 2,000 * 47.945206 / 10,000 = 2,009.5890412), the short below it.
    clock.at(0)
    long_id, _ = open_pos(alice, SIZE, AMOUNT)
    clock.at(4)
    short_id, _ = open_pos(bob, SIZE, AMOUNT, is_long=False)
    dt = 200 * 86_400
    clock.at(dt - 10)
    set_price(2_000)
    clock.mine(dt)
    fee_long, fee_short = borrow_fee(SIZE, dt), borrow_fee(SIZE, dt - 4)  # bob opened 4 s later
    assert lens.health(engine, long_id).borrow_fee == fee_long == 547_945_206
    assert lens.health(engine, long_id).liquidation_price == 200_958_904_120
    assert lens.health(engine, short_id).borrow_fee == fee_short
    slack = usd(1_000) - fee_short - usd(500)
    assert lens.health(engine, short_id).liquidation_price == px(2_000) - (-(-px(2_000) * -slack // SIZE))
    assert lens.health(engine, long_id).liquidatable and lens.health(engine, short_id).liquidatable


def test_health_liquidation_price_is_zero_for_an_unlevered_long(lens, engine, alice, open_pos):
    # 10,000 long with 20,000 collateral survives any price above zero.
    pid, _ = open_pos(alice, SIZE, usd(20_010))
    assert lens.health(engine, pid).liquidation_price == 0


def test_health_counts_the_profit_cap_and_flags_every_price_or_none(lens, engine, owner, alice, bob, carol, open_pos,
                                                                   set_price, clock):
    """Issue 9, finding 6. With max profit 50% (5,000 on 10,000), six years
    of borrow fees (6,000) leave 1,000 + 5,000 - 6,000 < 500 of maintenance
    at the best price there is: both sides are liquidatable at every price.
    The uncapped rule named 3,100 (long) and 900 (short)."""
    engine.set_market_params(1, replace(ETH_PARAMS, max_profit_bps=5_000).as_tuple(), sender=owner)
    clock.at(0)
    long_id, _ = open_pos(alice, SIZE, AMOUNT)
    short_id, _ = open_pos(bob, SIZE, AMOUNT, is_long=False)
    unlevered, _ = open_pos(carol, SIZE, usd(20_010))
    h = lens.health(engine, long_id)
    assert not h.liquidatable_at_any_price and not h.liquidatable_at_no_price
    assert px(1_900) < h.liquidation_price < px(1_900.01)          # 1,900 plus seconds of fees
    u = lens.health(engine, unlevered)
    assert (u.liquidation_price, u.liquidatable_at_any_price, u.liquidatable_at_no_price) == (0, False, True)
    dt = 6 * 365 * 86_400
    clock.at(dt - 10)
    set_price(1_000_000)           # far past the cap: still liquidatable
    clock.mine(dt)
    for pid in (long_id, short_id):
        h = lens.health(engine, pid)
        assert (h.liquidation_price, h.liquidatable_at_any_price, h.liquidatable_at_no_price, h.liquidatable) == (
            0, True, False, True)


def _model_bounds(engine, pid, at):
    """model/risk.py's _liquidation_bounds on the chain's position and market
    figures at time `at`: the twin must name the same integers."""
    from model.markets import _index_at
    from model.risk import Position, _liquidation_bounds
    v, p, st = engine.position(pid), engine.market_params(1), engine.market_state(1)
    pos = Position(owner=v.owner, market_id=v.market_id, is_long=v.is_long, max_profit_bps=v.max_profit_bps,
                   maintenance_margin_bps=v.maintenance_margin_bps, liquidation_fee_bps=v.liquidation_fee_bps,
                   generation=pid & 0xFFFFFFFF, is_open=True, size=v.size, collateral=v.collateral,
                   entry_price=v.entry_price, entry_index=v.entry_index)
    index = _index_at(st.borrow_index, st.last_accrual, p.borrow_rate, at)
    return _liquidation_bounds(pos, index, pos.maintenance_margin_bps)


@pytest.mark.parametrize("is_long, liq", [
    # 200 days of fees, 547.945206: the position needs a profit of 47.945206;
    # 2,000 * 47.945206 / 10,000 = 9.5890412 -> 2,009.5890412 (long), 1,990.4109588 (short).
    (True, 200_958_904_120), (False, 199_041_095_880)])
def test_health_liquidation_price_is_exact_to_the_unit(lens, engine, owner, feed, alice, liquidator, open_pos, clock,
                                                      is_long, liq):
    """At the named price (the borrow fee so far counted, profit capped at
    50%) Lens says healthy and the engine's liquidate refuses; one feed unit
    further (a long below, a short above) both say liquidatable. The model's
    twin of the rule names the same price from the chain's figures."""
    clock.at(-50)
    engine.set_market_params(1, replace(ETH_PARAMS, max_profit_bps=5_000).as_tuple(), sender=owner)
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT, is_long=is_long)
    dt = 200 * 86_400
    # The fee so far is accrued and kept; no more accrues, so the price holds still.
    at = clock.at(dt)
    engine.set_market_params(1, replace(ETH_PARAMS, max_profit_bps=5_000, borrow_rate=0).as_tuple(), sender=owner)
    feed.set_answer(px(2_000), sender=owner)
    h = lens.health(engine, pid)
    assert h.borrow_fee == borrow_fee(SIZE, dt) == 547_945_206
    assert (h.liquidation_price, h.liquidatable_at_any_price, h.liquidatable_at_no_price) == (liq, False, False)
    assert _model_bounds(engine, pid, at) == (liq, False, False)
    further = liq - 1 if is_long else liq + 1
    feed.set_answer(liq, sender=owner)
    h = lens.health(engine, pid)
    # Profit floor(1e10 * 958_904_120 / 2e11) = 47_945_206: equity 1,000 + 47.945206 - 547.945206 = 500.
    assert (h.equity, h.maintenance_margin, h.liquidatable) == (usd(500), usd(500), False)
    with ape.reverts("engine: position is healthy"):
        engine.liquidate(pid, sender=liquidator)
    feed.set_answer(further, sender=owner)
    h = lens.health(engine, pid)
    assert (h.equity, h.liquidatable) == (usd(500) - 1, True)
    engine.liquidate(pid, sender=liquidator)
    assert not engine.position(pid).is_open


def test_health_short_healthy_up_to_the_feed_s_ceiling_is_liquidatable_at_no_price(lens, engine, owner, feed, bob,
                                                                                  liquidator, open_pos):
    """Entry 2**127 feed units, 10,990 collateral on 10,000: at the highest
    price a feed may give (2**128 - 1) the loss is 10,000 and equity 990 is
    above maintenance. The old rule named a price above 2**128 - 1."""
    feed.set_answer(2**127, sender=owner)
    pid, _ = open_pos(bob, SIZE, usd(11_000), is_long=False)
    h = lens.health(engine, pid)
    assert (h.liquidation_price, h.liquidatable_at_any_price, h.liquidatable_at_no_price) == (0, False, True)
    feed.set_answer(2**128 - 1, sender=owner)
    assert not lens.health(engine, pid).liquidatable
    with ape.reverts("engine: position is healthy"):
        engine.liquidate(pid, sender=liquidator)


def test_health_refused(lens, engine, feed, owner, alice, open_pos, clock):
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    with ape.reverts("engine: position not open"):
        lens.health(engine, pid + 1)
    clock.mine(3_700)
    with ape.reverts("oracle: price is stale"):
        lens.health(engine, pid)
    feed.set_answer(0, sender=owner)
    with ape.reverts("oracle: price not positive"):
        lens.health(engine, pid)


def test_position_view_of_unknown_ids(engine, alice, open_pos):
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    for other in (0, 1, pid + 1, position_id(2, 1), 2**256 - 1):
        assert tuple(engine.position(other)) == EMPTY_VIEW


def test_totals_track_everything(lens, engine, guardian, alice, bob, open_pos):
    open_pos(alice, SIZE, AMOUNT)
    open_pos(bob, usd(20_000), usd(2_020), is_long=False)
    engine.pause(sender=guardian)
    # Open fees 10 + 20 to the pool; reserves 30,000 + 60,000.
    assert tuple(lens.totals(engine)) == (
        LP_DEPOSIT + usd(30), LP_SHARES, usd(90_000), INSURANCE_FUND, 2, 2, 1, True)


def test_market_getters(engine, feed):
    assert tuple(engine.market_params(1)) == ETH_PARAMS.as_tuple()
    assert engine.market_state(1).feed == feed.address
    assert tuple(engine.market_params(2)) == (0,) * len(ETH_PARAMS.as_tuple())
    assert tuple(engine.market_state(2)) == (ZERO, 0, 0, 0, 0)
    assert engine.vaults(1) == ZERO


def test_slots_pages_through_vaults(lens, trade, engine, alice, bob, carol, open_pos):
    ids = [open_pos(who, SIZE, AMOUNT)[0] for who in (alice, bob, carol)]
    trade.close_position(ids[1], sender=bob)
    page = lens.slots(engine, 1, 10)
    assert [v.slot for v in page] == [1, 2, 3]
    assert [v.position_id for v in page] == [ids[0], 0, ids[2]]
    assert [v.is_open for v in page] == [True, False, True]
    # A free slot still names its vault, and nothing else.
    assert page[1].vault == engine.vaults(2) and page[1].owner == ZERO and page[1].size == 0
    assert tuple(page[0]) == tuple(engine.position(ids[0]))
    assert [v.slot for v in lens.slots(engine, 2, 1)] == [2]
    assert [v.slot for v in lens.slots(engine, 3, 1000)] == [3]
    assert list(lens.slots(engine, 4, 10)) == []
    assert list(lens.slots(engine, 1, 0)) == []


def test_slots_page_is_capped_at_100(lens, engine, poke, alice, open_pos):
    open_pos(alice, SIZE, AMOUNT)
    poke(engine.address, SLOT_VAULT_COUNT, 150)  # vault_count: slots 2..150 read as never-used slots
    page = lens.slots(engine, 1, 1_000)
    assert len(page) == 100 and page[0].slot == 1 and page[-1].slot == 100
    # Slots up to vault_count have their vault's CREATE address.
    assert page[1].vault == vault_address(engine.address, 2) and page[1].is_open is False


def test_slots_past_the_end_is_an_empty_page(lens, engine, alice, open_pos):
    open_pos(alice, SIZE, AMOUNT)
    assert list(lens.slots(engine, 2, 10)) == []
    assert list(lens.slots(engine, 3, 10)) == []
    assert list(lens.slots(engine, 2**255, 100)) == []


def test_slot_refuses_slots_that_do_not_exist(engine, alice, open_pos):
    """Engine.slot, which Lens.slots pages, names only slots 1..vault_count."""
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    assert tuple(engine.slot(1)) == tuple(engine.position(pid))
    for bad in (0, 2, 2**256 - 1):
        with ape.reverts("engine: no such slot"):
            engine.slot(bad)
