"""Closes and liquidations on a dead feed (markets._trade_price, c4f099f).

An exit settles at the last good price once the market's feed has had no
usable round for ORACLE_FALLBACK_DELAY past its staleness limit:

- the feed answers a positive round that is only stale: its answer, from
  updatedAt + staleness + ORACLE_FALLBACK_DELAY on (strictly after);
- the feed answers zero, a negative or an out-of-range answer, or reverts:
  the engine's record Engine.market_last_price (price | seen << 128, written
  by opens, increases and decreases), from max(seen + staleness, the bad
  round's updatedAt) + ORACLE_FALLBACK_DELAY on (strictly after).

Opens, increases, decreases and remove_collateral never take it.

Setup of every dead-feed scenario (`dead`): alice opens 10,000 long at
2,000 with 1,010 (1,000 collateral, maintenance 500) at t0; the feed moves
to P at t0+10 and bob opens a 2,000 short at P at t0+20 (its round t0+19:
the record is P, seen t0+19); at t0+30 (t0+10,000 for the "late" kinds) the
feed goes bad. At P = 1,880 alice is liquidatable (equity about
1,000 - 600 - 3 < 500), at 1,960 she is healthy (about 1,000 - 200 - 3).
For "stale" the feed's own stale answer must win over the record, so there
the record is 2,000 (bob opens before the move) and the stale round is P.
"""
from pathlib import Path

import ape
import pytest

from .helpers import ETH, ETH_PARAMS, MAX_U128, cancelled, px, usd, waits

DELAY = 86_400                      # markets.ORACLE_FALLBACK_DELAY
STALENESS = ETH_PARAMS.staleness    # 3,600
SIZE = usd(10_000)
AMOUNT = usd(1_010)
LIQUIDATABLE = 1_880
HEALTHY = 1_960
# An order requested after the feed's last round (always the case once
# the feed has been dead for a day: ORDER_EXPIRY is 2 hours) waits for a
# round rather than reading its answer (_trade_price checks the round
# before the answer).
NO_ROUND = "orders: no price round after the request yet"
BROKEN = "aggregator: broken"

KINDS = ["stale", "zero", "negative_late", "out_of_range", "broken"]


@pytest.fixture(scope="session")
def BreakableAggregator():
    source = (Path(__file__).parent / "support" / "BreakableAggregator.vy").read_text()
    return ape.compilers.compile_source("vyper", source, contractName="BreakableAggregator")


class Dead:
    """One scenario's world: the market, alice's and bob's positions, the
    first second the fallback applies (boundary + 1), its price, and the
    reason a liquidation reverts with up to the boundary."""

    def __init__(self, market, feed, alice_pid, bob_pid, boundary, price, reason):
        self.market, self.feed, self.alice_pid, self.bob_pid = market, feed, alice_pid, bob_pid
        self.boundary, self.price, self.reason = boundary, price, reason


@pytest.fixture
def dead(engine, trade, feed, owner, alice, bob, clock, BreakableAggregator):
    def _make(kind, price):
        market, f = 1, feed
        if kind == "broken":
            f = BreakableAggregator.deploy(ETH["decimals"], px(2_000), sender=owner)
            engine.list_market(f, ETH_PARAMS.as_tuple(), sender=owner)
            market = engine.market_count()
            assert market == 2
        clock.at(0)
        receipt = trade.open_position(market, True, SIZE, AMOUNT, sender=alice)
        alice_pid = receipt.events.filter(engine.PositionOpened)[0].position_id
        if kind == "stale":
            clock.at(20)
            receipt = trade.open_position(market, False, usd(2_000), usd(1_000), sender=bob)
            bob_pid = receipt.events.filter(engine.PositionOpened)[0].position_id
            clock.at(30)
            f.set_answer(px(price), sender=owner)
            updated_at = f.latestRoundData()[3]
            assert updated_at == clock.t0 + 30
            assert engine.market_last_price(market) & MAX_U128 == px(2_000)
            return Dead(market, f, alice_pid, bob_pid, updated_at + STALENESS + DELAY, px(price),
                        "oracle: price is stale")
        clock.at(10)
        f.set_answer(px(price), sender=owner)
        clock.at(20)
        receipt = trade.open_position(market, False, usd(2_000), usd(1_000), sender=bob)
        bob_pid = receipt.events.filter(engine.PositionOpened)[0].position_id
        record = engine.market_last_price(market)
        seen = record >> 128
        assert (record & MAX_U128, seen) == (px(price), clock.t0 + 19)
        bad_at = 10_000 if kind.endswith("_late") else 30
        clock.at(bad_at)
        if kind == "broken":
            f.set_broken(True, sender=owner)
            return Dead(market, f, alice_pid, bob_pid, seen + STALENESS + DELAY, px(price), BROKEN)
        answer = {"zero": 0, "negative_late": -1, "out_of_range": MAX_U128 + 1}[kind]
        f.set_answer(answer, sender=owner)
        bad_updated_at = f.latestRoundData()[3]
        assert bad_updated_at == clock.t0 + bad_at
        if kind.endswith("_late"):
            assert bad_updated_at > seen + STALENESS   # the later of the two counts
        else:
            assert bad_updated_at < seen + STALENESS
        reason = "oracle: price is stale" if kind == "out_of_range" else "oracle: price not positive"
        return Dead(market, f, alice_pid, bob_pid, max(seen + STALENESS, bad_updated_at) + DELAY, px(price),
                    reason)
    return _make


