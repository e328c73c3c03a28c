"""Model-only worlds and whole-state snapshots for tests/model.

The worked examples use SIMPLE, a market with round numbers so every figure
can be derived by hand in a comment; changing it breaks those derivations on
purpose. Realistic markets (harness/protocol/markets.py) are used by the property tests.
"""
from dataclasses import dataclass, replace

from model import MarketParams, Protocol, Revert
from model.env import Env
from model.pool import LP_REQUEST_DELAY
from model.journal import Contract, Journal, Mapping

USDC = 10**6
PRICE = 10**8
MAX_UINT256 = 2**256 - 1
T0 = 1_700_000_000
EXECUTION_FEE = 100_000

OWNER, GUARDIAN = "owner", "guardian"
ALICE, BOB, CAROL = "alice", "bob", "carol"
LP, LP2 = "lp", "lp2"
KEEPER, STRANGER = "keeper", "stranger"
FUNDED = (OWNER, ALICE, BOB, CAROL, LP, LP2, STRANGER)

# 10x max leverage, liquidation below 5% margin; the borrow rate of 1e9 per
# second charges ceil(size * seconds / 1e9): 10 units per second on 10k USDC.
SIMPLE = MarketParams(
    initial_margin_bps=1_000, maintenance_margin_bps=500, open_fee_bps=10, close_fee_bps=10,
    liquidation_fee_bps=100, min_liquidation_reward=5 * USDC, insurance_share_bps=2_000, max_profit_bps=30_000,
    borrow_rate=10**9, staleness=3_600, min_collateral=10 * USDC, oi_cap=1_000_000 * USDC)
P0 = 2_000 * PRICE


@dataclass
class World:
    p: Protocol
    feed: object
    market: int

    @property
    def engine(self):
        return self.p.engine

    @property
    def pool(self):
        return self.p.pool

    @property
    def token(self):
        return self.p.token

    def bal(self, who: str) -> int:
        return self.p.token.balanceOf[who]

    def vault(self, position_id: int) -> str:
        return self.p.engine.vaults(position_id >> 32)

    def wait(self, seconds: int) -> None:
        self.p.env.timestamp += seconds

    def set_price(self, answer: int) -> None:
        # A fresh round at the current time, as a keeper's oracle update would be.
        self.feed.set_answer(answer, sender=OWNER)

    @property
    def trades(self):
        return Trades(self.p)

    def open(self, who=ALICE, is_long=True, size=10_000 * USDC, amount=1_010 * USDC, market=None, **kw) -> int:
        return self.trades.open_position(market or self.market, is_long, size, amount, sender=who, **kw)


class Trades:
    """Trades through the order book as one all-or-nothing step, so tests of
    the engine's rules read as before: the trader requests 2 s before now,
    the market's feed republishes its latest answer 1 s before now, and the
    trader executes now (so the execution fee comes back to them). A refusal
    (the order cancelled with the engine's reason) raises Revert(reason)
    and leaves no trace, as the engine's revert once did. Returns what the
    engine call returned."""

    def __init__(self, p: Protocol):
        self.p = p

    def _run(self, market_id: int, request, sender: str, delay: int = 1):
        """`delay`: how long before now the fresh round is stamped (the
        request a second before it)."""
        p = self.p
        j = p.journal
        mark = j.begin()
        now = p.env.timestamp
        try:
            p.env.timestamp = now - delay - 1
            oid = request()
            state = p.engine.market_state(market_id)
            feed = p.engine.feeds[state.feed]
            if feed is not None:
                feed.set_round(feed.answer, now - delay, sender=feed.owner)
            p.env.timestamp = now
            outcome, detail, result = p.orders.execute_order(oid, sender=sender)
            if outcome == "cancelled":
                raise Revert(detail)
        except BaseException:
            p.env.timestamp = now
            j.undo(mark)
            raise
        j.commit()
        return result

    def _side(self, position_id: int):
        v = self.p.engine.position(position_id)
        return v.market_id, v.is_long

    def open_position(self, market_id, is_long, size, amount, *, sender, acceptable_price=None, delay=1):
        limit = acceptable_price if acceptable_price is not None else (2**128 - 1 if is_long else 0)
        return self._run(market_id, lambda: self.p.orders.request_open(market_id, is_long, size, amount, limit,
                                                                       sender=sender), sender, delay)

    def increase_position(self, position_id, size_delta, collateral_delta, *, sender, acceptable_price=None, delay=1):
        market_id, is_long = self._side(position_id)
        limit = acceptable_price if acceptable_price is not None else (2**128 - 1 if is_long else 0)
        return self._run(market_id, lambda: self.p.orders.request_increase(position_id, size_delta, collateral_delta,
                                                                           limit, sender=sender), sender, delay)

    def decrease_position(self, position_id, size_delta, *, sender, acceptable_price=None, delay=1):
        market_id, is_long = self._side(position_id)
        limit = acceptable_price if acceptable_price is not None else (0 if is_long else 2**128 - 1)
        return self._run(market_id, lambda: self.p.orders.request_decrease(position_id, size_delta, limit,
                                                                           sender=sender), sender, delay)

    def close_position(self, position_id, *, sender, acceptable_price=None, delay=1):
        market_id, is_long = self._side(position_id)
        limit = acceptable_price if acceptable_price is not None else (0 if is_long else 2**128 - 1)
        return self._run(market_id, lambda: self.p.orders.request_close(position_id, limit, sender=sender), sender, delay)


