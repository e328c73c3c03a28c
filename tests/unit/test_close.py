"""Engine.close_position: settlement at the oracle price, profit caps,
bankruptcy (insurance first, then the pool), and refusals.

Unless a test says otherwise: alice opens 10,000 USDC long at 2,000 with
1,010 USDC (10 USDC open fee, 1,000 collateral) at t0, the price moves at
t0+5 and she closes at t0+10. Borrow fee for 10 s on 10,000 at 10%/year:
10,000e6 * 3,170,979,198 * 10 / 1e18 = 317.1 -> 318 units (rounds up).
"""
import ape
import pytest

from .helpers import cancelled, INSURANCE_FUND, LP_DEPOSIT, MINT, ZERO, px, usd, waits

SIZE = usd(10_000)
AMOUNT = usd(1_010)
BF_10S = 318


@pytest.fixture
def long_pos(open_pos, alice, clock):
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    return pid


def _close_at(trade, engine, pid, trader, set_price, clock, price):
    clock.at(5)
    set_price(price)
    clock.at(10)
    return trade.close_position(pid, sender=trader)


def _closed_log(engine, receipt):
    [log] = receipt.events.filter(engine.PositionClosed)
    return (log.price, log.pnl, log.borrow_fee, log.close_fee, log.to_trader, log.to_pool, log.bad_debt,
            log.insurance_cover)


def test_close_at_a_loss(trade, engine, token, pool, insurance, alice, long_pos, set_price, clock):
    vault = engine.position(long_pos).vault
    receipt = _close_at(trade, engine, long_pos, alice, set_price, clock, 1_850)
    # PnL at 1,850: -10,000 * 150 / 2,000 = -750. Close fee 10.
    # Back to alice: 1,000 - 750 - 10 - 0.000318 = 239.999682; the pool gets the other 760.000318.
    assert token.balanceOf(alice) == MINT - usd(1_010) + 239_999_682
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) + 760_000_318
    assert token.balanceOf(vault) == 0
    assert token.balanceOf(insurance) == INSURANCE_FUND
    assert _closed_log(engine, receipt) == (px(1_850), -usd(750), BF_10S, usd(10), 239_999_682, 760_000_318, 0, 0)
    [log] = receipt.events.filter(engine.PositionClosed)
    assert log.position_id == long_pos


def test_close_releases_everything(lens, trade, engine, alice, long_pos, set_price, clock):
    _close_at(trade, engine, long_pos, alice, set_price, clock, 1_850)
    view = engine.position(long_pos)
    assert view.is_open is False and view.position_id == 0 and view.owner == ZERO
    state = engine.market_state(1)
    assert (state.oi_long, state.oi_short) == (0, 0)
    totals = lens.totals(engine)
    assert (totals.total_reserved, totals.open_positions, totals.vault_count) == (0, 0, 1)


def test_close_at_a_profit_is_paid_by_the_pool(trade, engine, token, pool, alice, long_pos, set_price, clock):
    receipt = _close_at(trade, engine, long_pos, alice, set_price, clock, 2_200)
    # PnL at 2,200: +1,000. Alice gets her 1,000 collateral from the vault and
    # 1,000 - 10 - 0.000318 = 989.999682 from the pool.
    assert token.balanceOf(alice) == MINT - usd(1_010) + usd(1_000) + 989_999_682
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) - 989_999_682
    assert _closed_log(engine, receipt) == (px(2_200), usd(1_000), BF_10S, usd(10), 1_989_999_682, 0, 0, 0)


def test_profit_is_capped_at_max_profit(trade, engine, token, pool, alice, long_pos, set_price, clock):
    receipt = _close_at(trade, engine, long_pos, alice, set_price, clock, 10_000)
    # Raw PnL at 10,000 is +40,000; the cap is 300% of 10,000 = 30,000.
    assert _closed_log(engine, receipt)[1] == usd(30_000)
    assert token.balanceOf(alice) == MINT - usd(1_010) + usd(1_000) + usd(30_000) - usd(10) - BF_10S
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) - (usd(30_000) - usd(10) - BF_10S)


def test_short_profit(trade, engine, token, pool, bob, open_pos, set_price, clock):
    clock.at(0)
    pid, _ = open_pos(bob, SIZE, AMOUNT, is_long=False)
    receipt = _close_at(trade, engine, pid, bob, set_price, clock, 1_800)
    # Short gains 10,000 * 200 / 2,000 = 1,000 when the price falls to 1,800.
    assert _closed_log(engine, receipt) == (px(1_800), usd(1_000), BF_10S, usd(10), 1_989_999_682, 0, 0, 0)
    assert token.balanceOf(bob) == MINT - usd(1_010) + 1_989_999_682


