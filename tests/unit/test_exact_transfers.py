"""Tokens that do not transfer exactly (fee-on-transfer, rebasing) would
leave a vault holding less than its position's collateral, or mint LP
shares the pool does not hold: the engine and the pool refuse them."""
import ape
import pytest

from .helpers import EXECUTION_FEE, ZERO

USDC = 10**6
ETH_PARAMS = (1_000, 500, 10, 10, 100, 5 * USDC, 2_000, 30_000, 0, 3_600, 10 * USDC, 3_000_000 * USDC)


@pytest.fixture
def fee_protocol(project, accounts):
    owner, lp, trader = accounts[0], accounts[1], accounts[2]
    token = project.FeeOnTransferToken.deploy(sender=owner)
    engine = project.Engine.deploy(
        token,
        owner.declare(project.Vault, sender=owner.address).contract_address,
        owner.declare(project.LiquidityPool, sender=owner.address).contract_address,
        owner.declare(project.OrderBook, sender=owner.address).contract_address,
        owner.declare(project.MarketRules, sender=owner.address).contract_address,
        owner,
        ZERO,
        0,
        EXECUTION_FEE,
        0,
        sender=owner,
    )
    pool = project.LiquidityPool.at(engine.POOL())
    feed = project.MockAggregator.deploy(8, "ETH / USD", 2_000 * 10**8, sender=owner)
    engine.list_market(feed, ETH_PARAMS, sender=owner)
    for who in (lp, trader):
        token.mint(who, 1_000_000 * USDC, sender=owner)
        token.approve(pool, 2**256 - 1, sender=who)
        token.approve(engine, 2**256 - 1, sender=who)
        token.approve(engine.ORDERS(), 2**256 - 1, sender=who)
    return token, engine, pool, lp, trader


def test_pool_refuses_a_deposit_that_arrives_short(fee_protocol):
    token, engine, pool, lp, _ = fee_protocol
    with ape.reverts("pool: token transfer not exact"):
        pool.requestDeposit(100_000 * USDC, lp, lp, sender=lp)
    assert pool.totalSupply() == 0 and token.balanceOf(pool) == 0 and pool.request_count() == 0


def test_order_book_refuses_an_escrow_that_arrives_short(lens, trade, fee_protocol):
    """The escrow is the first hop now: a short one would be paid out of
    other orders' escrow, so the request itself is refused. (The engine's
    own check, on collateral it pulls into a vault, is add_collateral's in
    test_token_faults.py.)"""
    token, engine, pool, lp, trader = fee_protocol
    trade = trade.on(engine)
    # Seed the pool without a deposit (a plain transfer loses 1% but the
    # engine only needs liquidity to reserve against).
    token.transfer(pool, 500_000 * USDC, sender=lp)
    before = token.balanceOf(trader)
    with ape.reverts("orders: token transfer not exact"):
        trade.open_position(1, True, 10_000 * USDC, 1_010 * USDC, sender=trader)
    assert token.balanceOf(trader) == before
    assert lens.totals(engine).open_positions == 0
