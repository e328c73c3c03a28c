"""The model's event log: what each call logs, in the contracts' order and
with their figures, and that a reverted call (or a what-if) logs nothing."""
from dataclasses import replace

from model import ZERO_ADDRESS, Emitted
from model.engine_events import PositionClosed, PositionDecreased, PositionOpened
from model.guardian import GuardianSet, Paused
from model.markets import BorrowIndexAccrued
from model.ownable import OwnershipTransferred
from model.pool import DepositRequested, RedeemRequested, RequestCancelled, RequestExecuted
from model.positions import VaultCreated
from model.token import MAX_UINT256, Approval, RoleMinterChanged, Transfer

from .support import ALICE, BOB, EXECUTION_FEE, GUARDIAN, KEEPER, LP, OWNER, P0, USDC, expect_revert, make_world


def names(entries):
    return [e.name for e in entries]


def test_construction_logs_as_the_deployment_does():
    w = make_world(lp_deposit=0, insurance=0)
    t, e, pool = w.token.address, w.engine.address, w.pool.address
    head = w.p.events[:7]
    assert head == [
        Emitted(t, OwnershipTransferred(ZERO_ADDRESS, OWNER)),
        Emitted(t, RoleMinterChanged(OWNER, True)),
        Emitted(e, OwnershipTransferred(ZERO_ADDRESS, OWNER)),
        # The engine creates the pool: its owner and minter, and its allowance.
        Emitted(pool, OwnershipTransferred(ZERO_ADDRESS, e)),
        Emitted(pool, RoleMinterChanged(e, True)),
        Emitted(t, Approval(pool, e, MAX_UINT256)),
        # Then the order book, which approves the engine for its escrow.
        Emitted(t, Approval(w.p.orders.address, e, MAX_UINT256)),
    ]
    # make_world adds the feed and lists the market after funding (and seeding) the pool.
    assert names(w.p.events[-3:]) == ["AnswerUpdated", "MarketListed", "MarketParamsSet"]


def test_a_reverted_call_leaves_no_events():
    w = make_world()
    w.wait(60)
    broke = "broke"
    w.token.approve(w.p.orders.address, MAX_UINT256, sender=broke)
    mark = w.p.events_mark()
    # The escrow's transfer fails inside the request.
    undone = expect_revert(w.p, "erc20: transfer amount exceeds balance", w.trades.open_position, w.market, True,
                           10_000 * USDC, 1_010 * USDC, sender=broke)
    assert undone > 0
    assert w.p.events_mark() == mark


def test_a_what_if_leaves_no_events():
    w = make_world()
    pid = w.open()
    mark = w.p.events_mark()
    with w.p.journal.savepoint():
        w.wait(10)
        w.trades.close_position(pid, sender=ALICE)
        assert "PositionClosed" in names(w.p.events_since(mark))
    assert w.p.events_mark() == mark


def test_open_logs_accrual_vault_transfers_then_position_opened():
    w = make_world()
    w.wait(60)
    mark = w.p.events_mark()
    pid = w.open()
    got = w.p.events_since(mark)
    # The request (escrow in, OrderRequested), the fresh round, then the
    # execution: the engine's events, the keeper's fee, OrderExecuted.
    assert names(got) == ["Transfer", "OrderRequested", "AnswerUpdated", "BorrowIndexAccrued", "VaultCreated",
                          "Transfer", "Transfer", "PositionOpened", "Transfer", "OrderExecuted"]
    e, vault, orders = w.engine, w.vault(pid), w.p.orders.address
    st = e.market_state(w.market)
    fee = 10 * USDC
    assert got[0] == Emitted(w.token.address, Transfer(ALICE, orders, 1_010 * USDC + EXECUTION_FEE))
    got = got[3:]
    assert got[0] == Emitted(e.address, BorrowIndexAccrued(w.market, st.borrow_index, w.p.env.timestamp))
    assert got[1] == Emitted(e.address, VaultCreated(pid >> 32, vault))
    assert got[2] == Emitted(w.token.address, Transfer(orders, vault, 1_000 * USDC))
    assert got[3] == Emitted(w.token.address, Transfer(orders, w.pool.address, fee))
    assert got[4].event == PositionOpened(pid, ALICE, w.market, True, 10_000 * USDC, 1_000 * USDC, P0,
                                          st.borrow_index, 30_000, fee, vault)
    assert got[5] == Emitted(w.token.address, Transfer(orders, ALICE, EXECUTION_FEE))
    # Same block again: no accrual; a recycled vault: no creation.
    w.trades.close_position(pid, sender=ALICE)
    mark = w.p.events_mark()
    w.open()
    assert "BorrowIndexAccrued" not in names(w.p.events_since(mark))
    assert "VaultCreated" not in names(w.p.events_since(mark))


