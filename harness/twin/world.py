"""The standard devnet world: the two standard markets (protocol/markets.py),
funded actors, a liquid pool.

Shared by the stateful test, the replay script and the default drill, so a
failure found in one replays in the others from the same starting state.
"""
from dataclasses import dataclass
from typing import Dict, List

from ..protocol.handover import HANDOVER_SALT, NO_PREDECESSOR, handover_batch
from ..protocol.markets import MARKETS, MAX_UINT256, USDC
from model.pool import LP_REQUEST_DELAY

from .twin import Twin

# Enough for every mint of a world and its attackers (a FiatToken minter's
# allowance falls with each mint).
FIAT_MINTER_ALLOWANCE = 2**200


@dataclass
class World:
    twin: Twin
    owner: str
    guardian: str
    lps: List[str]
    traders: List[str]
    liquidators: List[str]
    stranger: str
    markets: Dict[str, int]   # symbol -> market id


def refresh_feeds(twin: Twin) -> None:
    """Every feed publishes its answer again, now (a keeper's oracle update)."""
    for symbol in sorted(twin.deployment.feeds):
        feed = twin.model.engine.feeds[twin.deployment.feeds[symbol]]
        if feed.answer > 0:
            twin.send(f"feed:{symbol}", "set_answer", [feed.answer], twin.deployment.deployer)


def settle_request(twin: Twin, request_id: int, keeper: str):
    """The async half of every LP flow, in one place for the harness (the
    model's is Protocol.settle_lp_request): LP_REQUEST_DELAY passes, every
    feed publishes, a keeper executes."""
    twin.wait(LP_REQUEST_DELAY)
    refresh_feeds(twin)
    return twin.send("pool", "execute_request", [request_id], keeper)


def seed_pool(twin: Twin, lp: str, assets: int):
    """An LP deposit through the async flow: request, wait, fresh rounds, execute."""
    r = twin.send("pool", "requestDeposit", [assets, lp, lp], lp)
    assert r.ok, f"requestDeposit reverted: {r.reason}"
    done = settle_request(twin, r.value, lp)
    assert done.ok, f"execute_request reverted: {done.reason}"
    return done


# The state machine's timelock delay: an hour (the testnets' config), as
# long as the standard markets' staleness limit, so a change waits out at
# least one heartbeat, and short enough that the machine's own waits let
# scheduled changes run within an example.
TIMELOCK_DELAY = 3_600


def hand_over_to_timelock(twin: Twin, delay: int = TIMELOCK_DELAY) -> str:
    """The deploy's hand-over (harness/live/netdeploy.py), on a twin: a
    Timelock is deployed, the engine offers it ownership, and the timelock,
    still without a delay, accepts it and takes `delay` in one batch. From
    then on every owner call waits `delay` seconds in the timelock."""
    d, owner = twin.deployment, twin.deployment.deployer
    timelock = twin.add_timelock()
    r = twin.send("engine", "transfer_ownership", [timelock], owner)
    assert r.ok, f"transfer_ownership reverted: {r.reason}"
    batch = handover_batch(d.engine, timelock, delay)
    for fn, tail in (("schedule_batch", [NO_PREDECESSOR, HANDOVER_SALT, 0]),
                     ("execute_batch", [NO_PREDECESSOR, HANDOVER_SALT])):
        r = twin.send("timelock", fn, [*batch, *tail], owner)
        assert r.ok, f"timelock.{fn} reverted: {r.reason}"
    return timelock


def build_world(twin: Twin, lp_deposit: int = 1_000_000 * USDC, insurance: int = 10_000 * USDC,
                n_traders: int = 5, mint: int = 10_000_000 * USDC) -> World:
    a = twin.chain.accounts
    owner, guardian = twin.deployment.deployer, twin.deployment.guardian
    lps, traders = a[2:4], a[4:4 + n_traders]
    liquidators = a[4 + n_traders:6 + n_traders]
    stranger = a[6 + n_traders]
    markets = {}
    for symbol, m in MARKETS.items():
        feed = twin.add_feed(symbol, m["decimals"], m["price"])
        markets[symbol] = twin.send("engine", "list_market", [feed, m["params"]], owner).value
    d = twin.deployment
    if twin.fiat:
        # Circle's masterMinter lets the deployer mint, as MockUSDC's owner can.
        twin.send("token", "configureMinter", [owner, FIAT_MINTER_ALLOWANCE], owner)
    for who in [owner] + lps + traders + [stranger]:
        twin.send("token", "mint", [who, mint], owner)
        twin.send("token", "approve", [d.engine, MAX_UINT256], who)
        twin.send("token", "approve", [d.orders, MAX_UINT256], who)
    for lp in lps:
        twin.send("token", "approve", [d.pool, MAX_UINT256], lp)
        seed_pool(twin, lp, lp_deposit)
    if insurance:
        twin.send("engine", "fund_insurance", [insurance], owner)
    return World(twin, owner, guardian, lps, traders, liquidators, stranger, markets)
