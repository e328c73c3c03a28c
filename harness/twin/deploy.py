"""Put the protocol on a chain: token, blueprints, engine (which creates its
vault implementation, insurance vault, pool and order book), the lens, and
feeds. An L1 devnet: no sequencer feed."""
from dataclasses import dataclass, field
from typing import Dict, Optional

from eth_utils import to_checksum_address

from ..chains.addresses import create_address
from ..chains.chain import Chain, ChainError
from ..protocol.layout import ENGINE_CREATES, vault_address
from ..protocol.markets import EXECUTION_FEE, ZERO_ADDRESS


@dataclass
class Deployment:
    deployer: str
    guardian: str
    token: str
    engine: str
    pool: str
    insurance: str
    vault_implementation: str
    lens: str
    orders: str = ""
    rules: str = ""
    feeds: Dict[str, str] = field(default_factory=dict)
    timelock: str = ""          # the engine's owner once handed over (Twin.add_timelock)

    def vault_address(self, slot: int) -> str:
        return vault_address(self.engine, slot)


def deploy_core(chain: Chain, deployer: str, guardian: str, tick=lambda: None, redeem_fee_bps: int = 0,
                fiat: Optional[dict] = None) -> Deployment:
    """Deploy everything but feeds and markets. `tick` runs before each tx
    (the harness uses it to pin block timestamps). With `fiat` (roles:
    master_minter, pauser, blacklister, owner) the collateral is
    MockFiatToken, USDC's blacklist and pause, instead of MockUSDC."""
    tick()
    if fiat is None:
        token = chain.deploy("MockUSDC", [], deployer)
    else:
        token = chain.deploy("MockFiatToken", ["USD Coin", "USDC", "USD", 6, fiat["master_minter"], fiat["pauser"],
                                               fiat["blacklister"], fiat["owner"]], deployer)
    tick()
    vault_blueprint = chain.declare("Vault", deployer)
    tick()
    pool_blueprint = chain.declare("LiquidityPool", deployer)
    tick()
    orders_blueprint = chain.declare("OrderBook", deployer)
    tick()
    rules_blueprint = chain.declare("MarketRules", deployer)
    tick()
    engine = chain.deploy("Engine", [token, vault_blueprint, pool_blueprint, orders_blueprint, rules_blueprint,
                                     guardian, ZERO_ADDRESS, 0, EXECUTION_FEE, redeem_fee_bps], deployer)
    tick()
    lens = chain.deploy("Lens", [], deployer)
    d = Deployment(
        deployer=deployer,
        guardian=guardian,
        token=token,
        engine=engine,
        pool=chain.call(engine, "Engine", "POOL"),
        insurance=chain.call(engine, "Engine", "INSURANCE"),
        vault_implementation=chain.call(engine, "Engine", "VAULT_IMPLEMENTATION"),
        lens=lens,
        orders=chain.call(engine, "Engine", "ORDERS"),
        rules=chain.call(engine, "Engine", "RULES"),
    )
    expected = [create_address(engine, nonce) for _, _, nonce, _ in ENGINE_CREATES]
    actual = [to_checksum_address(getattr(d, key)) for key, _, _, _ in ENGINE_CREATES]
    if expected != actual:
        raise ChainError(f"engine created contracts at {actual}, expected {expected}")
    for (key, _, _, _), address in zip(ENGINE_CREATES, actual):
        setattr(d, key, address)
    return d
