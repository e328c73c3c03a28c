"""LiquidityPool: snekmate ERC4626 with exact deposits and withdrawals
capped by the engine's reserves.

The standard world has 1,000,000 USDC and LP_SHARES = 1,000,000e6 * 10**6
shares, all lp's; snekmate converts with (supply + VIRTUAL_SHARES) /
(assets + 1) (decimals offset DECIMALS_OFFSET = 6: VIRTUAL_SHARES = 10**6).
While no trade has moved the pool's assets, supply + 10**6 is exactly
10**6 * (assets + 1): a unit of assets is worth exactly 10**6 shares
(`par` below), in either direction and either rounding.
"""
import ape

from .helpers import LP_DEPOSIT, LP_SHARES, MAX_UINT256, MINT, VIRTUAL_SHARES, ZERO, usd


def par(assets: int) -> int:
    """Shares for `assets` at the pool's opening price, 10**offset per unit."""
    return assets * VIRTUAL_SHARES


def test_deposit_at_par(pool, token, lp2):
    assert LP_SHARES + VIRTUAL_SHARES == par(LP_DEPOSIT + 1)
    receipt = pool.deposit(usd(1_000), lp2, sender=lp2)
    assert pool.balanceOf(lp2) == par(usd(1_000))
    assert token.balanceOf(lp2) == MINT - usd(1_000)
    assert pool.totalAssets() == LP_DEPOSIT + usd(1_000)
    [log] = receipt.events.filter(pool.Deposit)
    assert (log.sender, log.owner, log.assets, log.shares) == (lp2.address, lp2.address, usd(1_000), par(usd(1_000)))


def test_deposit_for_another_receiver_and_mint(pool, token, lp2, stranger):
    pool.deposit(usd(5), stranger, sender=lp2)
    assert (pool.balanceOf(stranger), pool.balanceOf(lp2)) == (par(usd(5)), 0)
    receipt = pool.mint(par(usd(500)), lp2, sender=lp2)
    [log] = receipt.events.filter(pool.Deposit)
    assert (log.assets, log.shares) == (usd(500), par(usd(500)))
    assert token.balanceOf(lp2) == MINT - usd(505)


def test_withdraw_and_redeem(pool, token, lp):
    receipt = pool.withdraw(usd(1_000), lp, lp, sender=lp)
    [log] = receipt.events.filter(pool.Withdraw)
    assert (log.sender, log.receiver, log.owner, log.assets, log.shares) == (
        lp.address, lp.address, lp.address, usd(1_000), par(usd(1_000)))
    pool.redeem(par(usd(2_000)), lp, lp, sender=lp)
    assert pool.balanceOf(lp) == LP_SHARES - par(usd(3_000))
    assert token.balanceOf(lp) == MINT - LP_DEPOSIT + usd(3_000)
    assert pool.totalSupply() == LP_SHARES - par(usd(3_000))


def test_conversion_views_at_par(pool, lp):
    assert pool.convertToShares(usd(7)) == par(usd(7))
    assert pool.convertToAssets(par(usd(7))) == usd(7)
    assert (pool.previewDeposit(usd(7)), pool.previewMint(par(usd(7)))) == (par(usd(7)), usd(7))
    assert (pool.previewWithdraw(usd(7)), pool.previewRedeem(par(usd(7)))) == (par(usd(7)), usd(7))
    # A single share is worth 10**-offset units: redeeming it pays 0, minting it costs 1.
    assert (pool.previewRedeem(1), pool.previewMint(1)) == (0, 1)
    assert (pool.maxDeposit(lp), pool.maxMint(lp)) == (MAX_UINT256, MAX_UINT256)
    assert (pool.maxWithdraw(lp), pool.maxRedeem(lp), pool.free_assets()) == (LP_DEPOSIT, LP_SHARES, LP_DEPOSIT)


