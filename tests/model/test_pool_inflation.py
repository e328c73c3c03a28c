"""The first-depositor ("inflation") attack on the pool's twin (review
finding 4): the sequence of tests/unit/test_pool_inflation.py, where the
figures before and after the fix are stated, and the same sequence over any
donation and victim deposit.

The attacker deposits 1 unit into the empty pool (10**offset shares, as
many as the virtual ones), donates D by a plain transfer, the victim
deposits W, then both redeem everything. A share then costs
p = (D + 2) / (2 * 10**offset) units, so the victim loses less than p + 1
units, and the attacker, whose shares weigh as much as the virtual ones,
leaves about half of D behind.
"""
from fractions import Fraction

from hypothesis import assume, given, settings, strategies as st

from model.pool import DECIMALS_OFFSET

from .support import LP2, STRANGER, USDC, make_world

V = 10**DECIMALS_OFFSET
ATTACKER, VICTIM = STRANGER, LP2


def attack(donation: int, deposit: int):
    """(victim's shares, what they can redeem, the attacker's P&L, assets
    left in the pool), everything redeemed, victim first."""
    w = make_world(lp_deposit=0, insurance=0, mint=10**40)
    pool, token = w.pool, w.token
    start = token.balanceOf[ATTACKER]
    assert pool.deposit(1, ATTACKER, sender=ATTACKER) == V
    if donation:
        token.transfer(pool.address, donation, sender=ATTACKER)
    price = Fraction(pool.totalAssets() + 1, pool.totalSupply() + V)
    assert price == Fraction(donation + 2, 2 * V)
    shares = pool.deposit(deposit, VICTIM, sender=VICTIM)
    value = pool.previewRedeem(shares)
    assert value == pool.maxWithdraw(VICTIM)
    assert deposit - value < price + 1
    assert pool.redeem(shares, VICTIM, VICTIM, sender=VICTIM) == value
    pool.redeem(pool.balanceOf(ATTACKER), ATTACKER, ATTACKER, sender=ATTACKER)
    assert pool.totalSupply() == 0
    return shares, value, token.balanceOf[ATTACKER] - start, pool.totalAssets()


def test_the_attack_of_the_unit_test():
    # Same figures as the contract's (tests/unit/test_pool_inflation.py).
    shares, value, pnl, left = attack(10_000 * USDC, 20_000 * USDC)
    assert shares == 3_999_999
    assert value == 19_999_998_334                   # 0.001666 USDC short of 20,000
    assert pnl == 5_000_000_834 - (10_000 * USDC + 1)  # -4,999.999167 USDC
    assert left == 5_000_000_833


@settings(max_examples=max(settings().max_examples, 200))
@given(donation=st.integers(0, 10**24), deposit=st.integers(1, 10**24))
def test_the_attack_never_pays(donation, deposit):
    # Any donation that leaves the victim at least one share (else "pool: zero shares").
    assume(deposit * 2 * V >= donation + 2)
    _, value, pnl, _ = attack(donation, deposit)
    assert pnl <= 0
    if donation >= 2:
        # Half the donation stays behind, less one share's worth of the victim's rounding.
        assert -pnl >= donation // 2 - (donation + 2) // (2 * V) - 2
    assert deposit - value <= (donation + 2) // (2 * V) + 1
