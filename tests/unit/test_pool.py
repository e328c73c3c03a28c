"""LiquidityPool v2: valued at market (cash less pool_liability()), with
ERC-7540-shaped async deposits and redemptions.

The standard world has 1,000,000 USDC and LP_SHARES = 1,000,000e6 * 10**6
shares, all lp's, and no position: its value is its cash, and a unit of
assets is worth exactly 10**6 shares (`par`), (supply + 10**6) being
10**6 * (value + 1).
"""
import ape
import pytest

from model.exposure import Side, _claim, _terms
from model.pool import LP_REQUEST_DELAY, SYNC_DISABLED
from model.risk import Position, _borrow_fee, _capped_pnl, _pnl, _reserve

from .helpers import (cancelled, ETH_PARAMS, LP_DEPOSIT, LP_SHARES, MAX_UINT256, MINT, VIRTUAL_SHARES, ZERO, lp_deposit,
                      lp_redeem, px, request_id, settle, usd)

WAIT = "pool: wait for every market's price round after the request"


def par(assets: int) -> int:
    return assets * VIRTUAL_SHARES


def pool_state(pool, token, *holders):
    return (pool.totalSupply(), pool.pending_deposits(), pool.request_count(), pool.cash(),
            token.balanceOf(pool), tuple(pool.balanceOf(h) for h in holders), tuple(token.balanceOf(h) for h in holders))


def test_request_deposit_escrows_and_execution_mints_at_market_value(chain, pool, token, lp2, stranger, feed, owner):
    receipt = pool.requestDeposit(usd(1_000), lp2, lp2, sender=lp2)
    rid = request_id(receipt, pool)
    [log] = receipt.events.filter(pool.DepositRequested)
    assert (log.request_id, log.controller, log.owner, log.sender, log.assets) == (
        rid, lp2.address, lp2.address, lp2.address, usd(1_000))
    # Escrow: in the balance, not in the cash, not in the value.
    assert pool.cash() == LP_DEPOSIT and pool.totalAssets() == LP_DEPOSIT
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(1_000) and pool.pending_deposits() == usd(1_000)
    assert pool.pendingDepositRequest(rid, lp2) == usd(1_000) and pool.pendingDepositRequest(rid, stranger) == 0
    assert pool.lp_requests(rid).requested_at == chain.blocks.head.timestamp
    with ape.reverts("pool: request delay not over"):
        pool.execute_request(rid, sender=stranger)
    chain.pending_timestamp = chain.blocks.head.timestamp + LP_REQUEST_DELAY
    with ape.reverts(WAIT):
        pool.execute_request(rid, sender=stranger)
    receipt = settle(chain, pool, rid, [feed], owner, keeper=stranger)
    [log] = receipt.events.filter(pool.RequestExecuted)
    assert (log.request_id, log.controller, log.is_deposit, log.assets, log.shares, log.fee) == (
        rid, lp2.address, True, usd(1_000), par(usd(1_000)), 0)
    assert pool.balanceOf(lp2) == par(usd(1_000)) and pool.cash() == LP_DEPOSIT + usd(1_000)
    assert pool.pending_deposits() == 0 and pool.pendingDepositRequest(rid, lp2) == 0
    with ape.reverts("pool: no pending request"):
        pool.execute_request(rid, sender=stranger)


def test_redeem_request_pays_the_controller_at_execution(chain, pool, token, lp, stranger, feed, owner):
    receipt = pool.requestRedeem(par(usd(3_000)), stranger, lp, sender=lp)
    rid = request_id(receipt, pool)
    assert pool.balanceOf(lp) == LP_SHARES - par(usd(3_000)) and pool.balanceOf(pool) == par(usd(3_000))
    assert pool.pendingRedeemRequest(rid, stranger) == par(usd(3_000)) and pool.pendingRedeemRequest(rid, lp) == 0
    receipt = settle(chain, pool, rid, [feed], owner)
    [log] = receipt.events.filter(pool.RequestExecuted)
    assert (log.controller, log.is_deposit, log.assets, log.shares, log.fee) == (
        stranger.address, False, usd(3_000), par(usd(3_000)), 0)
    assert token.balanceOf(stranger) == MINT + usd(3_000) and pool.totalSupply() == LP_SHARES - par(usd(3_000))