def test_trader_losses_accrue_to_lps(trade, engine, pool, token, lp, lp2, alice, open_pos, set_price, clock):
    # alice loses 760.000318 to the pool (see test_close), after a 10 USDC
    # open fee: the pool holds 1,000,770.000318 for 1,000,000 shares.
    clock.at(0)
    pid, _ = open_pos(alice, usd(10_000), usd(1_010))
    clock.at(5)
    set_price(1_850)
    clock.at(10)
    trade.close_position(pid, sender=alice)
    assets = LP_DEPOSIT + usd(770) + 318
    assert pool.totalAssets() == assets
    # 1,000 * (LP_SHARES + 10**6) / (assets + 1), rounded down: fewer than par.
    bought = usd(1_000) * (LP_SHARES + VIRTUAL_SHARES) // (assets + 1)
    assert bought < par(usd(1_000))
    assert pool.deposit(usd(1_000), lp2, sender=lp2).events.filter(pool.Deposit)[0].shares == bought
    assets += usd(1_000)
    shares = LP_SHARES + bought
    expected = LP_SHARES * (assets + 1) // (shares + VIRTUAL_SHARES)
    assert pool.previewRedeem(LP_SHARES) == expected
    pool.redeem(LP_SHARES, lp, lp, sender=lp)
    assert token.balanceOf(lp) == MINT - LP_DEPOSIT + expected
    assert expected > LP_DEPOSIT + usd(770)


def test_reserves_cap_withdrawals(engine, pool, token, lp, alice, open_pos, snapshot):
    # 300,000 long reserves 900,000; the pool holds 1,000,300 (open fee 300).
    open_pos(alice, usd(300_000), usd(30_300))
    free = usd(100_300)
    assert pool.free_assets() == free
    assert pool.maxWithdraw(lp) == free
    # Shares for 100,300 at 1,000,300 assets / LP_SHARES shares, rounded down.
    redeemable = free * (LP_SHARES + VIRTUAL_SHARES) // (LP_DEPOSIT + usd(300) + 1)
    assert pool.maxRedeem(lp) == redeemable
    # The fewest shares worth one unit more than the free assets.
    too_many = pool.previewWithdraw(free + 1)
    assert too_many > redeemable and pool.previewRedeem(too_many) == free + 1
    before = snapshot(holders=[lp])
    with ape.reverts("pool: assets reserved for open positions"):
        pool.withdraw(free + 1, lp, lp, sender=lp)
    with ape.reverts("pool: assets reserved for open positions"):
        pool.redeem(too_many, lp, lp, sender=lp)
    with ape.reverts("pool: assets reserved for open positions"):
        pool.redeem(LP_SHARES, lp, lp, sender=lp)
    assert snapshot(holders=[lp]) == before
    pool.withdraw(free, lp, lp, sender=lp)
    assert token.balanceOf(pool) == engine.total_reserved() == usd(900_000)
    assert pool.free_assets() == 0 and pool.maxWithdraw(lp) == 0 and pool.maxRedeem(lp) == 0


def test_max_redeem_is_redeemable(engine, pool, lp, alice, open_pos):
    open_pos(alice, usd(300_000), usd(30_300))
    shares = pool.maxRedeem(lp)
    pool.redeem(shares, lp, lp, sender=lp)
    assert pool.free_assets() < 2


def test_closing_positions_frees_reserves(trade, engine, pool, token, lp, alice, open_pos, clock):
    # Open and close 300,000 at an unchanged price 10 s apart: the pool keeps
    # 300 + 300 in fees and 0.009513 of borrow fee, and nothing is reserved.
    clock.at(0)
    pid, _ = open_pos(alice, usd(300_000), usd(30_300))
    clock.at(10)
    trade.close_position(pid, sender=alice)
    assets = LP_DEPOSIT + usd(600) + 9_513
    assert engine.total_reserved() == 0
    assert pool.free_assets() == pool.totalAssets() == assets
    owed = LP_SHARES * (assets + 1) // (LP_SHARES + VIRTUAL_SHARES)  # the virtual shares keep one unit
    assert pool.maxWithdraw(lp) == owed == assets - 1
    pool.redeem(LP_SHARES, lp, lp, sender=lp)
    assert pool.totalSupply() == 0
    assert token.balanceOf(lp) == MINT - LP_DEPOSIT + owed


def test_withdraw_and_redeem_more_than_owned(pool, lp2, lp, snapshot):
    before = snapshot(holders=[lp, lp2])
    with ape.reverts("erc4626: withdraw more than maximum"):
        pool.withdraw(1, lp2, lp2, sender=lp2)
    with ape.reverts("erc4626: redeem more than maximum"):
        pool.redeem(1, lp2, lp2, sender=lp2)
    with ape.reverts("erc4626: redeem more than maximum"):
        pool.redeem(LP_SHARES + 1, lp, lp, sender=lp)
    assert snapshot(holders=[lp, lp2]) == before
    pool.deposit(usd(1_000), lp2, sender=lp2)
    with ape.reverts("erc4626: withdraw more than maximum"):
        pool.withdraw(usd(1_000) + 1, lp2, lp2, sender=lp2)


