"""The pool's ERC4626 arithmetic against snekmate's: decimals offset
DECIMALS_OFFSET (6), so conversions use totalSupply + V, V = 10**6 virtual
shares, and totalAssets + 1 (one virtual asset), and each entry point
rounds in the pool's favour:

    deposit(a)  -> shares floor(a * (S + V) / (A + 1))
    mint(s)     -> assets ceil (s * (A + 1) / (S + V))
    withdraw(a) -> shares ceil (a * (S + V) / (A + 1))
    redeem(s)   -> assets floor(s * (A + 1) / (S + V))

(snekmate/extensions/erc4626.vy: _convert_to_shares, _convert_to_assets and
the _preview_* functions.) On top of that the pool keeps reserved assets.
"""
from fractions import Fraction
from math import ceil, floor

from hypothesis import given, settings, strategies as st

from model import Revert
from model.pool import DECIMALS_OFFSET

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


V = 10**DECIMALS_OFFSET     # the virtual shares


def AS(w):
    return w.pool.totalAssets(), w.pool.totalSupply()


def test_share_decimals_are_the_tokens_plus_the_offset():
    w = bare_pool()
    assert w.pool.decimals() == w.token.decimals + DECIMALS_OFFSET == 12
    assert w.pool.DECIMALS_OFFSET == DECIMALS_OFFSET


def test_worked_example_rounding_directions():
    w = bare_pool(first_deposit=1_000, donation=500)
    # Empty pool: 1_000 * (0 + V) / (0 + 1) = 1_000 * V shares. Then +500 assets.
    assert AS(w) == (1_500, 1_000 * V)
    j = w.p.journal
    with j.savepoint():
        # floor(100 * 1_001_000_000 / 1_501) = floor(66_688_874.08) = 66_688_874
        assert w.pool.previewDeposit(100) == 66_688_874
        assert w.pool.deposit(100, LP2, sender=LP2) == 66_688_874
        assert w.pool.balanceOf(LP2) == 66_688_874 and AS(w) == (1_600, 1_000 * V + 66_688_874)
    with j.savepoint():
        # ceil(66_688_874 * 1_501 / 1_001_000_000) = ceil(99.9999998) = 100
        before = w.bal(LP2)
        assert w.pool.mint(66_688_874, LP2, sender=LP2) == 100
        assert before - w.bal(LP2) == 100
    with j.savepoint():
        # ceil(100 * 1_001_000_000 / 1_501) = 66_688_875 shares burnt for 100 assets
        assert w.pool.withdraw(100, LP, LP, sender=LP) == 66_688_875
        assert w.pool.balanceOf(LP) == 1_000 * V - 66_688_875 and AS(w) == (1_400, 1_000 * V - 66_688_875)
    with j.savepoint():
        # floor(66_688_874 * 1_501 / 1_001_000_000) = 99: bought for 100, sells for 99
        assert w.pool.previewRedeem(66_688_874) == 99
        assert w.pool.redeem(66_688_874, LP, LP, sender=LP) == 99
    assert AS(w) == (1_500, 1_000 * V)


def test_virtual_shares_swallow_a_donation_to_an_empty_pool():
    w = bare_pool(donation=1_000)
    # S = 0, A = 1_000: 1_000 assets buy floor(1_000 * V / 1_001) = 999_000 shares...
    assert w.pool.deposit(1_000, LP, sender=LP) == 999_000
    # ...worth floor(999_000 * 2_001 / (999_000 + V)) = floor(999.9995) = 999: the
    # depositor loses a unit to rounding, the donation stays with the virtual shares.
    assert w.pool.previewRedeem(999_000) == 999
    assert w.pool.redeem(999_000, LP, LP, sender=LP) == 999
    assert AS(w) == (1_001, 0)


def test_a_donation_of_v_units_makes_one_unit_worth_no_share():
    w = bare_pool(donation=V)
    # S = 0, A = V: 1 unit buys floor(1 * V / (V + 1)) = 0 shares.
    expect_revert(w.p, "pool: zero shares", w.pool.deposit, 1, LP, sender=LP)
    # V + 1 units buy floor((V + 1) * V / (V + 1)) = V shares...
    assert w.pool.deposit(V + 1, LP, sender=LP) == V
    # ...worth floor(V * (2 * V + 2) / (2 * V)) = V + 1, all it paid: the
    # donation stays behind, with the virtual shares.
    assert w.pool.redeem(V, LP, LP, sender=LP) == V + 1
    assert AS(w) == (V, 0)


def test_withdraw_on_behalf_spends_share_allowance():
    w = bare_pool(first_deposit=1_000, donation=500)
    burnt = -(-100 * (1_000 * V + V) // 1_501)     # ceil(100 * (S + V) / (A + 1))
    w.pool.shares.approve(STRANGER, burnt, sender=LP)
    # 100 assets cost `burnt` shares of LP's allowance to STRANGER.
    assert w.pool.withdraw(100, STRANGER, LP, sender=STRANGER) == burnt
    assert w.pool.shares.allowance[(LP, STRANGER)] == 0
    expect_revert(w.p, "erc20: insufficient allowance", w.pool.withdraw, 1, STRANGER, LP, sender=STRANGER)


def test_reserved_assets_bound_max_withdraw_and_max_redeem():
    w = make_world(lp_deposit=100_000 * USDC, insurance=0)
    w.open(ALICE)   # reserves 3e10, pays a 1e7 fee in
    free = w.pool.free_assets()
    assert free == 100_000 * USDC + 10_000_000 - 30_000_000_000
    assert w.pool.maxWithdraw(LP) == free
    # maxRedeem = floor(free * (S + V) / (A + 1)), which redeems to at most free
    A, S = AS(w)
    assert w.pool.maxRedeem(LP) == free * (S + V) // (A + 1)
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
    exact = Fraction(a * (S + V), A + 1)
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
    exact = Fraction(s * (A + 1), S + V)
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
