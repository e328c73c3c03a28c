"""Deploy the protocol to a live network from a config, resumably.

What gets deployed, in order (each a manifest key):
    token, feed:<SYM>          devnets only (`mock: true`): MockUSDC, MockAggregator
    vault_blueprint            EIP-5202 blueprint of Vault.vy
    pool_blueprint             EIP-5202 blueprint of LiquidityPool.vy
    orders_blueprint           EIP-5202 blueprint of OrderBook.vy
    rules_blueprint            EIP-5202 blueprint of MarketRules.vy
    engine                     Engine.vy; its constructor creates the vault
                               implementation, the insurance vault, the pool,
                               the order book and the market rules
    lens                       Lens.vy (batched balance reads for tools)
    timelock                   Timelock.vy (snekmate's timelock_controller), with
                               no delay yet; the deployer and the configured
                               proposer propose, execute and cancel
    market:<SYM>               Engine.list_market(feed, params), by the deployer
    ownership:offer            Engine.transfer_ownership(timelock)
    ownership:schedule         the timelock schedules, with no delay, one batch:
    ownership:accept           Engine.accept_ownership() and its own
                               update_delay(timelock_delay_seconds); executed
    timelock:renounce:<ROLE>   the deployer gives up its roles, unless it is
                               the configured proposer
and, on a later run whose config changed, `params:<SYM>` / `market_feed:<SYM>`
updates of listed markets (and `timelock:delay`): once the timelock owns the
engine each is `schedule:<key>` on one run and `<key>` (the execution) on a
run after the delay.

Why the hand-over is sound: until the batch executes the deployer owns the
engine outright, so a timelock with no delay gives it nothing it lacks; the
batch accepts ownership and raises the delay in one transaction, so the
timelock never owns the engine with less than the configured delay; the
deployer never holds the timelock's admin role (its constructor revokes it
and no admin is named), so roles too change only through the delay.

The plan is a generator that decides each next transaction from what the
manifest and the chain already hold, so the same code drives a simulation
(the dry run, and the rehearsal before every real run) and the real thing.
Nothing listed in the manifest, or found on chain (a market with the same
feed, a creation whose transaction was sent before a crash), is sent again.
"""
import copy
import json
import os
import sys
from typing import Callable, Iterator, List, Optional

from eth_utils import to_checksum_address

from model import MarketParams

from eth_utils import keccak

from model.timelock import CANCELLER_ROLE, DONE, EXECUTOR_ROLE, PROPOSER_ROLE, READY, UNSET, WAITING

from ..chains.addresses import create_address
from ..chains.artifacts import artifact
from ..chains.contracts import blueprint_initcode, codec, initcode
from ..chains.rpc import Rpc, RpcError
from ..protocol.handover import HANDOVER_SALT, NO_PREDECESSOR, handover_batch
from ..protocol.layout import ENGINE_CREATES, engine_args
from ..protocol.markets import ZERO_ADDRESS
from .bytecode import check_code, expected_code, proxy_code
from .manifest import Manifest, ManifestError
from .netconfig import NetConfig, params_dict
from .txs import (DeployError, NetworkSender, NetworkView, PlannedTx, Sender, Sent, SimulatedSender, View,  # noqa: F401
                  _jsonable, sent_from_receipt)

CRASH_ENV = "ISOMARGIN_DEPLOY_CRASH_AT"
ROLES = (("proposer", PROPOSER_ROLE), ("canceller", CANCELLER_ROLE), ("executor", EXECUTOR_ROLE))
# Manifest keys of governance steps (not markets): recorded in the manifest's "governance" list.
GOVERNANCE_KEYS = ("ownership:", "timelock:", "schedule:")


