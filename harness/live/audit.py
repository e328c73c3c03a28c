"""Audit a live deployment: replay its whole event history through the model
and compare the model's state with the chain's, field by field.

The engine's events carry everything an action used: its sender (owners,
liquidators, funders), sizes and amounts, and the oracle price. So each
event is replayed by setting the model's feed to the event's price at the
block's timestamp and calling the same model function with the same
arguments and sender; the model must then reproduce the event's figures,
the borrow-index accruals and vault creations logged with it, and the
exact token transfers the chain logged in the same transaction. The pool's
ERC4626 Deposit/Withdraw events are replayed the same way.

Then the chain's current state (read at one block) must equal the model's:
every vault slot's position, every protocol balance, pool and insurance
totals, market parameters and state, owner and guardian. Token transfers
into protocol addresses that no action explains (donations) are reported,
and so is every vault holding tokens no open position accounts for. Every
contract's code is checked against this checkout's compiled sources, every
vault against the EIP-1167 proxy of the manifest's implementation.

A discrepancy names its subject (a position, the pool, a market...), the
field, the model's and the chain's values, and where they diverged: the
event the model could not reproduce, or the last event that touched the
subject when nothing on chain explains the change.
"""
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional


from model import MarketParams, Revert, ZERO_ADDRESS
from model.aggregator import MockAggregator
from model.engine import GEN_BITS, GEN_MASK, Engine, _borrow_fee, _fee, _pnl, _reserve
from model.env import Env
from model.journal import Journal
from model.pool import LiquidityPool
from model.token import Token

from .bytecode import check_code, proxy_code, proxy_target, source_hashes
from ..twin.deploy import ENGINE_NONCE_BEFORE_VAULTS, create_address
from .indexer import ZERO, Indexer, Log, by_transaction
from .manifest import Manifest
from ..chains.rpc import Rpc, RpcError

PAGE = 100
LENS_MAX = 1024


# ---------------------------------------------------------------- report

@dataclass
class Discrepancy:
    kind: str                 # replay | transfer | state | balance | invariant | code | chain
    subject: str              # "position 4294967297", "pool", "market 1", "engine", ...
    field: str
    model: Any = None
    chain: Any = None
    where: str = ""           # the event where they diverged, or what is known about it
    position_id: Optional[int] = None
    slot: Optional[int] = None
    address: Optional[str] = None
    event: Optional[dict] = None

    def line(self) -> str:
        s = f"{self.field}: model {_show(self.model)}, chain {_show(self.chain)}"
        if self.model is None and self.chain is None:
            s = self.field
        return s


def _show(v):
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}".replace(",", "_") if abs(v) >= 10_000 else str(v)
    return str(v)


@dataclass
class Report:
    manifest: str
    network: str
    chain_id: int
    from_block: int
    to_block: int
    stats: Dict[str, int] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    discrepancies: List[Discrepancy] = field(default_factory=list)
    subjects: Dict[str, str] = field(default_factory=dict)   # subject -> description

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def for_position(self, position_id: int) -> List[Discrepancy]:
        return [d for d in self.discrepancies if d.position_id == position_id]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "manifest": self.manifest, "network": self.network, "chain_id": self.chain_id,
                "from_block": self.from_block, "to_block": self.to_block, "stats": self.stats, "notes": self.notes,
                "discrepancies": [asdict(d) for d in self.discrepancies]}

    def render(self) -> str:
        s = self.stats
        out = [
            "isomargin audit",
            f"  manifest  {self.manifest} ({self.network}, chain {self.chain_id})",
            f"  events    blocks {self.from_block}..{self.to_block}: {s.get('logs', 0)} logs in "
            f"{s.get('log_requests', 0)} eth_getLogs requests",
            f"  replayed  {s.get('engine_actions', 0)} engine actions, {s.get('pool_actions', 0)} pool actions, "
            f"{s.get('share_transfers', 0)} share transfers, {s.get('token_transfers', 0)} token transfers",
            f"  compared  {s.get('markets', 0)} markets, {s.get('slots', 0)} vault slots "
            f"({s.get('open_positions', 0)} open positions), {s.get('balances', 0)} balances, "
            f"{s.get('code_checks', 0)} contracts' code",
        ]
        for note in self.notes:
            out.append(f"  note: {note}")
        if self.ok:
            out.append("OK: the chain's state is what its events say, and all code is as compiled from this checkout.")
            return "\n".join(out)
        out.append(f"DISCREPANCIES: {len(self.discrepancies)}")
        groups: Dict[str, List[Discrepancy]] = defaultdict(list)
        for d in self.discrepancies:
            groups[d.subject].append(d)
        for subject, items in groups.items():
            desc = self.subjects.get(subject)
            out.append(f"  {subject}" + (f" ({desc})" if desc else ""))
            for d in items:
                out.append(f"    - [{d.kind}] {d.line()}")
                if d.where:
                    out.append(f"      at: {d.where}")
        return "\n".join(out)


# ---------------------------------------------------------------- the model's token

class LedgerToken(Token):
    """The collateral token as far as the audit can know it.

    Only protocol addresses' balances are rebuilt from the log; an outside
    account is taken to have had what it spent (the token itself checked
    that on chain). Every model transfer touching a protocol address is
    recorded, to be matched against the chain's Transfer logs."""

    def __init__(self, journal, address, is_insider: Callable[[str], bool]):
        super().__init__(journal, address)
        self.is_insider = is_insider
        self.moves: list = []

    def _transfer(self, owner, to, amount):
        if not self.is_insider(owner) and self.balanceOf[owner] < amount:
            self.balanceOf[owner] = amount
        super()._transfer(owner, to, amount)
        if self.is_insider(owner) or self.is_insider(to):
            self.moves.append((owner, to, amount))

    def _spend_allowance(self, owner, spender, amount):
        if self.is_insider(owner):
            super()._spend_allowance(owner, spender, amount)


