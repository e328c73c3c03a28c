"""The second world's faults: a USDC-like collateral (MockFiatToken, Circle's
blacklist and pause) whose issuer blacklists and un-blacklists the accounts
the protocol pays or is paid by, and pauses and unpauses the token (issue 9).

Model and chain must agree on every outcome, as everywhere. What the
token's faults may still trap (a paused token stops every exit; a
blacklisted book, pool, insurance fund or keeper the exits that pay them)
is what the machine's what-ifs accept, and only then: an exit may fail with
a token's reason only when the token is paused or an account that exit
moves tokens to or from is blacklisted (`token_stops` over `exit_parties`).
A blacklisted owner or vault is no such party: their exits must go through
(the payout held; the vault settled frozen). Anything else fails the run.
The trapped exits are counted in the outcome table ("trapped by the token").
"""
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from model.positions import FREE_END

from ..protocol.markets import MARKETS, USDC
from .twin import Disagreement

PAUSED = "Pausable: paused"
# FiatToken's two refusals of a blacklisted account: the modifier on the
# call's parties, and the balance write of any account it would touch.
BLACKLISTED = ("Blacklistable: account is blacklisted", "FiatTokenV2_2: Account is blacklisted")
TOKEN_REASONS = (PAUSED,) + BLACKLISTED
TRAPPED = "trapped by the token"

_kinds = st.sampled_from(["trader", "trader", "vault", "vault", "free vault", "lp", "liquidator", "pool", "insurance",
                          "orders"])


def _fiat(self) -> bool:
    return self.twin.fiat is not None