def test_sync_erc4626_entry_points_revert(pool, lp, snapshot):
    before = snapshot(holders=[lp])
    for call in (lambda: pool.deposit(1, lp, sender=lp), lambda: pool.mint(1, lp, sender=lp),
                 lambda: pool.withdraw(1, lp, lp, sender=lp), lambda: pool.redeem(1, lp, lp, sender=lp)):
        with ape.reverts(SYNC_DISABLED):
            call()
    assert snapshot(holders=[lp]) == before
    assert (pool.maxDeposit(lp), pool.maxMint(lp), pool.maxWithdraw(lp), pool.maxRedeem(lp)) == (0, 0, 0, 0)


def test_conversion_views_at_market_value(pool):
    assert pool.convertToShares(usd(7)) == par(usd(7)) == pool.previewDeposit(usd(7))
    assert pool.convertToAssets(par(usd(7))) == usd(7) == pool.previewRedeem(par(usd(7)))
    assert (pool.previewMint(par(usd(7))), pool.previewWithdraw(usd(7))) == (usd(7), par(usd(7)))
    assert (pool.previewRedeem(1), pool.previewMint(1)) == (0, 1)
    assert pool.free_assets() == LP_DEPOSIT


def test_cancel_returns_the_escrow_to_the_owner(pool, token, lp, lp2, stranger):
    d = request_id(pool.requestDeposit(usd(50), stranger, lp2, sender=lp2), pool)
    r = request_id(pool.requestRedeem(par(usd(5)), lp2, lp, sender=lp), pool)
    with ape.reverts("pool: not the request's owner or controller"):
        pool.cancel_request(d, sender=lp)
    receipt = pool.cancel_request(d, sender=stranger)     # the controller may cancel too
    [log] = receipt.events.filter(pool.RequestCancelled)
    assert (log.request_id, log.owner, log.is_deposit, log.amount) == (d, lp2.address, True, usd(50))
    assert token.balanceOf(lp2) == MINT and pool.pending_deposits() == 0
    pool.cancel_request(r, sender=lp)
    assert pool.balanceOf(lp) == LP_SHARES
    with ape.reverts("pool: no pending request"):
        pool.cancel_request(r, sender=lp)


def test_request_reverts_leave_everything_unchanged(chain, pool, token, lp, lp2, stranger):
    before = pool_state(pool, token, lp, lp2, stranger)
    cases = [
        ("pool: owner must be the caller", lambda: pool.requestDeposit(1, lp2, lp, sender=lp2)),
        ("pool: zero controller", lambda: pool.requestDeposit(1, ZERO, lp2, sender=lp2)),
        ("pool: zero assets", lambda: pool.requestDeposit(0, lp2, lp2, sender=lp2)),
        ("erc20: insufficient allowance", lambda: pool.requestDeposit(1, stranger, stranger, sender=stranger)),
        ("erc20: transfer amount exceeds balance", lambda: pool.requestDeposit(MINT + 1, lp2, lp2, sender=lp2)),
        ("pool: zero controller", lambda: pool.requestRedeem(1, ZERO, lp, sender=lp)),
        ("pool: zero shares", lambda: pool.requestRedeem(0, lp, lp, sender=lp)),
        ("erc20: transfer amount exceeds balance", lambda: pool.requestRedeem(LP_SHARES + 1, lp, lp, sender=lp)),
        ("erc20: insufficient allowance", lambda: pool.requestRedeem(1, stranger, lp, sender=stranger)),
        ("pool: no pending request", lambda: pool.execute_request(99, sender=stranger)),
        ("pool: no pending request", lambda: pool.cancel_request(99, sender=stranger)),
    ]
    for reason, call in cases:
        with ape.reverts(reason):
            call()
    assert pool_state(pool, token, lp, lp2, stranger) == before


