"""Attackers in the state machine (issue 8, "Adversaries in the state machine").

Each attacker that must act inside one transaction is a BundleAttacker
(contracts/adversaries/) owned by the world's stranger, with a FlashLender
beside it; its model twin (model/adversaries.py) runs the same calldata on
the model, so the twin's outcome and state comparison covers every attack.

    flash depositor   borrow -> requestDeposit (+ execute_request) -> its own
                      losing close -> (requestRedeem + execute) or cancel -> repay
    flash keeper      the same around a liquidation it performs
    straddler         a long and a short on one market, held across the
                      machine's price jumps; its losing leg closed inside a
                      flash deposit bundle, the other leg closed plainly
    LP timer          requests a deposit while traders are under water, a
                      redeem while they are in profit (read from the chain's
                      pool_liability), executes itself at the first eligible
                      moment, or right before a price move the machine makes

Trades go through the engine's trade functions as they are on this branch,
each built by one of the `*_call` functions below: when two-step orders land
(OrderBook), those are the only place to switch to order requests.

What every attack yields is counted in stats["attacks"] (printed with the
outcome table): tries, outcomes, and the attacker's gain in token units,
measured on chain data by economics.holdings.
"""
from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from model.adversaries import BundleAttacker, FlashLender
from model.pool import LP_REQUEST_DELAY

from ..protocol.markets import MARKETS, USDC
from .economics import EconomicChecks, fee_accrual, holdings
from .twin import Target
from .world import refresh_feeds

LOAN = 200_000_000 * USDC          # a flash loan far above the pool: 200x its seed
STAKE = 2_000_000 * USDC           # each attacker's own tokens
MAX_UINT256 = 2**256 - 1
ATTACKERS = ("bundle", "straddler", "timer")


# ---------------------------------------------------------------- deploying

def _decoder(twin):
    """decode(target, calldata) -> (fn, args) for the model's BundleAttacker,
    from the ABIs of the contracts the twin knows by address."""
    by_address, tables = {}, {}
    for t in twin.targets.values():
        by_address[t.address] = t.contract

    def decode(target, data):
        contract = by_address[to_checksum_address(target)]
        table = tables.get(contract)
        if table is None:
            table = tables[contract] = {f.selector: f for f in twin.chain.codec(contract).functions.values()}
        f = table[data[:4]]
        args = abi_decode(f.inputs, data[4:])
        return f.name, [to_checksum_address(a) if t == "address" else a for t, a in zip(f.inputs, args)]

    return decode, by_address


def add_attacker_contracts(twin, owner: str, stranger: str) -> tuple:
    """Deploy the lender (by `owner`) and the BundleAttackers (owned by
    `stranger`) on chain and beside the model, logged so a replay does the
    same: (lender address, {name: bundle address})."""
    model, d = twin.model, twin.deployment
    decode, by_address = _decoder(twin)
    twin.log.append(("attackers", twin.symbolic(owner), twin.symbolic(stranger)))

    def add(name, contract, make, sender):
        twin.tick()
        address = twin.chain.deploy(contract, [d.token], sender)
        obj = make(address)
        model.contracts[address] = obj
        twin.targets[name] = Target(address, contract, obj)
        by_address[address] = contract
        twin.holders.append(address)
        twin._names[address] = name
        return address

    lender = add("lender", "FlashLender", lambda a: FlashLender(model.journal, a, model.token, model.contracts),
                 owner)
    bundles = {name: add(name, "BundleAttacker",
                         lambda a: BundleAttacker(model.journal, a, stranger, model.token, model.contracts, decode),
                         stranger)
               for name in ATTACKERS}
    return lender, bundles


def deploy_attackers(world) -> None:
    """The lender (holding LOAN) and three BundleAttackers owned by the
    stranger, each with STAKE and approvals for the engine and the pool."""
    twin, d = world.twin, world.twin.deployment
    lender, bundles = add_attacker_contracts(twin, world.owner, world.stranger)
    twin.send("token", "mint", [lender, LOAN], world.owner)
    for name, bundle in bundles.items():
        twin.send("token", "mint", [bundle, STAKE], world.owner)
        r = twin.send(name, "run", [[call(twin, "token", "approve", [d.engine, MAX_UINT256]),
                                     call(twin, "token", "approve", [d.pool, MAX_UINT256])]], world.stranger)
        assert r.ok, f"{name} approvals reverted: {r.reason}"
    world.attackers = dict(bundles)
    world.attacker_names = {a: n for n, a in bundles.items()}
    world.lender = lender