def test_close_logs_the_settlement_it_returns():
    w = make_world()
    pid = w.open()
    w.wait(600)
    w.set_price(P0 * 11 // 10)
    mark = w.p.events_mark()
    s = w.trades.close_position(pid, sender=ALICE)
    closed = w.p.events_since(mark, "PositionClosed")
    assert closed == [Emitted(w.engine.address, PositionClosed(
        pid, P0 * 11 // 10, s.pnl, s.borrow_fee, s.trading_fee, s.to_trader + s.from_pool, s.to_pool, s.bad_debt, 0))]
    # then the book's payouts: the rest to the owner, the keeper's fee out of it, and OrderExecuted
    assert w.p.events[-4] == closed[0]


def test_bad_debt_close_logs_the_insurance_cover():
    w = make_world(insurance=1 * USDC)
    pid = w.open()
    w.set_price(P0 // 2)
    mark = w.p.events_mark()
    s = w.trades.close_position(pid, sender=ALICE)
    ev = w.p.events_since(mark, "PositionClosed")[0].event
    assert s.bad_debt > 1 * USDC and ev.bad_debt == s.bad_debt and ev.insurance_cover == 1 * USDC
    # The last: a bankrupt close pays nothing to the book, so its keeper earns nothing either.
    cover = w.p.events_since(mark, "Transfer", address=w.token.address)[-1].event
    assert cover == Transfer(w.engine.INSURANCE, w.pool.address, 1 * USDC)


def test_decrease_returns_what_it_logs_and_the_position_agrees():
    w = make_world()
    pid = w.open()
    w.wait(3_600)
    w.set_price(P0 * 105 // 100)
    before = w.engine.position(pid)
    mark = w.p.events_mark()
    ev = w.trades.decrease_position(pid, 2_500 * USDC, sender=ALICE)
    assert isinstance(ev, PositionDecreased)
    assert w.p.events_since(mark, "PositionDecreased") == [Emitted(w.engine.address, ev)]
    after = w.engine.position(pid)
    assert (ev.size, ev.collateral, ev.entry_index) == (after.size, after.collateral, after.entry_index)
    assert ev.size == before.size - ev.size_delta
    assert ev.to_pool == before.collateral - after.collateral
    assert ev.to_trader - ev.to_pool == ev.pnl - ev.borrow_fee - ev.close_fee
    assert ev.to_trader == 0 or ev.to_pool == 0


def test_liquidate_logs_what_it_returns():
    w = make_world()
    pid = w.open()
    w.set_price(P0 * 94 // 100)
    mark = w.p.events_mark()
    out = w.engine.liquidate(pid, sender=BOB)
    ev = w.p.events_since(mark, "PositionLiquidated")[0].event
    assert ev.position_id == pid and ev.liquidator == BOB
    assert out == ev        # what it returns is the event it logged


def test_pause_and_governance_log():
    w = make_world()
    mark = w.p.events_mark()
    w.engine.pause(sender=GUARDIAN)
    w.engine.unpause(sender=OWNER)
    w.engine.set_guardian(BOB, sender=OWNER)
    w.engine.set_market_feed(w.market, w.feed.address, sender=OWNER)
    w.wait(10)
    w.engine.set_market_params(w.market, replace(w.engine.market_params(w.market), close_fee_bps=20), sender=OWNER)
    got = w.p.events_since(mark)
    assert names(got) == ["Paused", "Unpaused", "GuardianSet", "MarketFeedSet", "BorrowIndexAccrued",
                          "MarketParamsSet"]
    assert got[0].event == Paused(GUARDIAN)
    assert got[5].event.borrow_index == got[4].event.borrow_index == w.engine.market_state(w.market).borrow_index


def test_pool_requests_log_request_and_execution():
    w = make_world(lp_deposit=0)
    t, pool = w.token.address, w.pool.address
    mark = w.p.events_mark()
    rid = w.pool.requestDeposit(1_000 * USDC, LP, LP, sender=LP)
    assert w.p.events_since(mark) == [
        Emitted(t, Transfer(LP, pool, 1_000 * USDC)),       # LP's allowance is infinite: no Approval
        Emitted(pool, DepositRequested(rid, LP, LP, LP, 1_000 * USDC)),
    ]
    mark = w.p.events_mark()
    done = w.p.settle_lp_request(rid, keeper=KEEPER)
    shares = done.shares
    assert w.p.events_since(mark, "Transfer", "RequestExecuted") == [
        Emitted(pool, Transfer(ZERO_ADDRESS, LP, shares)),
        Emitted(pool, RequestExecuted(rid, LP, True, 1_000 * USDC, shares, 0)),
    ]
    w.pool.approve(BOB, shares, sender=LP)
    mark = w.p.events_mark()
    rid = w.pool.requestRedeem(shares // 2, BOB, LP, sender=BOB)
    assert w.p.events_since(mark) == [
        Emitted(pool, Approval(LP, BOB, shares - shares // 2)),
        Emitted(pool, Transfer(LP, pool, shares // 2)),
        Emitted(pool, RedeemRequested(rid, BOB, LP, BOB, shares // 2)),
    ]
    mark = w.p.events_mark()
    w.pool.cancel_request(rid, sender=BOB)
    assert w.p.events_since(mark) == [
        Emitted(pool, Transfer(pool, LP, shares // 2)),
        Emitted(pool, RequestCancelled(rid, LP, False, shares // 2)),
    ]


def test_feed_logs_answer_updated():
    w = make_world()
    w.wait(5)
    w.feed.set_round(123, w.p.env.timestamp - 1, sender=OWNER)
    last = w.p.events[-1]
    assert last.address == w.feed.address and last.event.args() == dict(
        current=123, roundId=w.feed.round_id, updatedAt=w.p.env.timestamp - 1)


def test_record_events_false_keeps_no_log_and_changes_nothing_else():
    from model import Protocol
    p = Protocol(deployer=OWNER, guardian=GUARDIAN, record_events=False)
    feed = p.add_feed("feed", 8, P0)
    market = p.engine.list_market(feed.address, make_world().engine.market_params(1), sender=OWNER)
    assert market == 1 and p.events is None and p.journal.log == []