def test_a_redeem_beyond_free_assets_stays_pending(chain, engine, pool, token, lp, alice, feed, owner, open_pos):
    open_pos(alice, usd(100_000), usd(10_100))       # reserves 300,000 of the pool
    rid = request_id(pool.requestRedeem(LP_SHARES, lp, lp, sender=lp), pool)
    with ape.reverts("pool: assets reserved for open positions"):
        settle(chain, pool, rid, [feed], owner)
    assert pool.pendingRedeemRequest(rid, lp) == LP_SHARES and token.balanceOf(lp) == MINT - LP_DEPOSIT
    # What is free can leave.
    free = pool.free_assets()
    pool.cancel_request(rid, sender=lp)
    assets = lp_redeem(chain, pool, lp, pool.convertToShares(free) * 99 // 100, [feed], owner)
    assert 0 < assets <= free


def test_the_guardian_s_pause_holds_lp_requests_and_executions_not_cancels(chain, engine, pool, token, lp, lp2,
                                                                          stranger, guardian, feed, owner):
    """Issue 9, finding 5: during an oracle incident the guardian pauses,
    and no LP is priced in or out off the bad round: executions wait and
    new requests are refused; cancels stay open (each LP can take its
    escrow back), unpausing resumes."""
    deposit = request_id(pool.requestDeposit(usd(1_000), lp2, lp2, sender=lp2), pool)
    redeem = request_id(pool.requestRedeem(par(usd(500)), lp, lp, sender=lp), pool)
    engine.pause(sender=guardian)
    chain.pending_timestamp = chain.blocks.head.timestamp + LP_REQUEST_DELAY
    feed.set_answer(px(1_000), sender=owner)          # the incident's round
    before = pool_state(pool, token, lp, lp2)
    for rid in (deposit, redeem):
        with ape.reverts("pool: paused, executions wait"):
            pool.execute_request(rid, sender=stranger)
    with ape.reverts("pool: paused"):
        pool.requestDeposit(usd(1), lp2, lp2, sender=lp2)
    with ape.reverts("pool: paused"):
        pool.requestRedeem(par(usd(1)), lp, lp, sender=lp)
    assert pool_state(pool, token, lp, lp2) == before
    pool.cancel_request(redeem, sender=lp)
    assert pool.balanceOf(lp) == LP_SHARES
    engine.unpause(sender=owner)                    # the guardian pauses; the owner unpauses
    assert settle(chain, pool, deposit, [feed], owner, keeper=stranger).events.filter(pool.RequestExecuted)


def test_execute_with_a_bad_price_reverts(chain, pool, lp2, feed, owner):
    rid = request_id(pool.requestDeposit(usd(1), lp2, lp2, sender=lp2), pool)
    chain.pending_timestamp = chain.blocks.head.timestamp + LP_REQUEST_DELAY
    feed.set_answer(0, sender=owner)
    with ape.reverts("oracle: price not positive"):
        pool.execute_request(rid, sender=lp2)
    with ape.reverts("oracle: price not positive"):
        pool.pool_liability()


def test_deposit_worth_no_shares_is_refused(chain, project, fresh_engine, token, lp, owner):
    pool = project.LiquidityPool.at(fresh_engine.POOL())
    token.mint(lp, usd(10), sender=owner)
    token.approve(pool, MAX_UINT256, sender=lp)
    token.transfer(pool, VIRTUAL_SHARES, sender=lp)    # 1 unit now buys 10**6 / (10**6 + 1) = 0 shares
    rid = request_id(pool.requestDeposit(1, lp, lp, sender=lp), pool)
    with ape.reverts("pool: zero shares"):
        settle(chain, pool, rid, [], owner, keeper=lp)
    pool.cancel_request(rid, sender=lp)
    assert lp_deposit(chain, pool, lp, usd(1)) == 999_999     # 10**6 * 10**6 // (10**6 + 1)


def test_redeem_worth_nothing_is_refused(chain, pool, lp, feed, owner):
    rid = request_id(pool.requestRedeem(1, lp, lp, sender=lp), pool)    # 1 share: 10**-6 of a unit
    with ape.reverts("pool: zero assets"):
        settle(chain, pool, rid, [feed], owner)
    assert pool.pendingRedeemRequest(rid, lp) == 1


def test_escrowed_deposits_back_no_reserve(chain, project, fresh_engine, trade, token, lp, alice, owner, feed):
    engine = fresh_engine
    pool = project.LiquidityPool.at(engine.POOL())
    engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    for who in (lp, alice):
        token.mint(who, usd(1_000_000), sender=owner)
        token.approve(pool, MAX_UINT256, sender=who)
        token.approve(engine, MAX_UINT256, sender=who)
        token.approve(engine.ORDERS(), MAX_UINT256, sender=who)
    pool.requestDeposit(usd(500_000), lp, lp, sender=lp)
    assert pool.cash() == 0
    with cancelled("engine: pool liquidity too low"):
        trade.on(engine).open_position(1, True, usd(10_000), usd(1_010), sender=alice)


def test_redeem_fee_is_bounded_and_stays_in_the_pool(chain, project, token, deploy_engine, owner, lp, lp2):
    with ape.reverts("pool: redeem fee above maximum"):
        deploy_engine(token, redeem_fee_bps=101)
    engine = deploy_engine(token, redeem_fee_bps=30)
    pool = project.LiquidityPool.at(engine.POOL())
    assert pool.REDEEM_FEE_BPS() == 30
    for who in (lp, lp2):
        token.mint(who, usd(10_000), sender=owner)
        token.approve(pool, MAX_UINT256, sender=who)
        lp_deposit(chain, pool, who, usd(10_000))
    assert pool.previewRedeem(par(usd(10_000))) == usd(9_970)
    assert lp_redeem(chain, pool, lp2, par(usd(10_000))) == usd(9_970)
    assert pool.cash() == usd(10_030)


def _position(v) -> Position:
    return Position(owner=v.owner, market_id=v.market_id, is_long=v.is_long, max_profit_bps=v.max_profit_bps,
                    maintenance_margin_bps=v.maintenance_margin_bps, liquidation_fee_bps=v.liquidation_fee_bps,
                    generation=0, is_open=v.is_open, size=v.size, collateral=v.collateral,
                    entry_price=v.entry_price, entry_index=v.entry_index)


def chain_sums(engine, pids, is_long) -> Side:
    units = weight = collateral = reserve = size = 0
    for pid in pids:
        pos = _position(engine.position(pid))
        if pos.is_open and pos.is_long == is_long:
            u, w, _ = _terms(pos)
            units, weight, size = units + u, weight + w, size + pos.size
            collateral, reserve = collateral + pos.collateral, reserve + _reserve(pos.size, pos.max_profit_bps)
    return Side(size, units, weight, collateral, reserve)


def test_valuation_against_the_positions(chain, engine, trade, pool, alice, bob, feed, owner, open_pos, clock):
    clock.at(1)
    a, _ = open_pos(alice, usd(100_000), usd(10_100))
    b, _ = open_pos(bob, usd(40_000), usd(4_040), is_long=False)
    clock.at(500)
    engine.add_collateral(a, usd(7), sender=alice)
    clock.at(900)
    trade.increase_position(b, usd(5_000), usd(600), sender=bob)
    clock.at(1_300)
    feed.set_answer(px(2_150), sender=owner)
    clock.at(1_400)
    trade.decrease_position(a, usd(30_000), sender=alice)
    clock.mine(2_000)
    price = px(2_150)
    st = engine.market_state(1)
    index = st.borrow_index + ETH_PARAMS.borrow_rate * (chain.blocks.head.timestamp - st.last_accrual)
    sides = {}
    for is_long in (True, False):
        side = Side(*engine.exposure(1, is_long))
        assert side == chain_sums(engine, [a, b], is_long)
        sides[is_long] = side
    liability, oldest = pool.pool_liability()
    assert oldest == feed.latestRoundData()[3]
    assert liability == _claim(sides[True], True, price, index) + _claim(sides[False], False, price, index)
    # Against the per-position clamped claims, within the bound of exposure.vy.
    total, bound = 0, 4 + 2 * 3
    for pid in (a, b):
        pos = _position(engine.position(pid))
        fee = _borrow_fee(pos.size, pos.entry_index, index)
        c = max(_capped_pnl(pos, price) - fee, -pos.collateral)
        total += c
        bound += abs(_pnl(pos.is_long, pos.size, pos.entry_price, price) - fee - c)
    assert abs(liability - total) <= bound
    assert pool.totalAssets() == pool.cash() - liability
    trade.close_position(a, sender=alice)
    trade.close_position(b, sender=bob)
    assert tuple(engine.exposure(1, True)) == tuple(engine.exposure(1, False)) == (0, 0, 0, 0, 0)
    assert pool.pool_liability()[0] == 0


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


def test_share_token_metadata_and_permit_domain(pool, token, chain):
    fields, name, version, chain_id, verifying, salt, extensions = pool.eip712Domain()
    assert (name, version, chain_id, verifying) == ("isomargin LP", "1", chain.chain_id, pool.address)
    assert pool.nonces(ZERO) == 0
    assert len(bytes(pool.DOMAIN_SEPARATOR())) == 32
    assert (pool.decimals(), pool.asset()) == (6 + 6, token.address)