def call(twin, target: str, fn: str, args) -> tuple:
    t = twin.targets[target]
    return (t.address, twin.chain.codec(t.contract)[fn].encode(args))


# ---------------------------------------------------------------- trades (switch to order requests at merge)

def open_call(twin, market_id, is_long, size, amount) -> tuple:
    return call(twin, "engine", "open_position", [market_id, is_long, size, amount])


def close_call(twin, position_id) -> tuple:
    return call(twin, "engine", "close_position", [position_id])


def liquidate_call(twin, position_id) -> tuple:
    return call(twin, "engine", "liquidate", [position_id])


# ---------------------------------------------------------------- the rules

def _record(stats, attack, outcome, gain=None):
    a = stats["attacks"].setdefault(attack, {"tried": 0, "outcomes": {}, "gain": 0, "best": None, "valued": 0})
    a["tried"] += 1
    a["outcomes"][outcome] = a["outcomes"].get(outcome, 0) + 1
    if gain is not None:
        a["valued"] += 1
        a["gain"] += gain
        a["best"] = gain if a["best"] is None else max(a["best"], gain)


class AdversaryRules(EconomicChecks):
    """Mixed into ProtocolMachine: its rules are the attackers'."""

    def send_as_contract(self, target, fn, args, sender, seconds=1):
        """A call the machine makes as a position's or request's owner, when
        that owner is an attacker contract: it goes through the bundle."""
        name = self.world.attacker_names[sender]
        o = self.send(name, "run", [[call(self.twin, target, fn, args)]], self.world.stranger, seconds)
        key = (("what-if " if self.in_what_if else "") + fn + " (attacker)", o.reason or "ok")
        self.stats["outcomes"][key] = self.stats["outcomes"].get(key, 0) + 1
        return o

    def attacker(self, name):
        return self.world.attackers[name]

    def own_positions(self, name):
        who = self.attacker(name)
        return [pid for pid in sorted(self.engine.open_position_ids()) if self.engine.position(pid).owner == who]

    def run_bundle(self, attack, name, calls, loan=0, liquidated=()):
        """Send one bundle (in a flash loan when `loan`), check invariant (1)
        on the chain's data around it and count what it yielded."""
        who = self.attacker(name)
        before = holdings(self.twin, who)
        accrual = fee_accrual(self.twin, 1)
        mark = self.model.events_mark()
        if loan:
            o = self.send(name, "run_with_loan", [self.world.lender, loan, calls], self.world.stranger)
        else:
            o = self.send(name, "run", [calls], self.world.stranger)
        after = holdings(self.twin, who, rate=before.rate)
        gain = None
        if before.valued and after.valued:
            gain = after.total - before.total
            self.check_bundle(attack, who, before, after, mark, accrual)
        _record(self.stats, attack, o.reason or "ok", gain if o.ok else None)
        return o

    def _flash_bundle(self, attack, name, action, loan, variant):
        """requestDeposit(loan) -> [execute it] -> action -> [requestRedeem of
        the shares it holds + execute] -> cancel the deposit -> repay."""
        t, pool, who = self.twin, self.model.pool, self.attacker(name)
        rid = pool.request_count + 1
        calls = [call(t, "pool", "requestDeposit", [loan, who, who])]
        if variant & 1:
            calls.append(call(t, "pool", "execute_request", [rid]))
        calls.append(action)
        shares = pool.balanceOf(who)
        if variant & 2 and shares:
            calls += [call(t, "pool", "requestRedeem", [shares, who, who]),
                      call(t, "pool", "execute_request", [rid + 1])]
        calls.append(call(t, "pool", "cancel_request", [rid]))
        return self.run_bundle(attack, name, calls, loan=loan)

    # ---- positions of the attackers' own

    @rule(symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          collateral=st.integers(50 * USDC, 20_000 * USDC), pct=st.integers(20, 100))
    def attacker_opens(self, symbol, is_long, collateral, pct):
        """The flash depositor opens a position of its own to lose on."""
        size, amount = self._sized(symbol, collateral, pct)
        self.run_bundle("attacker opens", "bundle", [open_call(self.twin, self.market_id(symbol), is_long,
                                                               size, amount)])

    @rule(symbol=st.sampled_from(sorted(MARKETS)), collateral=st.integers(50 * USDC, 20_000 * USDC),
          pct=st.integers(50, 100))
    def straddle_open(self, symbol, collateral, pct):
        """A long and a short of one size on one market, in one transaction."""
        size, amount = self._sized(symbol, collateral, pct)
        m = self.market_id(symbol)
        if not self.own_positions("straddler"):
            self.record_straddle_life()
            self._straddle_start = holdings(self.twin, self.attacker("straddler")).total
        self.run_bundle("straddle open", "straddler", [open_call(self.twin, m, True, size, amount),
                                                       open_call(self.twin, m, False, size, amount)])

    def _sized(self, symbol, collateral, pct):
        params = self.engine.market_params(self.market_id(symbol))
        size = collateral * 10_000 * pct // (100 * params.initial_margin_bps)
        return size, collateral + (size * params.open_fee_bps + 9_999) // 10_000

    # ---- finding 1: flash deposit around one's own losing close

    @rule(pick=st.integers(0, 2**16), loan=st.sampled_from([LOAN, LOAN // 100, 10_000 * USDC]),
          variant=st.integers(0, 3), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans())
    def flash_deposit_close(self, pick, loan, variant, symbol, is_long):
        """Close the attacker's worst position inside a flash deposit (opening
        one first when it has none, so the attack is tried every time)."""
        if not self.own_positions("bundle"):
            self.attacker_opens(symbol, is_long, 10_000 * USDC, 90)
        pids = self.own_positions("bundle")
        if not pids:
            _record(self.stats, "flash deposit + own close", "could not open a position to lose on")
            return
        pid = min(pids, key=lambda p: (self._equity(p), p)) if pick % 2 else pids[pick % len(pids)]
        self._flash_bundle("flash deposit + own close", "bundle", close_call(self.twin, pid), loan, variant)

    def _equity(self, pid):
        try:
            return self.engine.health(pid).equity
        except Exception:  # a faulty feed: no ordering by equity, any will do
            return 0

    # ---- the keeper's version: around a liquidation

    @rule(pick=st.integers(0, 2**16), loan=st.sampled_from([LOAN, LOAN // 100]), variant=st.integers(0, 3),
          plain=st.integers(0, 3))
    def flash_keeper_liquidation(self, pick, loan, variant, plain):
        """A keeper liquidates inside a flash deposit (or, for comparison,
        plainly from its bundle): all it may keep is the reward."""
        targets = self._liquidatable()
        if not targets:
            self._crash_a_market(pick)
            targets = self._liquidatable()
        if not targets:
            _record(self.stats, "flash deposit + liquidation", "no liquidatable position")
            return
        pid = targets[pick % len(targets)]
        if plain == 0:
            self.run_bundle("liquidation, no loan", "bundle", [liquidate_call(self.twin, pid)])
        else:
            self._flash_bundle("flash deposit + liquidation", "bundle", liquidate_call(self.twin, pid), loan,
                               variant)

    def _crash_a_market(self, pick):
        """A price jump (before the bundle, in its own transaction) deep
        enough to make some open position liquidatable."""
        pids = sorted(self.engine.open_position_ids())
        if not pids:
            return
        pos = self.engine.position(pids[pick % len(pids)])
        symbol = next(s for s, m in self.world.markets.items() if m == pos.market_id)
        move = -(1_500 + pick % 4_000) if pos.is_long else 1_500 + pick % 4_000
        self.move_price(symbol, move)

    # ---- the straddler

    @rule(in_flash=st.integers(0, 3), loan=st.sampled_from([LOAN, LOAN // 100]),
          symbol=st.sampled_from(sorted(MARKETS)), jump=st.sampled_from([-2_000, -500, 500, 2_000]))
    def straddle_close(self, in_flash, loan, symbol, jump):
        """Close the losing leg (inside a flash deposit, mostly), then the
        other; the straddle's yield is its net over its whole life. With no
        straddle open, one is opened and a price jump made first."""
        if not self.own_positions("straddler"):
            self.straddle_open(symbol, 10_000 * USDC, 90)
            self.move_price(symbol, jump)
            if not self.own_positions("straddler"):
                return
        pids = sorted(self.own_positions("straddler"), key=lambda p: (self._equity(p), p))
        loser = pids[0]
        if in_flash:
            self._flash_bundle("straddle: flash deposit + losing leg", "straddler", close_call(self.twin, loser),
                               loan, 0)
        else:
            self.run_bundle("straddle: close losing leg", "straddler", [close_call(self.twin, loser)])
        rest = [close_call(self.twin, p) for p in pids[1:] if self.engine.position(p).is_open]
        if rest:
            self.run_bundle("straddle: close other leg", "straddler", rest)
        if not self.own_positions("straddler"):
            self.record_straddle_life()

    _straddle_start = None

    def record_straddle_life(self):
        """A straddle's yield over its life: opened, held across the machine's
        price moves, closed (or liquidated), in tokens on chain."""
        if self._straddle_start is None or self.own_positions("straddler"):
            return
        h = holdings(self.twin, self.attacker("straddler"))
        _record(self.stats, "straddle: whole life", "closed or liquidated", h.total - self._straddle_start)
        self._straddle_start = None

    # ---- the LP timer

    @rule(amount=st.integers(10_000 * USDC, 1_500_000 * USDC), fraction=st.integers(1_000, 10_000),
          contrarian=st.integers(0, 4))
    def timer_request(self, amount, fraction, contrarian):
        """Deposit while traders are under water (their loss is the pool's
        gain), redeem while they are in profit (first out); now and then
        the other way round, to see both."""
        liability = self.chain_liability()
        if liability is None:
            _record(self.stats, "LP timer request", "no valuation (a feed is not positive)")
            return
        who, t = self.attacker("timer"), self.twin
        deposit = (liability < 0) != (contrarian == 0)
        if deposit:
            c = call(t, "pool", "requestDeposit", [amount, who, who])
        else:
            shares = self.model.pool.balanceOf(who) * fraction // 10_000
            if not shares:
                c = call(t, "pool", "requestDeposit", [amount, who, who])
            else:
                c = call(t, "pool", "requestRedeem", [shares, who, who])
        self.run_bundle("LP timer request", "timer", [c])

    @precondition(lambda self: self._timer_pending())
    @rule(wait=st.booleans())
    def timer_execute(self, wait):
        """The timer executes its own requests at the first eligible moment:
        after the delay, at the first fresh round of every feed."""
        if wait:
            self.twin.wait(LP_REQUEST_DELAY)
            refresh_feeds(self.twin)
        self._timer_execute_eligible("LP timer executes")

    @precondition(lambda self: self._timer_pending())
    @rule(symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          collateral=st.integers(100 * USDC, 20_000 * USDC))
    def timer_execute_around_an_open(self, symbol, is_long, collateral):
        """In one transaction: open a position (a side past its reserve cap
        then values the pool lower by the new reserve), execute its own
        eligible request at that value, close the position again."""
        self.twin.wait(LP_REQUEST_DELAY)
        refresh_feeds(self.twin)
        rid = self._timer_pending()[0]
        size, amount = self._sized(symbol, collateral, 100)
        m, who = self.market_id(symbol), self.attacker("timer")
        # The id the open will get, from a model-only what-if in the next block.
        now = self.model.env.timestamp
        self.model.env.timestamp = self.twin.clock + 1
        try:
            with self.model.journal.savepoint():
                pid = self.engine.open_position(m, is_long, size, amount, sender=who)
        except Exception:
            pid = None
        finally:
            self.model.env.timestamp = now
        if pid is None:
            _record(self.stats, "LP timer: open, execute, close", "the open would revert")
            return
        self.run_bundle("LP timer: open, execute, close", "timer",
                        [open_call(self.twin, m, is_long, size, amount),
                         call(self.twin, "pool", "execute_request", [rid]), close_call(self.twin, pid)])

    def before_price_move(self):
        """The hook ProtocolMachine.move_price calls first: the timer knows
        the move is coming and executes whatever it can now."""
        if self._timer_pending():
            self._timer_execute_eligible("LP timer executes before a price move")

    def _timer_pending(self):
        who = self.attacker("timer")
        return [rid for rid in self._pending() if self.model.pool.lp_requests[rid].owner == who]

    def _timer_execute_eligible(self, attack):
        pool, now = self.model.pool, self.twin.clock + 1
        try:
            _, oldest = pool.pool_liability()
        except Exception:
            oldest = 0
        for rid in self._timer_pending():
            r = pool.lp_requests[rid]
            if now >= r.requested_at + LP_REQUEST_DELAY and oldest > r.requested_at:
                o = self.run_bundle(attack, "timer", [call(self.twin, "pool", "execute_request", [rid])])
                if o.ok and not r.is_deposit:
                    # What timing has earned so far: everything it holds, shares at
                    # the pool's price, against the STAKE it started with.
                    h = holdings(self.twin, self.attacker("timer"))
                    if h.valued:
                        _record(self.stats, "LP timer: net after a redeem", "ok", h.total - STAKE)
                return
        _record(self.stats, attack, "not eligible yet")
