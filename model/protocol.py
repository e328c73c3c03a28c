"""One deployment of the protocol in the model: token, feeds, engine, pool,
order book (and an L2's sequencer-uptime feed, a MockAggregator too).

Mirrors what scripts/deploy.py puts on chain. Addresses default to names;
a harness passes the chain's real addresses so keys match on both sides.

Every contract's events land in one ordered log, `events` (the journal's):
a list of Emitted(address, event), event a frozen dataclass named and
shaped as the contract's (model.events). A reverted call leaves none.

    mark = p.events_mark()
    p.engine.close_position(pid, sender=alice)
    [e.event for e in p.events_since(mark, "PositionClosed")]
"""
from typing import Callable, List, Optional

from .aggregator import MockAggregator
from .engine import Engine
from .fiat_token import FiatToken
from .env import ZERO_ADDRESS, Env
from .events import Emitted
from .journal import Journal, Mapping
from .lens import Lens
from .pool import LP_REQUEST_DELAY, LiquidityPool, RequestExecuted
from .token import Token


class Protocol:
    """A deployment's twins, wired as scripts/deploy.py wires the contracts.

    `deployer` owns the engine and mints the token; `guardian` may pause; `timestamp` is
    the first block's time (`env.timestamp`, which the caller moves on). The rest name
    addresses (a harness passes the chain's) and the engine's and pool's constructor
    arguments: `execution_fee` per order, `redeem_fee_bps` on LP redemptions, an L2's
    `sequencer_feed` and `sequencer_grace`; `fiat` gives the token Circle's roles
    (model/fiat_token.py) instead of a plain mock USDC. `record_events=False` keeps no log.

    Attributes: token, engine, pool, orders, rules, lens, env, journal, contracts (by address).
    """

    def __init__(self, *, deployer: str, guardian: str, timestamp: int = 0,
                 token: str = "token", engine: str = "engine", pool: str = "pool",
                 insurance: str = "insurance", vault_address: Optional[Callable[[int], str]] = None,
                 lens: str = "lens", record_events: bool = True, orders: str = "orders", rules: str = "rules",
                 sequencer_feed: str = ZERO_ADDRESS, sequencer_grace: int = 0, execution_fee: int = 0,
                 redeem_fee_bps: int = 0, fiat: Optional[dict] = None):
        self.journal = Journal(record_events)
        self.env = Env(timestamp)
        self.deployer = deployer
        # `fiat`: the roles of a USDC-like collateral (MockFiatToken's
        # constructor: master_minter, pauser, blacklister, owner), whose
        # blacklist and pause the state machine's second world exercises.
        self.token = (FiatToken(self.journal, token, **fiat) if fiat is not None
                      else Token(self.journal, token, decimals=6, minter=deployer))
        self.engine = Engine(self.journal, self.env, engine, self.token, owner=deployer, guardian=guardian,
                             pool_address=pool, insurance=insurance, vault_address=vault_address,
                             make_pool=lambda e: LiquidityPool(self.journal, pool, self.token, e, redeem_fee_bps),
                             orders_address=orders, rules_address=rules, sequencer_feed=sequencer_feed, sequencer_grace=sequencer_grace,
                             execution_fee=execution_fee)
        self.pool = self.engine.pool
        self.orders = self.engine.orders
        self.rules = self.engine.rules
        # Contracts by address, for calls that name their target (Lens).
        self.contracts = Mapping(self.journal, None)
        for c in (self.token, self.engine, self.pool, self.orders, self.rules):
            self.contracts[c.address] = c
        self.lens = Lens(lens, self.contracts)

    def add_feed(self, address: str, decimals: int, answer: int) -> MockAggregator:
        """Deploys a Chainlink-style feed owned by the deployer, its first round `answer`
        now, and registers it where the engine looks feeds up by address. Move the price
        with `feed.set_answer(answer, sender=p.deployer)`."""
        feed = MockAggregator(self.journal, self.env, address, decimals, answer, owner=self.deployer)
        self.engine.feeds[address] = feed
        self.contracts[address] = feed
        return feed

    # ---------------------------------------------------------------- LP flows

    def refresh_feeds(self) -> None:
        """A new round, same answer, now, on every listed market's feed: what
        a keeper's oracle update gives a pending LP request."""
        e = self.engine
        for market_id in range(1, e.market_count + 1):
            feed = e.feeds[e.market_state(market_id).feed]
            feed.set_answer(feed.answer, sender=feed.owner)

    def settle_lp_request(self, request_id: int, *, keeper: str) -> RequestExecuted:
        """The async half of every LP flow, in one place: LP_REQUEST_DELAY
        passes, every feed publishes a round, a keeper executes."""
        self.env.timestamp += LP_REQUEST_DELAY
        self.refresh_feeds()
        return self.pool.execute_request(request_id, sender=keeper)

    def lp_deposit(self, lp: str, assets: int, *, keeper: Optional[str] = None) -> RequestExecuted:
        """Seed or top up the pool: request, wait, fresh rounds, execute."""
        request_id = self.pool.requestDeposit(assets, lp, lp, sender=lp)
        return self.settle_lp_request(request_id, keeper=keeper or lp)

    def lp_redeem(self, lp: str, shares: int, *, keeper: Optional[str] = None) -> RequestExecuted:
        """Redeem through a request, as lp_deposit."""
        request_id = self.pool.requestRedeem(shares, lp, lp, sender=lp)
        return self.settle_lp_request(request_id, keeper=keeper or lp)

    # ---------------------------------------------------------------- events

    @property
    def events(self) -> Optional[List[Emitted]]:
        """Every event so far, in order (the list itself: do not modify);
        None if built with record_events=False."""
        return self.journal.events

    def events_mark(self) -> int:
        """A position in the log, for events_since."""
        return len(self.journal.events or ())

    def events_since(self, mark: int = 0, *names: str, address: Optional[str] = None) -> List[Emitted]:
        """The events after `mark`, optionally only these names / this emitter."""
        out = (self.journal.events or [])[mark:]
        if names:
            out = [e for e in out if type(e.event).__name__ in names]
        if address is not None:
            out = [e for e in out if e.address == address]
        return out
