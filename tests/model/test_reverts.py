"""Every revert reason of model/engine.py and model/pool.py, each reached
through public calls, and each leaving every storage value as it was.

Cases marked `late` revert after the call has already written something
(an accrued index, a popped free slot, a stored position, a token moved by
a nested call that succeeded): those are the ones that prove the rollback,
so the test insists that writes were actually undone.

Not reachable, and so not here:
  * Engine._add_open_interest's underflow: open interest is only ever
    reduced by the size of a position counted in it; were it not, the model
    reverts with no reason, as checked arithmetic does on chain.
  * "erc20: burn from the zero address" (pool withdraw/redeem with owner 0):
    the zero address holds no shares, so the maximum checks fail first.
  * "engine: size too large" from increase_position: the position's own size
    is part of its side's open interest, so `oi + size_delta <= oi_cap <=
    2**128 - 1` already bounds the new size.
"""
from dataclasses import dataclass
from typing import Callable

import pytest

from model import ZERO_ADDRESS
from model.markets import MAX_BORROW_RATE, MAX_MIN_LIQUIDATION_REWARD, MAX_STALENESS
from model import Protocol
from model.pool import DECIMALS_OFFSET, LP_REQUEST_DELAY, MAX_REDEEM_FEE_BPS, SYNC_DISABLED
from model.positions import GEN_MASK
from model.risk import MAX_U128

from .support import (ALICE, BOB, GUARDIAN, KEEPER, LP, LP2, OWNER, P0, SIMPLE, STRANGER, USDC, World, expect_revert,
                      make_world, params)

S, C, A = 10_000_000_000, 1_000_000_000, 1_010_000_000


@dataclass
class Case:
    name: str
    reason: str
    setup: Callable[[World], Callable[[], object]]
    late: bool = False
    world: dict = None


def opened(w: World, who=ALICE, is_long=True) -> int:
    """The standard 10x position, then a minute so that any accrual writes."""
    pid = w.open(who=who, is_long=is_long, size=S, amount=A)
    w.wait(60)
    return pid


def closed_id(w):
    pid = opened(w)
    w.trades.close_position(pid, sender=ALICE)
    return pid


def _feed(w, address, decimals, answer):
    """One more feed in the world, where the engine's rules look feeds up."""
    return w.p.add_feed(address, decimals, answer)


def _paused(w):
    w.engine.pause(sender=GUARDIAN)


def _gen_exhausted(w):
    pid = closed_id(w)
    # Test-only tampering (outside any transaction): pretend slot 1 has been
    # used 2**32 - 1 times, which no test could do by opening and closing.
    w.engine.slots_[pid >> 32] = w.engine.slots_[pid >> 32].__class__(
        **{**w.engine.slots_[pid >> 32].__dict__, "generation": GEN_MASK})
    return lambda: w.open(BOB)


def _nested_fee_transfer_fails(w):
    # Dave can pay the collateral but not the whole escrow (open fee and
    # execution fee on top): the request is refused, nothing is left behind.
    w.token.mint("dave", C, sender=OWNER)
    w.token.approve(w.p.orders.address, 2**256 - 1, sender="dave")
    return lambda: w.open(who="dave")


def _revoked(w, spender):
    w.token.approve(spender, 0, sender=STRANGER)


