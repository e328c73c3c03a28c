"""Attackers in the state machine (issue 8, "Adversaries in the state machine").

Each attacker that must act inside one transaction is a BundleAttacker
(contracts/adversaries/) owned by the world's stranger, with a FlashLender
beside it; its model twin (model/adversaries.py) runs the same calldata on
the model, so the twin's outcome and state comparison covers every attack.

    flash depositor   borrow -> requestDeposit (+ execute_request) -> the
                      fill of its own close order, requested a transaction
                      earlier -> (requestRedeem + execute) or cancel -> repay;
                      or request the close and execute it in the same bundle,
                      which the order book refuses ("orders: no price round
                      after the request yet") on chain and in the model
    flash keeper      the same around a liquidation it performs (immediate)
    straddler         a long and a short on one market, requested together,
                      held across the machine's price jumps; its losing leg's
                      close order filled inside a flash deposit bundle, the
                      other's plainly
    LP timer          requests a deposit while traders are under water, a
                      redeem while they are in profit (read from the chain's
                      pool_liability), executes itself at the first eligible
                      moment, or right before a price move the machine makes,
                      or in one transaction with the fill of its own open
    front-runner      requests an open on the winning side just before a price
                      move the machine is about to make and a close just after

Trades are two-step (OrderBook): a bundle can request (escrowing amount +
EXECUTION_FEE, the order book approved), and can execute an order whose
request is older than the feed's latest round; keepers (the machine's
liquidators) fill the rest after publishing a round. The `*_call` functions
below build every trade call.

What every attack yields is counted in stats["attacks"] (printed with the
outcome table): tries, outcomes, and the attacker's gain in token units,
measured on chain data by economics.holdings.
"""
from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from model.adversaries import BundleAttacker, FlashLender
from model.orders import CLOSE, OPEN
from model.pool import LP_REQUEST_DELAY

from ..protocol.markets import MARKETS, USDC
from .economics import EconomicChecks, fee_accrual, holdings
from .twin import Target
from .world import refresh_feeds

LOAN = 200_000_000 * USDC          # a flash loan far above the pool: 200x its seed
STAKE = 2_000_000 * USDC           # each attacker's own tokens
MAX_UINT256 = 2**256 - 1
ATTACKERS = ("bundle", "straddler", "timer", "front")
# Through ape (both networks) the attackers, and the economic invariants
# that watch them, act in one example in ATTACKERS_EVERY_THROUGH_APE; the
# others run the machine without them. An attack through ape costs ~10x a
# plain step (its bundles, fills and the holdings read around each): in
# every ape example they more than doubled the CI's two ape passes. The
# fast paths (revm, a node over JSON-RPC) run them in every example; through
# ape they check the same bundles agree when ape sends them.
ATTACKERS_EVERY_THROUGH_APE = 3


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
                                     call(twin, "token", "approve", [d.pool, MAX_UINT256]),
                                     call(twin, "token", "approve", [d.orders, MAX_UINT256])]], world.stranger)
        assert r.ok, f"{name} approvals reverted: {r.reason}"
    world.attackers = dict(bundles)
    world.attacker_names = {a: n for n, a in bundles.items()}
    world.lender = lender


def call(twin, target: str, fn: str, args) -> tuple:
    t = twin.targets[target]
    return (t.address, twin.chain.codec(t.contract)[fn].encode(args))


# ---------------------------------------------------------------- trades (two-step: OrderBook)

# Any fill price: the attackers' orders are about timing, not limits.
ANY_PRICE = {True: 2**128 - 1, False: 0}


def open_call(twin, market_id, is_long, size, amount) -> tuple:
    """A request: the bundle escrows amount + EXECUTION_FEE in the order book,
    and a keeper fills it at a later round."""
    return call(twin, "orders", "request_open", [market_id, is_long, size, amount, ANY_PRICE[is_long]])


def request_close_call(twin, position_id, is_long) -> tuple:
    return call(twin, "orders", "request_close", [position_id, ANY_PRICE[not is_long]])


