"""Owner and guardian powers: listing markets, parameter bounds, feeds,
the guardian, pause/unpause, and the two-step ownership transfer."""
import ape
import pytest

from .helpers import (cancelled, ETH_PARAMS, MAX_U128, SLOT_MARKET_COUNT, SLOT_MARKET_INDEX, ZERO, borrow_fee, hashmap_slot,
                      px, usd)

MAX_BORROW_RATE = 317_097_919_837
MAX_MIN_LIQUIDATION_REWARD = 2**32 - 1
FIELDS = list(ETH_PARAMS.__dataclass_fields__)


def params(**changes):
    p = dict(zip(FIELDS, ETH_PARAMS.as_tuple()))
    p.update(changes)
    return tuple(p[f] for f in FIELDS)


# Each bad value with the one reason it must produce (other fields standard:
# IM 1,000, MM 500, liquidation fee 100, reward floor 5 USDC, min collateral 10 USDC).
BAD_PARAMS = [
    (dict(initial_margin_bps=9), "params: initial margin out of bounds"),
    (dict(initial_margin_bps=10_001), "params: initial margin out of bounds"),
    (dict(maintenance_margin_bps=0), "params: maintenance margin out of bounds"),
    (dict(maintenance_margin_bps=1_000), "params: maintenance margin out of bounds"),
    (dict(open_fee_bps=501), "params: open fee out of bounds"),
    (dict(close_fee_bps=501), "params: close fee out of bounds"),
    (dict(liquidation_fee_bps=501), "params: liquidation fee out of bounds"),  # above maintenance
    (dict(initial_margin_bps=2_000, maintenance_margin_bps=1_500, liquidation_fee_bps=1_001),
     "params: liquidation fee out of bounds"),  # above the 10% cap
    (dict(liquidation_fee_bps=0), "params: liquidation fee out of bounds"),  # finding 5: a liquidation must pay
    (dict(min_liquidation_reward=MAX_MIN_LIQUIDATION_REWARD + 1, min_collateral=MAX_U128),
     "params: min liquidation reward out of bounds"),  # wider than its 32 bits
    (dict(insurance_share_bps=10_001), "params: insurance share out of bounds"),
    (dict(max_profit_bps=0), "params: max profit out of bounds"),
    (dict(max_profit_bps=100_001), "params: max profit out of bounds"),
    (dict(borrow_rate=MAX_BORROW_RATE + 1), "params: borrow rate out of bounds"),
    (dict(staleness=0), "params: staleness out of bounds"),
    (dict(staleness=7 * 86_400 + 1), "params: staleness out of bounds"),
    (dict(min_collateral=0), "params: min collateral out of bounds"),
    (dict(min_collateral=MAX_U128 + 1), "params: min collateral out of bounds"),
    (dict(min_collateral=usd(5) - 1), "params: min collateral out of bounds"),  # below the 5 USDC reward floor
    (dict(min_liquidation_reward=usd(10) + 1), "params: min collateral out of bounds"),  # floor above 10 USDC
    (dict(oi_cap=0), "params: open interest cap out of bounds"),
    (dict(oi_cap=MAX_U128 + 1), "params: open interest cap out of bounds"),
]
EDGE_PARAMS = [
    params(initial_margin_bps=10_000, maintenance_margin_bps=9_999, open_fee_bps=500, close_fee_bps=500,
           liquidation_fee_bps=1_000, min_liquidation_reward=MAX_MIN_LIQUIDATION_REWARD, insurance_share_bps=10_000,
           max_profit_bps=100_000, borrow_rate=MAX_BORROW_RATE, staleness=7 * 86_400, min_collateral=MAX_U128,
           oi_cap=MAX_U128),
    params(initial_margin_bps=10, maintenance_margin_bps=1, open_fee_bps=0, close_fee_bps=0,
           liquidation_fee_bps=1, min_liquidation_reward=0, insurance_share_bps=0, max_profit_bps=1, borrow_rate=0,
           staleness=1, min_collateral=1, oi_cap=1),
    params(min_liquidation_reward=usd(10), min_collateral=usd(10)),  # the floor may be the whole minimum
]


