"""Replaying a deployment's event history through the model.

Each transaction's logs are taken together: the action it made (an engine
or pool event, replayed by audit_actions.py), the borrow-index accruals
and vault creations logged with it, and the token transfers, which must be
exactly those the model made. What the model cannot reproduce is flagged
against the subject it touched (a position, the pool, a market).
"""
from collections import defaultdict
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional

from model import Revert, ZERO_ADDRESS
from model.aggregator import MockAggregator
from model.engine import Engine
from model.positions import GEN_BITS, GEN_MASK
from model.env import Env
from model.journal import Journal
from model.pool import LiquidityPool
from model.token import Token

from ..protocol.layout import vault_address
from .audit_actions import ORDER_EVENTS, POSITION_EVENTS, Actions
from .audit_report import Discrepancy, Donation, Report
from .indexer import ZERO, Log, by_transaction

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


class Replayer(Actions):
    def __init__(self, *, engine: str, pool: str, insurance: str, token: str, engine_tx: str,
                 timestamp: Callable[[int], int], report: Report, orders: str, rules: str,
                 sequencer_feed: str = ZERO_ADDRESS,
                 sequencer_grace: int = 0, execution_fee: int = 0, redeem_fee_bps: int = 0):
        self.engine_address, self.pool_address, self.insurance, self.token_address = engine, pool, insurance, token
        self.orders_address = orders
        self.rules_address = rules
        self.engine_tx = engine_tx.lower()
        self.timestamp = timestamp
        self.report = report
        self.journal = Journal()
        self.env = Env(0)
        self.vault_slots: Dict[str, int] = {}
        self.token = LedgerToken(self.journal, token, self.is_insider)
        # Wired as model.Protocol does, with the chain's addresses.
        self.engine = Engine(self.journal, self.env, engine, self.token, owner=ZERO_ADDRESS, guardian=ZERO_ADDRESS,
                             pool_address=pool, insurance=insurance, vault_address=self.vault_address,
                             orders_address=orders, rules_address=rules, sequencer_feed=sequencer_feed, sequencer_grace=sequencer_grace,
                             execution_fee=execution_fee)
        self.orders = self.engine.orders
        self.pool = LiquidityPool(self.journal, pool, self.token, self.engine, redeem_fee_bps)
        # The engine's reserve check asks the pool for its cash.
        self.engine.pool = self.pool
        self.pool.shares = _Shares(self.journal, pool, decimals=self.pool.shares.decimals)
        self.stats = defaultdict(int)
        self.last_event: Dict[Any, Log] = {}       # subject key -> last event touching it
        self.diverged: Dict[Any, str] = {}         # subject key -> where it first diverged
        self.lost: set = set()                     # positions the model diverged from
        self.skipped: Dict[int, int] = defaultdict(int)
        self.feed_rounds: Dict[str, tuple] = {}    # feed -> (answer, updated_at), from its own log
        self.donated: Dict[str, int] = defaultdict(int)   # protocol address -> tokens donated into it, unswept
        self.frozen: Dict[str, int] = defaultdict(int)    # vault -> tokens an exit found frozen in it
        self._events_seen = 0                             # how far the model's events were read for those

    # ---------------------------------------------------------------- addresses

    def vault_address(self, slot: int) -> str:
        address = vault_address(self.engine_address, slot)
        self.vault_slots[address] = slot
        return address

    def know_vaults(self, count: int) -> None:
        for slot in range(1, count + 1):
            self.vault_address(slot)

    def is_insider(self, address: str) -> bool:
        return (address in (self.engine_address, self.pool_address, self.insurance, self.orders_address)
                or address in self.vault_slots)

    def subject_of(self, address: str):
        """(subject name, position id, slot) for a protocol address."""
        if address == self.pool_address:
            return "pool", None, None
        if address == self.insurance:
            return "insurance fund", None, None
        if address == self.engine_address:
            return "engine", None, None
        if address == self.orders_address:
            return "order book", None, None
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
                f"owner {pos.owner}, vault {self.engine.vaults(slot)}")

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
                  slot=pid >> GEN_BITS, address=self.engine.vaults(pid >> GEN_BITS))
        # Later events of this position would only repeat the difference.
        self.lost.add(pid)

    # ---------------------------------------------------------------- driving the model

    def _at(self, log: Log) -> None:
        ts = self.timestamp(log.block)
        if ts > self.env.timestamp:
            self.env.timestamp = ts

    def _set_price(self, market_id: int, price: int, log: Log) -> None:
        feed_address = self.engine.market_state(market_id).feed
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
        # An executed or cancelled order runs the engine inside the order
        # book's call: its engine events are replayed by execute_order.
        order_run = any(l.contract == "OrderBook" and l.event in ("OrderExecuted", "OrderCancelled") for l in logs)
        inner: List[Log] = []
        for log in logs:
            if log.contract == "OrderBook":
                if log.event in ORDER_EVENTS:
                    self.stats["order_actions"] += 1
                    self._at(log)
                    before = self._market_marks()
                    vaults_before = self.engine.vault_count
                    if self._order_action(log, inner):
                        self._check_side_effects(log, before, accruals, vaults_before, created)
                        self._match_transfers(log, transfers)
                    else:
                        self._absorb(accruals, transfers)
                    inner = []
                continue
            if order_run and log.contract == "Engine" and log.event in POSITION_EVENTS:
                inner.append(log)
                continue
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
                if log.event in ("DepositRequested", "RedeemRequested", "RequestExecuted", "RequestCancelled"):
                    self.stats["pool_actions"] += 1
                    self._at(log)
                    self._pool_action(log)
                    self._match_transfers(log, transfers)
                elif (log.event == "Transfer" and ZERO not in (log.args["sender"], log.args["receiver"])
                      and self.pool.address.lower() not in (log.args["sender"].lower(), log.args["receiver"].lower())):
                    # Shares into and out of the pool itself are a request's
                    # escrow, which the request events replay.
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
        return {m: (self.engine.market_state(m).borrow_index, self.engine.market_state(m).last_accrual)
                for m in range(1, self.engine.market_count + 1)}

    def _check_side_effects(self, log, before, accruals, vaults_before, created) -> None:
        for market_id in range(1, self.engine.market_count + 1):
            st = self.engine.market_state(market_id)
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
                self.flag("replay", f"vault slot {slot}", "vault creation", self.engine.vaults(slot), "no event", log)
                continue
            created.remove(ev)
            if ev.args["vault"] != self.engine.vaults(slot):
                self.flag("replay", f"vault slot {slot}", "vault address", self.engine.vaults(slot), ev.args["vault"],
                          ev, key=("slot", slot))

    def _absorb(self, accruals: Dict[int, Log], transfers: List[Log]) -> None:
        """Take in what an action the model did not replay logged with it: its
        transfers are its own (already reported through the action), and its
        accruals are the market's, which later actions build on."""
        for market_id, ev in accruals.items():
            self.engine._market_state[market_id] = replace(self.engine.market_state(market_id),
                                                           borrow_index=ev.args["borrow_index"],
                                                           last_accrual=ev.args["timestamp"])
        accruals.clear()
        transfers.clear()

    def _vault_events(self) -> None:
        """The model's own account of what its exits did with a vault's
        extra tokens: swept to the pool (no longer a donation there), or
        found frozen (the vault keeps them all, donations included); and
        what an open swept out of the free vault it took (Vault.Swept, to
        the insurance vault)."""
        events = self.journal.events or []
        for e in events[self._events_seen:]:
            name = type(e.event).__name__
            if name == "Swept":
                self.donated[e.address] -= e.event.amount
            elif name == "DonationSwept":
                self.donated[e.event.vault] -= e.event.amount
            elif name == "VaultFrozen":
                self.frozen[e.event.vault] += e.event.amount
                self.donated[e.event.vault] = 0
        self._events_seen = len(events)

    def _match_transfers(self, log: Log, transfers: List[Log]) -> None:
        self._vault_events()
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
        if self.is_insider(receiver) and not self.is_insider(sender):
            # A plain transfer (or a mint) in from outside: a gift to the address's holder.
            # The model holds it too, so every later balance agrees.
            subject, pid, slot = self.subject_of(receiver)
            if slot is not None and not self.engine.slots_[slot].is_open:
                subject = f"vault slot {slot}"      # the next position's, not the last one's
            self.token.balanceOf[receiver] += value
            self.donated[receiver] += value
            self.report.donations.append(Donation(subject, receiver, sender, value, t.tx, t.block))
            self.stats["donations"] += 1
            return
        address = receiver if self.is_insider(receiver) else sender
        subject, pid, slot = self.subject_of(address)
        direction = "into" if address == receiver else "out of"
        if pid is not None:
            self.report.subjects[subject] = self.describe_position(pid)
        self.flag("transfer", subject, f"unexplained token transfer {direction} {address} ({sender} -> {receiver}), "
                  "no engine or pool action accounts for it", 0, value, t,
                  key=("slot", slot) if slot else subject, position_id=pid, slot=slot, address=address)
