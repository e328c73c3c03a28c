"""The standard devnet world: two markets, funded actors, a liquid pool.

Shared by the stateful test, the replay script and the default drill, so a
failure found in one replays in the others from the same starting state.
"""
from dataclasses import dataclass
from typing import Dict, List

from model import MarketParams

from .twin import Twin

USDC = 10**6
PRICE = 10**8          # Chainlink USD feeds have 8 decimals
YEAR = 365 * 86_400
MAX_UINT256 = 2**256 - 1


def rate_per_year(bps: int) -> int:
    """Per-second borrow rate (1e18 scale) for a yearly rate in bps."""
    return bps * 10**18 // 10_000 // YEAR


MARKETS = {
    "ETH": dict(decimals=8, price=2_000 * PRICE, params=MarketParams(
        initial_margin_bps=1_000, maintenance_margin_bps=500, open_fee_bps=10, close_fee_bps=10,
        liquidation_fee_bps=100, insurance_share_bps=2_000, max_profit_bps=30_000,
        borrow_rate=rate_per_year(1_000), staleness=3_600, min_collateral=10 * USDC, oi_cap=3_000_000 * USDC)),
    "BTC": dict(decimals=8, price=60_000 * PRICE, params=MarketParams(
        initial_margin_bps=200, maintenance_margin_bps=100, open_fee_bps=5, close_fee_bps=5,
        liquidation_fee_bps=50, insurance_share_bps=5_000, max_profit_bps=50_000,
        borrow_rate=rate_per_year(2_000), staleness=3_600, min_collateral=10 * USDC, oi_cap=2_000_000 * USDC)),
}


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
    for lp in lps:
        twin.send("token", "approve", [d.pool, MAX_UINT256], lp)
        twin.send("pool", "deposit", [lp_deposit, lp], lp)
    if insurance:
        twin.send("engine", "fund_insurance", [insurance], owner)
    return World(twin, owner, guardian, lps, traders, liquidators, stranger, markets)
