"""The standard devnet world: the two standard markets (protocol/markets.py),
funded actors, a liquid pool.

Shared by the stateful test, the replay script and the default drill, so a
failure found in one replays in the others from the same starting state.
"""
from dataclasses import dataclass
from typing import Dict, List

from ..protocol.markets import MARKETS, MAX_UINT256, USDC
from .twin import Twin


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
    for who in [owner] + lps + traders + [stranger]:
        twin.send("token", "mint", [who, mint], owner)
        twin.send("token", "approve", [d.engine, MAX_UINT256], who)
        twin.send("token", "approve", [d.orders, MAX_UINT256], who)
    for lp in lps:
        twin.send("token", "approve", [d.pool, MAX_UINT256], lp)
        twin.send("pool", "deposit", [lp_deposit, lp], lp)
    if insurance:
        twin.send("engine", "fund_insurance", [insurance], owner)
    return World(twin, owner, guardian, lps, traders, liquidators, stranger, markets)
