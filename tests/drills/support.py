"""A tiny keeper world on any chain: one ETH market with round numbers.

No borrow fee (rate 0), so every figure below is exact arithmetic:
  long 9x:  paid 1,000 USDC, size 9,000, open fee 9, collateral 991
  long 5x:  paid 1,000 USDC, size 5,000, open fee 5, collateral 995
  short 5x: paid 1,000 USDC, size 5,000, open fee 5, collateral 995
At 1,800 (-10%) the 9x long has equity 991 - 900 = 91 < maintenance 450:
liquidatable. The 5x long has 995 - 500 = 495 >= 250: healthy.
"""
from dataclasses import dataclass
from typing import List

from harness.drills.drivers import DrillTwin
from harness.protocol.markets import MAX_UINT256, PRICE, USDC
from harness.twin.world import seed_pool
from model import MarketParams

SIMPLE = MarketParams(
    initial_margin_bps=1_000, maintenance_margin_bps=500, open_fee_bps=10, close_fee_bps=10,
    liquidation_fee_bps=100, min_liquidation_reward=5 * USDC, insurance_share_bps=2_000, max_profit_bps=30_000,
    borrow_rate=0, staleness=3_600, min_collateral=10 * USDC, oi_cap=10_000_000 * USDC)


@dataclass
class KeeperWorld:
    twin: DrillTwin
    owner: str
    trader: str
    keepers: List[str]
    long9: int
    long5: int
    short5: int

    def set_price(self, usd: int) -> None:
        assert self.twin.send("feed:ETH", "set_answer", [usd * PRICE], self.owner).ok


def keeper_world(chain) -> KeeperWorld:
    twin = DrillTwin(chain)
    a = chain.accounts
    owner, lp, trader = twin.deployment.deployer, a[2], a[4]
    d = twin.deployment
    feed = twin.add_feed("ETH", 8, 2_000 * PRICE)
    assert twin.send("engine", "list_market", [feed, SIMPLE], owner).ok
    for who in (owner, lp, trader):
        assert twin.send("token", "mint", [who, 1_000_000 * USDC], owner).ok
        assert twin.send("token", "approve", [d.engine, MAX_UINT256], who).ok
    assert twin.send("token", "approve", [d.pool, MAX_UINT256], lp).ok
    seed_pool(twin, lp, 500_000 * USDC)
    assert twin.send("engine", "fund_insurance", [1_000 * USDC], owner).ok
    ids = []
    for is_long, lev in ((True, 9), (True, 5), (False, 5)):
        out = twin.send("engine", "open_position", [1, is_long, 1_000 * USDC * lev, 1_000 * USDC], trader)
        assert out.ok, out.reason
        ids.append(out.value)
    twin.check()
    return KeeperWorld(twin, owner, trader, [a[9], a[10], a[11]], *ids)
