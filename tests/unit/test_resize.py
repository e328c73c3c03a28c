"""Engine.increase_position and decrease_position.

Standard setup: alice opens 10,000 USDC long at 2,000 with 1,000 collateral
at t0; the price moves at t0+5; the resize lands at t0+10, when the borrow
fee on 10,000 is 318 units (10 s at 10%/year, rounded up).
"""
from dataclasses import replace

import ape
import pytest

from .helpers import cancelled, ETH_PARAMS, LP_DEPOSIT, MAX_U128, MINT, px, usd, waits

SIZE = usd(10_000)


@pytest.fixture
def pos(open_pos, alice, clock):
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, usd(1_010))
    return pid


def _at_price(set_price, clock, price):
    clock.at(5)
    set_price(price)
    clock.at(10)


# ---------------------------------------------------------------- increase

def test_increase_with_collateral(trade, engine, token, pool, alice, pos, set_price, clock):
    vault = engine.position(pos).vault
    _at_price(set_price, clock, 2_200)
    receipt = trade.increase_position(pos, SIZE, usd(1_000), sender=alice)
    # Borrow fee 0.000318 + open fee 10 come out of 1,000 + 1,000 of funds:
    # collateral 1,989.999682. Entry keeps units additive:
    # 20,000 * 2,000 * 2,200 / (10,000 * 2,200 + 10,000 * 2,000) = 2,095.238095238 -> rounded up.
    view = engine.position(pos)
    index = engine.market_state(1).borrow_index
    assert (view.size, view.collateral, view.entry_price, view.entry_index, view.reserve) == (
        usd(20_000), 1_989_999_682, 209_523_809_524, index, usd(60_000))
    assert token.balanceOf(vault) == 1_989_999_682
    assert token.balanceOf(alice) == MINT - usd(1_010) - usd(1_000)
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) + usd(10) + 318
    assert engine.total_reserved() == usd(60_000)
    assert engine.market_state(1).oi_long == usd(20_000)
    [log] = receipt.events.filter(engine.PositionIncreased)
    assert (log.position_id, log.size_delta, log.collateral_delta, log.size, log.collateral, log.entry_price,
            log.entry_index, log.max_profit_bps, log.borrow_fee, log.open_fee, log.price) == (
        pos, SIZE, usd(1_000), usd(20_000), 1_989_999_682, 209_523_809_524, index, 30_000, 318, usd(10),
        px(2_200))


def test_increase_without_collateral_uses_profit(lens, trade, engine, token, alice, pos, set_price, clock):
    _at_price(set_price, clock, 2_200)
    balance = token.balanceOf(alice)
    trade.increase_position(pos, usd(5_000), 0, sender=alice)
    # Fees 5 + 0.000318 from collateral: 994.999682. Entry
    # 15,000 * 2,000 * 2,200 / (10,000 * 2,200 + 5,000 * 2,000) = 2,062.5 exactly.
    view = engine.position(pos)
    assert (view.size, view.collateral, view.entry_price) == (usd(15_000), 994_999_682, px(2_062.5))
    assert token.balanceOf(alice) == balance
    # The unrealised 1,000 of profit is preserved by the averaged entry.
    assert lens.health(engine, pos).pnl == usd(1_000)


def test_increase_takes_the_current_max_profit(trade, engine, owner, alice, pos, clock):
    # The market's max profit drops to 100%: the increased position's
    # reserve is re-based on it (11,000 * 100%), shrinking total_reserved.
    # 1,200 of funds less 1 + 0.000318 of fees covers the 1,100 margin.
    clock.at(5)
    engine.set_market_params(1, replace(ETH_PARAMS, max_profit_bps=10_000).as_tuple(), sender=owner)
    clock.at(10)
    trade.increase_position(pos, usd(1_000), usd(200), sender=alice)
    view = engine.position(pos)
    assert (view.max_profit_bps, view.reserve) == (10_000, usd(11_000))
    assert engine.total_reserved() == usd(11_000)


