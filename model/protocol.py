"""One deployment of the protocol in the model: token, feeds, engine, pool.

Mirrors what scripts/deploy.py puts on chain. Addresses default to names;
a harness passes the chain's real addresses so keys match on both sides.
"""
from typing import Callable, Optional

from .aggregator import MockAggregator
from .engine import Engine
from .env import Env
from .journal import Journal
from .pool import LiquidityPool
from .token import Token


class Protocol:
    def __init__(self, *, deployer: str, guardian: str, timestamp: int = 0,
                 token: str = "token", engine: str = "engine", pool: str = "pool",
                 insurance: str = "insurance", vault_address: Optional[Callable[[int], str]] = None):
        self.journal = Journal()
        self.env = Env(timestamp)
        self.deployer = deployer
        self.token = Token(self.journal, token, decimals=6, minter=deployer)
        self.engine = Engine(self.journal, self.env, engine, self.token, owner=deployer, guardian=guardian,
                             pool_address=pool, insurance=insurance, vault_address=vault_address)
        self.pool = LiquidityPool(self.journal, pool, self.token, self.engine)

    def add_feed(self, address: str, decimals: int, answer: int) -> MockAggregator:
        feed = MockAggregator(self.journal, self.env, address, decimals, answer, owner=self.deployer)
        self.engine.feeds[address] = feed
        return feed
