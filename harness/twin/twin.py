"""A chain deployment and its model, driven in lockstep and compared.

Every action is applied to the model and to the chain at the same block
timestamp. Both must succeed, or both revert with the same reason; after
that, `check` compares every position, balance and total exactly. A
difference raises Disagreement naming the step, the action, the field and
both values. Every action is also logged in a form that `scripts/replay.py`
can play back on any network.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from model import MarketParams, Protocol, Revert

from ..chains.chain import Chain, TxResult
from ..protocol.markets import EXECUTION_FEE, ZERO_ADDRESS
from ..protocol.snapshot import ChainState, Snapshot, model_market_state
from .deploy import Deployment, deploy_core


class Disagreement(AssertionError):
    def __init__(self, step: int, action: str, field: str, model: Any, chain: Any):
        self.step, self.action, self.field, self.model, self.chain = step, action, field, model, chain
        super().__init__(f"step {step}: {action}\n  field: {field}\n  model: {model!r}\n  chain: {chain!r}")


@dataclass
class Target:
    address: str
    contract: str
    model: Any


# Every twin's clock starts here (or later, if the chain is already past it),
# so a logged action that carries a timestamp replays identically elsewhere.
START_TIME = 2_000_000_000
# The account that pauses and blacklists a USDC-like collateral: past the
# standard world's twelve (world.py), so no actor of it holds the role.
ISSUER = 12


class Twin:
    # The state machine reads the whole state several times a step (its own
    # check, then economics.py's invariants and attackers), and through ape
    # one read is ~20 eth_calls of ~20 ms each. Between two changes of the
    # chain a read returns the same, so with cache_reads the next reads reuse
    # the last one. Only valid while every transaction goes through this
    # twin: a test that moves tokens behind its back (test_replay.py) reads
    # afresh, so it is off unless the caller turns it on.
    cache_reads = False

    def __init__(self, chain: Chain, deployer: Optional[str] = None, guardian: Optional[str] = None,
                 fiat: bool = False):
        self.chain = chain
        self.clock = max(chain.latest_timestamp(), START_TIME)
        self.model: Optional[Protocol] = None
        self.step = 0
        self.last_action = "deploy"
        self.log: List[tuple] = []
        # (calls, results) of the last state read, valid until the chain
        # changes (tick, rollback): the read batched with a transaction, and
        # with cache_reads every read_chain; and the time reads run at.
        self._reads = self._read_time = None
        deployer = deployer or chain.accounts[0]
        guardian = guardian or chain.accounts[1]
        # A USDC-like collateral's roles: the deployer mints (as Circle's
        # master minter configures it), and an issuer account of its own,
        # not the protocol's guardian, pauses and blacklists.
        self.issuer = chain.accounts[ISSUER] if fiat else None
        self.fiat = dict(master_minter=deployer, pauser=self.issuer, blacklister=self.issuer,
                         owner=deployer) if fiat else None
        self.deployment: Deployment = deploy_core(chain, deployer, guardian, tick=self.tick, fiat=self.fiat)
        d = self.deployment
        self.model = Protocol(deployer=deployer, guardian=guardian, timestamp=self.clock, token=d.token,
                              engine=d.engine, pool=d.pool, insurance=d.insurance, vault_address=d.vault_address,
                              orders=d.orders, rules=d.rules, execution_fee=EXECUTION_FEE, fiat=self.fiat)
        self.targets: Dict[str, Target] = {
            "token": Target(d.token, "MockFiatToken" if fiat else "MockUSDC", self.model.token),
            "engine": Target(d.engine, "Engine", self.model.engine),
            "pool": Target(d.pool, "LiquidityPool", self.model.pool),
            "orders": Target(d.orders, "OrderBook", self.model.orders),
            "rules": Target(d.rules, "MarketRules", self.model.rules),
        }
        self.holders = list(dict.fromkeys(list(chain.accounts) + [d.pool, d.insurance, d.engine, d.orders]))
        self._names = {a: f"account:{i}" for i, a in enumerate(chain.accounts)}
        self._names.update({d.token: "token", d.engine: "engine", d.pool: "pool", d.insurance: "insurance",
                            d.orders: "orders", d.rules: "rules"})

    # ---------------------------------------------------------------- driving

    def tick(self, seconds: int = 1) -> None:
        """Pin the next block's timestamp, `seconds` after the last one."""
        # Every transaction and deployment ticks first; on ape's test chain
        # the pinned time is also the time reads run at. Either way the last
        # read is out of date. (wait() does not touch the chain: a read
        # after it returns what it returned before.)
        self._reads = self._read_time = None
        self.clock += seconds
        self.chain.set_next_timestamp(self.clock)
        if self.model is not None:
            self.model.env.timestamp = self.clock

    def wait(self, seconds: int) -> None:
        """Let time pass before the next transaction."""
        self.clock += seconds
        self.log.append(("wait", seconds))

    def add_feed(self, symbol: str, decimals: int, answer: int) -> str:
        self.tick()
        address = self.chain.deploy("MockAggregator", [decimals, symbol, answer], self.deployment.deployer)
        self.model.add_feed(address, decimals, answer)
        self.deployment.feeds[symbol] = address
        self.targets[f"feed:{symbol}"] = Target(address, "MockAggregator", self.model.engine.feeds[address])
        self._names[address] = f"feed:{symbol}"
        self.log.append(("feed", symbol, decimals, answer))
        return address

    def add_timelock(self) -> str:
        """Deploy a Timelock (contracts/Timelock.vy, snekmate's
        timelock_controller) and its twin (model/timelock.py), with no delay
        yet and the deployer as its only proposer, canceller and executor.
        It owns nothing until the hand-over (world.hand_over_to_timelock)."""
        from model.timelock import Timelock

        from ..chains.contracts import call_decoder
        d, owner = self.deployment, self.deployment.deployer
        self.tick()
        address = self.chain.deploy("Timelock", [0, [owner], [owner], ZERO_ADDRESS], owner)
        decode = call_decoder({d.engine: "Engine", address: "Timelock"})
        twin = Timelock(self.model.journal, self.model.env, address, self.model.contracts, decode, 0, [owner],
                        [owner], ZERO_ADDRESS, sender=owner)
        self.model.contracts[address] = twin
        self.targets["timelock"] = Target(address, "Timelock", twin)
        self._names[address] = "timelock"
        d.timelock = address
        self.log.append(("timelock",))
        return address

    def adopt_feed(self, symbol: str, candidate: str) -> None:
        """After the engine moved `symbol`'s market to the feed deployed as
        `candidate`: `feed:<symbol>` names that feed from now on (the old one
        keeps no name; the candidate keeps its own, for replays)."""
        self.deployment.feeds[symbol] = self.deployment.feeds[candidate]
        self.targets[f"feed:{symbol}"] = self.targets[f"feed:{candidate}"]
        self.log.append(("adopt_feed", symbol, candidate))

    def send(self, target: str, fn: str, args, sender: str, seconds: int = 1) -> TxResult:
        """Apply one call to model and chain; they must agree on its outcome."""
        self.step += 1
        self.last_action = f"{target}.{fn}{tuple(args)!r} from {self._names.get(sender, sender)}"
        self.log.append(("send", target, fn, [self.symbolic(a) for a in args], self.symbolic(sender), seconds))
        self.tick(seconds)
        t = self.targets[target]
        try:
            value, reason = getattr(t.model, fn)(*args, sender=sender), None
        except Revert as err:
            value, reason = None, err.reason
        chain_args = [_chain_arg(a) for a in args]
        if self.chain.batches_reads:
            # Read the state this step leaves in the same round trip: check()
            # after it then costs nothing more.
            snap = self._snapshot()
            calls = snap.calls()
            r, reads = self.chain.transact_then_call(t.address, t.contract, fn, chain_args, sender, calls)
            self._reads = (calls, reads)
        else:
            r = self.chain.transact(t.address, t.contract, fn, chain_args, sender)
        if r.ok != (reason is None) or r.reason != reason:
            model_says = "success" if reason is None else f"revert {reason!r}"
            chain_says = "success" if r.ok else f"revert {r.reason!r}"
            raise Disagreement(self.step, self.last_action, "outcome", model_says, chain_says)
        return TxResult(r.ok, reason, value, r.gas_used)

    # ---------------------------------------------------------------- savepoints

    def savepoint(self):
        """Mark chain and model; `rollback` returns both to it. The names of
        feeds deployed since (a migration's candidates) go with them."""
        return (self.chain.snapshot(), self.model.journal.begin(), self.clock, self.step, self.last_action,
                len(self.log), dict(self.deployment.feeds), dict(self.targets), dict(self._names))

    def rollback(self, mark) -> None:
        snap, journal_mark, self.clock, self.step, self.last_action, log_len, feeds, targets, names = mark
        for live, saved in ((self.deployment.feeds, feeds), (self.targets, targets), (self._names, names)):
            live.clear()
            live.update(saved)
        self.chain.restore(snap)
        self._reads = self._read_time = None
        self.model.journal.undo(journal_mark)
        self.model.env.timestamp = self.clock
        del self.log[log_len:]

    @contextmanager
    def what_if(self):
        """Run actions on both sides, then undo them on both sides."""
        mark = self.savepoint()
        try:
            yield self
        finally:
            self.rollback(mark)

    # ---------------------------------------------------------------- reading the chain

    def _snapshot(self, slot_count: Optional[int] = None) -> Snapshot:
        """Every eth_call `check` needs (protocol/snapshot.py), for as many
        slots and markets as the model has."""
        eng = self.model.engine
        return Snapshot(self.deployment, self.holders, self.holders,
                        eng.vault_count if slot_count is None else slot_count, eng.market_count)

    def read_time(self) -> int:
        """chain.call_timestamp(), the time a read runs at; with cache_reads
        asked once until the chain changes (a node's answer is fixed until
        then: tests/stateful/test_clock.py)."""
        if self._read_time is not None:
            return self._read_time
        at = self.chain.call_timestamp()
        if self.cache_reads:
            self._read_time = at
        return at

    def read_chain(self, slot_count: Optional[int] = None) -> ChainState:
        """Everything `check` compares, read in one batch of eth_calls (or
        taken from the batch sent with the step's transaction, or, with
        cache_reads, from the last read since the chain last changed)."""
        snap = self._snapshot(slot_count)
        calls = snap.calls()
        if self._reads is not None and self._reads[0] == calls:
            return snap.decode(self._reads[1])
        reads = self.chain.call_many(calls)
        if self.cache_reads:
            self._reads = (calls, reads)
        return snap.decode(reads)

    # ---------------------------------------------------------------- comparing

    def _differ(self, field: str, model_value, chain_value):
        if model_value != chain_value:
            raise Disagreement(self.step, self.last_action, field, model_value, chain_value)

    def check(self) -> ChainState:
        """Compare the whole protocol state, exactly; return what the chain said."""
        m, eng = self.model, self.model.engine
        state = self.read_chain()
        self._differ("engine.vault_count", eng.vault_count, state.vault_count)
        for cv, mv in zip(state.slots, eng.all_slots()):
            mt = tuple(mv.__dict__.values())
            if mt != tuple(cv):
                for name, a, b in zip(mv.__dataclass_fields__, mt, cv):
                    self._differ(f"slot[{mv.slot}].{name}", a, b)
        for holder, value in state.balances.items():
            self._differ(f"token.balanceOf[{self._names.get(holder, holder)}]", m.token.balanceOf[holder], value)
        self._differ("token.totalSupply", m.token.totalSupply, state.total_supply)
        for holder, value in state.shares.items():
            self._differ(f"pool.balanceOf[{self._names.get(holder, holder)}]", m.pool.balanceOf(holder), value)
        model_totals = eng.totals(m.pool.totalSupply())
        for name, mv, cv in zip(model_totals.__dataclass_fields__, model_totals.__dict__.values(), state.totals):
            self._differ(f"totals.{name}", mv, cv)
        for market_id, (cs, cp) in enumerate(zip(state.market_states, state.market_params), start=1):
            st = eng.market_state(market_id)
            self._differ(f"market_state[{market_id}]", model_market_state(st), cs)
            self._differ(f"market_params[{market_id}]", eng.market_params(market_id).as_tuple(), cp)
            for side, cx in zip((True, False), state.exposures[market_id - 1]):
                self._differ(f"exposure[{market_id}, {side}]", tuple(eng.exposure(market_id, side).__dict__.values()),
                             cx)
        self._differ("pool.cash", m.pool.cash(), state.pool_cash)
        self._differ("pool.pending_deposits", m.pool.pending_deposits, state.pending_deposits)
        self._differ("pool.request_count", m.pool.request_count, state.request_count)
        self._differ("engine.guardian", eng.guardian, state.guardian)
        self._differ("engine.owner", eng.owner, state.owner)
        return state

    # ---------------------------------------------------------------- replay log

    def symbolic(self, value):
        if isinstance(value, MarketParams):
            return {"MarketParams": list(value.as_tuple())}
        if isinstance(value, str) and value in self._names:
            return {"@": self._names[value]}
        if isinstance(value, (bytes, bytearray)):
            return {"bytes": value.hex()}
        if isinstance(value, (list, tuple)):
            return [self.symbolic(v) for v in value]
        return value

    def resolve(self, value):
        """Inverse of `symbolic`, against this twin's accounts and contracts."""
        if isinstance(value, dict) and "MarketParams" in value:
            return MarketParams(*value["MarketParams"])
        if isinstance(value, dict) and "bytes" in value:
            return bytes.fromhex(value["bytes"])
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict) and "@" in value:
            name = value["@"]
            if name.startswith("account:"):
                return self.chain.accounts[int(name.split(":")[1])]
            return self.targets[name].address if name in self.targets else getattr(self.deployment, name)
        return value

    def replay(self, entries) -> None:
        """Play back a log written by another twin (any backend), checking each step."""
        for entry in entries:
            kind = entry[0]
            if kind == "wait":
                self.wait(entry[1])
            elif kind == "feed":
                self.add_feed(*entry[1:])
            elif kind == "adopt_feed":
                self.adopt_feed(*entry[1:])
            elif kind == "timelock":
                self.add_timelock()
            elif kind == "attackers":
                from .adversaries import add_attacker_contracts
                add_attacker_contracts(self, *(self.resolve(a) for a in entry[1:]))
            else:
                _, target, fn, args, sender, seconds = entry
                self.send(target, fn, [self.resolve(a) for a in args], self.resolve(sender), seconds)
                self.check()


# What a replay log holds (Twin.log): the kinds `replay` plays back.
REPLAY_KINDS = frozenset({"wait", "feed", "adopt_feed", "timelock", "attackers", "send"})


def _chain_arg(a):
    return a.as_tuple() if isinstance(a, MarketParams) else a