# ---------------------------------------------------------------- list_market

def test_list_market(engine, project, owner, clock):
    feed = project.MockAggregator.deploy(8, "BTC / USD", px(60_000), sender=owner)
    p = params(borrow_rate=0, oi_cap=usd(1))
    t = clock.at(10)
    receipt = engine.list_market(feed, p, sender=owner)
    assert engine.market_count() == 2
    assert tuple(engine.market_params(2)) == p
    assert tuple(engine.market_state(2)) == (feed.address, 0, 0, 0, t)
    [listed] = receipt.events.filter(engine.MarketListed)
    assert (listed.market_id, listed.feed, listed.timestamp) == (2, feed.address, t)
    [set_] = receipt.events.filter(engine.MarketParamsSet)
    assert (set_.market_id, tuple(set_.params), set_.borrow_index) == (2, p, 0)


@pytest.mark.parametrize("p", EDGE_PARAMS, ids=["maxima", "minima", "floor at min collateral"])
def test_list_market_accepts_the_bounds(engine, feed, owner, p):
    engine.list_market(feed, p, sender=owner)
    assert tuple(engine.market_params(2)) == p


@pytest.mark.parametrize("changes, reason", BAD_PARAMS, ids=[r for _, r in BAD_PARAMS])
def test_list_market_rejects_out_of_bounds(engine, feed, owner, changes, reason):
    with ape.reverts(reason):
        engine.list_market(feed, params(**changes), sender=owner)
    assert engine.market_count() == 1


def test_list_market_refused(engine, feed, stranger, guardian, owner):
    with ape.reverts("ownable: caller is not the owner"):
        engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=stranger)
    with ape.reverts("ownable: caller is not the owner"):
        engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=guardian)
    with ape.reverts("params: zero feed"):
        engine.list_market(ZERO, ETH_PARAMS.as_tuple(), sender=owner)
    assert engine.market_count() == 1


def test_market_ids_stop_at_65535(engine, feed, owner, poke):
    # Market ids are packed into 16 bits of a position. Listing 65,534
    # markets one by one is out of reach for a unit test; the counter is set directly.
    poke(engine.address, SLOT_MARKET_COUNT, 65_533)
    engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    assert engine.market_count() == 65_534
    engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    assert engine.market_count() == 65_535
    with ape.reverts("params: too many markets"):
        engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    assert engine.market_count() == 65_535


def test_a_market_with_the_highest_id_trades(engine, feed, owner, alice, poke, open_pos):
    poke(engine.address, SLOT_MARKET_COUNT, 65_534)
    engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    pid, _ = open_pos(alice, usd(10_000), usd(1_010), market_id=65_535)
    assert engine.position(pid).market_id == 65_535


# ---------------------------------------------------------------- set_market_params

@pytest.mark.parametrize("changes, reason", BAD_PARAMS, ids=[r for _, r in BAD_PARAMS])
def test_set_market_params_rejects_out_of_bounds(engine, owner, changes, reason):
    with ape.reverts(reason):
        engine.set_market_params(1, params(**changes), sender=owner)
    assert tuple(engine.market_params(1)) == ETH_PARAMS.as_tuple()