class TokenFaultRules:
    """Mixed into ProtocolMachine; every rule is off unless the world's
    collateral is MockFiatToken."""

    # ---- who a fault can trap

    def token_stops(self, accounts) -> bool:
        """Whether the token refuses an exit that moves tokens from or to
        `accounts`: it is paused, or one of them is blacklisted. Always
        False in the standard world."""
        if not _fiat(self):
            return False
        token = self.model.token
        return token.paused or any(token.isBlacklisted[a] for a in accounts)

    def exit_parties(self, pid, keeper):
        """Every account whose refusal can stop a close or liquidation of
        `pid`: book, pool, insurance fund and keeper. Not the owner: the
        proceeds go to the book, which holds what the token refuses to pay
        on; not the vault, which the exit settles frozen (issue 9, finding
        3), unless the insurance vault is blacklisted too: then nothing
        tells the vault's refusal from the token's, and the exit reverts."""
        d = self.twin.deployment
        parties = [d.orders, d.pool, d.insurance, keeper]
        if _fiat(self) and self.model.token.isBlacklisted[d.insurance]:
            parties.append(self.engine.vaults(pid >> 32))
        return parties

    def free_vaults(self):
        """The recycled-vault stack's vaults, top first."""
        e, out, slot = self.engine, [], self.engine.free_head
        while slot != FREE_END:
            out.append(e.vaults(slot))
            slot = e.free_next[slot]
        return out

    def accept_trapped(self, outcome, accounts) -> bool:
        """True when `outcome` failed for a token reason the token's state
        explains (counted as trapped); False when it succeeded. Any other
        failure is the caller's to raise."""
        # An order whose execution the token refuses is cancelled by the
        # book (ok, with the reason), or the transaction reverts.
        cancelled = outcome.ok and isinstance(outcome.value, tuple) and outcome.value[0] == "cancelled"
        reason = outcome.value[1] if cancelled else outcome.reason
        if outcome.ok and not cancelled:
            return False
        if reason in TOKEN_REASONS and self.token_stops(accounts):
            key = ("what-if exit", f"{TRAPPED}: {reason}")
            self.stats["outcomes"][key] = self.stats["outcomes"].get(key, 0) + 1
            return True
        return False

    def _candidates(self, kind):
        w, d = self.world, self.twin.deployment
        if kind == "trader":
            return w.traders
        if kind == "vault":
            return [self.engine.vaults(pid >> 32) for pid in sorted(self.engine.open_position_ids())]
        if kind == "free vault":
            return self.free_vaults()[:2]
        if kind == "lp":
            return w.lps
        if kind == "liquidator":
            return w.liquidators
        return [{"pool": d.pool, "insurance": d.insurance, "orders": d.orders}[kind]]

    # ---- the issuer's actions

    @precondition(_fiat)
    @rule(kind=_kinds, pick=st.integers(0, 2**16), roll=st.integers(0, 3))
    def token_blacklist(self, kind, pick, roll):
        """The issuer blacklists a trader, LP, liquidator, position's vault,
        a vault on top of the free stack (the next open must retire it, not
        revert), or (rarely) the pool, insurance fund or order book."""
        if kind in ("pool", "insurance", "orders") and roll:
            return
        accounts = self._candidates(kind)
        if accounts:
            self.send("token", "blacklist", [accounts[pick % len(accounts)]], self.twin.issuer)

    @precondition(_fiat)
    @rule(pick=st.integers(0, 2**16))
    def token_unblacklist(self, pick):
        token = self.model.token
        listed = sorted(a for a in self._watched() if token.isBlacklisted[a])
        if listed:
            self.send("token", "unBlacklist", [listed[pick % len(listed)]], self.twin.issuer)

    @precondition(_fiat)
    @rule(roll=st.integers(0, 1), by_issuer=st.integers(0, 3))
    def token_pause(self, roll, by_issuer):
        """Half as often as the rule is drawn: a paused token stops most of
        the machine until the unpause rule is drawn. A quarter of the tries
        are the guardian's, which is not the token's pauser."""
        if roll == 0:
            self.send("token", "pause", [], self.twin.issuer if by_issuer else self.world.guardian)

    @precondition(lambda self: _fiat(self) and self.model.token.paused)
    @rule()
    def token_unpause(self):
        self.send("token", "unpause", [], self.twin.issuer)

    @precondition(lambda self: _fiat(self) and not self.model.token.paused and self.engine.open_positions > 0)
    @rule(fault=st.sampled_from(["pause", "blacklist the owner", "blacklist the vault"]), pick=st.integers(0, 2**16))
    def what_if_the_token_fails(self, fault, pick):
        """Rolled back: the issuer pauses the token, or blacklists one open
        position's owner or vault; then every exit is tried (each open
        position closed by its owner, each liquidatable one liquidated,
        LPs redeem free assets): each must go through, or be trapped by the
        fault (findings 3 and 4), never fail otherwise. One rule for the
        three, so each is drawn often enough to be floored (the persistent
        pause and blacklist rules above are drawn no more often than any)."""
        self._what_if_the_token(fault, pick)

    @precondition(lambda self: _fiat(self) and not self.model.token.paused and self.engine.open_positions > 0)
    @rule(pick=st.integers(0, 2**16))
    def what_if_the_token_pauses(self, pick):
        """what_if_the_token_fails's pause, as a rule of its own: Hypothesis
        switches whole rules off per example, and a CI-profile run drew
        that rule 3 times, all blacklists, so no pause reached its floor."""
        self._what_if_the_token("pause", pick)

    def _what_if_the_token(self, fault, pick):
        ids = sorted(self.engine.open_position_ids())
        pid = ids[pick % len(ids)]
        self.in_what_if = True
        try:
            with self.twin.what_if():
                if fault == "pause":
                    self.send("token", "pause", [], self.twin.issuer)
                else:
                    who = self.engine.vaults(pid >> 32) if fault.endswith("vault") else self.owner_of(pid)
                    self.send("token", "blacklist", [who], self.twin.issuer)
                self._what_if_everything_can_exit()
        finally:
            self.in_what_if = False

    @precondition(lambda self: _fiat(self) and not self.model.token.paused and self.engine.open_positions > 0)
    @rule(pick=st.integers(0, 2**16))
    def a_blacklisted_owner_closes(self, pick):
        """The issuer blacklists a position's owner, who closes at once:
        the close must fill (its payout held by the book), never be trapped
        by the owner, who then claims it to another trader (the claim
        rule takes the receivers' held payouts)."""
        ids = sorted(self.engine.open_position_ids())
        pid = ids[pick % len(ids)]
        owner = self.owner_of(pid)
        if not self._oracle_ok(self.engine.position(pid).market_id):
            return      # a dead feed's exits are what_if_the_oracle_dies's
        if not self.model.token.isBlacklisted[owner]:
            self.send("token", "blacklist", [owner], self.twin.issuer)
        self._close_now(pid)
        token = self.model.token
        to = next((t for t in self.world.traders if not token.isBlacklisted[t]), None)
        if to and self.model.orders.claimable[(owner, owner)]:
            r = self.send("orders", "claim", [owner, owner, to], owner)
            assert r.ok or self.accept_trapped(r, [self.twin.deployment.orders, to]), \
                f"{owner} cannot claim its held payout to {to}: {r.reason}"

    @precondition(lambda self: _fiat(self) and not self.model.token.paused and self.engine.open_positions > 0)
    @rule(pick=st.integers(0, 2**16))
    def a_blacklisted_vault_exits(self, pick):
        """The issuer blacklists a position's vault; the position is then
        liquidated (when it is liquidatable) or closed by its owner: the
        exit must go through, settled with the vault frozen (issue 9,
        finding 3), unless the insurance vault is blacklisted too; then a
        free vault is blacklisted before an open
        (an_open_after_a_free_vault_is_blacklisted)."""
        ids = sorted(self.engine.open_position_ids())
        pid = ids[pick % len(ids)]
        vault = self.engine.vaults(pid >> 32)
        if not self.model.token.isBlacklisted[vault]:
            self.send("token", "blacklist", [vault], self.twin.issuer)
        self._exit_now(pid)
        # And the same issuer then blacklists the vault on top of the free
        # stack, before the next open (drawn on its own, that rule was
        # reached once in some CI-profile runs).
        if self.engine.free_head != FREE_END and not self.model.token.paused:
            self.an_open_after_a_free_vault_is_blacklisted(pick % 5, sorted(MARKETS)[pick % len(MARKETS)],
                                                           bool(pick & 1))

    def _exit_now(self, pid):
        """Liquidated when it is liquidatable (which must go through, or be
        trapped by the token's state), else closed by its owner when its
        feed is usable (_close_now)."""
        if pid in self._liquidatable():
            liquidator = self.world.liquidators[0]
            o = self.send("engine", "liquidate", [pid], liquidator)
            assert o.ok or self.accept_trapped(o, self.exit_parties(pid, liquidator)), \
                f"{pid} is liquidatable but liquidate reverts: {o.reason}"
        elif self._oracle_ok(self.engine.position(pid).market_id):
            self._close_now(pid)

    @precondition(lambda self: _fiat(self) and not self.model.token.paused and self.engine.free_head != FREE_END)
    @rule(trader=st.integers(0, 4), symbol=st.sampled_from(sorted(MARKETS)), is_long=st.booleans())
    def an_open_after_a_free_vault_is_blacklisted(self, trader, symbol, is_long):
        """The issuer blacklists the vault on top of the free stack, and a
        trader opens: the open retires that vault and takes a new one (issue
        9, finding 3: LIFO used to retry it, cancelling every open). Only
        the trader's, the book's or the pool's own refusal may stop it."""
        top = self.free_vaults()[0]
        if not self.model.token.isBlacklisted[top]:
            self.send("token", "blacklist", [top], self.twin.issuer)
        if not self._oracle_ok(self.market_id(symbol)):
            self._count("open after a free vault's blacklist", "not tried: the oracle")
            return
        who = self.world.traders[trader]
        before = self.model.orders.order_count
        self.open_position(trader, symbol, is_long, 1_000 * USDC, 50, 1)
        if self.model.orders.order_count == before:
            # The request was refused (the trader's funds, a pause, a blacklisted trader).
            self._count("open after a free vault's blacklist", "not requested")
            return
        feed = self.engine.feeds[self.twin.deployment.feeds[symbol]]
        self.send(f"feed:{symbol}", "set_answer", [feed.answer], self.world.owner)
        o = self.send("orders", "execute_order", [self.model.orders.last_order_id()], self.world.liquidators[0])
        d = self.twin.deployment
        if o.ok:
            self._count("open after a free vault's blacklist", o.value[0] if o.value[0] == "executed" else
                        f"cancelled: {o.value[1]}")
        assert o.ok, f"executing an open after its free vault was blacklisted reverts: {o.reason}"
        if o.value[0] == "cancelled" and o.value[1] in TOKEN_REASONS:
            assert self.token_stops([who, d.orders, d.pool, self.world.liquidators[0]]), \
                f"an open was cancelled by the token ({o.value[1]}) for its blacklisted free vault"

    def count_vault_events(self, mark):
        """What the token's refusals made the engine do in the last step:
        an exit that found its vault frozen, an open that retired a frozen
        vault off the free stack, a donation swept."""
        events = [type(e.event).__name__ for e in self.model.events_since(mark, "VaultFrozen", "VaultRetired",
                                                                          "DonationSwept")]
        prefix = "what-if " if self.in_what_if else ""
        for name in set(events):
            why = "ok"
            if name == "VaultRetired":
                why = "at its frozen exit" if "VaultFrozen" in events else "an open skipped a frozen vault"
            self._count(prefix + name, why)

    @precondition(lambda self: self.engine.open_positions > 0)
    @rule(pick=st.integers(0, 2**16), donor=st.integers(0, 4), amount=st.integers(1, 10_000 * 10**6))
    def what_if_a_vault_gets_a_donation(self, pick, donor, amount):
        """Rolled back: a trader sends tokens straight to a position's
        vault, and the position then exits (liquidated, or closed by its
        owner): the exit sweeps exactly the donation to the pool
        (DonationSwept), or, its vault frozen, counts it frozen; the vault
        is empty either way. Any world: a donation is no token fault."""
        ids = sorted(self.engine.open_position_ids())
        pid = ids[pick % len(ids)]
        vault = self.engine.vaults(pid >> 32)
        self.in_what_if = True
        try:
            with self.twin.what_if():
                r = self.send("token", "transfer", [vault, amount], self.world.traders[donor])
                if not r.ok:
                    return
                mark = self.model.events_mark()
                self._exit_now(pid)
                if not self.engine.position(pid).is_open:
                    swept = self.model.events_since(mark, "DonationSwept", "VaultFrozen")
                    assert [type(e.event).__name__ for e in swept] in (["DonationSwept"], ["VaultFrozen"]), \
                        f"{pid}'s exit neither swept nor froze the {amount} donated to its vault: {swept}"
                    if type(swept[0].event).__name__ == "DonationSwept":
                        assert swept[0].event.amount == amount, f"swept {swept[0].event.amount}, donated {amount}"
                        assert self.model.token.balanceOf[vault] == 0, "a swept vault still holds tokens"
                    self.twin.check()
        finally:
            self.in_what_if = False

    @precondition(lambda self: self.engine.free_head != FREE_END or self.engine.open_positions > 0)
    @rule(donor=st.integers(0, 4), amount=st.integers(1, 10_000 * 10**6), symbol=st.sampled_from(sorted(MARKETS)))
    def what_if_a_free_vault_gets_a_donation(self, donor, amount, symbol):
        """Rolled back: tokens sent straight to the vault on top of the free
        stack, then an open: the open takes that vault and first sweeps
        exactly the donation to the insurance vault (Vault.Swept), so the new
        position's vault holds exactly its collateral. Any world. The stack
        is empty in most steps (the next open pops what a close pushed), so
        with none free the first position on a live feed is closed first:
        the class is reached on most draws, not on a lucky few."""
        if self.engine.paused:
            return
        live = [s for s in sorted(MARKETS) if self.engine.feeds[self.twin.deployment.feeds[s]].answer > 0]
        if not live:
            return
        symbol = symbol if symbol in live else live[0]
        d = self.twin.deployment
        self.in_what_if = True
        try:
            with self.twin.what_if():
                if self.engine.free_head == FREE_END:
                    pid = next((p for p in sorted(self.engine.open_position_ids())
                                if self._symbol_of(p) in live), None)
                    if pid is None:
                        return
                    self._close_now(pid)
                    if self.engine.free_head == FREE_END:
                        return      # trapped by the token, or its vault retired frozen
                vault = self.free_vaults()[0]
                if not self.send("token", "transfer", [vault, amount], self.world.traders[donor]).ok:
                    return
                insurance = self.model.token.balanceOf[d.insurance]
                self.open_position(donor, symbol, True, 100 * USDC, 50, 1)
                self._publish(self.market_id(symbol))     # adversaries.py's: the round after the request
                mark = self.model.events_mark()
                o = self.send("orders", "execute_order", [self.model.orders.last_order_id()], self.world.liquidators[0])
                if not (o.ok and o.value[0] == "executed"):
                    return
                [pid] = [e.event.position_id for e in self.model.events_since(mark, "PositionOpened")]
                if self.engine.vaults(pid >> 32) != vault:
                    return          # the token refused the vault: retired, a new one taken
                swept = [(e.address, e.event.to, e.event.amount) for e in self.model.events_since(mark, "Swept")]
                assert swept == [(vault, d.insurance, amount)], f"the open swept {swept}, {amount} was donated"
                assert self.model.token.balanceOf[vault] == self.engine.position(pid).collateral
                assert self.model.token.balanceOf[d.insurance] - insurance == amount
                self._count("what-if Swept", "a free vault's donation, by the open that took it")
                self.twin.check()
        finally:
            self.in_what_if = False

    @precondition(_fiat)
    @rule(donor=st.integers(0, 4), amount=st.integers(1, 50_000 * 10**6))
    def donate_to_the_pool(self, donor, amount):
        """Tokens sent straight to the pool, outside its flows: its cash
        rises, shares gain (invariant (2) allows a rise)."""
        self.send("token", "transfer", [self.twin.deployment.pool, amount], self.world.traders[donor])

    # ---- the token's own state, compared like everything else

    def _watched(self):
        w, d = self.world, self.twin.deployment
        vaults = [self.engine.vaults(s) for s in range(1, self.engine.vault_count + 1)]
        return list(dict.fromkeys(w.traders + w.lps + w.liquidators + [w.stranger, d.pool, d.insurance, d.orders]
                                  + vaults))

    @precondition(_fiat)
    @invariant()
    def token_faults_agree(self):
        """paused() and isBlacklisted(...) of every account the protocol pays,
        on chain as in the model."""
        t, token = self.twin, self.model.token
        accounts = self._watched()
        calls = [(t.deployment.token, "MockFiatToken", "paused", [])]
        calls += [(t.deployment.token, "MockFiatToken", "isBlacklisted", [a]) for a in accounts]
        paused, *listed = t.chain.call_many(calls)
        if paused != token.paused:
            raise Disagreement(t.step, t.last_action, "token.paused", token.paused, paused)
        for a, on_chain in zip(accounts, listed):
            if on_chain != token.isBlacklisted[a]:
                raise Disagreement(t.step, t.last_action, f"token.isBlacklisted[{t._names.get(a, a)}]",
                                   token.isBlacklisted[a], on_chain)