def _at(clock, t):
    """Pin the next transaction at absolute time t."""
    clock.at(t - clock.t0)


@pytest.mark.parametrize("kind", KINDS)
def test_a_close_at_the_boundary_is_refused(engine, trade, alice, clock, dead, kind):
    """At exactly the boundary the fallback does not apply yet: a close
    order waits (no round after its request), or, on a reverting feed, is
    refused with the feed's reason; the position stays open."""
    d = dead(kind, HEALTHY)
    _at(clock, d.boundary)
    if kind == "broken":
        with cancelled(BROKEN):
            trade.close_position(d.alice_pid, sender=alice, publish=False)
    else:
        with waits(NO_ROUND):
            trade.close_position(d.alice_pid, sender=alice, publish=False)
    assert engine.position(d.alice_pid).is_open


@pytest.mark.parametrize("kind", KINDS)
def test_a_close_settles_at_the_fallback_one_second_past_the_boundary(engine, orders, alice, liquidator, clock, dead,
                                                                     kind):
    d = dead(kind, HEALTHY)
    # Requested before the boundary, long after the feed's last round.
    _at(clock, d.boundary - 10)
    order_id = orders.next_order_id()
    orders.request_close(d.alice_pid, 0, sender=alice)
    # At the boundary a liquidation still reverts with the feed's fault.
    _at(clock, d.boundary)
    with ape.reverts(d.reason):
        engine.liquidate(d.alice_pid, sender=liquidator)
    # One second later the close fills at the last good price, although no
    # round came after its request.
    _at(clock, d.boundary + 1)
    receipt = orders.execute_order(order_id, sender=liquidator)
    assert receipt.timestamp == d.boundary + 1
    assert receipt.events.filter(orders.OrderExecuted)
    [log] = receipt.events.filter(engine.PositionClosed)
    assert (log.position_id, log.price) == (d.alice_pid, d.price)
    assert log.pnl == SIZE * (d.price - px(2_000)) // px(2_000)
    assert not engine.position(d.alice_pid).is_open


@pytest.mark.parametrize("kind", KINDS)
def test_a_liquidation_at_the_fallback_price(engine, liquidator, clock, dead, kind):
    d = dead(kind, LIQUIDATABLE)
    _at(clock, d.boundary)
    with ape.reverts(d.reason):
        engine.liquidate(d.alice_pid, sender=liquidator)
    _at(clock, d.boundary + 1)
    receipt = engine.liquidate(d.alice_pid, sender=liquidator)
    [log] = receipt.events.filter(engine.PositionLiquidated)
    assert (log.liquidator, log.price, log.pnl) == (liquidator.address, d.price, -usd(600))
    assert not engine.position(d.alice_pid).is_open


@pytest.mark.parametrize("kind", KINDS)
def test_a_position_healthy_at_the_fallback_price_is_not_liquidated(engine, liquidator, clock, dead, kind):
    d = dead(kind, HEALTHY)
    _at(clock, d.boundary + 1)
    with ape.reverts("engine: position is healthy"):
        engine.liquidate(d.alice_pid, sender=liquidator)
    with ape.reverts("engine: position is healthy"):
        engine.liquidate(d.bob_pid, sender=liquidator)
    assert engine.position(d.alice_pid).is_open