ENGINE = [
    # ---- open_position
    # The order book refuses risk-adding requests while paused; the engine's
    # own check stays (reached only as the order book, were its check gone).
    Case("open while paused", "orders: paused", lambda w: (_paused(w), lambda: w.open())[1]),
    Case("open while paused, as the order book", "engine: paused",
         lambda w: (_paused(w), lambda: w.engine.open_position(ALICE, w.market, True, S, A, MAX_U128,
                                                               w.p.env.timestamp - 1, sender=w.engine.ORDERS))[1]),
    Case("execute an open requested before the pause", "orders: paused, opens and increases wait",
         lambda w: (oid := w.p.orders.request_open(w.market, True, S, A, MAX_U128, sender=ALICE),
                    w.wait(1), w.set_price(P0), _paused(w),
                    lambda: w.p.orders.execute_order(oid, sender=KEEPER))[-1]),
    Case("open on an unlisted market", "engine: unknown market", lambda w: lambda: w.open(market=2)),
    Case("open zero size", "engine: zero size", lambda w: lambda: w.open(size=0)),
    Case("open size over 128 bits", "orders: size too large", lambda w: lambda: w.open(size=MAX_U128 + 1, amount=1)),
    Case("open amount over 128 bits", "orders: amount too large",
         lambda w: lambda: w.open(amount=MAX_U128 + 1)),
    Case("open amount equal to the fee", "engine: amount does not cover the open fee",
         lambda w: lambda: w.open(amount=10_000_000)),
    Case("open below minimum collateral", "engine: collateral below minimum",
         lambda w: lambda: w.open(size=100_000_000, amount=10_000_000)),
    Case("open above max leverage", "engine: leverage above maximum", lambda w: lambda: w.open(amount=A - 1)),
    Case("open past the OI cap", "engine: open interest cap reached",
         lambda w: lambda: w.open(size=SIMPLE.oi_cap + 1, amount=101_000_000_002)),
    Case("open without pool liquidity", "engine: pool liquidity too low", lambda w: lambda: w.open(),
         world=dict(lp_deposit=10_000 * USDC)),
    Case("open on an exhausted slot", "engine: slot generations exhausted", _gen_exhausted, late=True),
    Case("open without allowance", "erc20: insufficient allowance",
         lambda w: (_revoked(w, w.p.orders.address), lambda: w.open(who=STRANGER))[1], late=True),
    Case("open with balance for collateral only", "erc20: transfer amount exceeds balance",
         _nested_fee_transfer_fails, late=True),
    Case("open with a zero answer", "oracle: price not positive",
         lambda w: (w.wait(60), w.set_price(0), lambda: w.open())[2], late=True),
    Case("open with a negative answer", "oracle: price not positive",
         lambda w: (w.wait(60), w.set_price(-P0), lambda: w.open())[2], late=True),
    Case("open with a stale answer", "oracle: price is stale", lambda w: (w.wait(3_601), lambda: w.open(delay=3_601))[1],
         late=True),
    Case("open with a 129-bit answer", "oracle: price out of range",
         lambda w: (w.wait(60), w.set_price(MAX_U128 + 1), lambda: w.open())[2], late=True),
    # Only the model can get here: at the highest rate an EVM timestamp would
    # need ~1e27 seconds. The index check still precedes the oracle's.
    Case("open after the index overflows", "engine: borrow index overflow",
         lambda w: (w.engine.set_market_params(w.market, params(borrow_rate=MAX_BORROW_RATE), sender=OWNER),
                    w.wait(MAX_U128 // MAX_BORROW_RATE + 1),
                    # Past any timestamp a round can carry: only a direct call (as the order book) reaches it.
                    lambda: w.engine.open_position(ALICE, w.market, True, S, C, MAX_U128, 0,
                                                   sender=w.engine.ORDERS))[2]),
    Case("open size over 128 bits, as the order book", "engine: size too large",
         lambda w: lambda: w.engine.open_position(ALICE, w.market, True, MAX_U128 + 1, C, MAX_U128, 0,
                                                  sender=w.engine.ORDERS)),
    Case("open amount over 128 bits, as the order book", "engine: amount too large",
         lambda w: lambda: w.engine.open_position(ALICE, w.market, True, S, MAX_U128 + 1, MAX_U128, 0,
                                                  sender=w.engine.ORDERS)),
    Case("open by anyone but the order book", "engine: only the order book",
         lambda w: lambda: w.engine.open_position(ALICE, w.market, True, S, C, MAX_U128, 0, sender=ALICE)),
    Case("open above the acceptable price", "engine: price beyond the acceptable price",
         lambda w: lambda: w.open(acceptable_price=P0 - 1)),
    Case("close at a round older than the request", "engine: no price round after the request",
         lambda w: (lambda pid: lambda: w.engine.close_position(ALICE, pid, 0, w.p.env.timestamp,
                                                                sender=w.engine.ORDERS))(opened(w))),
    Case("a slot view of slot 0", "engine: no such slot", lambda w: lambda: w.engine.slot(0)),
    Case("a slot view past vault_count", "engine: no such slot",
         lambda w: lambda: w.engine.slot(w.engine.vault_count + 1)),
    # ---- add_collateral
    Case("add to a never-opened id", "engine: position not open",
         lambda w: lambda: w.engine.add_collateral((7 << 32) | 1, 1, sender=ALICE)),
    Case("add to a closed id", "engine: position not open",
         lambda w: (lambda pid: lambda: w.engine.add_collateral(pid, 1, sender=ALICE))(closed_id(w))),
    Case("add to an id of the slot's previous generation", "engine: position not open",
         lambda w: (lambda old: (w.open(BOB), lambda: w.engine.add_collateral(old, 1, sender=ALICE))[1])(closed_id(w))),
    Case("add by a stranger", "engine: caller is not the position owner",
         lambda w: (lambda pid: lambda: w.engine.add_collateral(pid, 1, sender=STRANGER))(opened(w))),
    Case("add zero", "engine: zero amount",
         lambda w: (lambda pid: lambda: w.engine.add_collateral(pid, 0, sender=ALICE))(opened(w))),
    Case("add past 128 bits", "engine: collateral too large",
         lambda w: (lambda pid: lambda: w.engine.add_collateral(pid, MAX_U128, sender=ALICE))(opened(w))),
    Case("add more than the balance", "erc20: transfer amount exceeds balance",
         lambda w: (lambda pid: lambda: w.engine.add_collateral(pid, w.bal(ALICE) + 1, sender=ALICE))(opened(w)),
         late=True),
    # ---- remove_collateral
    Case("remove while paused", "engine: paused",
         lambda w: (lambda pid: (_paused(w), lambda: w.engine.remove_collateral(pid, 1, sender=ALICE))[1])(opened(w))),
    Case("remove from a closed id", "engine: position not open",
         lambda w: (lambda pid: lambda: w.engine.remove_collateral(pid, 1, sender=ALICE))(closed_id(w))),
    Case("remove by a stranger", "engine: caller is not the position owner",
         lambda w: (lambda pid: lambda: w.engine.remove_collateral(pid, 1, sender=STRANGER))(opened(w))),
    Case("remove zero", "engine: zero amount",
         lambda w: (lambda pid: lambda: w.engine.remove_collateral(pid, 0, sender=ALICE))(opened(w))),
    Case("remove all collateral", "engine: amount exceeds collateral",
         lambda w: (lambda pid: lambda: w.engine.remove_collateral(pid, C, sender=ALICE))(opened(w))),
    Case("remove below the minimum", "engine: collateral below minimum",
         lambda w: (lambda pid: (w.set_price(4_000 * 10**8),
                                 lambda: w.engine.remove_collateral(pid, C - 10 * USDC + 1, sender=ALICE))[1])(opened(w))),
    Case("remove below initial margin", "engine: margin too low",
         lambda w: (lambda pid: lambda: w.engine.remove_collateral(pid, 1, sender=ALICE))(opened(w)), late=True),
    Case("remove with a stale answer", "oracle: price is stale",
         lambda w: (lambda pid: (w.wait(3_600), lambda: w.engine.remove_collateral(pid, 1, sender=ALICE))[1])(opened(w)),
         late=True),
    # ---- increase_position
    Case("increase while paused", "orders: paused",
         lambda w: (lambda pid: (_paused(w), lambda: w.trades.increase_position(pid, 1, 0, sender=ALICE))[1])(opened(w))),
    Case("increase while paused, as the order book", "engine: paused",
         lambda w: (lambda pid: (_paused(w), lambda: w.engine.increase_position(
             ALICE, pid, 1, 0, MAX_U128, w.p.env.timestamp - 1, sender=w.engine.ORDERS))[1])(opened(w))),
    Case("execute an increase requested before the pause", "orders: paused, opens and increases wait",
         lambda w: (lambda pid: (oid := w.p.orders.request_increase(pid, 1, 0, MAX_U128, sender=ALICE),
                                 w.wait(1), w.set_price(P0), _paused(w),
                                 lambda: w.p.orders.execute_order(oid, sender=KEEPER))[-1])(opened(w))),
    Case("increase a closed id", "engine: position not open",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, 1, 0, sender=ALICE))(closed_id(w))),
    Case("increase by a stranger", "engine: caller is not the position owner",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, 1, 0, sender=STRANGER))(opened(w))),
    Case("increase by zero", "engine: zero size",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, 0, C, sender=ALICE))(opened(w))),
    Case("increase whose open fee eats the collateral", "engine: collateral does not cover fees",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, 1_000 * S, 0, sender=ALICE))(opened(w)),
         late=True),
    Case("increase above max leverage", "engine: leverage above maximum",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, S, 0, sender=ALICE))(opened(w)), late=True),
    Case("increase past the OI cap", "engine: open interest cap reached",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, SIMPLE.oi_cap - S + 1, 200_000 * USDC,
                                                                   sender=ALICE))(opened(w)), late=True),
    Case("increase without pool liquidity", "engine: pool liquidity too low",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, S, 2 * C, sender=ALICE))(opened(w)),
         late=True, world=dict(lp_deposit=40_000 * USDC)),
    Case("increase with more collateral than the balance", "erc20: transfer amount exceeds balance",
         lambda w: (lambda pid: lambda: w.trades.increase_position(pid, S, w.bal(ALICE) + 1, sender=ALICE))(opened(w)),
         late=True),
    Case("increase with a zero answer", "oracle: price not positive",
         lambda w: (lambda pid: (w.set_price(0), lambda: w.trades.increase_position(pid, 1, 0, sender=ALICE))[1])(opened(w)),
         late=True),
    # ---- decrease_position
    Case("decrease a closed id", "engine: position not open",
         lambda w: (lambda pid: lambda: w.trades.decrease_position(pid, 1, sender=ALICE))(closed_id(w))),
    Case("decrease by a stranger", "engine: caller is not the position owner",
         lambda w: (lambda pid: lambda: w.trades.decrease_position(pid, 1, sender=STRANGER))(opened(w))),
    Case("decrease by zero", "engine: zero size",
         lambda w: (lambda pid: lambda: w.trades.decrease_position(pid, 0, sender=ALICE))(opened(w))),
    Case("decrease the whole size", "engine: decrease covers the whole position, close it",
         lambda w: (lambda pid: lambda: w.trades.decrease_position(pid, S, sender=ALICE))(opened(w))),
    # 60% down: the loss on 9e9 alone, 5.4e9, is more than the 1e9 collateral.
    Case("decrease losing more than the collateral", "engine: loss exceeds collateral, close it",
         lambda w: (lambda pid: (w.set_price(800 * 10**8),
                                 lambda: w.trades.decrease_position(pid, 9 * S // 10, sender=ALICE))[1])(opened(w)),
         late=True),
    # 5.5% down: after taking 1e9 off, equity 448_999_400 < maintenance 4.5e8.
    Case("decrease leaving a liquidatable rest", "engine: position would be liquidatable",
         lambda w: (lambda pid: (w.set_price(1_890 * 10**8),
                                 lambda: w.trades.decrease_position(pid, S // 10, sender=ALICE))[1])(opened(w)),
         late=True),
    Case("decrease with a stale answer", "oracle: price is stale",
         lambda w: (lambda pid: (w.wait(3_600), lambda: w.trades.decrease_position(pid, 1, sender=ALICE, delay=3_601))[1])(opened(w)),
         late=True),
    # ---- close_position
    Case("close a closed id", "orders: not your open position",
         lambda w: (lambda pid: lambda: w.trades.close_position(pid, sender=ALICE))(closed_id(w))),
    Case("close by a stranger", "orders: not your open position",
         lambda w: (lambda pid: lambda: w.trades.close_position(pid, sender=STRANGER))(opened(w))),
    Case("close with a stale answer", "oracle: price is stale",
         lambda w: (lambda pid: (w.wait(3_600), lambda: w.trades.close_position(pid, sender=ALICE, delay=3_601))[1])(opened(w)),
         late=True),
    # ---- liquidate
    Case("liquidate a healthy position", "engine: position is healthy",
         lambda w: (lambda pid: lambda: w.engine.liquidate(pid, sender=STRANGER))(opened(w)), late=True),
    Case("liquidate a closed id", "engine: position not open",
         lambda w: (lambda pid: lambda: w.engine.liquidate(pid, sender=STRANGER))(closed_id(w))),
    Case("liquidate with a zero answer", "oracle: price not positive",
         lambda w: (lambda pid: (w.set_price(0), lambda: w.engine.liquidate(pid, sender=STRANGER))[1])(opened(w)),
         late=True),
    # ---- fund_insurance
    Case("fund insurance with zero", "engine: zero amount",
         lambda w: lambda: w.engine.fund_insurance(0, sender=ALICE)),
    Case("fund insurance without allowance", "erc20: insufficient allowance",
         lambda w: (_revoked(w, w.engine.address), lambda: w.engine.fund_insurance(1, sender=STRANGER))[1]),
    # ---- governance
    Case("list by a stranger", "ownable: caller is not the owner",
         lambda w: lambda: w.engine.list_market(w.feed.address, SIMPLE, sender=STRANGER)),
    Case("list the zero feed", "params: zero feed",
         lambda w: lambda: w.engine.list_market(ZERO_ADDRESS, SIMPLE, sender=OWNER)),
    Case("list market 65_536", "params: too many markets",
         lambda w: ([w.engine.list_market(w.feed.address, SIMPLE, sender=OWNER) for _ in range(65_534)],
                    lambda: w.engine.list_market(w.feed.address, SIMPLE, sender=OWNER))[1]),
    Case("set params by a stranger", "ownable: caller is not the owner",
         lambda w: lambda: w.engine.set_market_params(1, SIMPLE, sender=STRANGER)),
    Case("set params of an unlisted market", "engine: unknown market",
         lambda w: lambda: w.engine.set_market_params(2, SIMPLE, sender=OWNER)),
    Case("set feed by a stranger", "ownable: caller is not the owner",
         lambda w: lambda: w.engine.set_market_feed(1, w.feed.address, sender=STRANGER)),
    Case("set feed of an unlisted market", "engine: unknown market",
         lambda w: lambda: w.engine.set_market_feed(2, w.feed.address, sender=OWNER)),
    Case("set the zero feed", "params: zero feed",
         lambda w: lambda: w.engine.set_market_feed(1, ZERO_ADDRESS, sender=OWNER)),
    Case("list a feed that answers no decimals", "feed: no decimals() answer",
         lambda w: lambda: w.engine.list_market(STRANGER, SIMPLE, sender=OWNER)),
    Case("list a feed of 19 decimals", "feed: more than 18 decimals",
         lambda w: (lambda f: lambda: w.engine.list_market(f.address, SIMPLE, sender=OWNER))(
             _feed(w, "feed:wide", 19, 2_000 * 10**19))),
    Case("move to a feed of other decimals", "feed: decimals differ from the market's feed",
         lambda w: (lambda f: lambda: w.engine.set_market_feed(1, f.address, sender=OWNER))(
             _feed(w, "feed:18", 18, 2_000 * 10**18))),
    Case("move to a feed without an answer", "feed: no positive answer",
         lambda w: (lambda f: lambda: w.engine.set_market_feed(1, f.address, sender=OWNER))(
             _feed(w, "feed:silent", 8, 0))),
    Case("move to a feed 5% and one unit away", "feed: answer too far from the market's feed",
         lambda w: (lambda f: lambda: w.engine.set_market_feed(1, f.address, sender=OWNER))(
             _feed(w, "feed:far", 8, w.feed.answer * 105 // 100 + 1))),
    Case("set guardian by a stranger", "ownable: caller is not the owner",
         lambda w: lambda: w.engine.set_guardian(STRANGER, sender=STRANGER)),
    Case("pause by a stranger", "engine: caller is not the guardian",
         lambda w: lambda: w.engine.pause(sender=STRANGER)),
    Case("pause twice", "engine: paused", lambda w: (_paused(w), lambda: w.engine.pause(sender=OWNER))[1]),
    Case("unpause by the guardian", "ownable: caller is not the owner",
         lambda w: (_paused(w), lambda: w.engine.unpause(sender=GUARDIAN))[1]),
    Case("unpause when not paused", "engine: not paused", lambda w: lambda: w.engine.unpause(sender=OWNER)),
    Case("transfer ownership by a stranger", "ownable: caller is not the owner",
         lambda w: lambda: w.engine.transfer_ownership(STRANGER, sender=STRANGER)),
    Case("accept ownership not offered", "ownable_2step: caller is not the new owner",
         lambda w: (w.engine.transfer_ownership(BOB, sender=OWNER),
                    lambda: w.engine.accept_ownership(sender=STRANGER))[1]),
    Case("set an answer by a stranger", "aggregator: caller is not the owner",
         lambda w: lambda: w.feed.set_answer(1, sender=STRANGER)),
]

# Each bound of _check_params, just past it, through list_market and set_market_params.
BAD_PARAMS = [
    ("params: initial margin out of bounds", dict(initial_margin_bps=9, maintenance_margin_bps=5,
                                                  liquidation_fee_bps=5)),
    ("params: initial margin out of bounds", dict(initial_margin_bps=10_001)),
    ("params: maintenance margin out of bounds", dict(maintenance_margin_bps=0, liquidation_fee_bps=0)),
    ("params: maintenance margin out of bounds", dict(maintenance_margin_bps=1_000)),
    ("params: open fee out of bounds", dict(open_fee_bps=501)),
    ("params: close fee out of bounds", dict(close_fee_bps=501)),
    ("params: liquidation fee out of bounds", dict(initial_margin_bps=3_000, maintenance_margin_bps=2_000,
                                                   liquidation_fee_bps=1_001)),
    ("params: liquidation fee out of bounds", dict(liquidation_fee_bps=501)),
    ("params: liquidation fee out of bounds", dict(liquidation_fee_bps=0)),
    ("params: min liquidation reward out of bounds", dict(min_liquidation_reward=MAX_MIN_LIQUIDATION_REWARD + 1,
                                                          min_collateral=MAX_U128)),
    ("params: insurance share out of bounds", dict(insurance_share_bps=10_001)),
    ("params: max profit out of bounds", dict(max_profit_bps=0)),
    ("params: max profit out of bounds", dict(max_profit_bps=100_001)),
    ("params: borrow rate out of bounds", dict(borrow_rate=MAX_BORROW_RATE + 1)),
    ("params: staleness out of bounds", dict(staleness=0)),
    ("params: staleness out of bounds", dict(staleness=MAX_STALENESS + 1)),
    ("params: min collateral out of bounds", dict(min_collateral=0)),
    ("params: min collateral out of bounds", dict(min_collateral=MAX_U128 + 1)),
    ("params: min collateral out of bounds", dict(min_collateral=5 * USDC - 1)),        # below the 5 USDC floor
    ("params: min collateral out of bounds", dict(min_liquidation_reward=10 * USDC + 1)),
    ("params: open interest cap out of bounds", dict(oi_cap=0)),
    ("params: open interest cap out of bounds", dict(oi_cap=MAX_U128 + 1)),
]
# The same bounds, met exactly: every one of these is accepted.
EDGE_PARAMS = [
    dict(initial_margin_bps=10, maintenance_margin_bps=9, liquidation_fee_bps=9),
    dict(initial_margin_bps=10_000, maintenance_margin_bps=9_999, liquidation_fee_bps=1_000),
    dict(open_fee_bps=500, close_fee_bps=500, insurance_share_bps=10_000, max_profit_bps=100_000),
    dict(max_profit_bps=1, borrow_rate=MAX_BORROW_RATE, staleness=MAX_STALENESS, liquidation_fee_bps=500),
    dict(min_collateral=MAX_U128, oi_cap=MAX_U128, staleness=1, borrow_rate=0, liquidation_fee_bps=1),
    dict(min_liquidation_reward=MAX_MIN_LIQUIDATION_REWARD, min_collateral=MAX_U128),
    dict(min_liquidation_reward=0, min_collateral=1),
    dict(min_liquidation_reward=10 * USDC, min_collateral=10 * USDC),
]

def _requested(w, assets=100 * USDC, who=LP2):
    return w.pool.requestDeposit(assets, who, who, sender=who)


def _aged(w, rid):
    w.wait(LP_REQUEST_DELAY)
    w.p.refresh_feeds()
    return rid


POOL = [
    Case("deposit (sync)", SYNC_DISABLED, lambda w: lambda: w.pool.deposit(1, LP2, sender=LP2)),
    Case("mint (sync)", SYNC_DISABLED, lambda w: lambda: w.pool.mint(1, LP2, sender=LP2)),
    Case("withdraw (sync)", SYNC_DISABLED, lambda w: lambda: w.pool.withdraw(1, LP, LP, sender=LP)),
    Case("redeem (sync)", SYNC_DISABLED, lambda w: lambda: w.pool.redeem(1, LP, LP, sender=LP)),
    # The pause check comes first: even a request that breaks another rule says "paused".
    Case("request a deposit while paused", "pool: paused",
         lambda w: (_paused(w), lambda: _requested(w))[1]),
    Case("request a deposit of zero while paused", "pool: paused",
         lambda w: (_paused(w), lambda: _requested(w, 0))[1]),
    Case("request a redeem while paused", "pool: paused",
         lambda w: (_paused(w), lambda: w.pool.requestRedeem(1, LP, LP, sender=LP))[1]),
    Case("request a deposit for someone else", "pool: owner must be the caller",
         lambda w: lambda: w.pool.requestDeposit(1, LP2, LP, sender=LP2)),
    Case("request a deposit for the zero address", "pool: zero controller",
         lambda w: lambda: w.pool.requestDeposit(1, ZERO_ADDRESS, LP2, sender=LP2)),
    Case("request a deposit of zero", "pool: zero assets",
         lambda w: lambda: w.pool.requestDeposit(0, LP2, LP2, sender=LP2)),
    Case("request a deposit without allowance", "erc20: insufficient allowance",
         lambda w: (_revoked(w, w.pool.address), lambda: _requested(w, 1, STRANGER))[1]),
    Case("request a deposit beyond the balance", "erc20: transfer amount exceeds balance",
         lambda w: lambda: _requested(w, w.bal(LP2) + 1)),
    Case("request a redeem for the zero address", "pool: zero controller",
         lambda w: lambda: w.pool.requestRedeem(1, ZERO_ADDRESS, LP, sender=LP)),
    Case("request a redeem of zero", "pool: zero shares",
         lambda w: lambda: w.pool.requestRedeem(0, LP, LP, sender=LP)),
    Case("request a redeem of more than owned", "erc20: transfer amount exceeds balance",
         lambda w: lambda: w.pool.requestRedeem(w.pool.balanceOf(LP) + 1, LP, LP, sender=LP)),
    Case("request a redeem of someone else's shares", "erc20: insufficient allowance",
         lambda w: lambda: w.pool.requestRedeem(1, STRANGER, LP, sender=STRANGER)),
    Case("execute no request", "pool: no pending request",
         lambda w: lambda: w.pool.execute_request(7, sender=KEEPER)),
    Case("execute before the delay", "pool: request delay not over",
         lambda w: (rid := _requested(w), w.wait(LP_REQUEST_DELAY - 1), w.p.refresh_feeds(),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1]),
    Case("execute before a fresh round", "pool: wait for every market's price round after the request",
         lambda w: (rid := _requested(w), w.wait(LP_REQUEST_DELAY),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1]),
    Case("execute while the engine is paused", "pool: paused, executions wait",
         lambda w: (rid := _aged(w, _requested(w)), w.engine.pause(sender=GUARDIAN),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1]),
    Case("execute with a bad price", "oracle: price not positive",
         lambda w: (rid := _aged(w, _requested(w)), w.set_price(0),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1]),
    # An empty pool holding 10**offset donated units: 1 unit buys 10**offset / (10**offset + 1) = 0 shares.
    Case("execute a deposit worth no share", "pool: zero shares",
         lambda w: (w.token.transfer(w.pool.address, 10**DECIMALS_OFFSET, sender=STRANGER),
                    rid := _aged(w, _requested(w, 1)),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1], world=dict(lp_deposit=0)),
    Case("execute a redeem worth nothing", "pool: zero assets",
         lambda w: (rid := _aged(w, w.pool.requestRedeem(1, LP, LP, sender=LP)),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1]),
    Case("execute a redeem of reserved assets", "pool: assets reserved for open positions",
         lambda w: (w.open(), rid := _aged(w, w.pool.requestRedeem(w.pool.balanceOf(LP), LP, LP, sender=LP)),
                    lambda: w.pool.execute_request(rid, sender=KEEPER))[-1]),
    Case("deploy with a redeem fee above the maximum", "pool: redeem fee above maximum",
         lambda w: lambda: Protocol(deployer=OWNER, guardian=GUARDIAN, redeem_fee_bps=MAX_REDEEM_FEE_BPS + 1)),
    Case("cancel no request", "pool: no pending request",
         lambda w: lambda: w.pool.cancel_request(7, sender=LP)),
    Case("cancel someone else's request", "pool: not the request's owner or controller",
         lambda w: (rid := _requested(w), lambda: w.pool.cancel_request(rid, sender=STRANGER))[-1]),
]


def _run(case: Case):
    w = make_world(**(case.world or {}))
    call = case.setup(w)
    undone = expect_revert(w.p, case.reason, call)
    if case.late:
        assert undone > 0, "expected this revert to come after writes"
    return w


@pytest.mark.parametrize("case", ENGINE + POOL, ids=lambda c: c.name)
def test_reverts_and_changes_nothing(case):
    _run(case)


@pytest.mark.parametrize("reason, changes", BAD_PARAMS, ids=lambda x: str(x))
def test_params_bounds(reason, changes):
    w = make_world()
    bad = params(**changes)
    expect_revert(w.p, reason, w.engine.list_market, w.feed.address, bad, sender=OWNER)
    w.wait(60)
    # The check comes before the accrual: the minute must not be accrued either.
    expect_revert(w.p, reason, w.engine.set_market_params, w.market, bad, sender=OWNER)


@pytest.mark.parametrize("changes", EDGE_PARAMS, ids=str)
def test_params_at_their_bounds_are_accepted(changes):
    w = make_world()
    market = w.engine.list_market(w.feed.address, params(**changes), sender=OWNER)
    assert w.engine.market_params(market) == params(**changes)


def test_every_reason_in_engine_and_pool_is_covered():
    """Fails when a new reason appears in model/engine.py or model/pool.py
    without a case here (or a line in this module's docstring)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "model"
    found = set()
    for name in ("engine.py", "pool.py"):
        found |= set(re.findall(r'require\([^"]*?"([^"]+)"\)', (root / name).read_text(), re.S))
    covered = {c.reason for c in ENGINE + POOL} | {r for r, _ in BAD_PARAMS}
    assert found - covered == set()
