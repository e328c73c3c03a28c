"""The pool's ERC4626 arithmetic against snekmate's: decimals offset 0, so
conversions use totalSupply + 1 and totalAssets + 1 ("virtual" share and
asset), and each entry point rounds in the pool's favour:

    deposit(a)  -> shares floor(a * (S + 1) / (A + 1))
    mint(s)     -> assets ceil (s * (A + 1) / (S + 1))
    withdraw(a) -> shares ceil (a * (S + 1) / (A + 1))
    redeem(s)   -> assets floor(s * (A + 1) / (S + 1))

(snekmate/extensions/erc4626.vy: _convert_to_shares, _convert_to_assets and
the _preview_* functions.) On top of that the pool keeps reserved assets.
"""
from fractions import Fraction
from math import ceil, floor

from hypothesis import given, settings, strategies as st

from model import Revert

from .support import ALICE, LP, LP2, STRANGER, USDC, expect_revert, make_world


def bare_pool(first_deposit=0, donation=0, payout=0):
    """A pool with `first_deposit` from LP, then `donation` sent to it and
    `payout` sent out of it (standing in for trader losses and profits)."""
    w = make_world(lp_deposit=0, insurance=0, mint=10**40)
    if first_deposit:
        w.pool.deposit(first_deposit, LP, sender=LP)
    if donation:
        w.token.transfer(w.pool.address, donation, sender=STRANGER)
    if payout:
        # Only the engine moves the pool's tokens on chain; here a direct
        # transfer from the pool's balance is the shortest way to a loss.
        w.token.transfer(STRANGER, payout, sender=w.pool.address)
    return w


def AS(w):
    return w.pool.totalAssets(), w.pool.totalSupply()


def test_worked_example_rounding_directions():
    w = bare_pool(first_deposit=1_000, donation=500)
    # Empty pool: 1_000 * (0 + 1) / (0 + 1) = 1_000 shares. Then +500 assets.
    assert AS(w) == (1_500, 1_000)
    j = w.p.journal
    with j.savepoint():
        # floor(100 * 1_001 / 1_501) = floor(100_100 / 1_501) = floor(66.69) = 66
        assert w.pool.previewDeposit(100) == 66
        assert w.pool.deposit(100, LP2, sender=LP2) == 66
        assert w.pool.balanceOf(LP2) == 66 and AS(w) == (1_600, 1_066)
    with j.savepoint():
        # ceil(66 * 1_501 / 1_001) = ceil(99_066 / 1_001) = ceil(98.97) = 99
        before = w.bal(LP2)
        assert w.pool.mint(66, LP2, sender=LP2) == 99
        assert before - w.bal(LP2) == 99
    with j.savepoint():
        # ceil(100 * 1_001 / 1_501) = ceil(66.69) = 67 shares burnt for 100 assets
        assert w.pool.withdraw(100, LP, LP, sender=LP) == 67
        assert w.pool.balanceOf(LP) == 933 and AS(w) == (1_400, 933)
    with j.savepoint():
        # floor(66 * 1_501 / 1_001) = 98: a share bought for 99/66 sells for 98/66
        assert w.pool.previewRedeem(66) == 98
        assert w.pool.redeem(66, LP, LP, sender=LP) == 98
    assert AS(w) == (1_500, 1_000)


def test_virtual_asset_swallows_a_donation_to_an_empty_pool():
    w = bare_pool(donation=1_000)
    # S = 0, A = 1_000: 1_000 assets buy floor(1_000 * 1 / 1_001) = 0 shares.
    expect_revert(w.p, "pool: zero shares", w.pool.deposit, 1_000, LP, sender=LP)
    # 1_001 buy floor(1_001 / 1_001) = 1 share...
    assert w.pool.deposit(1_001, LP, sender=LP) == 1
    # ...worth floor(1 * 2_002 / 2) = 1_001: the donation stays with the virtual share.
    assert w.pool.previewRedeem(1) == 1_001
    assert w.pool.redeem(1, LP, LP, sender=LP) == 1_001
    assert AS(w) == (1_000, 0)


