"""The pool's twin valued at market (model/pool.py, model/exposure.py):
the aggregates against the positions, the valuation against what closing
every position would move, and the async flows' arithmetic."""
from hypothesis import given, settings, strategies as st

from model.exposure import UNIT_SCALE, Side, _claim, _terms
from model.pool import LP_REQUEST_DELAY, VIRTUAL_SHARES
from model.risk import _borrow_fee, _capped_pnl, _pnl, _reserve

from .support import ALICE, BOB, KEEPER, LP, LP2, P0, PRICE, USDC, make_world


def sums_from_positions(e, market, is_long):
    units = weight = collateral = reserve = 0
    for pid in e.open_position_ids():
        _, pos = e._load(pid)
        if pos.market_id == market and pos.is_long == is_long:
            u, w, m = _terms(pos)
            units, weight = units + u, weight + w
            collateral, reserve = collateral + pos.collateral, reserve + _reserve(pos.size, pos.max_profit_bps)
    return Side(e._side_open_interest(market, is_long), units, weight, collateral, reserve)


def per_position_bound(e, market, price, index):
    """(sum of clamped claims, bound) as exposure.vy's notice derives it."""
    total = bound = 0
    n = 0
    for pid in e.open_position_ids():
        _, pos = e._load(pid)
        if pos.market_id != market:
            continue
        n += 1
        pnl, fee = _pnl(pos.is_long, pos.size, pos.entry_price, price), _borrow_fee(pos.size, pos.entry_index, index)
        c = max(_capped_pnl(pos, price) - fee, -pos.collateral)
        total += c
        bound += abs(pnl - fee - c)
    return total, bound + 4 + n * (2 + -(-price // UNIT_SCALE))


def test_aggregates_are_exact_sums_through_every_kind_of_change():
    w = make_world()
    e = w.engine
    a = w.open(ALICE)
    b = w.open(BOB, is_long=False, size=20_000 * USDC, amount=2_020 * USDC)
    w.wait(100)
    w.set_price(P0 + 17 * PRICE)
    e.add_collateral(a, 5 * USDC, sender=ALICE)
    w.trades.increase_position(a, 3_333 * USDC, 400 * USDC, sender=ALICE)
    w.trades.decrease_position(b, 7_777 * USDC, sender=BOB)
    e.remove_collateral(b, 1 * USDC, sender=BOB)
    for side in (True, False):
        assert e.exposure(w.market, side) == sums_from_positions(e, w.market, side)
    w.trades.close_position(a, sender=ALICE)
    w.trades.close_position(b, sender=BOB)
    assert e.exposure(w.market, True) == e.exposure(w.market, False) == Side()


def test_the_value_is_cash_less_the_claims_and_moves_with_the_price():
    w = make_world()
    cash = w.pool.cash()
    assert w.pool.pool_liability() == (0, w.feed.updated_at)
    assert w.pool.totalAssets() == cash
    w.open(ALICE, size=100_000 * USDC, amount=10_100 * USDC)
    w.wait(10)
    w.set_price(P0 * 11 // 10)          # +10%: the long is 10,000 USDC up, less its borrow fee
    liability, _ = w.pool.pool_liability()
    total, bound = per_position_bound(w.engine, w.market, P0 * 11 // 10,
                                      w.engine._current_index(w.market, w.engine.market_params(w.market).borrow_rate))
    assert abs(liability - total) <= bound
    assert 9_990 * USDC < liability <= 10_000 * USDC
    assert w.pool.totalAssets() == w.pool.cash() - liability


def test_escrowed_deposits_are_not_cash_and_back_no_reserve():
    w = make_world(lp_deposit=0)
    rid = w.pool.requestDeposit(1_000 * USDC, LP2, LP2, sender=LP2)
    assert w.pool.cash() == 0 and w.pool.pending_deposits == 1_000 * USDC
    assert w.pool.pendingDepositRequest(rid, LP2) == 1_000 * USDC
    assert w.pool.pendingDepositRequest(rid, LP) == 0
    w.wait(LP_REQUEST_DELAY)
    w.p.refresh_feeds()
    done = w.pool.execute_request(rid, sender=KEEPER)
    assert done.shares == 1_000 * USDC * VIRTUAL_SHARES
    assert w.pool.cash() == 1_000 * USDC and w.pool.pendingDepositRequest(rid, LP2) == 0


def test_the_redeem_fee_stays_in_the_pool():
    w = make_world(lp_deposit=0)
    w.p.pool.REDEEM_FEE_BPS = 30     # as if deployed with 30 bps
    w.p.lp_deposit(LP, 10_000 * USDC)
    w.p.lp_deposit(LP2, 10_000 * USDC)
    done = w.p.lp_redeem(LP2, w.pool.balanceOf(LP2))
    assert done.fee == 30 * USDC and done.assets == 9_970 * USDC
    assert w.pool.cash() == 10_030 * USDC


@settings(max_examples=50, deadline=None)
@given(moves=st.lists(st.integers(-1_500, 1_500), min_size=1, max_size=6), sizes=st.lists(
    st.integers(100, 50_000), min_size=1, max_size=6))
def test_liability_stays_within_the_bound_of_the_per_position_claims(moves, sizes):
    w = make_world()
    e = w.engine
    for i, size in enumerate(sizes):
        w.open(ALICE if i % 2 else BOB, is_long=bool(i % 3), size=size * USDC, amount=size * USDC // 5 + 20 * USDC)
    price = P0
    for m in moves:
        w.wait(997)
        price = max(price * (10_000 + m) // 10_000, 1)
        w.set_price(price)
        liability, _ = w.pool.pool_liability()
        index = e._current_index(w.market, e.market_params(w.market).borrow_rate)
        total, bound = per_position_bound(e, w.market, price, index)
        assert abs(liability - total) <= bound
        for side in (True, False):
            assert e.exposure(w.market, side) == sums_from_positions(e, w.market, side)