@pytest.mark.parametrize("kind", KINDS)
def test_opens_resizes_and_collateral_removal_never_take_the_fallback(engine, trade, alice, bob, clock, dead, kind):
    """Past the boundary (a close then fills at the fallback, last), an
    open, an increase, a decrease and remove_collateral are still refused
    for the feed's fault."""
    d = dead(kind, HEALTHY)
    b = d.boundary
    record = engine.market_last_price(d.market)
    refused = cancelled(BROKEN) if kind == "broken" else waits(NO_ROUND)
    _at(clock, b + 1)
    with refused:
        trade.open_position(d.market, True, usd(2_000), usd(1_000), sender=bob, publish=False)
    refused = cancelled(BROKEN) if kind == "broken" else waits(NO_ROUND)
    _at(clock, b + 101)
    with refused:
        trade.increase_position(d.alice_pid, usd(1_000), usd(100), sender=alice, publish=False)
    refused = cancelled(BROKEN) if kind == "broken" else waits(NO_ROUND)
    _at(clock, b + 201)
    with refused:
        trade.decrease_position(d.alice_pid, usd(1_000), sender=alice, publish=False)
    _at(clock, b + 301)
    with ape.reverts(d.reason):
        engine.remove_collateral(d.alice_pid, usd(1), sender=alice)
    before = engine.position(d.alice_pid)
    assert (before.size, before.collateral) == (SIZE, usd(1_000))
    assert engine.market_state(d.market).oi_long == SIZE
    assert engine.market_last_price(d.market) == record
    # The fallback was in force all along: the close fills.
    _at(clock, b + 401)
    receipt = trade.close_position(d.alice_pid, sender=alice, publish=False)
    assert receipt.events.filter(engine.PositionClosed)[0].price == d.price
    assert engine.market_last_price(d.market) == record


def test_a_fresh_round_ends_the_fallback(engine, trade, feed, owner, alice, clock, dead):
    """A stale round counts from its own updatedAt: a new (stale-only)
    round published after the fallback began puts exits back on the feed."""
    d = dead("stale", HEALTHY)
    _at(clock, d.boundary + 1)
    feed.set_round(px(1_990), d.boundary - DELAY, sender=owner)   # stale again, but only since the boundary
    _at(clock, d.boundary + 10)
    with waits(NO_ROUND):
        trade.close_position(d.alice_pid, sender=alice, publish=False)


def test_market_last_price_is_the_round_a_trade_took(engine, trade, feed, owner, alice, liquidator, open_pos, clock):
    t0 = clock.t0
    assert engine.market_last_price(1) == 0
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT)          # its round: 2,000 at t0-1
    assert engine.market_last_price(1) == px(2_000) | ((t0 - 1) << 128)
    clock.at(10)
    feed.set_answer(px(2_100), sender=owner)
    clock.at(20)
    trade.increase_position(pid, usd(1_000), usd(100), sender=alice)   # round at t0+19
    assert engine.market_last_price(1) == px(2_100) | ((t0 + 19) << 128)
    clock.at(30)
    feed.set_answer(px(2_050), sender=owner)
    clock.at(40)
    trade.decrease_position(pid, usd(1_000), sender=alice)            # round at t0+39
    assert engine.market_last_price(1) == px(2_050) | ((t0 + 39) << 128)
    # A round stamped in the future is recorded as seen at the block time.
    clock.at(50)
    feed.set_round(px(2_040), t0 + 5_000, sender=owner)
    clock.at(60)
    trade.increase_position(pid, usd(1_000), usd(100), sender=alice, publish=False)
    assert engine.market_last_price(1) == px(2_040) | ((t0 + 60) << 128)
    # Exits do not write it.
    clock.at(70)
    feed.set_answer(px(2_030), sender=owner)
    clock.at(80)
    trade.close_position(pid, sender=alice)
    assert engine.market_last_price(1) == px(2_040) | ((t0 + 60) << 128)


def test_the_smallest_positive_answer_is_the_feed_s_own_last_good_price(engine, feed, owner, alice, liquidator,
                                                                        open_pos, clock):
    """markets._positive's edge (a survivor of the CI mutation sample,
    `answer > 0` to `answer > 1`): one feed unit is a positive round, so
    once only stale it is the price exits fall back on, not the engine's
    record (2,000 here, at which alice is healthy)."""
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    clock.at(10)
    feed.set_answer(1, sender=owner)
    boundary = clock.t0 + 10 + STALENESS + DELAY
    _at(clock, boundary)
    with ape.reverts("oracle: price is stale"):
        engine.liquidate(pid, sender=liquidator)
    _at(clock, boundary + 1)
    [log] = engine.liquidate(pid, sender=liquidator).events.filter(engine.PositionLiquidated)
    assert log.price == 1 and not engine.position(pid).is_open