@pytest.mark.parametrize("is_long, expected_pnl", [(True, 0), (False, -1)])
def test_pnl_rounds_against_the_trader(trade, engine, bob, open_pos, feed, owner, clock, is_long, expected_pnl):
    # One tick (1e-8 USD) above entry: the long's 0.05-unit gain rounds down
    # to 0, the short's 0.05-unit loss rounds up to 1.
    clock.at(0)
    pid, _ = open_pos(bob, SIZE, AMOUNT, is_long=is_long)
    clock.at(5)
    feed.set_answer(px(2_000) + 1, sender=owner)
    clock.at(10)
    receipt = trade.close_position(pid, sender=bob)
    assert _closed_log(engine, receipt)[1] == expected_pnl


def test_bankrupt_close_is_covered_by_insurance(trade, engine, token, pool, insurance, alice, long_pos, set_price, clock):
    receipt = _close_at(trade, engine, long_pos, alice, set_price, clock, 1_700)
    # PnL -1,500: value 1,000 - 1,500 - 10 - 0.000318 = -510.000318. The pool
    # takes all 1,000 collateral and the insurance fund pays the 510.000318 gap.
    assert _closed_log(engine, receipt) == (px(1_700), -usd(1_500), BF_10S, usd(10), 0, usd(1_000),
                                            510_000_318, 510_000_318)
    assert token.balanceOf(alice) == MINT - usd(1_010)
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10) + usd(1_000) + 510_000_318
    assert token.balanceOf(insurance) == INSURANCE_FUND - 510_000_318


def test_bad_debt_beyond_insurance_is_the_pools_loss(trade, engine, token, pool, insurance, alice, open_pos, set_price,
                                                     clock):
    # 300,000 long with 30,000 collateral (open fee 300). The price gaps to
    # 1,000: PnL -150,000, close fee 300, borrow fee 10 s = 9,512.9 -> 9,513 units.
    # Bad debt 150,000 + 300 + 0.009513 - 30,000 = 120,300.009513; insurance
    # pays its whole 10,000 and the pool is 110,300.009513 short.
    clock.at(0)
    pid, _ = open_pos(alice, usd(300_000), usd(30_300))
    receipt = _close_at(trade, engine, pid, alice, set_price, clock, 1_000)
    assert _closed_log(engine, receipt) == (px(1_000), -usd(150_000), 9_513, usd(300), 0, usd(30_000),
                                            120_300_009_513, INSURANCE_FUND)
    assert token.balanceOf(insurance) == 0
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(300) + usd(30_000) + INSURANCE_FUND


def test_close_works_while_paused(trade, engine, token, guardian, alice, long_pos, set_price, clock):
    engine.pause(sender=guardian)
    _close_at(trade, engine, long_pos, alice, set_price, clock, 1_850)
    assert token.balanceOf(alice) == MINT - usd(1_010) + 239_999_682


def test_close_refused(trade, engine, feed, owner, alice, bob, pool, long_pos, snapshot, clock):
    before = snapshot([long_pos], [alice, bob, pool])
    # A close escrows nothing, so the book takes one only from the owner of
    # an open position (the engine checks again at execution).
    with cancelled("orders: not your open position"):
        trade.close_position(long_pos, sender=bob)
    with cancelled("orders: not your open position"):
        trade.close_position(long_pos + 1, sender=alice)  # same slot, next generation
    with cancelled("orders: not your open position"):
        trade.close_position(0, sender=alice)
    clock.at(3_700)
    with waits("oracle: price is stale"):
        trade.close_position(long_pos, sender=alice, delay=3_601)
    feed.set_answer(0, sender=owner)
    with cancelled("oracle: price not positive"):
        trade.close_position(long_pos, sender=alice)
    assert snapshot([long_pos], [alice, bob, pool]) == before


def test_close_twice(trade, engine, orders, feed, owner, alice, liquidator, long_pos, clock):
    """Two close requests, both taken while the position is open: the first
    fills, the engine refuses the second ("engine: position not open"),
    which is cancelled; a third is not even taken."""
    clock.at(5)
    first = orders.next_order_id()
    orders.request_close(long_pos, 0, sender=alice)
    second = orders.next_order_id()
    orders.request_close(long_pos, 0, sender=alice)
    clock.at(8)
    feed.set_answer(px(2_000), sender=owner)
    clock.at(10)
    assert orders.execute_order(first, sender=liquidator).events.filter(orders.OrderExecuted)
    [refused] = orders.execute_order(second, sender=liquidator).events.filter(orders.OrderCancelled)
    assert refused.reason == "engine: position not open"
    with ape.reverts("orders: not your open position"):
        orders.request_close(long_pos, 0, sender=alice)


def test_borrow_fee_for_a_day(trade, engine, token, pool, alice, long_pos, set_price, clock):
    # Open at t0; the price is refreshed a day later and the close lands 10 s
    # after that: 86,410 s at 10%/year on 10,000 = 2.740043... -> 2,740,044 units.
    clock.at(86_400)
    set_price(2_000)
    clock.at(86_410)
    receipt = trade.close_position(long_pos, sender=alice)
    assert _closed_log(engine, receipt) == (px(2_000), 0, 2_740_044, usd(10), usd(990) - 2_740_044,
                                            usd(10) + 2_740_044, 0, 0)
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(20) + 2_740_044