def _fmt_args(args) -> str:
    out = []
    for a in args:
        if isinstance(a, (bytes, bytearray)):
            out.append("0x" + (a.hex() if len(a) <= 8 else a[:4].hex() + f"..({len(a)} bytes)"))
        elif isinstance(a, (list, tuple)) and not isinstance(a, MarketParams):
            out.append("[" + _fmt_args(a) + "]")
        elif isinstance(a, MarketParams):
            out.append("params{" + ", ".join(f"{k}={v}" for k, v in params_dict(a).items()) + "}")
        else:
            out.append(repr(a) if isinstance(a, str) and not a.startswith("0x") else str(a))
    return ", ".join(out)


def _display_path(path) -> str:
    from pathlib import Path

    from ..chains.artifacts import ROOT

    p = Path(path).resolve()
    return p.relative_to(ROOT).as_posix() if p.is_relative_to(ROOT) else str(p)


def _crash_point(key: str, moment: str) -> None:
    # Testing aid: die like a killed process at a chosen point, leaving the
    # manifest exactly as a real crash would.
    if os.environ.get(CRASH_ENV) == f"{key}:{moment}":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(75)


# ---------------------------------------------------------------- the deployment

class Deployment:
    """One deploy run against one network. `out` prints progress lines."""

    def __init__(self, rpc: Rpc, config: NetConfig, manifest_path, deployer: str, *, name: str,
                 network_choice: str, fork_url: Optional[str] = None, fresh: bool = False, dry_run: bool = False,
                 out: Callable[[str], None] = print):
        self.rpc, self.config, self.deployer, self.out = rpc, config, to_checksum_address(deployer), out
        self.fork_url = fork_url
        self.chain_id = rpc.chain_id()
        self.genesis = rpc.block_hash(0)
        if config.chain_id is not None and config.chain_id != self.chain_id:
            raise DeployError(f"{config.path} is for chain {config.chain_id}, the node is chain {self.chain_id}")
        self.manifest = self._open_manifest(manifest_path, name, network_choice, fresh, dry_run)
        # Steps whose timelocked operation waits out its delay (the last plan's): verify notes, not problems.
        self.waiting = set()

    # ---------------------------------------------------------------- manifest

    def _open_manifest(self, path, name, network_choice, fresh, dry_run) -> Manifest:
        def new():
            return Manifest.new(path, name=name, network_choice=network_choice, chain_id=self.chain_id,
                                genesis_hash=self.genesis, deployer=self.deployer,
                                config_path=_display_path(self.config.path), config_sha256=self.config.sha256)

        try:
            m = Manifest.load(path)
        except ManifestError as err:
            if "no such manifest" in str(err):
                self.out(f"manifest {path}: new")
                return new()
            raise DeployError(str(err)) from err
        problems = self._foreign(m)
        if problems and not fresh:
            raise DeployError(f"manifest {path} does not describe this chain's deployment: " + "; ".join(problems) +
                              ". Run with --fresh to set it aside and deploy anew.")
        if fresh:
            if dry_run:
                self.out(f"manifest {path}: would be set aside; simulating a new deployment")
            else:
                self.out(f"manifest {path}: set aside as {m.set_aside()}; starting a new one")
            return new()
        if m.data["deployer"] != self.deployer:
            raise DeployError(f"manifest {path} was deployed by {m.data['deployer']}; resume with that account "
                              f"(this one is {self.deployer})")
        self.out(f"manifest {path}: resuming (status {m.data['status']}, {len(m.contracts)} contracts, "
                 f"{len(m.markets)} markets)")
        return m

    def _foreign(self, m: Manifest) -> List[str]:
        problems = []
        if m.data["chain_id"] != self.chain_id:
            problems.append(f"it is for chain {m.data['chain_id']}, the node is chain {self.chain_id}")
        elif m.data["genesis_hash"] != self.genesis:
            problems.append(f"its chain's genesis block is {m.data['genesis_hash']}, this node's is {self.genesis} "
                            "(a restarted devnet?)")
        else:
            for key, entry in m.contracts.items():
                if not self.rpc.code(entry["address"]):
                    problems.append(f"it records {key} at {entry['address']} but there is no code there")
                    break
        return problems

    # ---------------------------------------------------------------- pending

    def resolve_pending(self, m: Manifest) -> None:
        """Settle a transaction that was broadcast but never recorded (a crash)."""
        p = m.pending
        if not p:
            return
        ptx = PlannedTx(p["step"], p["kind"], p["contract"], p["description"], b"", p.get("to"), p.get("fn"),
                        p.get("args") or [])
        receipt = self.rpc.receipt(p["tx"])
        if receipt is not None:
            if int(receipt["status"], 16) == 1:
                self.out(f"pending {p['step']}: {p['tx']} was mined in block {int(receipt['blockNumber'], 16)}; "
                         "recording it")
                self._record(m, ptx, sent_from_receipt(self.rpc, p["tx"], p["nonce"], ptx), NetworkView(self.rpc))
            else:
                self.out(f"pending {p['step']}: {p['tx']} reverted; it will be planned again")
                m.note(f"{p['step']}: transaction {p['tx']} reverted")
            m.data["pending"] = None
            return
        if self.rpc.nonce(self.deployer) <= p["nonce"]:
            if self.rpc.transaction(p["tx"]) is not None:
                raise DeployError(f"{p['step']}: transaction {p['tx']} (nonce {p['nonce']}) is waiting in the "
                                  "node's mempool. Wait for it to be mined or dropped, then run again.")
            # Signed but never seen by the node. Planning it again reuses the
            # same nonce, so at most one of the two can ever be mined.
            self.out(f"pending {p['step']}: {p['tx']} never reached the node; it will be planned again")
            m.data["pending"] = None
            return
        # Its nonce was used by another transaction (replaced or sped up by a wallet):
        # what exists on chain decides.
        if p["kind"] != "call" and p.get("address") and self.rpc.code(p["address"]):
            self.out(f"pending {p['step']}: found its contract at {p['address']} (sent by a replacement "
                     "transaction); recording it")
            self._record(m, ptx, Sent(None, None, 0, p["address"], p["nonce"]), NetworkView(self.rpc))
        else:
            self.out(f"pending {p['step']}: {p['tx']} was replaced; it will be planned again")
        m.data["pending"] = None

    # ---------------------------------------------------------------- planning

    def plan(self, m: Manifest, view: "View") -> Iterator[PlannedTx]:
        cfg = self.config
        if cfg.mock:
            if not m.has("token"):
                yield self._create("token", "MockUSDC", [])
            for mk in cfg.markets:
                if not m.has(f"feed:{mk.symbol}"):
                    yield self._create(f"feed:{mk.symbol}", "MockAggregator",
                                       [mk.feed.decimals, mk.feed.description or f"{mk.symbol} / USD", mk.feed.answer])
        if not m.has("vault_blueprint"):
            yield self._blueprint("vault_blueprint", "Vault")
        if not m.has("pool_blueprint"):
            yield self._blueprint("pool_blueprint", "LiquidityPool")
        if not m.has("orders_blueprint"):
            yield self._blueprint("orders_blueprint", "OrderBook")
        if not m.has("rules_blueprint"):
            yield self._blueprint("rules_blueprint", "MarketRules")
        if not m.has("engine"):
            yield self._create("engine", "Engine", [self._token(m), m.address("vault_blueprint"),
                                                    m.address("pool_blueprint"), m.address("orders_blueprint"),
                                                    m.address("rules_blueprint"), cfg.guardian_for(self.deployer),
                                                    cfg.sequencer_feed or ZERO_ADDRESS, cfg.sequencer_grace,
                                                    cfg.execution_fee, cfg.redeem_fee_bps])
        if not m.has("lens"):
            yield self._create("lens", "Lens", [])
        if not m.has("timelock"):
            holders = list(dict.fromkeys([self.deployer, cfg.proposer_for(self.deployer)]))
            yield self._create("timelock", "Timelock", [0, holders, holders, ZERO_ADDRESS])
        engine = m.address("engine")
        for mk in cfg.markets:
            feed = self._feed(m, mk)
            if mk.symbol not in m.markets:
                found = _find_market(view, engine, feed)
                if found:
                    self.out(f"market {mk.symbol}: already listed on chain as market {found} (feed {feed}); recording it")
                    m.record_market(mk.symbol, self._market_entry(mk, found, feed, None, None))
                    continue
                yield from self._owner_call(m, view, f"market:{mk.symbol}", "list_market", [feed, mk.params],
                                            f"list market {mk.symbol}")
                continue
            market_id = m.markets[mk.symbol]["market_id"]
            state = view.call(engine, "Engine", "market_state", [market_id])
            if state[0] != feed:
                yield from self._owner_call(m, view, f"market_feed:{mk.symbol}", "set_market_feed", [market_id, feed],
                                            f"market {mk.symbol}: feed {state[0]} -> {feed}")
            on_chain = MarketParams(*view.call(engine, "Engine", "market_params", [market_id]))
            if on_chain != mk.params:
                changes = ", ".join(f"{k} {getattr(on_chain, k)}->{v}" for k, v in params_dict(mk.params).items()
                                    if getattr(on_chain, k) != v)
                yield from self._owner_call(m, view, f"params:{mk.symbol}", "set_market_params",
                                            [market_id, mk.params], f"market {mk.symbol} params: {changes}")
        yield from self._hand_over(m, view)

        guardian, on_chain = cfg.guardian_for(self.deployer), view.call(engine, "Engine", "guardian")
        if on_chain != guardian:
            # A security role: changed on purpose, never silently undone by a rerun.
            self.out(f"note: the engine's guardian is {on_chain}, the config says {guardian}; "
                     "call set_guardian or update the config")

    # ---------------------------------------------------------------- governance

    def _owner_call(self, m: Manifest, view, key, fn, args, description) -> Iterator[PlannedTx]:
        """An Engine owner call: direct while the deployer owns the engine,
        through the timelock (schedule, then execute after the delay) once it does."""
        engine = m.address("engine")
        owner = view.call(engine, "Engine", "owner")
        if owner == self.deployer:
            yield self._call(key, engine, "Engine", fn, args, description)
            return
        if not m.has("timelock") or owner != m.address("timelock"):
            raise DeployError(f"{key}: the engine's owner is {owner}, neither the deployer nor the manifest's "
                              f"timelock: {description} must be made by that owner")
        yield from self._timelocked(view, key, m.address("timelock"), engine, "Engine", fn, args, description)

    def _timelocked(self, view, key, timelock, target, contract, fn, args, description) -> Iterator[PlannedTx]:
        chain_args = [a.as_tuple() if isinstance(a, MarketParams) else a for a in args]
        data = codec(contract)[fn].encode(chain_args)
        # The salt is a function of the step and of how many times this very
        # change already ran, so a later run finds the operation it scheduled
        # and a change made, undone and made again gets a fresh id.
        n = 0
        while True:
            salt = keccak(f"isomargin: {key} #{n}".encode())
            op = view.call(timelock, "Timelock", "hash_operation", [target, 0, data, NO_PREDECESSOR, salt])
            state = view.call(timelock, "Timelock", "get_operation_state", [op])
            if state != DONE:
                break
            n += 1
        if state == UNSET:
            delay = view.call(timelock, "Timelock", "get_minimum_delay")
            args_ = [target, 0, data, NO_PREDECESSOR, salt, delay]
            yield PlannedTx(f"schedule:{key}", "call", "Timelock",
                            f"schedule in the timelock, {delay} s: {description}: {contract}.{fn}({_fmt_args(args)})",
                            codec("Timelock")["schedule"].encode(args_), to=timelock, fn="schedule", args=args_)
            state = view.call(timelock, "Timelock", "get_operation_state", [op])
        if state == WAITING:
            ready = view.call(timelock, "Timelock", "get_timestamp", [op])
            self.waiting.add(key)
            self.out(f"{key}: waits in the timelock until {ready} (unix time); run the deploy again after it to "
                     f"execute: {description}")
            return
        if state == READY:
            args_ = [target, 0, data, NO_PREDECESSOR, salt]
            yield PlannedTx(key, "call", "Timelock", f"execute through the timelock: {description}: "
                            f"{contract}.{fn}({_fmt_args(args)})", codec("Timelock")["execute"].encode(args_),
                            to=timelock, fn="execute", args=args_)

    def _hand_over(self, m: Manifest, view) -> Iterator[PlannedTx]:
        """Make the timelock the engine's owner with the configured delay, then
        drop the deployer's roles if it is not the proposer (the module
        docstring says why this order is sound)."""
        cfg, engine, timelock = self.config, m.address("engine"), m.address("timelock")
        owner = view.call(engine, "Engine", "owner")
        if owner != timelock:
            if owner != self.deployer:
                raise DeployError(f"the engine's owner is {owner}, neither the deployer nor the timelock {timelock}")
            if view.call(engine, "Engine", "pending_owner") != timelock:
                yield self._call("ownership:offer", engine, "Engine", "transfer_ownership", [timelock],
                                 "offer the engine to the timelock")
            batch = handover_batch(engine, timelock, cfg.timelock_delay)
            op = view.call(timelock, "Timelock", "hash_operation_batch", [*batch, NO_PREDECESSOR, HANDOVER_SALT])
            state = view.call(timelock, "Timelock", "get_operation_state", [op])
            if state == UNSET:
                if view.call(timelock, "Timelock", "get_minimum_delay") != 0:
                    raise DeployError(f"the timelock {timelock} has a delay already: the hand-over batch would wait")
                yield self._call("ownership:schedule", timelock, "Timelock", "schedule_batch",
                                 [*batch, NO_PREDECESSOR, HANDOVER_SALT, 0],
                                 f"schedule, with no delay yet, the timelock accepting the engine and taking its "
                                 f"delay of {cfg.timelock_delay} s")
            elif state != READY:
                raise DeployError(f"the timelock's hand-over batch {op.hex()} is in state {state}, not ready")
            yield self._call("ownership:accept", timelock, "Timelock", "execute_batch",
                             [*batch, NO_PREDECESSOR, HANDOVER_SALT],
                             f"the timelock accepts the engine; its delay is {cfg.timelock_delay} s from now on")
        delay = view.call(timelock, "Timelock", "get_minimum_delay")
        if delay != cfg.timelock_delay:
            yield from self._timelocked(view, "timelock:delay", timelock, timelock, "Timelock", "update_delay",
                                        [cfg.timelock_delay], f"timelock delay {delay} -> {cfg.timelock_delay} s")
        proposer = cfg.proposer_for(self.deployer)
        if not view.call(timelock, "Timelock", "hasRole", [PROPOSER_ROLE, proposer]):
            self.out(f"note: the config's timelock proposer {proposer} has no proposer role; grant it through the "
                     "timelock (grantRole, scheduled)")
        if proposer != self.deployer:
            for name, role in ROLES:
                if view.call(timelock, "Timelock", "hasRole", [role, self.deployer]):
                    yield self._call(f"timelock:renounce:{name}", timelock, "Timelock", "renounceRole",
                                     [role, self.deployer], f"the deployer gives up the timelock's {name} role")

    def _token(self, m: Manifest) -> str:
        return m.address("token") if self.config.mock else self.config.token_address

    def _feed(self, m: Manifest, mk) -> str:
        return m.address(f"feed:{mk.symbol}") if self.config.mock else mk.feed.address

    def _create(self, key, contract, args) -> PlannedTx:
        return PlannedTx(key, "create", contract, f"create {contract}({_fmt_args(args)})", initcode(contract, args),
                         args=list(args))

    def _blueprint(self, key, contract) -> PlannedTx:
        return PlannedTx(key, "blueprint", contract, f"declare {contract} blueprint (EIP-5202)",
                         blueprint_initcode(contract))

    def _call(self, key, to, contract, fn, args, description) -> PlannedTx:
        f = codec(contract)[fn]
        chain_args = [a.as_tuple() if isinstance(a, MarketParams) else a for a in args]
        return PlannedTx(key, "call", contract, f"{description}: {contract}.{fn}({_fmt_args(args)})",
                         f.encode(chain_args), to=to, fn=fn, args=list(args))

    # ---------------------------------------------------------------- recording

    def _market_entry(self, mk, market_id, feed, sent: Optional[Sent], previous: Optional[dict]):
        entry = dict(previous or {})
        entry.update({"market_id": market_id, "feed": feed, "params": params_dict(mk.params),
                      "feed_decimals": mk.feed.decimals, "feed_description": mk.feed.description})
        if sent is not None:
            entry.setdefault("tx", sent.tx)
            entry.setdefault("block", sent.block)
        return entry

    def _record(self, m: Manifest, ptx: PlannedTx, sent: Sent, view: "View") -> None:
        key = ptx.key
        if ptx.kind in ("create", "blueprint"):
            entry = {"address": sent.address, "contract": ptx.contract, "kind": ptx.kind, "tx": sent.tx,
                     "block": sent.block, "gas_used": sent.gas_used, "nonce": sent.nonce,
                     "args": _jsonable(ptx.args)}
            m.record_contract(key, entry)
            if key == "engine":
                m.data["guardian"] = engine_args(ptx.args)["guardian"]
                for sub, contract, n, getter in ENGINE_CREATES:
                    got = to_checksum_address(view.call(sent.address, "Engine", getter))
                    want = create_address(sent.address, n)
                    if got != want:
                        raise DeployError(f"the engine created its {sub} at {got}, expected {want}")
                    m.record_contract(sub, {"address": got, "contract": contract, "kind": "created_by_engine",
                                            "tx": sent.tx, "block": sent.block, "engine_nonce": n})
            return
        if key.startswith(GOVERNANCE_KEYS):
            m.data.setdefault("governance", []).append({"step": key, "what": ptx.description, "tx": sent.tx,
                                                        "block": sent.block})
            return
        symbol = key.split(":")[1]
        mk = self.config.market(symbol)
        engine = m.address("engine")
        if key.startswith("market:"):
            feed = self._feed(m, mk)
            market_id = _find_market(view, engine, feed)
            if not market_id:
                raise DeployError(f"{key}: the transaction succeeded but no market has feed {feed}")
            m.record_market(symbol, self._market_entry(mk, market_id, feed, sent, None))
        else:
            entry = self._market_entry(mk, m.markets[symbol]["market_id"], self._feed(m, mk), None,
                                       m.markets[symbol])
            entry.setdefault("updates", []).append({"what": ptx.description, "tx": sent.tx, "block": sent.block})
            m.record_market(symbol, entry)

    # ---------------------------------------------------------------- running

    def simulate(self) -> List[tuple]:
        """Run the remaining plan on a fork; return [(PlannedTx, Sent)] without sending anything."""
        m = Manifest(self.manifest.path, copy.deepcopy(self.manifest.data))
        self.resolve_pending_readonly(m)
        if not self.fork_url:
            raise DeployError("this provider has no HTTP URI to fork for a simulation")
        sim = SimulatedSender(self.rpc, self.fork_url, self.deployer)
        done = []
        for ptx in self.plan(m, sim):
            sent = sim.send(ptx, lambda info: None)
            expected = create_address(self.deployer, sent.nonce) if ptx.kind != "call" else None
            if expected and sent.address != expected:
                raise DeployError(f"simulated {ptx.key} at {sent.address}, expected {expected}")
            self._record(m, ptx, sent, sim)
            done.append((ptx, sent))
        return done

    def resolve_pending_readonly(self, m: Manifest) -> None:
        if m.pending:
            saved = self.out
            self.out = lambda line: saved(line + " (on the real run)")
            try:
                self.resolve_pending(m)
            except DeployError as err:
                saved(f"note: {err}")
                m.data["pending"] = None
            finally:
                self.out = saved

    def execute(self, sender: Sender) -> List[tuple]:
        """Send the remaining plan for real, recording each step in the manifest."""
        m = self.manifest
        # Rewrite the manifest only when something changed: a complete,
        # committed manifest stays byte for byte the same on a rerun.
        before = json.dumps(m.data, sort_keys=True)
        had_pending = bool(m.pending)
        self.resolve_pending(m)
        if had_pending:
            m.save()
        done = []
        view = NetworkView(self.rpc)
        for ptx in self.plan(m, view):
            def before_broadcast(info, ptx=ptx):
                m.data["status"] = "deploying"
                m.data["pending"] = dict(ptx.as_pending(), **info)
                m.save()
                _crash_point(ptx.key, "before-send")

            self.out(f"  sending {ptx.key}: {ptx.description}")
            sent = sender.send(ptx, before_broadcast)
            _crash_point(ptx.key, "after-send")
            self._record(m, ptx, sent, view)
            m.data["pending"] = None
            m.save()
            where = f" at {sent.address}" if sent.address else ""
            self.out(f"  done {ptx.key}{where}: tx {sent.tx} block {sent.block} gas {sent.gas_used:,}")
            done.append((ptx, sent))
        m.data["status"] = "complete"
        if json.dumps(m.data, sort_keys=True) != before or not m.path.exists():
            m.save()
        return done

    # ---------------------------------------------------------------- checks

    def preflight(self) -> List[str]:
        """Check the real token and feeds the config names; return warnings (errors raise)."""
        cfg, rpc, warnings = self.config, self.rpc, []
        if cfg.timelock_delay == 0:
            warnings.append(f"{cfg.path}: timelock_delay_seconds is 0: owner changes (parameters, feeds, the "
                            "guardian) would apply the moment they are scheduled")
        if cfg.mock:
            return warnings
        if not rpc.code(cfg.token_address):
            raise DeployError(f"token {cfg.token_address}: no contract on chain {self.chain_id}")
        decimals = rpc.call(cfg.token_address, "MockUSDC", "decimals")
        if decimals != cfg.token_decimals:
            raise DeployError(f"token {cfg.token_address} has {decimals} decimals, the config says {cfg.token_decimals}")
        now = rpc.timestamp("latest")
        for mk in cfg.markets:
            feed = mk.feed.address
            if not rpc.code(feed):
                raise DeployError(f"market {mk.symbol}: feed {feed}: no contract on chain {self.chain_id}")
            try:
                _, answer, _, updated_at, _ = rpc.call(feed, "MockAggregator", "latestRoundData")
                decimals = rpc.call(feed, "MockAggregator", "decimals")
                description = rpc.call(feed, "MockAggregator", "description")
            except (RpcError, Exception) as err:
                raise DeployError(f"market {mk.symbol}: feed {feed} is not a Chainlink AggregatorV3: {err}") from err
            if decimals != mk.feed.decimals:
                raise DeployError(f"market {mk.symbol}: feed {feed} has {decimals} decimals, config says "
                                  f"{mk.feed.decimals}")
            if mk.feed.description is not None and description != mk.feed.description:
                raise DeployError(f"market {mk.symbol}: feed {feed} is {description!r}, config says "
                                  f"{mk.feed.description!r}")
            age = now - updated_at
            self.out(f"market {mk.symbol}: feed {feed} {description!r} answer {answer} ({age} s old)")
            if answer <= 0:
                warnings.append(f"market {mk.symbol}: feed answer {answer} is not positive: the market cannot trade")
            if age > mk.params.staleness:
                warnings.append(f"market {mk.symbol}: feed last updated {age} s ago, more than the staleness limit "
                                f"{mk.params.staleness} s: trades revert until it updates")
        return warnings

    def verify(self) -> List[str]:
        """Check what the manifest says against the chain; return the problems."""
        m, rpc, problems = self.manifest, self.rpc, []
        c = m.contracts
        if "engine" not in c:
            return ["no engine yet"]
        engine = c["engine"]["address"]
        token = self._token(m)
        expect = expected_code(engine, token, c["pool"]["address"], c["insurance"]["address"],
                               c["vault_implementation"]["address"], c["orders"]["address"],
                               engine_args(c["engine"]["args"])["sequencer_feed"], c["rules"]["address"])
        if "lens" in c:
            expect["lens"] = ("Lens", {})
        if self.config.mock:
            expect["token"] = ("MockUSDC", {})
        for key, (contract, imm) in expect.items():
            for p in check_code(rpc.code(c[key]["address"]), contract, imm):
                problems.append(f"{key} {c[key]['address']}: {p}")
        ins = rpc.code(c["insurance"]["address"])
        if ins != proxy_code(c["vault_implementation"]["address"]):
            problems.append(f"insurance {c['insurance']['address']}: not a minimal proxy of the vault implementation")
        blueprints = {"vault_blueprint": "Vault", "pool_blueprint": "LiquidityPool", "orders_blueprint": "OrderBook",
                      "rules_blueprint": "MarketRules"}
        for key, contract in blueprints.items():
            want = b"\xfe\x71\x00" + bytes.fromhex(artifact(contract)["bytecode"][2:])
            if rpc.code(c[key]["address"]) != want:
                problems.append(f"{key} {c[key]['address']}: not the EIP-5202 blueprint of {contract}")
        if "timelock" in c:
            timelock = c["timelock"]["address"]
            for p in check_code(rpc.code(timelock), "Timelock", {}):
                problems.append(f"timelock {timelock}: {p}")
            owner = rpc.call(engine, "Engine", "owner")
            if owner != timelock:
                problems.append(f"engine: its owner is {owner}, not the timelock {timelock}")
            delay = rpc.call(timelock, "Timelock", "get_minimum_delay")
            if delay != self.config.timelock_delay:
                (self.out if "timelock:delay" in self.waiting else problems.append)(
                    f"timelock: delay {delay} s, the config says {self.config.timelock_delay} s" +
                    (" (the change waits in the timelock)" if "timelock:delay" in self.waiting else ""))
            if rpc.call(timelock, "Timelock", "hasRole", [bytes(32), self.deployer]):
                problems.append("timelock: the deployer holds its admin role (roles would change with no delay)")
            if self.config.proposer_for(self.deployer) != self.deployer:
                for name, role in ROLES:
                    if rpc.call(timelock, "Timelock", "hasRole", [role, self.deployer]):
                        problems.append(f"timelock: the deployer still holds the {name} role")
        else:
            problems.append("no timelock: the engine's owner changes would not be delayed")
        for mk in self.config.markets:
            entry = m.markets.get(mk.symbol)
            if entry is None:
                if f"market:{mk.symbol}" in self.waiting:
                    self.out(f"market {mk.symbol}: its listing waits in the timelock")
                else:
                    problems.append(f"market {mk.symbol}: not listed")
                continue
            st = rpc.call(engine, "Engine", "market_state", [entry["market_id"]])
            if st[0] != entry["feed"]:
                problems.append(f"market {mk.symbol}: feed on chain {st[0]}, manifest {entry['feed']}")
            if MarketParams(*rpc.call(engine, "Engine", "market_params", [entry["market_id"]])) != mk.params:
                if f"params:{mk.symbol}" in self.waiting:
                    self.out(f"market {mk.symbol}: the new parameters wait in the timelock")
                else:
                    problems.append(f"market {mk.symbol}: parameters on chain differ from {self.config.path}")
        return problems


def _find_market(view, engine: str, feed: str) -> int:
    """The id of a market listed with `feed`, or 0."""
    count = view.call(engine, "Engine", "market_count")
    for market_id in range(1, count + 1):
        if view.call(engine, "Engine", "market_state", [market_id])[0] == feed:
            return market_id
    return 0