def test_set_market_params_refused(engine, owner, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        engine.set_market_params(1, ETH_PARAMS.as_tuple(), sender=stranger)
    with ape.reverts("engine: unknown market"):
        engine.set_market_params(2, ETH_PARAMS.as_tuple(), sender=owner)
    with ape.reverts("engine: unknown market"):
        engine.set_market_params(0, ETH_PARAMS.as_tuple(), sender=owner)


def test_set_market_params_accrues_at_the_old_rate_first(trade, engine, owner, alice, open_pos, clock):
    # Open at t0; the rate drops to zero at t0+10; close at t0+20. Only the
    # first 10 s are charged, at the old rate: 318 units.
    clock.at(0)
    pid, _ = open_pos(alice, usd(10_000), usd(1_010))
    index = engine.market_state(1).borrow_index
    clock.at(10)
    receipt = engine.set_market_params(1, params(borrow_rate=0), sender=owner)
    [log] = receipt.events.filter(engine.MarketParamsSet)
    assert (log.market_id, tuple(log.params), log.borrow_index) == (
        1, params(borrow_rate=0), index + ETH_PARAMS.borrow_rate * 10)
    assert engine.market_state(1).borrow_index == index + ETH_PARAMS.borrow_rate * 10
    clock.at(20)
    receipt = trade.close_position(pid, sender=alice)
    assert receipt.events.filter(engine.PositionClosed)[0].borrow_fee == borrow_fee(usd(10_000), 10) == 318


def test_new_maintenance_margin_reaches_open_positions_only_at_a_resize(lens, engine, trade, owner, alice,
                                                                          liquidator, open_pos, set_price):
    """v1 applied a raised margin to every open position at once (the owner
    could liquidate healthy positions). A position keeps its own margin
    until its trader resizes it (issue 9, finding 1)."""
    pid, _ = open_pos(alice, usd(10_000), usd(1_010))
    # At 1,930 equity is 1,000 - 350 - fees ~ 650: healthy under a 5%
    # maintenance margin (500), liquidatable under 7% (700).
    set_price(1_930)
    assert lens.health(engine, pid).liquidatable is False
    engine.set_market_params(1, params(initial_margin_bps=2_000, maintenance_margin_bps=700), sender=owner)
    assert lens.health(engine, pid).maintenance_margin == usd(500)
    with ape.reverts("engine: position is healthy"):
        engine.liquidate(pid, sender=liquidator)
    # The trader's own decrease takes the market's 7% for what is left
    # (630 of 9,000, under an equity of about 649).
    trade.decrease_position(pid, usd(1_000), sender=alice)
    assert engine.position(pid).maintenance_margin_bps == 700
    assert lens.health(engine, pid).maintenance_margin == usd(630)


def test_borrow_index_overflow_is_refused(trade, engine, owner, alice, poke, clock, open_pos):
    # The index is packed into 128 bits of a position; at the maximum rate
    # it would take ~1e27 s to get there, so the index is set directly.
    clock.at(0)
    pid, _ = open_pos(alice, usd(10_000), usd(1_010))
    last_accrual = engine.market_state(1).last_accrual
    poke(engine.address, hashmap_slot(SLOT_MARKET_INDEX, 1), MAX_U128 | last_accrual << 128)
    assert engine.market_state(1).borrow_index == MAX_U128
    clock.at(10)
    with cancelled("engine: borrow index overflow"):
        trade.close_position(pid, sender=alice)
    with ape.reverts("engine: borrow index overflow"):
        engine.set_market_params(1, ETH_PARAMS.as_tuple(), sender=owner)
    assert engine.position(pid).is_open is True


# ---------------------------------------------------------------- set_market_feed

def test_set_market_feed(engine, project, owner, alice, open_pos):
    new_feed = project.MockAggregator.deploy(8, "ETH / USD v2", px(2_100), sender=owner)
    receipt = engine.set_market_feed(1, new_feed, sender=owner)
    [log] = receipt.events.filter(engine.MarketFeedSet)
    assert (log.market_id, log.feed) == (1, new_feed.address)
    assert engine.market_state(1).feed == new_feed.address
    pid, _ = open_pos(alice, usd(10_000), usd(1_010))
    assert engine.position(pid).entry_price == px(2_100)


def test_set_market_feed_refused(engine, feed, owner, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        engine.set_market_feed(1, feed, sender=stranger)
    with ape.reverts("engine: unknown market"):
        engine.set_market_feed(2, feed, sender=owner)
    with ape.reverts("params: zero feed"):
        engine.set_market_feed(1, ZERO, sender=owner)
    assert engine.market_state(1).feed == feed.address


# Finding 1 of the v2 review: an honest migration from 8 to 18 decimals read
# 2,000e18 as 2e13 times the entry price, every long a max-profit winner.
def test_set_market_feed_refuses_other_decimals(engine, project, feed, owner, alice, open_pos):
    pid, _ = open_pos(alice, usd(10_000), usd(1_010))
    wide = project.MockAggregator.deploy(18, "ETH / USD", 2_000 * 10**18, sender=owner)
    with ape.reverts("feed: decimals differ from the market's feed"):
        engine.set_market_feed(1, wide, sender=owner)
    assert engine.market_state(1).feed == feed.address
    assert engine.position(pid).entry_price == px(2_000)


@pytest.mark.parametrize("price, ok", [(px(2_100), True), (px(1_900), True), (px(2_100) + 1, False),
                                       (px(1_900) - 1, False)], ids=["+5%", "-5%", "past +5%", "past -5%"])
def test_set_market_feed_bounds_the_jump(engine, project, feed, owner, price, ok):
    # The old feed answers 2,000: a feed the owner controls can start at most 5% away.
    new_feed = project.MockAggregator.deploy(8, "ETH / USD v2", price, sender=owner)
    if ok:
        engine.set_market_feed(1, new_feed, sender=owner)
        assert engine.market_state(1).feed == new_feed.address
    else:
        with ape.reverts("feed: answer too far from the market's feed"):
            engine.set_market_feed(1, new_feed, sender=owner)
        assert engine.market_state(1).feed == feed.address


@pytest.mark.parametrize("dead", [0, -1], ids=["zero", "negative"])
def test_set_market_feed_leaves_a_dead_feed_at_any_price(engine, project, feed, owner, dead):
    # Nothing to bound against: migrating off a dead feed is why one migrates.
    feed.set_answer(dead, sender=owner)
    new_feed = project.MockAggregator.deploy(8, "ETH / USD v2", px(3_000), sender=owner)
    engine.set_market_feed(1, new_feed, sender=owner)
    assert engine.market_state(1).feed == new_feed.address


def test_set_market_feed_refuses_a_feed_that_cannot_answer(engine, project, token, feed, owner, stranger):
    with ape.reverts("feed: no decimals() answer"):
        engine.set_market_feed(1, stranger, sender=owner)     # no code
    with ape.reverts("feed: decimals differ from the market's feed"):
        engine.set_market_feed(1, token, sender=owner)        # answers decimals() 6, not 8
    silent = project.MockAggregator.deploy(8, "ETH / USD v2", 0, sender=owner)
    with ape.reverts("feed: no positive answer"):
        engine.set_market_feed(1, silent, sender=owner)
    assert engine.market_state(1).feed == feed.address


def test_list_market_checks_the_feed(engine, project, owner, stranger):
    p = ETH_PARAMS.as_tuple()
    with ape.reverts("feed: no decimals() answer"):
        engine.list_market(stranger, p, sender=owner)
    too_wide = project.MockAggregator.deploy(19, "ETH / USD", 2_000 * 10**19, sender=owner)
    with ape.reverts("feed: more than 18 decimals"):
        engine.list_market(too_wide, p, sender=owner)
    widest = project.MockAggregator.deploy(18, "ETH / USD", 2_000 * 10**18, sender=owner)
    engine.list_market(widest, p, sender=owner)
    assert engine.market_count() == 2


# ---------------------------------------------------------------- guardian and pause

def test_set_guardian(engine, owner, guardian, stranger):
    with ape.reverts("ownable: caller is not the owner"):
        engine.set_guardian(stranger, sender=guardian)
    receipt = engine.set_guardian(stranger, sender=owner)
    assert [log.guardian for log in receipt.events.filter(engine.GuardianSet)] == [stranger.address]
    assert engine.guardian() == stranger.address
    with ape.reverts("engine: caller is not the guardian"):
        engine.pause(sender=guardian)
    engine.pause(sender=stranger)
    assert engine.paused() is True


@pytest.mark.parametrize("who", ["guardian", "owner"])
def test_guardian_or_owner_pause_only_owner_unpauses(lens, engine, request, owner, guardian, who):
    account = request.getfixturevalue(who)
    receipt = engine.pause(sender=account)
    assert [log.account for log in receipt.events.filter(engine.Paused)] == [account.address]
    assert engine.paused() is True and lens.totals(engine).paused is True
    with ape.reverts("engine: paused"):
        engine.pause(sender=account)
    with ape.reverts("ownable: caller is not the owner"):
        engine.unpause(sender=guardian)
    receipt = engine.unpause(sender=owner)
    assert [log.account for log in receipt.events.filter(engine.Unpaused)] == [owner.address]
    assert engine.paused() is False
    with ape.reverts("engine: not paused"):
        engine.unpause(sender=owner)


def test_stranger_cannot_pause(engine, stranger):
    with ape.reverts("engine: caller is not the guardian"):
        engine.pause(sender=stranger)
    assert engine.paused() is False


def test_pause_blocks_risk_taking_only(trade, engine, token, guardian, owner, alice, bob, liquidator, open_pos, set_price,
                                       clock):
    clock.at(0)
    a, _ = open_pos(alice, usd(10_000), usd(2_010))
    b, _ = open_pos(bob, usd(10_000), usd(1_010))
    clock.at(5)
    engine.pause(sender=guardian)
    # The order book refuses the requests (tests/unit/test_pause_coverage.py).
    with cancelled("orders: paused"):
        trade.open_position(1, True, usd(10_000), usd(1_010), sender=alice)
    with cancelled("orders: paused"):
        trade.increase_position(a, usd(100), usd(100), sender=alice)
    with ape.reverts("engine: paused"):
        engine.remove_collateral(a, usd(1), sender=alice)
    # Everything that reduces risk or settles still works.
    engine.add_collateral(a, usd(1), sender=alice)
    trade.decrease_position(a, usd(1_000), sender=alice)
    trade.close_position(a, sender=alice)
    set_price(1_880)
    engine.liquidate(b, sender=liquidator)
    assert engine.open_positions() == 0
    engine.unpause(sender=owner)
    open_pos(alice, usd(10_000), usd(1_010))
    assert engine.open_positions() == 1


# ---------------------------------------------------------------- ownership

def test_two_step_ownership_transfer(engine, feed, owner, stranger, guardian):
    with ape.reverts("ownable: caller is not the owner"):
        engine.transfer_ownership(stranger, sender=stranger)
    receipt = engine.transfer_ownership(stranger, sender=owner)
    [log] = receipt.events.filter(engine.OwnershipTransferStarted)
    assert (log.previous_owner, log.new_owner) == (owner.address, stranger.address)
    # Nothing changes until the new owner accepts.
    assert (engine.owner(), engine.pending_owner()) == (owner.address, stranger.address)
    with ape.reverts("ownable: caller is not the owner"):
        engine.set_guardian(stranger, sender=stranger)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        engine.accept_ownership(sender=guardian)
    receipt = engine.accept_ownership(sender=stranger)
    [log] = receipt.events.filter(engine.OwnershipTransferred)
    assert (log.previous_owner, log.new_owner) == (owner.address, stranger.address)
    assert (engine.owner(), engine.pending_owner()) == (stranger.address, ZERO)
    with ape.reverts("ownable: caller is not the owner"):
        engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=stranger)
    engine.pause(sender=stranger)
    engine.unpause(sender=stranger)
    assert engine.market_count() == 2


def test_pending_transfer_can_be_replaced_or_cancelled(engine, owner, stranger, guardian):
    engine.transfer_ownership(stranger, sender=owner)
    engine.transfer_ownership(guardian, sender=owner)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        engine.accept_ownership(sender=stranger)
    engine.transfer_ownership(ZERO, sender=owner)
    with ape.reverts("ownable_2step: caller is not the new owner"):
        engine.accept_ownership(sender=guardian)
    assert engine.owner() == owner.address


def test_ownership_cannot_be_renounced(engine):
    # Only the two-step functions are exported: an engine without an owner
    # could never unpause.
    assert "renounce_ownership" not in [abi.name for abi in engine.contract_type.mutable_methods]