def test_withdraw_on_behalf_spends_share_allowance():
    w = bare_pool(first_deposit=1_000, donation=500)
    w.pool.shares.approve(STRANGER, 67, sender=LP)
    # 100 assets cost ceil(66.69) = 67 shares of LP's allowance to STRANGER.
    assert w.pool.withdraw(100, STRANGER, LP, sender=STRANGER) == 67
    assert w.pool.shares.allowance[(LP, STRANGER)] == 0
    expect_revert(w.p, "erc20: insufficient allowance", w.pool.withdraw, 1, STRANGER, LP, sender=STRANGER)


def test_reserved_assets_bound_max_withdraw_and_max_redeem():
    w = make_world(lp_deposit=100_000 * USDC, insurance=0)
    w.open(ALICE)   # reserves 3e10, pays a 1e7 fee in
    free = w.pool.free_assets()
    assert free == 100_000 * USDC + 10_000_000 - 30_000_000_000
    assert w.pool.maxWithdraw(LP) == free
    # maxRedeem = floor(free * (S + 1) / (A + 1)), which redeems to at most free
    A, S = AS(w)
    assert w.pool.maxRedeem(LP) == free * (S + 1) // (A + 1)
    j = w.p.journal
    with j.savepoint():
        w.pool.withdraw(free, LP, LP, sender=LP)
        assert w.pool.totalAssets() == w.engine.total_reserved
    with j.savepoint():
        assert w.pool.redeem(w.pool.maxRedeem(LP), LP, LP, sender=LP) <= free
    expect_revert(w.p, "pool: assets reserved for open positions", w.pool.withdraw, free + 1, LP, LP, sender=LP)


amounts = st.integers(1, 10**15)
states = st.tuples(st.integers(1, 10**15), st.integers(0, 10**15), st.integers(0, 10**6))


def _pool_from(state):
    first, donation, loss_ppm = state
    payout = (first + donation) * loss_ppm // 10**6
    payout = min(payout, first + donation - 1)
    return bare_pool(first_deposit=first, donation=donation, payout=payout)


@settings(max_examples=max(settings().max_examples, 200))
@given(state=states, a=amounts)
def test_deposit_and_withdraw_match_snekmate(state, a):
    w = _pool_from(state)
    A, S = AS(w)
    exact = Fraction(a * (S + 1), A + 1)
    j = w.p.journal
    with j.savepoint():
        try:
            shares = w.pool.deposit(a, LP2, sender=LP2)
        except Revert as err:
            assert err.reason == "pool: zero shares" and floor(exact) == 0
        else:
            assert shares == floor(exact) == w.pool.balanceOf(LP2)
            assert AS(w) == (A + a, S + shares)
            # and it can never redeem for more than it paid
            assert w.pool.previewRedeem(shares) <= a
    if a <= w.pool.maxWithdraw(LP):
        with j.savepoint():
            burnt = w.pool.withdraw(a, LP2, LP, sender=LP)
            assert burnt == ceil(exact)
            assert AS(w) == (A - a, S - burnt)


@settings(max_examples=max(settings().max_examples, 200))
@given(state=states, s=amounts)
def test_mint_and_redeem_match_snekmate(state, s):
    w = _pool_from(state)
    A, S = AS(w)
    exact = Fraction(s * (A + 1), S + 1)
    j = w.p.journal
    with j.savepoint():
        # A >= 1, so a share is never free: mint cannot hit "pool: zero assets".
        paid = w.pool.mint(s, LP2, sender=LP2)
        assert paid == ceil(exact)
        assert AS(w) == (A + paid, S + s)
        assert w.pool.previewRedeem(s) <= paid
    if s <= w.pool.balanceOf(LP):
        with j.savepoint():
            try:
                got = w.pool.redeem(s, LP2, LP, sender=LP)
            except Revert as err:
                assert err.reason == "pool: assets reserved for open positions"
            else:
                assert got == floor(exact)
                assert AS(w) == (A - got, S - s)
