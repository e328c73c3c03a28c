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
from ape.exceptions import ContractLogicError

from .helpers import EXECUTION_FEE, ETH, ETH_PARAMS, INSURANCE_FUND, LP_DEPOSIT, MAX_UINT256, MINT, ZERO, OrderCancelled, OrderWaits, lp_deposit, px

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


@pytest.fixture(scope="session")
def orders_blueprint(project, owner):
    return owner.declare(project.OrderBook).contract_address


@pytest.fixture(scope="session")
def rules_blueprint(project, owner):
    return owner.declare(project.MarketRules).contract_address


@pytest.fixture(scope="session")
def deploy_engine(project, owner, guardian, vault_blueprint, pool_blueprint, orders_blueprint, rules_blueprint):
    """Engine.deploy with the standard blueprints: an L1 (no sequencer feed)
    unless told otherwise, EXECUTION_FEE per order."""
    def _deploy(token, sequencer_feed=ZERO, sequencer_grace=0, execution_fee=EXECUTION_FEE, redeem_fee_bps=REDEEM_FEE_BPS):
        return project.Engine.deploy(token, vault_blueprint, pool_blueprint, orders_blueprint, rules_blueprint, guardian,
                                     sequencer_feed, sequencer_grace, execution_fee, redeem_fee_bps, sender=owner)
    return _deploy


@pytest.fixture
def fresh_engine(deploy_engine, token):
    """A new engine of its own: no market, an empty pool, no insurance.
    Function-scoped so that it is empty whatever ran before."""
    return deploy_engine(token)


@pytest.fixture(scope="session")
def feed(project, owner):
    return project.MockAggregator.deploy(ETH["decimals"], "ETH / USD", ETH["price"], sender=owner)


@pytest.fixture(scope="session")
def engine(chain, project, owner, token, deploy_engine, feed, lp, lp2, alice, bob, carol, liquidator, stranger):
    """The standard world: ETH market id 1 at $2,000, 1,000,000 USDC in the
    pool (all `lp`'s shares), 10,000 USDC of insurance, every actor funded
    with 10,000,000 USDC and the engine and the order book approved for all
    of it."""
    e = deploy_engine(token)
    pool = project.LiquidityPool.at(e.POOL())
    for who in (owner, lp, lp2, alice, bob, carol, liquidator, stranger):
        token.mint(who, MINT, sender=owner)
        token.approve(e, MAX_UINT256, sender=who)
        token.approve(e.ORDERS(), MAX_UINT256, sender=who)
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
def orders(project, engine):
    return project.OrderBook.at(engine.ORDERS())


@pytest.fixture(scope="session")
def market():
    return 1


@pytest.fixture(scope="session")
def lens(project, owner):
    return project.Lens.deploy(sender=owner)


# ---------------------------------------------------------------- helpers

class Clock:
    """Pins block timestamps lazily: `at(dt)` takes effect when the next
    transaction is prepared (see the `clock` fixture), not at once. Setting
    a timestamp makes py-evm mine an empty block one second before it, so
    pinning at once would leave no room for what a trade sends before its
    execution (the request and the fresh round: see Trades)."""

    def __init__(self, chain):
        self.chain = chain
        self.t0 = max(chain.blocks.head.timestamp, chain.pending_timestamp) + 100
        self._pending = self.t0
        # The time the test pinned for its next transaction, which a trade
        # (request, round, execution) must execute at.
        self.pinned = self.t0

    def at(self, dt: int) -> int:
        """The next transaction is mined at t0 + dt."""
        self._pending = self.pinned = self.t0 + dt
        return self.t0 + dt

    def apply(self):
        """Make the pinned timestamp the chain's pending one (before a transaction)."""
        if self._pending is not None:
            t, self._pending = self._pending, None
            self.chain.pending_timestamp = t

    def mine(self, dt: int) -> int:
        """Mine an empty block at t0 + dt: views now read that timestamp."""
        self._pending = self.pinned = None
        self.chain.mine(timestamp=self.t0 + dt)
        return self.t0 + dt

    def take_pinned(self):
        """The pinned time, once, and not applied (None if nothing is pinned)."""
        t, self.pinned, self._pending = self.pinned, None, None
        return t


@pytest.fixture(autouse=True)
def clock(chain, monkeypatch):
    # Autouse: pinning the first block of every test also resets anvil's
    # clock after a revert, so no test inherits an earlier test's time jumps
    # (the feed is only 3,600 s fresh). Every transaction (and its gas
    # estimate, where a revert is seen first) applies the pending pin.
    c = Clock(chain)
    # On the class: providers are pydantic models, whose instances take no
    # new attributes. monkeypatch restores it after the test.
    cls = type(chain.provider)
    for name in ("prepare_transaction", "send_transaction"):
        original = getattr(cls, name)

        def hooked(self, txn, *a, _original=original, **kw):
            c.apply()
            return _original(self, txn, *a, **kw)
        monkeypatch.setattr(cls, name, hooked)
    return c


