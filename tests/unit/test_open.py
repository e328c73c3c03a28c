"""Engine.open_position: exact token movements, stored state, events, and
every way an open is refused (with nothing changed afterwards)."""
from dataclasses import replace

import ape
import pytest

from .helpers import (cancelled, ETH_PARAMS, INSURANCE_FUND, LP_DEPOSIT, LP_SHARES, MAX_U128, MINT, RATE, position_id, px, usd, waits)

SIZE = usd(10_000)
AMOUNT = usd(1_010)


def test_open_long_moves_exact_amounts(lens, engine, token, pool, insurance, alice, open_pos, clock):
    # 10,000 USDC long at 2,000 with 1,010 USDC: open fee 10 bps of 10,000 = 10 USDC
    # to the pool, 1,000 USDC of collateral to a fresh vault: exactly 10x.
    t = clock.at(0)
    pid, receipt = open_pos(alice, SIZE, AMOUNT)
    assert pid == position_id(1, 1)
    vault = engine.vaults(1)
    assert token.balanceOf(alice) == MINT - usd(1_010)
    assert token.balanceOf(vault) == usd(1_000)
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10)
    assert token.balanceOf(insurance) == INSURANCE_FUND
    assert token.balanceOf(engine) == 0

    state = engine.market_state(1)
    assert (state.oi_long, state.oi_short, state.last_accrual) == (SIZE, 0, t)
    # Reserve: 300% max profit of 10,000 = 30,000 USDC; the market's 5%
    # maintenance margin and 1% liquidation fee, the position's own now.
    assert tuple(engine.position(pid)) == (
        pid, 1, vault, True, alice.address, 1, True, SIZE, usd(1_000), px(2_000), state.borrow_index,
        30_000, usd(30_000), 500, 100)
    assert tuple(lens.totals(engine)) == (
        LP_DEPOSIT + usd(10), LP_SHARES, usd(30_000), INSURANCE_FUND, 1, 1, 1, False)


def test_open_logs_vault_and_position(engine, alice, open_pos, clock):
    t = clock.at(0)
    pid, receipt = open_pos(alice, SIZE, AMOUNT)
    [created] = receipt.events.filter(engine.VaultCreated)
    assert (created.slot, created.vault) == (1, engine.vaults(1))
    [accrued] = receipt.events.filter(engine.BorrowIndexAccrued)
    assert (accrued.market_id, accrued.timestamp) == (1, t)
    [log] = receipt.events.filter(engine.PositionOpened)
    assert (log.position_id, log.owner, log.market_id, log.is_long, log.size, log.collateral, log.entry_price,
            log.entry_index, log.max_profit_bps, log.open_fee, log.vault) == (
        pid, alice.address, 1, True, SIZE, usd(1_000), px(2_000), accrued.borrow_index, 30_000, usd(10),
        engine.vaults(1))


def test_open_accrues_the_borrow_index_since_listing(engine, alice, open_pos, clock):
    before = engine.market_state(1)
    t = clock.at(0)
    open_pos(alice, SIZE, AMOUNT)
    after = engine.market_state(1)
    assert after.borrow_index == before.borrow_index + RATE * (t - before.last_accrual)


def test_open_short_and_second_position_gets_a_new_vault(engine, token, alice, bob, open_pos):
    long_id, _ = open_pos(alice, SIZE, AMOUNT)
    short_id, receipt = open_pos(bob, usd(20_000), usd(2_020), is_long=False)
    assert short_id == position_id(2, 1)
    view = engine.position(short_id)
    assert (view.slot, view.is_long, view.owner, view.collateral) == (2, False, bob.address, usd(2_000))
    assert view.vault != engine.position(long_id).vault
    assert token.balanceOf(view.vault) == usd(2_000)
    state = engine.market_state(1)
    assert (state.oi_long, state.oi_short) == (SIZE, usd(20_000))
    assert engine.total_reserved() == usd(30_000) + usd(60_000)
    assert (engine.open_positions(), engine.vault_count()) == (2, 2)