@pytest.mark.parametrize("size_delta, collateral_delta, reason", [
    (0, usd(1), "engine: zero size"),
    # Bounded before any arithmetic: a reason, not an overflow.
    (MAX_U128 + 1, usd(1), "orders: size too large"),
    (2**256 - 1, usd(1), "orders: size too large"),
    (usd(1), MAX_U128 + 1, "orders: amount too large"),
    (usd(1), 2**256 - 1, "orders: amount too large"),
    # Open fee on 1,000,000 is 1,000 = all the collateral.
    (usd(1_000_000), 0, "engine: collateral does not cover fees"),
    # Same price, no new collateral: 999.99 for 1,100 of margin.
    (usd(1_000), 0, "engine: leverage above maximum"),
    (usd(1_000), usd(100), "engine: leverage above maximum"),  # 1,099.999682 < 1,100
    # Reserve 30,000 + 990,000 > the pool's 1,000,010.
    (usd(330_000), usd(34_000), "engine: pool liquidity too low"),
    # 10,000 + 2,990,001 > the 3,000,000 cap; 303,000 more keeps 10x.
    (usd(2_990_001), usd(303_000), "engine: open interest cap reached"),
])
def test_increase_refused(trade, engine, alice, pool, pos, snapshot, clock, size_delta, collateral_delta, reason):
    clock.at(10)
    before = snapshot([pos], [alice, pool])
    with cancelled(reason):
        trade.increase_position(pos, size_delta, collateral_delta, sender=alice)
    assert snapshot([pos], [alice, pool]) == before


def test_increase_refused_for_access_state_and_oracle(trade, engine, feed, owner, guardian, alice, bob, pos, clock):
    with cancelled("engine: caller is not the position owner"):
        trade.increase_position(pos, usd(100), usd(100), sender=bob)
    with cancelled("engine: position not open"):
        trade.increase_position(pos + 1, usd(100), usd(100), sender=alice)
    clock.at(3_700)
    with waits("oracle: price is stale"):
        trade.increase_position(pos, usd(100), usd(100), sender=alice, delay=3_601)
    feed.set_answer(px(2_000), sender=owner)
    engine.pause(sender=guardian)
    with cancelled("orders: paused"):
        trade.increase_position(pos, usd(100), usd(100), sender=alice)
    assert engine.position(pos).size == SIZE


def test_increase_collateral_too_large(trade, engine, token, owner, alice, pos, clock):
    # Collateral is packed into 128 bits. At t0+10 the fees are 0.000318
    # (borrow) + 0.1 (open fee on 100): this delta lands exactly on 2**128 - 1,
    # one unit more does not fit.
    token.mint(alice, MAX_U128, sender=owner)
    fits = MAX_U128 - usd(1_000) + usd(0.1) + 318
    clock.at(10)
    with cancelled("engine: collateral too large"):
        trade.increase_position(pos, usd(100), fits + 1, sender=alice)
    assert engine.position(pos).collateral == usd(1_000)
    clock.at(20)
    # Ten more seconds of borrow fee (317 more units) must be funded too.
    trade.increase_position(pos, usd(100), fits + 317, sender=alice)
    assert engine.position(pos).collateral == MAX_U128


# ---------------------------------------------------------------- decrease

def test_decrease_at_a_profit(trade, engine, token, pool, alice, pos, set_price, clock):
    vault = engine.position(pos).vault
    _at_price(set_price, clock, 2_200)
    receipt = trade.decrease_position(pos, usd(5_000), sender=alice)
    # PnL on the 5,000 closed: +500; the whole position's borrow fee 0.000318
    # and the close fee on 5,000 (5) come off it: 494.999682 from the pool.
    view = engine.position(pos)
    index = engine.market_state(1).borrow_index
    assert (view.size, view.collateral, view.entry_price, view.entry_index, view.reserve) == (
        usd(5_000), usd(1_000), px(2_000), index, usd(15_000))
    assert token.balanceOf(alice) == MINT - usd(1_010) + 494_999_682
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) - 494_999_682
    assert token.balanceOf(vault) == usd(1_000)
    assert engine.total_reserved() == usd(15_000)
    assert engine.market_state(1).oi_long == usd(5_000)
    [log] = receipt.events.filter(engine.PositionDecreased)
    assert (log.position_id, log.size_delta, log.size, log.collateral, log.entry_index, log.price, log.pnl,
            log.borrow_fee, log.close_fee, log.to_trader, log.to_pool) == (
        pos, usd(5_000), usd(5_000), usd(1_000), index, px(2_200), usd(500), 318, usd(5), 494_999_682, 0)


def test_decrease_at_a_loss(trade, engine, token, pool, alice, pos, set_price, clock):
    vault = engine.position(pos).vault
    _at_price(set_price, clock, 1_900)
    receipt = trade.decrease_position(pos, usd(5_000), sender=alice)
    # PnL on 5,000: -250; plus 0.000318 + 5 in fees = 255.000318 from the vault to the pool.
    assert engine.position(pos).collateral == usd(1_000) - 255_000_318
    assert token.balanceOf(vault) == usd(1_000) - 255_000_318
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) + 255_000_318
    assert token.balanceOf(alice) == MINT - usd(1_010)
    [log] = receipt.events.filter(engine.PositionDecreased)
    assert (log.pnl, log.to_trader, log.to_pool) == (-usd(250), 0, 255_000_318)


