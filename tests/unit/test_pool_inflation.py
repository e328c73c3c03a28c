"""The ERC4626 first-depositor ("inflation") attack on the real pool
(review finding 4).

The sequence, on a fresh engine's empty pool (each deposit and redemption
through the pool's async request flow since v2): the attacker deposits 1 unit
(1e-6 USDC) of assets, then donates 10,000 USDC to the pool by a plain token
transfer (no shares for it), then the victim deposits 20,000 USDC; then
everyone redeems everything.

Measured on the old code (decimals offset 0: one virtual share, one virtual
asset), this very test:
  - the attacker's 1 unit bought 1 share; after the donation a share cost
    5,000.000001 USDC, so the victim's 20,000 USDC bought floor(3.9999999992)
    = 3 shares, redeemable for 18,000.000001 USDC: the victim lost
    1,999.999999 USDC (10% of the deposit);
  - the attacker got 6,000 USDC back for 10,000.000001 paid (-4,000.000001):
    offset 0 already kept the attack from paying the attacker (the virtual
    share kept a fifth of the pool), but it robbed the victim of 10%.
Now (decimals offset 6, LiquidityPool.DECIMALS_OFFSET: 10**6 virtual shares
and one virtual asset):
  - the attacker's 1 unit buys 10**6 shares; a share costs 0.005 USDC after
    the donation, so the victim gets 3,999,999 shares, redeemable for
    19,999.998334 USDC: the victim loses 0.001666 USDC, under one share's
    price plus one unit;
  - the attacker gets 5,000.000834 USDC back for 10,000.000001 paid
    (-4,999.999167): half the donation stays in the pool with the virtual
    shares (5,000.000833 USDC is left when both have redeemed).
"""
from model.pool import DECIMALS_OFFSET

from .helpers import MAX_UINT256, lp_deposit, lp_redeem, usd

DONATION = usd(10_000)
VICTIM_DEPOSIT = usd(20_000)


def test_first_depositor_inflation_does_not_pay(chain, project, fresh_engine, token, owner, stranger, lp2):
    attacker, victim = stranger, lp2
    pool = project.LiquidityPool.at(fresh_engine.POOL())
    attacker_start = 1 + DONATION
    for who, amount in ((attacker, attacker_start), (victim, VICTIM_DEPOSIT)):
        token.mint(who, amount, sender=owner)
        token.approve(pool, MAX_UINT256, sender=who)
    attacker_before, victim_before = token.balanceOf(attacker), token.balanceOf(victim)

    # Through the async flow (no market listed: no price round to wait for).
    lp_deposit(chain, pool, attacker, 1)
    assert pool.balanceOf(attacker) == 10**DECIMALS_OFFSET   # 1 * (0 + 10**offset) / (0 + 1)
    token.transfer(pool, DONATION, sender=attacker)
    # What one share costs the victim now: (assets + 1) / (supply + 10**offset).
    share_price = (pool.totalAssets() + 1) / (pool.totalSupply() + 10**DECIMALS_OFFSET)
    lp_deposit(chain, pool, victim, VICTIM_DEPOSIT)

    # The victim can take out all but less than one share's price, plus the
    # unit redeem rounds down: a tiny fraction of the deposit.
    value = pool.previewRedeem(pool.balanceOf(victim))
    assert value <= VICTIM_DEPOSIT
    loss = VICTIM_DEPOSIT - value
    assert loss <= share_price + 1
    assert loss * 1_000_000 <= VICTIM_DEPOSIT     # under 1 ppm: 0.02 USDC of 20,000
    assert value == usd(19_999.998334)

    assert lp_redeem(chain, pool, victim, pool.balanceOf(victim)) == value
    lp_redeem(chain, pool, attacker, pool.balanceOf(attacker))
    assert token.balanceOf(victim) - victim_before == -loss
    attacker_pnl = token.balanceOf(attacker) - attacker_before
    assert attacker_pnl < 0                       # the attack costs the attacker...
    assert -attacker_pnl > DONATION // 2 - usd(1)  # ...about half the donation
    assert attacker_pnl == usd(5_000.000834) - attacker_start
    assert pool.totalSupply() == 0 and pool.totalAssets() == usd(5_000.000833)