def close_call(twin, order_id) -> tuple:
    """Inside a bundle a close can only be the execution of a close order
    requested in an earlier transaction (the order book waits for a round
    after the request)."""
    return call(twin, "orders", "execute_order", [order_id])


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


def _attacking(self) -> bool:
    return self.attackers_on


class AdversaryRules(EconomicChecks):
    """Mixed into ProtocolMachine: its rules are the attackers'. Each rule
    waits on `attackers_on` (choose_attackers), so an example without them
    draws only the machine's own rules."""

    attackers_on = True

    def choose_attackers(self) -> None:
        """Called by ProtocolMachine.__init__ once per example, with the twin
        set: whether this example's attackers act (every example but through
        ape, see ATTACKERS_EVERY_THROUGH_APE), counted for the table."""
        every = ATTACKERS_EVERY_THROUGH_APE if self.twin.chain.name.startswith("ape") else 1
        n = self.stats.get("examples", 0)
        self.stats["examples"] = n + 1
        self.attackers_on = n % every == 0
        self.stats["examples with attackers"] = self.stats.get("examples with attackers", 0) + self.attackers_on

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
        clamps = self.chain_clamps()
        mark = self.model.events_mark()
        if loan:
            o = self.send(name, "run_with_loan", [self.world.lender, loan, calls], self.world.stranger)
        else:
            o = self.send(name, "run", [calls], self.world.stranger)
        after = holdings(self.twin, who, rate=before.rate)
        gain = None
        if before.valued and after.valued:
            gain = after.total - before.total
            self.check_bundle(attack, who, before, after, mark, accrual, clamps)
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
        calls += action
        shares = pool.balanceOf(who)
        if variant & 2 and shares:
            calls += [call(t, "pool", "requestRedeem", [shares, who, who]),
                      call(t, "pool", "execute_request", [rid + 1])]
        calls.append(call(t, "pool", "cancel_request", [rid]))
        return self.run_bundle(attack, name, calls, loan=loan)

    # ---- two-step trades, as an attacker sees them

    def _publish(self, market_id):
        """The market's feed publishes its last answer again (a keeper's
        oracle update): the round after a request that lets it fill."""
        symbol = next(s for s, m in self.world.markets.items() if m == market_id)
        feed = self.engine.feeds[self.twin.deployment.feeds[symbol]]
        if feed.answer > 0:
            self.send(f"feed:{symbol}", "set_answer", [feed.answer], self.world.owner)

    def own_orders(self, name, kind=None):
        who, book = self.attacker(name), self.model.orders
        return [oid for oid in book.pending_ids()
                if book.orders(oid).owner == who and (kind is None or book.orders(oid).kind == kind)]

    def _fill(self, oid):
        """A keeper executes a pending order after a fresh round of its market."""
        book = self.model.orders
        if oid not in book.pending_ids():
            return None
        o = book.orders(oid)
        self._publish(o.market_id if o.kind == OPEN else self.engine.position(o.position_id).market_id)
        return self.send("orders", "execute_order", [oid], self.world.liquidators[0])

    def _ids_since(self, first):
        """The ids of the requests numbered `first` on (order ids are
        sequence << 32 | slot: not consecutive)."""
        book = self.model.orders
        return [book.order_id_of(sequence) for sequence in range(first, book.order_count + 1)]

    def open_now(self, attack, name, opens):
        """The bundle requests the opens [(market, is_long, size, amount)] in
        one transaction; a keeper fills each after a fresh round."""
        first = self.model.orders.order_count + 1
        o = self.run_bundle(attack, name, [open_call(self.twin, *x) for x in opens])
        if o.ok:
            for oid in self._ids_since(first):
                self._fill(oid)
        return o

    def close_order(self, name, pid):
        """The attacker's pending close order for `pid`, requested now (in its
        own transaction) when it has none, with a fresh round after it: what
        lets a later bundle execute the close atomically."""
        book = self.model.orders
        for oid in self.own_orders(name, CLOSE):
            if book.orders(oid).position_id == pid:
                return oid
        o = self.send(name, "run", [[request_close_call(self.twin, pid, self.engine.position(pid).is_long)]],
                      self.world.stranger)
        if not o.ok:
            return None
        self._publish(self.engine.position(pid).market_id)
        return book.last_order_id()

    # ---- positions of the attackers' own

    @precondition(_attacking)
    @rule(symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          collateral=st.integers(50 * USDC, 20_000 * USDC), pct=st.integers(20, 100))
    def attacker_opens(self, symbol, is_long, collateral, pct):
        """The flash depositor opens a position of its own to lose on, sized
        to fit what the pool and the side can still take (_fitted)."""
        collateral = self._fitted(symbol, is_long, collateral, pct)
        if collateral is None:
            _record(self.stats, "attacker opens", "no room in the pool or under the side's OI cap")
            return
        size, amount = self._sized(symbol, collateral, pct)
        self.open_now("attacker opens", "bundle", [(self.market_id(symbol), is_long, size, amount)])

    @precondition(_attacking)
    @rule(symbol=st.sampled_from(sorted(MARKETS)), collateral=st.integers(50 * USDC, 20_000 * USDC),
          pct=st.integers(50, 100))
    def straddle_open(self, symbol, collateral, pct):
        """A long and a short of one size on one market, requested in one
        transaction, filled at the same round."""
        size, amount = self._sized(symbol, collateral, pct)
        m = self.market_id(symbol)
        if not self.own_positions("straddler"):
            self.record_straddle_life()
            self._straddle_start = holdings(self.twin, self.attacker("straddler")).total
        first = self.model.orders.order_count + 1
        o = self.run_bundle("straddle open", "straddler", [open_call(self.twin, m, True, size, amount),
                                                           open_call(self.twin, m, False, size, amount)])
        if o.ok:
            self._publish(m)
            for oid in self._ids_since(first):
                self.send("orders", "execute_order", [oid], self.world.liquidators[0])

    def _fitted(self, symbol, is_long, collateral, pct):
        """`collateral`, scaled down until the position's reserve is at most
        half the pool's free assets and its size fits under the side's OI
        cap; None below the market's minimum collateral. Sized blind, the
        flash depositor's 10,000 USDC opens at 90% of the maximum leverage
        mostly failed: on BTC (50x, 500% max profit) the reserve alone is
        2.25M, past the 2M pool, and on ETH the machine's other positions
        had often taken the pool's free assets; so the attack ran 1 time
        in 9 (the dev profile's table: "could not open a position to lose
        on: 8"). Half of free, not all: the fill waits for a round, and
        other orders may fill first."""
        m = self.market_id(symbol)
        params = self.engine.market_params(m)
        room_reserve = self.model.pool.free_assets() // 2
        room_size = params.oi_cap - self.engine._side_open_interest(m, is_long)
        size, _ = self._sized(symbol, collateral, pct)
        reserve = size * params.max_profit_bps // 10_000
        # Size and reserve grow with the collateral (rounded down): scale it.
        if reserve > room_reserve:
            collateral = collateral * room_reserve // reserve
        if size > room_size:
            collateral = collateral * max(room_size, 0) // size
        if collateral < params.min_collateral:
            return None
        return collateral

    def _sized(self, symbol, collateral, pct):
        params = self.engine.market_params(self.market_id(symbol))
        size = collateral * 10_000 * pct // (100 * params.initial_margin_bps)
        return size, collateral + (size * params.open_fee_bps + 9_999) // 10_000

    # ---- finding 1: flash deposit around one's own losing close

    @precondition(_attacking)
    @rule(pick=st.integers(0, 2**16), loan=st.sampled_from([LOAN, LOAN // 100, 10_000 * USDC]),
          variant=st.integers(0, 7), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans())
    def flash_deposit_close(self, pick, loan, variant, symbol, is_long):
        """Close the attacker's worst position inside a flash deposit (opening
        one first when it has none, so the attack is tried every time): the
        bundle executes the close order it requested a transaction earlier.
        variant & 4: the bundle requests the close itself and executes it at
        once instead, which the order book must refuse (no round after it)."""
        if not self.own_positions("bundle"):
            self.attacker_opens(symbol, is_long, 10_000 * USDC, 90)
        pids = self.own_positions("bundle")
        if not pids:
            _record(self.stats, "flash deposit + own close", "could not open a position to lose on")
            return
        pid = min(pids, key=lambda p: (self._equity(p), p)) if pick % 2 else pids[pick % len(pids)]
        if variant & 4:
            oid = self.model.orders.next_order_id()
            action = [request_close_call(self.twin, pid, self.engine.position(pid).is_long),
                      close_call(self.twin, oid)]
            self._flash_bundle("flash deposit + request and close at once", "bundle", action, loan, variant & 3)
            return
        oid = self.close_order("bundle", pid)
        if oid is None:
            _record(self.stats, "flash deposit + own close", "could not request the close")
            return
        self._flash_bundle("flash deposit + own close", "bundle", [close_call(self.twin, oid)], loan, variant)

    def _equity(self, pid):
        try:
            return self.engine.health(pid).equity
        except Exception:  # a faulty feed: no ordering by equity, any will do
            return 0

    # ---- the keeper's version: around a liquidation (immediate in v2, as before)

    @precondition(_attacking)
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
            self._flash_bundle("flash deposit + liquidation", "bundle", [liquidate_call(self.twin, pid)], loan,
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

    @precondition(_attacking)
    @rule(in_flash=st.integers(0, 3), loan=st.sampled_from([LOAN, LOAN // 100]),
          symbol=st.sampled_from(sorted(MARKETS)), jump=st.sampled_from([-2_000, -500, 500, 2_000]))
    def straddle_close(self, in_flash, loan, symbol, jump):
        """Close the losing leg (inside a flash deposit, mostly), then the
        other; the straddle's yield is its net over its whole life. With no
        straddle open, one is opened and a price jump made first. Both close
        orders are requested together after the jump; the bundles execute them."""
        if not self.own_positions("straddler"):
            self.straddle_open(symbol, 10_000 * USDC, 90)
            self.move_price(symbol, jump)
            if not self.own_positions("straddler"):
                self.record_straddle_life()
                return
        pids = sorted(self.own_positions("straddler"), key=lambda p: (self._equity(p), p))
        oids = [self.close_order("straddler", p) for p in pids]
        if oids[0] is None:
            _record(self.stats, "straddle: close losing leg", "could not request the close")
            return
        if in_flash:
            self._flash_bundle("straddle: flash deposit + losing leg", "straddler", [close_call(self.twin, oids[0])],
                               loan, 0)
        else:
            self.run_bundle("straddle: close losing leg", "straddler", [close_call(self.twin, oids[0])])
        rest = [close_call(self.twin, oid) for oid in oids[1:]
                if oid is not None and oid in self.model.orders.pending_ids()]
        if rest:
            self.run_bundle("straddle: close other leg", "straddler", rest)
        if not self.own_positions("straddler"):
            self.record_straddle_life()

    _straddle_start = None

    def record_straddle_life(self):
        """A straddle's yield over its life: opened, held across the machine's
        price moves, closed (or liquidated), in tokens on chain."""
        if self._straddle_start is None or self.own_positions("straddler") or self.own_orders("straddler"):
            return
        h = holdings(self.twin, self.attacker("straddler"))
        _record(self.stats, "straddle: whole life", "closed or liquidated", h.total - self._straddle_start)
        self._straddle_start = None

    # ---- the front-runner

    _front_start = None

    @precondition(_attacking)
    @rule(symbol=st.sampled_from(sorted(MARKETS)), move=st.sampled_from([-2_000, -300, 300, 2_000]),
          collateral=st.integers(100 * USDC, 20_000 * USDC))
    def front_run_a_move(self, symbol, move, collateral):
        """Knowing the machine's next price move, the front-runner requests an
        open on the winning side just before it and a close just after it.
        The order book fills the open only at a round after the request, the
        move's own round: at the moved price, so the knowledge is worth
        nothing but the fees (invariant (3) checks every fill's round)."""
        m, who = self.market_id(symbol), self.attacker("front")
        if self._front_start is None:
            self._front_start = holdings(self.twin, who).total
        size, amount = self._sized(symbol, collateral, 90)
        first = self.model.orders.order_count + 1
        self.run_bundle("front-runner: open before a move", "front", [open_call(self.twin, m, move > 0, size, amount)])
        self.move_price(symbol, move)
        for oid in self._ids_since(first):
            if oid in self.own_orders("front", OPEN):
                self.send("orders", "execute_order", [oid], self.world.liquidators[0])
        for pid in self.own_positions("front"):
            if not any(self.model.orders.orders(o).position_id == pid for o in self.own_orders("front", CLOSE)):
                self.run_bundle("front-runner: close after the move", "front",
                                [request_close_call(self.twin, pid, self.engine.position(pid).is_long)])
        for oid in self.own_orders("front", CLOSE):
            self._fill(oid)
        self.record_front_life()

    def record_front_life(self):
        if self._front_start is None or self.own_positions("front") or self.own_orders("front"):
            return
        h = holdings(self.twin, self.attacker("front"))
        if h.valued:
            _record(self.stats, "front-runner: whole life", "closed", h.total - self._front_start)
        self._front_start = None

    # ---- the LP timer

    @precondition(_attacking)
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

    @precondition(_attacking)
    @precondition(lambda self: self._timer_pending())
    @rule(wait=st.booleans())
    def timer_execute(self, wait):
        """The timer executes its own requests at the first eligible moment:
        after the delay, at the first fresh round of every feed."""
        if wait:
            self.twin.wait(LP_REQUEST_DELAY)
            refresh_feeds(self.twin)
        self._timer_execute_eligible("LP timer executes")

    @precondition(_attacking)
    @precondition(lambda self: self._timer_pending())
    @rule(symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans(),
          collateral=st.integers(100 * USDC, 20_000 * USDC))
    def timer_execute_around_an_open(self, symbol, is_long, collateral):
        """The timer requests an open; once its LP request is eligible it runs,
        in one transaction, the fill of its own open order (a side past its
        reserve cap then values the pool lower by the new reserve: limit (A)
        of economics.py) and the execution of its LP request at that value;
        then it requests the close, which a keeper fills."""
        size, amount = self._sized(symbol, collateral, 100)
        m = self.market_id(symbol)
        oid = self.model.orders.next_order_id()
        if not self.send("timer", "run", [[open_call(self.twin, m, is_long, size, amount)]], self.world.stranger).ok:
            _record(self.stats, "LP timer: fill own open + execute", "the open request reverts")
            return
        self.twin.wait(LP_REQUEST_DELAY)
        refresh_feeds(self.twin)
        rid = self._timer_pending()[0]
        self.run_bundle("LP timer: fill own open + execute", "timer",
                        [call(self.twin, "orders", "execute_order", [oid]), call(self.twin, "pool", "execute_request", [rid])])
        for pid in self.own_positions("timer"):
            if self.send("timer", "run", [[request_close_call(self.twin, pid, self.engine.position(pid).is_long)]],
                         self.world.stranger).ok:
                self._fill(self.model.orders.last_order_id())
        if oid in self.model.orders.pending_ids():      # the fill waited (a faulty feed): the keeper tries later
            _record(self.stats, "LP timer: fill own open + execute", "open order still pending")

    def before_price_move(self):
        """The hook ProtocolMachine.move_price calls first: the timer knows
        the move is coming and executes whatever it can now (the
        front-runner's version is front_run_a_move)."""
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
