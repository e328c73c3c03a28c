"""How the engine, vaults and pool react to a collateral token that
returns False or delivers less than asked (FaultyToken, tests/unit/support).

`faulty` is a second protocol over FaultyToken: ETH market 1, a 1,000,000
pool funded by lp, 10,000 of insurance, alice funded and approved.
"""
import ape

from .helpers import cancelled, MAX_UINT256, VIRTUAL_SHARES, ZERO, request_id, settle, usd

SIZE = usd(10_000)
AMOUNT = usd(1_010)


def _configure(tok, owner, *, approve=True, transfer=True, fail_from=ZERO, fail_to=ZERO, skim=0):
    tok.configure(approve, transfer, fail_from, fail_to, skim, sender=owner)


def _opened(engine, receipt):
    return receipt.events.filter(engine.PositionOpened)[0].position_id


def test_faulty_world_trades_when_well_behaved(trade, faulty, alice):
    tok, engine, pool = faulty
    trade = trade.on(engine)
    pid = _opened(engine, trade.open_position(1, True, SIZE, AMOUNT, sender=alice))
    assert tok.balanceOf(engine.position(pid).vault) == usd(1_000)
    trade.close_position(pid, sender=alice)
    assert engine.open_positions() == 0


def test_fee_on_transfer_collateral_is_refused(trade, faulty, owner, alice):
    tok, engine, pool = faulty
    trade = trade.on(engine)
    pid = _opened(engine, trade.open_position(1, True, SIZE, AMOUNT, sender=alice))
    _configure(tok, owner, skim=1)
    balance = tok.balanceOf(alice)
    # Orders escrow first: a short escrow is refused by the order book.
    with ape.reverts("orders: token transfer not exact"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice)
    with ape.reverts("engine: token transfer not exact"):
        engine.add_collateral(pid, usd(1), sender=alice)
    with ape.reverts("orders: token transfer not exact"):
        trade.increase_position(pid, usd(100), usd(100), sender=alice)
    with ape.reverts("engine: token transfer not exact"):
        engine.fund_insurance(usd(1), sender=alice)
    assert tok.balanceOf(alice) == balance
    assert engine.position(pid).collateral == usd(1_000)


def test_fee_on_transfer_deposit_is_refused(faulty, owner, lp):
    tok, engine, pool = faulty
    _configure(tok, owner, skim=1)
    shares = pool.totalSupply()
    with ape.reverts("pool: token transfer not exact"):
        pool.requestDeposit(usd(1), lp, lp, sender=lp)
    assert pool.totalSupply() == shares and pool.pending_deposits() == 0


def test_collateral_pull_returning_false(trade, faulty, owner, alice):
    tok, engine, pool = faulty
    trade = trade.on(engine)
    pid = _opened(engine, trade.open_position(1, True, SIZE, AMOUNT, sender=alice))
    # The engine pulls the collateral out of the order book's escrow.
    _configure(tok, owner, fail_from=engine.ORDERS())
    with cancelled("engine: transfer failed"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice)
    _configure(tok, owner, fail_from=alice.address)
    with ape.reverts("orders: transfer failed"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice)
    with ape.reverts("engine: transfer failed"):
        engine.add_collateral(pid, usd(1), sender=alice)
    with ape.reverts("engine: transfer failed"):
        engine.fund_insurance(usd(1), sender=alice)
    assert engine.open_positions() == 1


def test_open_fee_transfer_returning_false(trade, faulty, owner, alice):
    # The collateral reaches the new vault; the fee to the pool does not.
    tok, engine, pool = faulty
    trade = trade.on(engine)
    _configure(tok, owner, fail_to=pool.address)
    with cancelled("engine: transfer failed"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=alice)
    assert engine.vault_count() == 0


def test_profit_payment_from_pool_returning_false(trade, faulty, owner, alice, feed):
    tok, engine, pool = faulty
    trade = trade.on(engine)
    pid = _opened(engine, trade.open_position(1, True, SIZE, AMOUNT, sender=alice))
    feed.set_answer(2_200 * 10**8, sender=owner)
    _configure(tok, owner, fail_from=pool.address)
    with cancelled("engine: transfer failed"):
        trade.close_position(pid, sender=alice)
    with cancelled("engine: transfer failed"):
        trade.decrease_position(pid, usd(5_000), sender=alice)
    assert engine.position(pid).size == SIZE


def test_vault_transfer_returning_false(trade, faulty, owner, alice):
    tok, engine, pool = faulty
    trade = trade.on(engine)
    pid = _opened(engine, trade.open_position(1, True, SIZE, AMOUNT, sender=alice))
    _configure(tok, owner, transfer=False)
    # The vault refuses: the engine reverts with the vault's reason and the
    # book cancels the close (it escrowed no keeper's fee, so nothing else
    # moves); the position stays open, its vault whole.
    with cancelled("vault: transfer failed"):
        trade.close_position(pid, sender=alice)
    assert engine.position(pid).is_open is True
    assert tok.balanceOf(engine.position(pid).vault) == usd(1_000)


def test_pool_token_calls_returning_false(chain, faulty, owner, lp, feed):
    tok, engine, pool = faulty
    _configure(tok, owner, fail_from=lp.address)
    with ape.reverts("pool: transfer failed"):
        pool.requestDeposit(usd(1), lp, lp, sender=lp)
    _configure(tok, owner)
    deposit = request_id(pool.requestDeposit(usd(1), lp, lp, sender=lp), pool)
    redeem = request_id(pool.requestRedeem(usd(1), lp, lp, sender=lp), pool)
    _configure(tok, owner, transfer=False)
    with ape.reverts("pool: transfer failed"):
        settle(chain, pool, redeem, [feed], owner)
    with ape.reverts("pool: transfer failed"):
        pool.cancel_request(deposit, sender=lp)
    assert pool.pendingRedeemRequest(redeem, lp) == usd(1)
    assert pool.pendingDepositRequest(deposit, lp) == usd(1)
    assert pool.balanceOf(lp) == usd(1_000_000) * VIRTUAL_SHARES - usd(1)   # the first deposit, less the escrow
    assert tok.allowance(pool, engine) == MAX_UINT256