@pytest.mark.parametrize("market_id, is_long, size, amount, reason", [
    (2, True, SIZE, AMOUNT, "engine: unknown market"),
    (0, True, SIZE, AMOUNT, "engine: unknown market"),
    (1, True, 0, AMOUNT, "engine: zero size"),
    (1, True, MAX_U128 + 1, AMOUNT, "orders: size too large"),
    (1, True, SIZE, MAX_U128 + 1, "orders: amount too large"),
    # Open fee on 10,000 is 10 USDC: an amount of 10 leaves no collateral.
    (1, True, SIZE, usd(10), "engine: amount does not cover the open fee"),
    # Open fee on 50 USDC is 0.05: 10.049999 leaves 9.999999 < 10 USDC minimum.
    (1, True, usd(50), usd(10.05) - 1, "engine: collateral below minimum"),
    # One unit short of 10x: 999.999999 collateral for 1,000 of initial margin.
    (1, True, SIZE, AMOUNT - 1, "engine: leverage above maximum"),
    (1, False, SIZE, AMOUNT - 1, "engine: leverage above maximum"),
    # 3,000,000.000001 > the 3,000,000 OI cap (fee 3,000.000001, collateral covers 10x).
    (1, True, usd(3_000_000) + 1, usd(303_010), "engine: open interest cap reached"),
    (1, False, usd(3_000_000) + 1, usd(303_010), "engine: open interest cap reached"),
    # 400,000 notional reserves 1,200,000 > the pool's 1,000,000.
    (1, True, usd(400_000), usd(40_400), "engine: pool liquidity too low"),
])
def test_open_refused(trade, engine, alice, pool, insurance, snapshot, market_id, is_long, size, amount, reason):
    before = snapshot(holders=[alice, pool, insurance])
    with cancelled(reason):
        trade.open_position(market_id, is_long, size, amount, sender=alice)
    assert snapshot(holders=[alice, pool, insurance]) == before
    assert engine.vault_count() == 0


def test_open_at_exactly_min_collateral_and_max_leverage(engine, token, alice, open_pos):
    pid, _ = open_pos(alice, usd(50), usd(10.05))
    assert engine.position(pid).collateral == usd(10)
    pid, _ = open_pos(alice, usd(100), usd(10.1))
    assert engine.position(pid).collateral == usd(10)  # exactly 10x on 100


def test_reserves_add_up_across_positions(trade, engine, alice, bob, open_pos):
    # 300,000 reserves 900,000 of the 1,000,000 pool (+300 open fee); another
    # 40,000 would reserve 120,000 more: 1,020,000 > 1,000,300.
    open_pos(alice, usd(300_000), usd(30_300))
    assert engine.total_reserved() == usd(900_000)
    with cancelled("engine: pool liquidity too low"):
        trade.open_position(1, False, usd(40_000), usd(4_040), sender=bob)
    # 33,000 reserves 99,000: 999,000 <= 1,000,300.
    open_pos(bob, usd(33_000), usd(3_333), is_long=False)
    assert engine.total_reserved() == usd(999_000)


def test_open_interest_cap_is_per_side(trade, engine, owner, alice, bob, open_pos):
    engine.set_market_params(1, replace(ETH_PARAMS, oi_cap=usd(15_000)).as_tuple(), sender=owner)
    open_pos(alice, SIZE, AMOUNT)
    open_pos(bob, usd(5_000), usd(505))
    with cancelled("engine: open interest cap reached"):
        trade.open_position(1, True, usd(100), usd(10.1), sender=bob)
    open_pos(bob, usd(15_000), usd(1_515), is_long=False)
    state = engine.market_state(1)
    assert (state.oi_long, state.oi_short) == (usd(15_000), usd(15_000))


def test_open_while_paused(trade, engine, guardian, alice, snapshot, pool):
    engine.pause(sender=guardian)
    before = snapshot(holders=[alice, pool])
    with cancelled("orders: paused"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice)
    assert snapshot(holders=[alice, pool]) == before


@pytest.mark.parametrize("answer, reason", [
    (0, "oracle: price not positive"),
    (-px(2_000), "oracle: price not positive"),
    (2**128, "oracle: price out of range"),
])
def test_open_with_a_bad_oracle_answer(trade, engine, feed, owner, alice, snapshot, answer, reason):
    feed.set_answer(answer, sender=owner)
    before = snapshot(holders=[alice])
    with cancelled(reason):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice)
    assert snapshot(holders=[alice]) == before


def test_open_with_a_stale_price_and_at_the_staleness_limit(trade, engine, alice, open_pos, set_price, clock):
    # Staleness 3,600 s: an order executed 3,601 s after the round it fills
    # at is refused (the order waits: the trader takes it back); 3,600 s after is still good.
    clock.at(3_700)
    with waits("oracle: price is stale"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice, delay=3_601)
    set_price(2_100)
    clock.at(7_400)
    pid, _ = open_pos(alice, SIZE, AMOUNT, delay=3_600)
    assert engine.position(pid).entry_price == px(2_100)


def test_open_price_cap_is_inclusive(engine, feed, owner, alice, open_pos):
    # A price of exactly 2**128 - 1 still fits the packed entry price.
    feed.set_answer(MAX_U128, sender=owner)
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    assert engine.position(pid).entry_price == MAX_U128


def test_open_needs_allowance_and_balance(trade, engine, orders, token, stranger, alice):
    # The request escrows amount + EXECUTION_FEE in the order book: its
    # allowance and the trader's balance are checked there, at once.
    token.approve(orders, AMOUNT, sender=stranger)
    with ape.reverts("erc20: insufficient allowance"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=stranger)
    token.approve(orders, 2**256 - 1, sender=stranger)
    token.transfer(alice, MINT - AMOUNT, sender=stranger)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=stranger)
    assert engine.vault_count() == 0 and orders.order_count() == 0