def make_world(params: MarketParams = SIMPLE, price: int = P0, lp_deposit: int = 1_000_000 * USDC,
               insurance: int = 10_000 * USDC, mint: int = 10_000_000 * USDC) -> World:
    # The pool is seeded before the market is listed, LP_REQUEST_DELAY
    # before T0, so the market's life starts at T0 as it always has.
    p = Protocol(deployer=OWNER, guardian=GUARDIAN, timestamp=T0 - LP_REQUEST_DELAY,
                 execution_fee=EXECUTION_FEE)
    for who in FUNDED:
        p.token.mint(who, mint, sender=OWNER)
        p.token.approve(p.engine.address, MAX_UINT256, sender=who)
        p.token.approve(p.orders.address, MAX_UINT256, sender=who)
        p.token.approve(p.pool.address, MAX_UINT256, sender=who)
    if lp_deposit:
        p.lp_deposit(LP, lp_deposit)
    p.env.timestamp = T0
    feed = p.add_feed("feed:ETH", 8, price)
    market = p.engine.list_market(feed.address, params, sender=OWNER)
    if insurance:
        p.engine.fund_insurance(insurance, sender=OWNER)
    return World(p, feed, market)


def contracts_of(p: Protocol) -> dict:
    named = {"token": p.token, "engine": p.engine, "pool": p.pool, "shares": p.pool.shares}
    named.update({f"feed[{a}]": f for a, f in p.engine.feeds.items()})
    return named


def snapshot(p: Protocol) -> dict:
    """Every storage value of every model contract, by value.

    Mappings are copied as plain dicts so that a key a reverted call created
    (even with its default value) shows up as a difference. Records are
    frozen dataclasses, so copying references is a copy by value.
    """
    out = {}
    for name, c in contracts_of(p).items():
        for key, value in vars(c).items():
            # A journaled mapping is storage whatever its name (the engine's
            # _market_params, _market_state, _vaults back public views).
            if isinstance(value, Mapping):
                out[f"{name}.{key}"] = dict(value)
                continue
            if key.startswith("_") or isinstance(value, (Contract, Env)) or callable(value):
                continue
            out[f"{name}.{key}"] = dict(value) if isinstance(value, dict) else value
    return out


def diff(before: dict, after: dict) -> dict:
    keys = set(before) | set(after)
    out = {}
    for k in sorted(keys):
        a, b = before.get(k), after.get(k)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out[k] = {kk: (a.get(kk, "<missing>"), b.get(kk, "<missing>"))
                      for kk in set(a) | set(b) if a.get(kk, "<missing>") != b.get(kk, "<missing>")}
        else:
            out[k] = (a, b)
    return out


def expect_revert(p: Protocol, reason: str, call, *args, **kwargs) -> int:
    """`call` must revert with exactly `reason` and leave every value as it was.

    Returns how many journaled writes the revert undid, so a test can insist
    that its revert came after writes (and so really exercised the rollback).
    """
    before = snapshot(p)
    undone = [0]
    original = Journal.rollback

    def counting(journal, mark):
        undone[0] += len(journal.log) - mark
        original(journal, mark)

    Journal.rollback = counting
    try:
        call(*args, **kwargs)
    except Revert as err:
        assert err.reason == reason, f"reverted with {err.reason!r}, expected {reason!r}"
    else:
        raise AssertionError(f"did not revert; expected {reason!r}")
    finally:
        Journal.rollback = original
    changed = diff(before, snapshot(p))
    assert not changed, f"revert {reason!r} left changes: {changed}"
    assert p.journal.depth == 0 and not p.journal.log, "journal not back at rest"
    return undone[0]


def params(**changes) -> MarketParams:
    return replace(SIMPLE, **changes)