class Trades:
    """Trades the way they now happen, in three transactions: the trader
    requests (OrderBook.request_*), the market's feed publishes a fresh
    round (its latest answer again, so a test's set_price still holds) and
    a keeper executes. The execution lands at the time the test pinned
    (clock.at), so engine rules read as before; the request and the round
    come `delay` + 1 and `delay` seconds earlier. The keeper defaults to the
    trader, so the execution fee comes back to them and balances read as
    before. A refused order raises OrderCancelled(reason): see `cancelled`."""

    def __init__(self, project, chain, clock, engine, orders, owner):
        self.project, self.chain, self.clock = project, chain, clock
        self.engine, self.orders, self.owner = engine, orders, owner
        self.request = None     # the last request's receipt

    def on(self, engine):
        """The same, for another engine (and its order book)."""
        return Trades(self.project, self.chain, self.clock, engine, self.project.OrderBook.at(engine.ORDERS()),
                      self.owner)

    def _times(self, delay: int):
        head = self.chain.blocks.head.timestamp
        t = self.clock.take_pinned()
        if t is None or t <= head:
            t = head + delay + 3
        # Setting the request's time mines an empty block a second before it.
        assert t - delay - 2 > head, f"a trade needs {delay + 2} s before its execution: pin it later"
        return t - delay - 1, t - delay, t

    def _feed_of(self, market_id: int):
        feed = self.engine.market_state(market_id).feed
        if feed == ZERO:
            return None
        agg = self.project.MockAggregator.at(feed)
        return agg if agg.owner() == self.owner.address else None

    def _run(self, request, market_id, sender, keeper, delay, publish):
        t_request, t_round, t_execute = self._times(delay)
        self.chain.pending_timestamp = t_request
        self.request = request()
        [req] = self.request.events.filter(self.orders.OrderRequested)
        feed = self._feed_of(market_id) if publish else None
        if feed is not None:
            feed.set_round(feed.latestAnswer(), t_round, sender=self.owner)
        self.chain.pending_timestamp = t_execute
        try:
            receipt = self.orders.execute_order(req.order_id, sender=keeper or sender)
        except ContractLogicError as err:
            if err.message in WAIT_REASONS:
                raise OrderWaits(err.message, self.orders, req.order_id, sender) from err
            raise
        cancelled = receipt.events.filter(self.orders.OrderCancelled)
        if cancelled:
            raise OrderCancelled(cancelled[0].reason, receipt)
        return receipt

    def _buy_limit(self, buying: bool, acceptable_price):
        if acceptable_price is not None:
            return acceptable_price
        return 2**128 - 1 if buying else 0

    def _position_side(self, position_id):
        v = self.engine.position(position_id)
        return v.market_id, v.is_long

    def open_position(self, market_id, is_long, size, amount, *, sender, acceptable_price=None, keeper=None,
                      delay=1, publish=True):
        limit = self._buy_limit(is_long, acceptable_price)
        return self._run(lambda: self.orders.request_open(market_id, is_long, size, amount, limit, sender=sender),
                         market_id, sender, keeper, delay, publish)

    def increase_position(self, position_id, size_delta, collateral_delta, *, sender, acceptable_price=None,
                          keeper=None, delay=1, publish=True):
        market_id, is_long = self._position_side(position_id)
        limit = self._buy_limit(is_long, acceptable_price)
        return self._run(lambda: self.orders.request_increase(position_id, size_delta, collateral_delta, limit,
                                                              sender=sender),
                         market_id or 1, sender, keeper, delay, publish)

    def decrease_position(self, position_id, size_delta, *, sender, acceptable_price=None, keeper=None, delay=1,
                          publish=True):
        market_id, is_long = self._position_side(position_id)
        limit = self._buy_limit(not is_long, acceptable_price)
        return self._run(lambda: self.orders.request_decrease(position_id, size_delta, limit, sender=sender),
                         market_id or 1, sender, keeper, delay, publish)

    def close_position(self, position_id, *, sender, acceptable_price=None, keeper=None, delay=1, publish=True):
        market_id, is_long = self._position_side(position_id)
        limit = self._buy_limit(not is_long, acceptable_price)
        return self._run(lambda: self.orders.request_close(position_id, limit, sender=sender),
                         market_id or 1, sender, keeper, delay, publish)


# Refusals after which an order waits for a later round (OrderBook.vy).
WAIT_REASONS = ("orders: no price round after the request yet", "oracle: price is stale", "Pausable: paused",
                "orders: paused, opens and increases wait")


@pytest.fixture
def trade(project, chain, clock, engine, orders, owner):
    return Trades(project, chain, clock, engine, orders, owner)


@pytest.fixture
def open_pos(engine, trade):
    """Open a position through the order book; returns (position_id,
    receipt of the execution).

    The id comes from the PositionOpened event: on the default network ape
    computes a transaction's return_value by re-running the call on the
    post-transaction state, which hands back the *next* id."""
    def _open(trader, size, amount, is_long=True, market_id=1, **kw):
        receipt = trade.open_position(market_id, is_long, size, amount, sender=trader, **kw)
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
def faulty(chain, project, FaultyToken, owner, deploy_engine, feed, alice, lp):
    """A second protocol whose collateral is FaultyToken: ETH market 1, a
    1,000,000 pool, 10,000 insurance, alice and lp funded and approved
    (the engine and its order book)."""
    tok = FaultyToken.deploy(True, sender=owner)
    eng = deploy_engine(tok)
    pl = project.LiquidityPool.at(eng.POOL())
    for who in (owner, alice, lp):
        tok.mint(who, MINT, sender=owner)
        tok.approve(eng, MAX_UINT256, sender=who)
        tok.approve(eng.ORDERS(), MAX_UINT256, sender=who)
    tok.approve(pl, MAX_UINT256, sender=lp)
    lp_deposit(chain, pl, lp, LP_DEPOSIT)
    eng.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    eng.fund_insurance(INSURANCE_FUND, sender=owner)
    return tok, eng, pl
