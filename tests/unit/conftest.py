"""Fixtures for the unit tests.

Everything is deployed once per session; ape snapshots the chain after the
session fixtures and reverts to that snapshot after every test, so each test
starts from the same world for the cost of one revert.

Time: every time-dependent test pins block timestamps through `clock`.
Both backends evaluate eth_call at the head block's timestamp, so views
that depend on time are read after `clock.mine(dt)`. Transactions are
pinned with `clock.at(dt)`; offsets must strictly increase within a test
(py-evm mines an empty block at t-1 when the next timestamp is set).
"""
from pathlib import Path

import pytest

from .helpers import ETH, ETH_PARAMS, INSURANCE_FUND, LP_DEPOSIT, MAX_UINT256, MINT, lp_deposit, px

# The pool's redemption fee in the standard world (the attack tests deploy their own).
REDEEM_FEE_BPS = 0

# ---------------------------------------------------------------- accounts

@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def guardian(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def lp(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def lp2(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def liquidator(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[11]


# ---------------------------------------------------------------- deployment

@pytest.fixture(scope="session")
def token(project, owner):
    return project.MockUSDC.deploy(sender=owner)


@pytest.fixture(scope="session")
def vault_blueprint(project, owner):
    return owner.declare(project.Vault).contract_address


@pytest.fixture(scope="session")
def pool_blueprint(project, owner):
    return owner.declare(project.LiquidityPool).contract_address


@pytest.fixture
def fresh_engine(project, owner, guardian, token, vault_blueprint, pool_blueprint):
    """A new engine of its own: no market, an empty pool, no insurance.
    Function-scoped so that it is empty whatever ran before."""
    return project.Engine.deploy(token, vault_blueprint, pool_blueprint, guardian, REDEEM_FEE_BPS, sender=owner)


@pytest.fixture(scope="session")
def feed(project, owner):
    return project.MockAggregator.deploy(ETH["decimals"], "ETH / USD", ETH["price"], sender=owner)


@pytest.fixture(scope="session")
def engine(chain, project, owner, guardian, token, vault_blueprint, pool_blueprint, feed, lp, lp2, alice, bob, carol,
           liquidator, stranger):
    """The standard world: ETH market id 1 at $2,000, 1,000,000 USDC in the
    pool (all `lp`'s shares), 10,000 USDC of insurance, every actor funded
    with 10,000,000 USDC and the engine approved for all of it."""
    e = project.Engine.deploy(token, vault_blueprint, pool_blueprint, guardian, REDEEM_FEE_BPS, sender=owner)
    pool = project.LiquidityPool.at(e.POOL())
    for who in (owner, lp, lp2, alice, bob, carol, liquidator, stranger):
        token.mint(who, MINT, sender=owner)
        token.approve(e, MAX_UINT256, sender=who)
    for who in (lp, lp2):
        token.approve(pool, MAX_UINT256, sender=who)
    # Seeded before the market is listed: no price round to wait for.
    lp_deposit(chain, pool, lp, LP_DEPOSIT)
    e.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    e.fund_insurance(INSURANCE_FUND, sender=owner)
    return e


@pytest.fixture(scope="session")
def pool(project, engine):
    return project.LiquidityPool.at(engine.POOL())


@pytest.fixture(scope="session")
def insurance(engine):
    return engine.INSURANCE()


@pytest.fixture(scope="session")
def market():
    return 1


@pytest.fixture(scope="session")
def lens(project, owner):
    return project.Lens.deploy(sender=owner)


# ---------------------------------------------------------------- helpers

class Clock:
    def __init__(self, chain):
        self.chain = chain
        self.t0 = max(chain.blocks.head.timestamp, chain.pending_timestamp) + 100
        self.chain.pending_timestamp = self.t0

    def at(self, dt: int) -> int:
        """The next transaction is mined at t0 + dt."""
        self.chain.pending_timestamp = self.t0 + dt
        return self.t0 + dt

    def mine(self, dt: int) -> int:
        """Mine an empty block at t0 + dt: views now read that timestamp."""
        self.chain.mine(timestamp=self.t0 + dt)
        return self.t0 + dt


@pytest.fixture(autouse=True)
def clock(chain):
    # Autouse: pinning the first block of every test also resets anvil's
    # clock after a revert, so no test inherits an earlier test's time jumps
    # (the feed is only 3,600 s fresh).
    return Clock(chain)


@pytest.fixture
def open_pos(engine):
    """Open a position; returns (position_id, receipt).

    The id comes from the PositionOpened event: on the default network ape
    computes a transaction's return_value by re-running the call on the
    post-transaction state, which hands back the *next* id."""
    def _open(trader, size, amount, is_long=True, market_id=1):
        receipt = engine.open_position(market_id, is_long, size, amount, sender=trader)
        return receipt.events.filter(engine.PositionOpened)[0].position_id, receipt
    return _open


@pytest.fixture
def set_price(feed, owner):
    def _set(usd_price):
        return feed.set_answer(px(usd_price), sender=owner)
    return _set


@pytest.fixture
def snapshot(lens, engine, token, pool):
    """Everything a reverted call must leave untouched."""
    def _snap(position_ids=(), holders=()):
        return dict(
            totals=tuple(lens.totals(engine)),
            market=tuple(engine.market_state(1)),
            positions=[tuple(engine.position(p)) for p in position_ids],
            balances=[token.balanceOf(h) for h in holders],
            shares=[pool.balanceOf(h) for h in holders],
        )
    return _snap


@pytest.fixture
def poke(chain):
    """Write one storage word of a contract (anvil_setStorageAt, or py-evm's
    state directly on the default network, then mine so calls see it)."""
    def _poke(address, slot: int, value: int):
        provider = chain.provider
        backend = getattr(provider, "evm_backend", None)
        if backend is None:
            provider.set_storage(address, slot, value)
            return
        evm_chain = backend.chain
        state = evm_chain.get_vm().state
        state.set_storage(bytes.fromhex(str(address)[2:]), slot, value)
        state.persist()
        evm_chain.header = evm_chain.header.copy(state_root=state.state_root)
        chain.mine()
    return _poke


# ---------------------------------------------------------------- a token that misbehaves

@pytest.fixture(scope="session")
def FaultyToken():
    import ape

    source = (Path(__file__).parent / "support" / "FaultyToken.vy").read_text()
    return ape.compilers.compile_source("vyper", source, contractName="FaultyToken")


@pytest.fixture(scope="session")
def faulty(chain, project, FaultyToken, owner, guardian, vault_blueprint, pool_blueprint, feed, alice, lp):
    """A second protocol whose collateral is FaultyToken: ETH market 1, a
    1,000,000 pool, 10,000 insurance, alice and lp funded and approved."""
    tok = FaultyToken.deploy(True, sender=owner)
    eng = project.Engine.deploy(tok, vault_blueprint, pool_blueprint, guardian, REDEEM_FEE_BPS, sender=owner)
    pl = project.LiquidityPool.at(eng.POOL())
    for who in (owner, alice, lp):
        tok.mint(who, MINT, sender=owner)
        tok.approve(eng, MAX_UINT256, sender=who)
    tok.approve(pl, MAX_UINT256, sender=lp)
    lp_deposit(chain, pl, lp, LP_DEPOSIT)
    eng.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    eng.fund_insurance(INSURANCE_FUND, sender=owner)
    return tok, eng, pl
