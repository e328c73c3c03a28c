"""The first-depositor ("inflation") attack on the pool's twin (review
finding 4), through the async flows: the sequence of
tests/unit/test_pool_inflation.py and the same sequence over any donation
and victim deposit.

The attacker deposits 1 unit into the empty pool (10**offset shares, as
many as the virtual ones), donates D by a plain transfer, the victim
deposits W, then both redeem everything. A share then costs
p = (D + 2) / (2 * 10**offset) units, so the victim loses less than p + 1
units, and the attacker leaves about half of D behind.
"""
from fractions import Fraction

from hypothesis import assume, given, settings, strategies as st

from model.pool import DECIMALS_OFFSET

from .support import LP2, STRANGER, USDC, make_world

V = 10**DECIMALS_OFFSET
ATTACKER, VICTIM = STRANGER, LP2


def attack(donation: int, deposit: int):
    """(victim's shares, what they redeem, the attacker's P&L, assets left)."""
    w = make_world(lp_deposit=0, insurance=0, mint=10**40)
    p, pool, token = w.p, w.pool, w.token
    start = token.balanceOf[ATTACKER]
    assert p.lp_deposit(ATTACKER, 1).shares == V
    if donation:
        token.transfer(pool.address, donation, sender=ATTACKER)
    price = Fraction(pool.totalAssets() + 1, pool.totalSupply() + V)
    assert price == Fraction(donation + 2, 2 * V)
    shares = p.lp_deposit(VICTIM, deposit).shares
    value = pool.previewRedeem(shares)
    assert deposit - value < price + 1
    if value:       # a redemption worth nothing is refused ("pool: zero assets")
        assert p.lp_redeem(VICTIM, shares).assets == value
    if pool.previewRedeem(pool.balanceOf(ATTACKER)):
        p.lp_redeem(ATTACKER, pool.balanceOf(ATTACKER))
    return shares, value, token.balanceOf[ATTACKER] - start, pool.totalAssets()


def test_the_attack_of_the_unit_test():
    # Same figures as the contract's (tests/unit/test_pool_inflation.py).
    shares, value, pnl, left = attack(10_000 * USDC, 20_000 * USDC)
    assert shares == 3_999_999
    assert value == 19_999_998_334                   # 0.001666 USDC short of 20,000
    assert pnl == 5_000_000_834 - (10_000 * USDC + 1)  # -4,999.999167 USDC
    assert left == 5_000_000_833


@settings(max_examples=max(settings().max_examples, 100), deadline=None)
@given(donation=st.integers(0, 10**24), deposit=st.integers(1, 10**24))
def test_the_attack_never_pays(donation, deposit):
    assume(deposit * 2 * V >= donation + 2)
    _, value, pnl, _ = attack(donation, deposit)
    assert pnl <= 0
    if donation >= 2:
        assert -pnl >= donation // 2 - (donation + 2) // (2 * V) - 2
    assert deposit - value <= (donation + 2) // (2 * V) + 1
