"""The standard markets (ETH and BTC) and the units they are written in.

Shared by the twin's world, the drills (a scenario's defaults), the deploy
configs' devnet and the model tests, so a failure found in one reproduces
in the others from the same parameters.
"""
from model import MarketParams
from model.markets import rate_per_year

USDC = 10**6
PRICE = 10**8          # Chainlink USD feeds have 8 decimals
MAX_UINT256 = 2**256 - 1
# What every order escrows for its keeper on the devnet deployments (0.1 USDC).
EXECUTION_FEE = 100_000
ZERO_ADDRESS = "0x" + "0" * 40
# A liquidation's reward floor (review finding 5): liquidating the smallest
# position (10 USDC of collateral, whose 1% fee at 10x is 1 USDC) takes about
# 120k gas, 4.8 USD at 20 gwei and 2,000 USD/ETH; 5 USDC pays the keeper.
LIQUIDATION_REWARD_FLOOR = 5 * USDC


MARKETS = {
    "ETH": dict(decimals=8, price=2_000 * PRICE, params=MarketParams(
        initial_margin_bps=1_000, maintenance_margin_bps=500, open_fee_bps=10, close_fee_bps=10,
        liquidation_fee_bps=100, min_liquidation_reward=LIQUIDATION_REWARD_FLOOR, insurance_share_bps=2_000,
        max_profit_bps=30_000,
        borrow_rate=rate_per_year(1_000), staleness=3_600, min_collateral=10 * USDC, oi_cap=3_000_000 * USDC)),
    "BTC": dict(decimals=8, price=60_000 * PRICE, params=MarketParams(
        initial_margin_bps=200, maintenance_margin_bps=100, open_fee_bps=5, close_fee_bps=5,
        liquidation_fee_bps=50, min_liquidation_reward=LIQUIDATION_REWARD_FLOOR, insurance_share_bps=5_000,
        max_profit_bps=50_000,
        borrow_rate=rate_per_year(2_000), staleness=3_600, min_collateral=10 * USDC, oi_cap=2_000_000 * USDC)),
}