class _Shares(Token):
    """The pool's share token; allowances between LPs are not audited."""

    def _spend_allowance(self, owner, spender, amount):
        pass


# ---------------------------------------------------------------- replay

ENGINE_ACTIONS = {"PositionOpened", "CollateralAdded", "CollateralRemoved", "PositionIncreased",
                  "PositionDecreased", "PositionClosed", "PositionLiquidated", "InsuranceFunded",
                  "MarketParamsSet", "MarketFeedSet", "GuardianSet", "Paused", "Unpaused",
                  "OwnershipTransferStarted", "OwnershipTransferred"}
POSITION_EVENTS = {"PositionOpened", "CollateralAdded", "CollateralRemoved", "PositionIncreased",
                   "PositionDecreased", "PositionClosed", "PositionLiquidated"}


class Replayer:
    def __init__(self, *, engine: str, pool: str, insurance: str, token: str, engine_tx: str,
                 timestamp: Callable[[int], int], report: Report):
        self.engine_address, self.pool_address, self.insurance, self.token_address = engine, pool, insurance, token
        self.engine_tx = engine_tx.lower()
        self.timestamp = timestamp
        self.report = report
        self.journal = Journal()
        self.env = Env(0)
        self.vault_slots: Dict[str, int] = {}
        self.token = LedgerToken(self.journal, token, self.is_insider)
        # Wired as model.Protocol does, with the chain's addresses.
        self.engine = Engine(self.journal, self.env, engine, self.token, owner=ZERO_ADDRESS, guardian=ZERO_ADDRESS,
                             pool_address=pool, insurance=insurance, vault_address=self.vault_address)
        self.pool = LiquidityPool(self.journal, pool, self.token, self.engine)
        self.pool.shares = _Shares(self.journal, pool, decimals=self.token.decimals)
        self.stats = defaultdict(int)
        self.last_event: Dict[Any, Log] = {}       # subject key -> last event touching it
        self.diverged: Dict[Any, str] = {}         # subject key -> where it first diverged
        self.lost: set = set()                     # positions the model diverged from
        self.skipped: Dict[int, int] = defaultdict(int)
        self.feed_rounds: Dict[str, tuple] = {}    # feed -> (answer, updated_at), from its own log

    # ---------------------------------------------------------------- addresses

    def vault_address(self, slot: int) -> str:
        address = create_address(self.engine_address, ENGINE_NONCE_BEFORE_VAULTS + slot)
        self.vault_slots[address] = slot
        return address

    def know_vaults(self, count: int) -> None:
        for slot in range(1, count + 1):
            self.vault_address(slot)

    def is_insider(self, address: str) -> bool:
        return address in (self.engine_address, self.pool_address, self.insurance) or address in self.vault_slots

    def subject_of(self, address: str):
        """(subject name, position id, slot) for a protocol address."""
        if address == self.pool_address:
            return "pool", None, None
        if address == self.insurance:
            return "insurance fund", None, None
        if address == self.engine_address:
            return "engine", None, None
        slot = self.vault_slots.get(address)
        if slot is not None:
            pos = self.engine.slots_[slot]
            if pos.generation:
                pid = (slot << GEN_BITS) | pos.generation
                return f"position {pid}", pid, slot
            return f"vault slot {slot}", None, slot
        return f"account {address}", None, None

    def describe_position(self, pid: int) -> str:
        slot = pid >> GEN_BITS
        pos = self.engine.slots_[slot]
        side = "long" if pos.is_long else "short"
        state = "open" if pos.is_open and pos.generation == pid & GEN_MASK else "closed"
        return (f"slot {slot}, generation {pid & GEN_MASK}, {state}, market {pos.market_id} {side}, "
                f"owner {pos.owner}, vault {self.engine.vaults[slot]}")

    # ---------------------------------------------------------------- reporting

    def flag(self, kind, subject, fld, model, chain, log: Optional[Log], *, key=None, position_id=None, slot=None,
             address=None, where=None):
        where = where or (f"{log.ref()}" if log else "")
        self.report.discrepancies.append(Discrepancy(kind, subject, fld, model, chain, where, position_id, slot,
                                                     address, log.as_dict() if log else None))
        if key is not None:
            self.diverged.setdefault(key, where)

    def flag_position(self, pid: int, fld, model, chain, log: Log, kind="replay"):
        self.report.subjects[f"position {pid}"] = self.describe_position(pid)
        self.flag(kind, f"position {pid}", fld, model, chain, log, key=("slot", pid >> GEN_BITS), position_id=pid,
                  slot=pid >> GEN_BITS, address=self.engine.vaults[pid >> GEN_BITS])
        # Later events of this position would only repeat the difference.
        self.lost.add(pid)

    # ---------------------------------------------------------------- driving the model

    def _at(self, log: Log) -> None:
        ts = self.timestamp(log.block)
        if ts > self.env.timestamp:
            self.env.timestamp = ts

    def _set_price(self, market_id: int, price: int, log: Log) -> None:
        feed_address = self.engine.market_state[market_id].feed
        feed = self._feed(feed_address)
        if feed is None:
            return
        known = self.feed_rounds.get(feed_address)
        if known is None:
            # A feed that logs nothing we read (a Chainlink proxy): the event's
            # price is the answer, fresh as of this block.
            feed._set(price, self.env.timestamp)
            return
        # A feed whose rounds are in the log (devnet mocks): the model's
        # oracle checks (positive, fresh) then run on the real round.
        feed._set(*known)
        if known[0] != price:
            self.flag("replay", f"market {market_id}", "oracle price used", known[0], price, log,
                      key=("market", market_id))
            feed._set(price, self.env.timestamp)

    def _feed(self, address: str) -> Optional[MockAggregator]:
        if address == ZERO_ADDRESS:
            return None
        feed = self.engine.feeds.get(address)
        if feed is None:
            feed = self.engine.feeds[address] = MockAggregator(self.journal, self.env, address, 8, 1)
        return feed

    def _run(self, log: Log, fn, *args, sender: str, subject):
        """Call a model function as the chain did; a revert is a divergence.

        `subject` is ("position", id) or (divergence key, subject name)."""
        self.token.moves = []
        try:
            return True, fn(*args, sender=sender)
        except Revert as err:
            if subject[0] == "position":
                self.flag_position(subject[1], "outcome", f"revert {err.reason!r}", "success", log)
            else:
                self.flag("replay", subject[1], "outcome", f"revert {err.reason!r}", "success", log, key=subject[0])
            self.token.moves = []
            return False, None

    # ---------------------------------------------------------------- the log

    def replay(self, logs: List[Log]) -> None:
        for tx_logs in by_transaction(logs):
            self._replay_tx(tx_logs)
        for pid, n in self.skipped.items():
            self.report.notes.append(f"{n} later event(s) of position {pid} not replayed: the model had "
                                     "already diverged from it")

    def _replay_tx(self, logs: List[Log]) -> None:
        transfers: List[Log] = []          # chain token transfers touching protocol addresses, not yet explained
        accruals: Dict[int, Log] = {}
        created: List[Log] = []
        listed: Dict[int, Log] = {}
        # The constructor's transaction: the one the manifest names, or the one
        # whose ownership comes from nobody (snekmate's ownable.__init__).
        constructor = logs[0].tx.lower() == self.engine_tx or any(
            l.contract == "Engine" and l.event == "OwnershipTransferred" and l.args["previous_owner"] == ZERO_ADDRESS
            for l in logs)
        for log in logs:
            if log.contract == "Token":
                if log.event == "Transfer":
                    transfers.append(log)
                    self.stats["token_transfers"] += 1
                continue
            if log.contract == "Engine":
                if log.event == "BorrowIndexAccrued":
                    accruals[log.args["market_id"]] = log
                elif log.event == "VaultCreated":
                    created.append(log)
                elif log.event == "MarketListed":
                    listed[log.args["market_id"]] = log
                elif constructor and log.event in ("OwnershipTransferred", "GuardianSet"):
                    # The constructor sets these directly: no function call to replay.
                    if log.event == "OwnershipTransferred":
                        self.engine.owner = log.args["new_owner"]
                    else:
                        self.engine.guardian = log.args["guardian"]
                elif log.event in ENGINE_ACTIONS:
                    self.stats["engine_actions"] += 1
                    self._at(log)
                    before = self._market_marks()
                    vaults_before = self.engine.vault_count
                    if self._engine_action(log, listed):
                        self._check_side_effects(log, before, accruals, vaults_before, created)
                        self._match_transfers(log, transfers)
                    else:
                        self._absorb(accruals, transfers)
                continue
            if log.contract == "Feed":
                if log.event == "AnswerUpdated":
                    self.feed_rounds[log.address] = (log.args["current"], log.args["updatedAt"])
                continue
            if log.contract == "LiquidityPool":
                if log.event in ("Deposit", "Withdraw"):
                    self.stats["pool_actions"] += 1
                    self._pool_action(log)
                    self._match_transfers(log, transfers)
                elif log.event == "Transfer" and ZERO not in (log.args["sender"], log.args["receiver"]):
                    self.stats["share_transfers"] += 1
                    self._share_transfer(log)
                continue
        for t in transfers:
            self._unexplained(t)
        for market_id, log in accruals.items():
            self.flag("replay", f"market {market_id}", "borrow index accrual", "none", log.args["borrow_index"], log,
                      where=f"{log.ref()}: logged with no action the model knows")
        for log in created:
            self.flag("replay", f"vault slot {log.args['slot']}", "vault creation", "none", log.args["vault"], log)

    # ---------------------------------------------------------------- side effects

    def _market_marks(self) -> Dict[int, tuple]:
        return {m: (self.engine.market_state[m].borrow_index, self.engine.market_state[m].last_accrual)
                for m in range(1, self.engine.market_count + 1)}

    def _check_side_effects(self, log, before, accruals, vaults_before, created) -> None:
        for market_id in range(1, self.engine.market_count + 1):
            st = self.engine.market_state[market_id]
            mark = before.get(market_id)
            if mark is None or st.last_accrual == mark[1]:
                continue
            ev = accruals.pop(market_id, None)
            if ev is None:
                self.flag("replay", f"market {market_id}", "borrow index accrual", st.borrow_index, "no event", log)
                continue
            if (st.borrow_index, st.last_accrual) != (ev.args["borrow_index"], ev.args["timestamp"]):
                self.flag("replay", f"market {market_id}", "borrow index (index, timestamp)",
                          (st.borrow_index, st.last_accrual), (ev.args["borrow_index"], ev.args["timestamp"]), ev,
                          key=("market", market_id))
        for slot in range(vaults_before + 1, self.engine.vault_count + 1):
            ev = next((c for c in created if c.args["slot"] == slot), None)
            if ev is None:
                self.flag("replay", f"vault slot {slot}", "vault creation", self.engine.vaults[slot], "no event", log)
                continue
            created.remove(ev)
            if ev.args["vault"] != self.engine.vaults[slot]:
                self.flag("replay", f"vault slot {slot}", "vault address", self.engine.vaults[slot], ev.args["vault"],
                          ev, key=("slot", slot))

    def _absorb(self, accruals: Dict[int, Log], transfers: List[Log]) -> None:
        """Take in what an action the model did not replay logged with it: its
        transfers are its own (already reported through the action), and its
        accruals are the market's, which later actions build on."""
        for market_id, ev in accruals.items():
            self.engine.market_state[market_id] = replace(self.engine.market_state[market_id],
                                                          borrow_index=ev.args["borrow_index"],
                                                          last_accrual=ev.args["timestamp"])
        accruals.clear()
        transfers.clear()

    def _match_transfers(self, log: Log, transfers: List[Log]) -> None:
        moves = list(self.token.moves)
        self.token.moves = []
        for owner, to, amount in moves:
            match = next((t for t in transfers if (t.args["sender"], t.args["receiver"], t.args["value"])
                          == (owner, to, amount)), None)
            if match is not None:
                transfers.remove(match)
                continue
            subject, pid, slot = self.subject_of(to if self.is_insider(to) else owner)
            self.flag("transfer", subject, f"token transfer {owner} -> {to}", amount, "not on chain", log,
                      key=("slot", slot) if slot else subject, position_id=pid, slot=slot)
        # Every transfer an action makes is logged before the action's own
        # event: whatever is left over, this action does not explain.
        for t in transfers:
            self._unexplained(t)
        transfers.clear()

    def _unexplained(self, t: Log) -> None:
        if t.args["value"] == 0:
            return
        sender, receiver, value = t.args["sender"], t.args["receiver"], t.args["value"]
        address = receiver if self.is_insider(receiver) else sender
        subject, pid, slot = self.subject_of(address)
        direction = "into" if address == receiver else "out of"
        if pid is not None:
            self.report.subjects[subject] = self.describe_position(pid)
        self.flag("transfer", subject, f"unexplained token transfer {direction} {address} ({sender} -> {receiver}), "
                  "no engine or pool action accounts for it", 0, value, t,
                  key=("slot", slot) if slot else subject, position_id=pid, slot=slot, address=address)

    # ---------------------------------------------------------------- engine actions

    def _touch(self, pid: int, log: Log) -> bool:
        """Record `log` against a position; False if the model already lost track of it."""
        self.last_event[("slot", pid >> GEN_BITS)] = log
        if pid in self.lost:
            self.skipped[pid] += 1
            return False
        return True

    def _compare(self, pid: int, log: Log, pairs) -> None:
        for name, model_value, chain_value in pairs:
            if model_value != chain_value:
                self.flag_position(pid, name, model_value, chain_value, log)

    def _engine_action(self, log: Log, listed: Dict[int, Log]) -> bool:
        """Replay one engine event; False if the model did not (or could not) run it."""
        e, a, eng = log.event, log.args, self.engine
        if e in POSITION_EVENTS:
            pid = a["position_id"]
            if e != "PositionOpened" and not self._touch(pid, log):
                return False
            ok = getattr(self, "_" + e)(log, a, pid)
            if e == "PositionOpened":
                self._touch(pid, log)
            return ok
        owner = eng.owner
        ok = True
        engine = ("engine", "engine")
        if e == "InsuranceFunded":
            ok, _ = self._run(log, eng.fund_insurance, a["amount"], sender=a["funder"],
                              subject=("insurance fund", "insurance fund"))
        elif e == "MarketParamsSet":
            market_id, params = a["market_id"], MarketParams(*a["params"])
            subject = (("market", market_id), f"market {market_id}")
            if market_id in listed:
                lst = listed.pop(market_id)
                self._feed(lst.args["feed"])
                ok, got = self._run(log, eng.list_market, lst.args["feed"], params, sender=owner, subject=subject)
                if ok and got != market_id:
                    self.flag("replay", subject[1], "market id", got, market_id, log, key=subject[0])
                if ok and lst.args["timestamp"] != self.env.timestamp:
                    self.flag("replay", subject[1], "listing timestamp", self.env.timestamp, lst.args["timestamp"],
                              lst, key=subject[0])
            else:
                ok, _ = self._run(log, eng.set_market_params, market_id, params, sender=owner, subject=subject)
                if ok and eng.market_state[market_id].borrow_index != a["borrow_index"]:
                    self.flag("replay", subject[1], "borrow index at new params",
                              eng.market_state[market_id].borrow_index, a["borrow_index"], log, key=subject[0])
            self.last_event[("market", market_id)] = log
        elif e == "MarketFeedSet":
            self._feed(a["feed"])
            ok, _ = self._run(log, eng.set_market_feed, a["market_id"], a["feed"], sender=owner,
                              subject=(("market", a["market_id"]), f"market {a['market_id']}"))
            self.last_event[("market", a["market_id"])] = log
        elif e == "GuardianSet":
            ok, _ = self._run(log, eng.set_guardian, a["guardian"], sender=owner, subject=engine)
        elif e == "Paused":
            ok, _ = self._run(log, eng.pause, sender=a["account"], subject=engine)
        elif e == "Unpaused":
            ok, _ = self._run(log, eng.unpause, sender=a["account"], subject=engine)
        elif e == "OwnershipTransferStarted":
            ok, _ = self._run(log, eng.transfer_ownership, a["new_owner"], sender=a["previous_owner"], subject=engine)
        elif e == "OwnershipTransferred":
            ok, _ = self._run(log, eng.accept_ownership, sender=a["new_owner"], subject=engine)
        if e in ("GuardianSet", "Paused", "Unpaused", "OwnershipTransferStarted", "OwnershipTransferred"):
            self.last_event["engine"] = log
        for market_id in list(listed):
            lst = listed.pop(market_id)
            self.flag("replay", f"market {market_id}", "listing", "none", lst.args["feed"], lst,
                      where=f"{lst.ref()}: MarketListed without its MarketParamsSet")
        return ok

    def _PositionOpened(self, log, a, pid):
        eng = self.engine
        self._set_price(a["market_id"], a["entry_price"], log)
        amount = a["collateral"] + a["open_fee"]
        slot = pid >> GEN_BITS
        ok, got = self._run(log, eng.open_position, a["market_id"], a["is_long"], a["size"], amount, sender=a["owner"],
                            subject=("position", pid))
        if not ok:
            return False
        if got != pid:
            self.flag_position(pid, "position id", got, pid, log)
            return True
        pos = eng.slots_[slot]
        self._compare(pid, log, [
            ("collateral", pos.collateral, a["collateral"]),
            ("open fee", _fee(a["size"], eng.market_params[a["market_id"]].open_fee_bps), a["open_fee"]),
            ("entry price", pos.entry_price, a["entry_price"]),
            ("entry index", pos.entry_index, a["entry_index"]),
            ("max profit bps", pos.max_profit_bps, a["max_profit_bps"]),
            ("vault", eng.vaults[slot], a["vault"]),
        ])
        return ok

    def _owner(self, pid):
        return self.engine.slots_[pid >> GEN_BITS].owner

    def _market(self, pid):
        return self.engine.slots_[pid >> GEN_BITS].market_id

    def _CollateralAdded(self, log, a, pid):
        ok, _ = self._run(log, self.engine.add_collateral, pid, a["amount"], sender=self._owner(pid),
                          subject=("position", pid))
        if ok:
            self._compare(pid, log, [("collateral", self.engine.slots_[pid >> GEN_BITS].collateral, a["collateral"])])
        return ok

    def _CollateralRemoved(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        ok, _ = self._run(log, self.engine.remove_collateral, pid, a["amount"], sender=self._owner(pid),
                          subject=("position", pid))
        if ok:
            self._compare(pid, log, [("collateral", self.engine.slots_[pid >> GEN_BITS].collateral, a["collateral"])])
        return ok

    def _PositionIncreased(self, log, a, pid):
        eng, slot = self.engine, pid >> GEN_BITS
        before = eng.slots_[slot]
        self._set_price(before.market_id, a["price"], log)
        ok, _ = self._run(log, eng.increase_position, pid, a["size_delta"], a["collateral_delta"],
                          sender=before.owner, subject=("position", pid))
        if not ok:
            return False
        pos = eng.slots_[slot]
        p = eng.market_params[pos.market_id]
        self._compare(pid, log, [
            ("size", pos.size, a["size"]),
            ("collateral", pos.collateral, a["collateral"]),
            ("entry price", pos.entry_price, a["entry_price"]),
            ("entry index", pos.entry_index, a["entry_index"]),
            ("max profit bps", pos.max_profit_bps, a["max_profit_bps"]),
            ("borrow fee", _borrow_fee(before.size, before.entry_index, pos.entry_index), a["borrow_fee"]),
            ("open fee", _fee(a["size_delta"], p.open_fee_bps), a["open_fee"]),
        ])
        return ok

    def _PositionDecreased(self, log, a, pid):
        eng, slot = self.engine, pid >> GEN_BITS
        before = eng.slots_[slot]
        self._set_price(before.market_id, a["price"], log)
        ok, _ = self._run(log, eng.decrease_position, pid, a["size_delta"], sender=before.owner,
                          subject=("position", pid))
        if not ok:
            return False
        pos = eng.slots_[slot]
        p = eng.market_params[pos.market_id]
        released = _reserve(before.size, before.max_profit_bps) - _reserve(pos.size, before.max_profit_bps)
        pnl = min(_pnl(before.is_long, a["size_delta"], before.entry_price, a["price"]), released)
        borrow_fee = _borrow_fee(before.size, before.entry_index, pos.entry_index)
        close_fee = _fee(a["size_delta"], p.close_fee_bps)
        net = pnl - borrow_fee - close_fee
        self._compare(pid, log, [
            ("size", pos.size, a["size"]),
            ("collateral", pos.collateral, a["collateral"]),
            ("entry index", pos.entry_index, a["entry_index"]),
            ("pnl", pnl, a["pnl"]),
            ("borrow fee", borrow_fee, a["borrow_fee"]),
            ("close fee", close_fee, a["close_fee"]),
            ("to trader", max(net, 0), a["to_trader"]),
            ("to pool", max(-net, 0), a["to_pool"]),
        ])
        return ok

    def _insurance_cover(self) -> int:
        return sum(amount for owner, to, amount in self.token.moves
                   if owner == self.insurance and to == self.pool_address)

    def _PositionClosed(self, log, a, pid):
        eng = self.engine
        self._set_price(self._market(pid), a["price"], log)
        ok, s = self._run(log, eng.close_position, pid, sender=self._owner(pid), subject=("position", pid))
        if not ok:
            return False
        self._compare(pid, log, [
            ("pnl", s.pnl, a["pnl"]),
            ("borrow fee", s.borrow_fee, a["borrow_fee"]),
            ("close fee", s.trading_fee, a["close_fee"]),
            ("to trader", s.to_trader + s.from_pool, a["to_trader"]),
            ("to pool", s.to_pool, a["to_pool"]),
            ("bad debt", s.bad_debt, a["bad_debt"]),
            ("insurance cover", self._insurance_cover(), a["insurance_cover"]),
        ])
        return ok

    def _PositionLiquidated(self, log, a, pid):
        self._set_price(self._market(pid), a["price"], log)
        ok, r = self._run(log, self.engine.liquidate, pid, sender=a["liquidator"], subject=("position", pid))
        if not ok:
            return False
        self._compare(pid, log, [(k.replace("_", " "), r[k], a[k]) for k in
                                 ("pnl", "borrow_fee", "reward", "insurance_cut", "to_pool", "bad_debt",
                                  "insurance_cover")])
        return ok

    # ---------------------------------------------------------------- pool actions

    def _pool_action(self, log: Log) -> None:
        pool, a = self.pool, log.args
        self.token.moves = []
        if log.event == "Deposit":
            by_deposit = pool._convert_to_shares(a["assets"], False)
            by_mint = pool._convert_to_assets(a["shares"], True)
            if a["shares"] == by_deposit:
                ok, _ = self._run(log, pool.deposit, a["assets"], a["owner"], sender=a["sender"],
                                  subject=("pool", "pool"))
            elif a["assets"] == by_mint:
                ok, _ = self._run(log, pool.mint, a["shares"], a["owner"], sender=a["sender"], subject=("pool", "pool"))
            else:
                self.flag("replay", "pool", f"shares for {a['assets']} assets deposited", by_deposit, a["shares"], log,
                          key="pool")
                ok = False
            if not ok:
                self.token.transferFrom(a["sender"], pool.address, a["assets"], sender=pool.address)
                pool.shares._mint(a["owner"], a["shares"])
            return
        by_withdraw = pool._convert_to_shares(a["assets"], True)
        by_redeem = pool._convert_to_assets(a["shares"], False)
        if a["shares"] == by_withdraw:
            ok, _ = self._run(log, pool.withdraw, a["assets"], a["receiver"], a["owner"], sender=a["sender"],
                              subject=("pool", "pool"))
        elif a["assets"] == by_redeem:
            ok, _ = self._run(log, pool.redeem, a["shares"], a["receiver"], a["owner"], sender=a["sender"],
                              subject=("pool", "pool"))
        else:
            self.flag("replay", "pool", f"shares burnt for {a['assets']} assets withdrawn", by_withdraw, a["shares"],
                      log, key="pool")
            ok = False
        if not ok:
            # Keep the pool on the chain's figures so later events stay checkable.
            pool.shares.balanceOf[a["owner"]] = max(pool.shares.balanceOf[a["owner"]], a["shares"])
            pool.shares._burn(a["owner"], a["shares"])
            self.token.balanceOf[pool.address] = max(self.token.balanceOf[pool.address], a["assets"])
            self.token.transfer(a["receiver"], a["assets"], sender=pool.address)

    def _share_transfer(self, log: Log) -> None:
        a = log.args
        try:
            self.pool.shares.transfer(a["receiver"], a["value"], sender=a["sender"])
        except Revert as err:
            self.flag("replay", "pool", f"share transfer {a['sender']} -> {a['receiver']}", f"revert {err.reason!r}",
                      a["value"], log, key="pool")
            self.pool.shares.balanceOf[a["receiver"]] += a["value"]


# ---------------------------------------------------------------- the audit

class Auditor:
    def __init__(self, rpc: Rpc, manifest: Manifest, *, max_range: int = 2_000, max_topics: int = 50,
                 to_block: Optional[int] = None, progress: Optional[Callable[[str], None]] = None):
        self.rpc, self.m = rpc, manifest
        self.max_range, self.max_topics, self.to_block = max_range, max_topics, to_block
        self.progress = progress or (lambda line: None)
        self._timestamps: Dict[int, int] = {}

    def _timestamp(self, block: int) -> int:
        ts = self._timestamps.get(block)
        if ts is None:
            ts = self._timestamps[block] = self.rpc.timestamp(block)
        return ts

    def run(self) -> Report:
        m, rpc = self.m, self.rpc
        chain_id = rpc.chain_id()
        head = rpc.block_number()
        to_block = head if self.to_block is None else min(self.to_block, head)
        report = Report(str(m.path), m.data.get("name", "?"), chain_id, m.data.get("start_block") or 0, to_block)
        if chain_id != m.data["chain_id"] or rpc.block_hash(0) != m.data["genesis_hash"]:
            report.discrepancies.append(Discrepancy(
                "chain", "network", "chain identity", (m.data["chain_id"], m.data["genesis_hash"]),
                (chain_id, rpc.block_hash(0)),
                "the connected node is not the manifest's chain (wrong --network, or a restarted devnet)"))
            return report
        for key in ("engine", "pool", "insurance", "vault_implementation"):
            m.address(key)
        engine, pool, insurance = m.address("engine"), m.address("pool"), m.address("insurance")
        impl = m.address("vault_implementation")
        token = m.contracts["engine"]["args"][0]
        if source_hashes() != m.data.get("sources"):
            report.notes.append("contracts/ changed since this deployment: code is checked against this checkout")

        chain_vaults = rpc.call(engine, "Engine", "vault_count", block=to_block)
        chain_markets = rpc.call(engine, "Engine", "market_count", block=to_block)
        feeds = {rpc.call(engine, "Engine", "market_state", [i], block=to_block)[0] for i in range(1, chain_markets + 1)}
        feeds |= set(m.feeds().values())

        replayer = Replayer(engine=engine, pool=pool, insurance=insurance, token=token,
                            engine_tx=m.contracts["engine"]["tx"] or "", timestamp=self._timestamp, report=report)
        replayer.know_vaults(chain_vaults)
        holders = [engine, pool, insurance] + [replayer.vault_address(s) for s in range(1, chain_vaults + 1)]
        indexer = Indexer(rpc, engine=engine, pool=pool, token=token, feeds=sorted(feeds), max_range=self.max_range,
                          max_topics=self.max_topics, progress=self.progress)
        self.progress(f"fetching logs of blocks {report.from_block}..{to_block} "
                      f"(up to {self.max_range} blocks per request)")
        logs = indexer.fetch(report.from_block, to_block, holders)
        report.stats["logs"] = len(logs)
        report.stats["log_requests"] = indexer.fetcher.requests
        if indexer.fetcher.narrowed:
            report.notes.append(f"the node refused {indexer.fetcher.narrowed} eth_getLogs window(s); "
                                "they were fetched in smaller ranges")
        self.progress(f"replaying {len(logs)} logs through the model")
        replayer.replay(logs)
        report.stats.update(replayer.stats)

        state = ChainState(rpc, engine, to_block)
        _compare_state(replayer, state, report, m, token, to_block)
        _check_code(replayer, state, report, m, token, impl, to_block)
        return report


class ChainState:
    def __init__(self, rpc: Rpc, engine: str, block: int):
        self.rpc, self.engine, self.block = rpc, engine, block
        self.totals = rpc.call(engine, "Engine", "totals", block=block)
        self.slots = []
        for first in range(1, self.totals[5] + 1, PAGE):
            self.slots.extend(rpc.call(engine, "Engine", "slots", [first, PAGE], block=block))

    def call(self, address, contract, fn, args=()):
        return self.rpc.call(address, contract, fn, args, block=self.block)

    def balances(self, lens: str, token: str, holders: List[str]) -> Dict[str, int]:
        out = {}
        for i in range(0, len(holders), LENS_MAX):
            chunk = holders[i:i + LENS_MAX]
            out.update(zip(chunk, self.call(lens, "Lens", "balances", [token, chunk])))
        return out


TOTALS_FIELDS = ("pool_assets", "pool_shares", "total_reserved", "insurance_assets", "open_positions", "vault_count",
                 "market_count", "paused")
VIEW_FIELDS = ("position_id", "slot", "vault", "is_open", "owner", "market_id", "is_long", "size", "collateral",
               "entry_price", "entry_index", "max_profit_bps", "reserve")


def _where(replayer: Replayer, key, fallback: str = "") -> str:
    if key in replayer.diverged:
        return f"first diverged at {replayer.diverged[key]}"
    last = replayer.last_event.get(key)
    if last is not None:
        return (f"no event explains it: the chain changed after {last.ref()} "
                "(state written outside the contracts' rules?)")
    return fallback or "no event explains it (state written outside the contracts' rules?)"


def _compare_state(r: Replayer, state: ChainState, report: Report, m: Manifest, token: str, block: int) -> None:
    eng, pool = r.engine, r.pool
    engine = r.engine_address

    def flag(kind, subject, fld, model, chain, where, **kw):
        report.discrepancies.append(Discrepancy(kind, subject, fld, model, chain, where, **kw))

    # Totals, owner, guardian.
    model_totals = eng.totals(pool.totalSupply())
    for name, mv, cv in zip(TOTALS_FIELDS, model_totals.__dict__.values(), state.totals):
        if mv != cv:
            subject = {"pool_assets": "pool", "pool_shares": "pool", "insurance_assets": "insurance fund"}.get(
                name, "engine")
            flag("state", subject, f"totals.{name}", mv, cv, _where(r, subject))
    for fn in ("owner", "pending_owner", "guardian"):
        cv = state.call(engine, "Engine", fn)
        if getattr(eng, fn) != cv:
            flag("state", "engine", fn, getattr(eng, fn), cv, _where(r, "engine"))

    # Markets.
    n_markets = max(eng.market_count, state.totals[6])
    report.stats["markets"] = n_markets
    for market_id in range(1, n_markets + 1):
        subject = f"market {market_id}"
        cs = state.call(engine, "Engine", "market_state", [market_id])
        st = eng.market_state[market_id]
        for name, mv, cv in zip(("feed", "oi_long", "oi_short", "borrow_index", "last_accrual"),
                                (st.feed, st.oi_long, st.oi_short, st.borrow_index, st.last_accrual), cs):
            if mv != cv:
                flag("state", subject, f"market_state.{name}", mv, cv, _where(r, ("market", market_id)))
        cp = state.call(engine, "Engine", "market_params", [market_id])
        mp = eng.market_params[market_id]
        mp_tuple = mp.as_tuple() if mp is not None else (0,) * 11
        for name, mv, cv in zip(MarketParams.__dataclass_fields__, mp_tuple, cp):
            if mv != cv:
                flag("state", subject, f"market_params.{name}", mv, cv, _where(r, ("market", market_id)))

    # Vault slots: every position, field by field.
    n_slots = max(eng.vault_count, len(state.slots))
    report.stats["slots"] = len(state.slots)
    report.stats["open_positions"] = sum(1 for s in state.slots if s[3])
    for slot in range(1, n_slots + 1):
        mv = eng._view(slot)
        cv = state.slots[slot - 1] if slot <= len(state.slots) else None
        mt = tuple(mv.__dict__.values())
        if cv is not None and mt == tuple(cv):
            continue
        pos = eng.slots_[slot]
        pid = (slot << GEN_BITS) | pos.generation if pos.generation else None
        subject = f"position {pid}" if pid else f"vault slot {slot}"
        if pid:
            report.subjects[subject] = r.describe_position(pid)
        if cv is None:
            flag("state", subject, "slot", "exists", "missing", _where(r, ("slot", slot)), position_id=pid, slot=slot)
            continue
        for name, a, b in zip(VIEW_FIELDS, mt, cv):
            if a != b:
                flag("state", subject, name, a, b, _where(r, ("slot", slot)), position_id=pid, slot=slot,
                     address=r.vault_address(slot))

    # Balances of every protocol address, model against chain.
    lens = m.address("lens")
    vaults = [s[2] for s in state.slots]
    holders = [engine, r.pool_address, r.insurance] + vaults
    chain_bal = state.balances(lens, token, holders)
    report.stats["balances"] = len(holders)
    for holder in holders:
        mv, cv = r.token.balanceOf[holder], chain_bal[holder]
        if mv != cv:
            subject, pid, slot = r.subject_of(holder)
            key = ("slot", slot) if slot else subject
            flag("balance", subject, f"token balance of {holder}", mv, cv, _where(r, key), position_id=pid,
                 slot=slot, address=holder)
    # LP shares of everyone the log shows holding some.
    lps = [h for h, v in pool.shares.balanceOf.items() if v]
    chain_shares = state.balances(lens, r.pool_address, lps) if lps else {}
    for lp in lps:
        if pool.shares.balanceOf[lp] != chain_shares[lp]:
            flag("balance", "pool", f"LP shares of {lp}", pool.shares.balanceOf[lp], chain_shares[lp], _where(r, "pool"))

    # The chain's own invariant, model or not: a vault holds exactly its open position's collateral.
    for view in state.slots:
        slot, vault, is_open, collateral = view[1], view[2], view[3], view[8]
        held = chain_bal.get(vault, 0)
        accounted = collateral if is_open else 0
        if held != accounted:
            pid = view[0] if is_open else None
            subject = f"position {pid}" if pid else f"vault slot {slot}"
            what = (f"vault {vault} holds {_show(held)} tokens; its open position accounts for {_show(accounted)}"
                    if is_open else f"vault {vault} holds {_show(held)} tokens but slot {slot} has no open position")
            flag("invariant", subject, what, None, None, _where(r, ("slot", slot)), position_id=pid, slot=slot,
                 address=vault)


def _check_code(r: Replayer, state: ChainState, report: Report, m: Manifest, token: str, impl: str,
                block: int) -> None:
    rpc, engine = state.rpc, r.engine_address
    checks = 0

    def flag(subject, fld, where="", **kw):
        report.discrepancies.append(Discrepancy("code", subject, fld, None, None, where, **kw))

    def code(address):
        return rpc.code(address, block)

    expected = {
        "engine": ("Engine", {"TOKEN": token, "POOL": r.pool_address, "INSURANCE": r.insurance,
                              "VAULT_IMPLEMENTATION": impl}),
        "vault_implementation": ("Vault", {"ENGINE": engine, "TOKEN": token}),
        "pool": ("LiquidityPool", {"ENGINE": engine, "TOKEN": token, "erc4626.asset": token, "erc4626._ASSET": token}),
        "lens": ("Lens", {}),
    }
    if "token" in m.contracts and m.contracts["token"].get("contract") == "MockUSDC":
        expected["token"] = ("MockUSDC", {})
    for key, entry in m.contracts.items():
        if key.startswith("feed:") and entry.get("contract") == "MockAggregator":
            expected[key] = ("MockAggregator", {})
    for key, (contract, imm) in expected.items():
        address = m.address(key)
        checks += 1
        for problem in check_code(code(address), contract, imm):
            subject = "vault implementation (every position's vault)" if key == "vault_implementation" else key
            flag(subject, f"{address}: {problem}")
    # Every vault, and the insurance fund, is the proxy of the manifest's implementation.
    want = proxy_code(impl)
    vaults = [(r.insurance, "insurance fund", None, None)]
    for view in state.slots:
        slot = view[1]
        pid = view[0] if view[3] else None
        vaults.append((view[2], f"position {pid}" if pid else f"vault slot {slot}", pid, slot))
    for address, subject, pid, slot in vaults:
        checks += 1
        got = code(address)
        if got != want:
            target = proxy_target(got)
            what = (f"vault {address} is a minimal proxy of {target}, not of the implementation {impl}" if target
                    else f"vault {address} code is not the minimal proxy of {impl} ({len(got)} bytes)")
            flag(subject, what, position_id=pid, slot=slot, address=address)
            continue
        try:
            got_engine = rpc.call(address, "Vault", "ENGINE", block=block)
            got_token = rpc.call(address, "Vault", "TOKEN", block=block)
        except RpcError as err:
            flag(subject, f"vault {address}: reading ENGINE/TOKEN through the proxy failed: {err}", position_id=pid,
                 slot=slot, address=address)
            continue
        if (got_engine, got_token) != (engine, token):
            flag(subject, f"vault {address} answers ENGINE {got_engine}, TOKEN {got_token}; expected {engine}, "
                          f"{token}", position_id=pid, slot=slot, address=address)
    report.stats["code_checks"] = checks


def audit(rpc: Rpc, manifest_path, **kwargs) -> Report:
    return Auditor(rpc, Manifest.load(manifest_path), **kwargs).run()


def write_json(report: Report, path) -> None:
    with open(path, "w") as f:
        json.dump(report.as_dict(), f, indent=2, default=str)