def test_withdrawing_more_than_you_own_is_not_blamed_on_reserves(pool, lp):
    # The owner's own maximum is checked first: with no position open, a
    # sole LP asking for one unit more than everything is told the truth.
    assert pool.free_assets() == LP_DEPOSIT
    with ape.reverts("erc4626: withdraw more than maximum"):
        pool.withdraw(LP_DEPOSIT + 1, lp, lp, sender=lp)


def test_withdraw_for_another_owner_spends_share_allowance(pool, token, lp, stranger):
    with ape.reverts("erc20: insufficient allowance"):
        pool.withdraw(usd(1), stranger, lp, sender=stranger)
    with ape.reverts("erc20: insufficient allowance"):
        pool.redeem(usd(1), stranger, lp, sender=stranger)
    pool.approve(stranger, par(usd(100)), sender=lp)
    pool.withdraw(usd(60), stranger, lp, sender=stranger)
    assert pool.allowance(lp, stranger) == par(usd(40))
    assert token.balanceOf(stranger) == MINT + usd(60)
    pool.redeem(par(usd(40)), stranger, lp, sender=stranger)
    assert pool.allowance(lp, stranger) == 0
    assert pool.balanceOf(lp) == LP_SHARES - par(usd(100))


def test_zero_amounts_are_refused(pool, lp):
    with ape.reverts("pool: zero assets"):
        pool.deposit(0, lp, sender=lp)
    with ape.reverts("pool: zero assets"):
        pool.mint(0, lp, sender=lp)
    with ape.reverts("pool: zero assets"):
        pool.withdraw(0, lp, lp, sender=lp)
    with ape.reverts("pool: zero shares"):
        pool.redeem(0, lp, lp, sender=lp)


def test_deposit_worth_no_shares_is_refused(project, fresh_engine, token, lp):
    pool = project.LiquidityPool.at(fresh_engine.POOL())
    token.approve(pool, MAX_UINT256, sender=lp)
    # An empty pool holding a 100-unit donation: 1 unit still buys
    # 1 * 10**6 / 101 shares (at offset 0 it bought 1 * 1 / 101 = 0).
    token.transfer(pool, 100, sender=lp)
    assert pool.previewDeposit(1) == VIRTUAL_SHARES // 101
    # Holding 10**6 units: 1 unit buys 1 * 10**6 / (10**6 + 1) = 0 shares.
    token.transfer(pool, VIRTUAL_SHARES - 100, sender=lp)
    with ape.reverts("pool: zero shares"):
        pool.deposit(1, lp, sender=lp)
    pool.deposit(VIRTUAL_SHARES + 1, lp, sender=lp)
    assert pool.balanceOf(lp) == VIRTUAL_SHARES


def test_deposit_needs_token_allowance(pool, stranger):
    with ape.reverts("erc20: insufficient allowance"):
        pool.deposit(usd(1), stranger, sender=stranger)


def test_share_token_transfers(pool, token, lp, lp2, stranger):
    pool.transfer(lp2, par(usd(10)), sender=lp)
    assert (pool.balanceOf(lp), pool.balanceOf(lp2)) == (LP_SHARES - par(usd(10)), par(usd(10)))
    pool.approve(stranger, par(usd(4)), sender=lp2)
    pool.transferFrom(lp2, stranger, par(usd(4)), sender=stranger)
    assert (pool.balanceOf(lp2), pool.balanceOf(stranger), pool.allowance(lp2, stranger)) == (
        par(usd(6)), par(usd(4)), 0)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        pool.transfer(lp, par(usd(7)), sender=lp2)
    with ape.reverts("erc20: transfer to the zero address"):
        pool.transfer(ZERO, 1, sender=lp2)
    # Shares moved to lp2 are redeemable by lp2.
    before = token.balanceOf(lp2)
    pool.redeem(par(usd(6)), lp2, lp2, sender=lp2)
    assert pool.balanceOf(lp2) == 0 and token.balanceOf(lp2) == before + usd(6)


def test_share_token_metadata_and_permit_domain(pool, chain):
    fields, name, version, chain_id, verifying, salt, extensions = pool.eip712Domain()
    assert (name, version, chain_id, verifying) == ("isomargin LP", "1", chain.chain_id, pool.address)
    assert pool.nonces(ZERO) == 0
    assert len(bytes(pool.DOMAIN_SEPARATOR())) == 32