def test_decrease_profit_is_capped_by_the_released_reserve(trade, engine, token, alice, pos, set_price, clock):
    # At 10,000 the 5,000 closed made 20,000, but only 15,000 of reserve is released.
    _at_price(set_price, clock, 10_000)
    receipt = trade.decrease_position(pos, usd(5_000), sender=alice)
    [log] = receipt.events.filter(engine.PositionDecreased)
    assert (log.pnl, log.to_trader) == (usd(15_000), usd(15_000) - usd(5) - 318)


def test_decrease_settles_the_borrow_fee_so_far(trade, engine, token, alice, pos, set_price, clock):
    # After the decrease the entry index is reset: closing 10 s later only
    # charges 10 s on the remaining 5,000 (158.5 -> 159 units).
    _at_price(set_price, clock, 2_000)
    trade.decrease_position(pos, usd(5_000), sender=alice)
    clock.at(20)
    receipt = trade.close_position(pos, sender=alice)
    [log] = receipt.events.filter(engine.PositionClosed)
    assert log.borrow_fee == 159


def test_decrease_works_while_paused(trade, engine, guardian, alice, pos, set_price, clock):
    engine.pause(sender=guardian)
    _at_price(set_price, clock, 2_000)
    trade.decrease_position(pos, usd(1_000), sender=alice)
    assert engine.position(pos).size == usd(9_000)


@pytest.mark.parametrize("price, size_delta, reason", [
    (2_000, 0, "engine: zero size"),
    (2_000, SIZE, "engine: decrease covers the whole position, close it"),
    (2_000, SIZE + 1, "engine: decrease covers the whole position, close it"),
    # At 1,700 closing 9,000 loses 1,350 > the 1,000 collateral.
    (1_700, usd(9_000), "engine: loss exceeds collateral, close it"),
    # At 1,820 closing 1,000 leaves 9,000 with equity ~99 < 450 maintenance.
    (1_820, usd(1_000), "engine: position would be liquidatable"),
])
def test_decrease_refused(trade, engine, alice, pool, pos, set_price, clock, snapshot, price, size_delta, reason):
    clock.at(5)
    set_price(price)
    before = snapshot([pos], [alice, pool])
    clock.at(10)
    with cancelled(reason):
        trade.decrease_position(pos, size_delta, sender=alice)
    assert snapshot([pos], [alice, pool]) == before


def test_decrease_refused_for_access_and_oracle(trade, engine, alice, bob, pos, clock):
    with cancelled("engine: caller is not the position owner"):
        trade.decrease_position(pos, usd(100), sender=bob)
    with cancelled("engine: position not open"):
        trade.decrease_position(pos + 1, usd(100), sender=alice)
    clock.at(3_700)
    with waits("oracle: price is stale"):
        trade.decrease_position(pos, usd(100), sender=alice, delay=3_601)


# ---------------------------------------------------------------- minimum collateral

def test_increase_cannot_leave_collateral_below_the_minimum(trade, engine, alice, pos, set_price, clock):
    # At 2,400 the long is 2,000 in profit, which counts towards margin, so
    # alice may take collateral down to 20 USDC (10 USDC minimum). Growing
    # the position by 10,000 charges a 10 USDC open fee plus the borrow fee from
    # that collateral: below the minimum, so refused, state unchanged.
    _at_price(set_price, clock, 2_400)
    engine.remove_collateral(pos, usd(980), sender=alice)
    assert engine.position(pos).collateral == usd(20)
    before = tuple(engine.position(pos))
    clock.at(20)
    with cancelled("engine: collateral below minimum"):
        trade.increase_position(pos, usd(10_000), 0, sender=alice)
    assert tuple(engine.position(pos)) == before


def test_decrease_at_a_loss_cannot_leave_collateral_below_the_minimum(trade, engine, alice, pos, set_price, clock):
    # At 1,998 half the position loses 5 USDC (+ 5 USDC close fee and the
    # borrow fee): with collateral at 20 USDC that leaves under 10 USDC.
    clock.at(2)
    set_price(2_300)
    clock.at(3)
    engine.remove_collateral(pos, usd(980), sender=alice)
    _at_price(set_price, clock, 1_998)
    with cancelled("engine: collateral below minimum"):
        trade.decrease_position(pos, usd(5_000), sender=alice)
    assert engine.position(pos).collateral == usd(20)
