"""The second world's faults: a USDC-like collateral (MockFiatToken, Circle's
blacklist and pause) whose issuer blacklists and un-blacklists the accounts
the protocol pays or is paid by, and pauses and unpauses the token (issue 9).

Model and chain must agree on every outcome, as everywhere. What the
token's faults trap today (issue 9's findings 3 and 4: a blacklisted owner
or vault cannot close, a paused token stops every exit) is what the
machine's what-ifs accept, and only then: an exit may fail with a token's
reason only when the token is paused or an account that exit moves tokens
from or to is blacklisted (`token_stops`). Anything else still fails the
run. The trapped exits are counted in the outcome table ("trapped by the
token"), so a fix of issue 9 shows as that class emptying.
"""
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from .twin import Disagreement

PAUSED = "Pausable: paused"
# FiatToken's two refusals of a blacklisted account: the modifier on the
# call's parties, and the balance write of any account it would touch.
BLACKLISTED = ("Blacklistable: account is blacklisted", "FiatTokenV2_2: Account is blacklisted")
TOKEN_REASONS = (PAUSED,) + BLACKLISTED
TRAPPED = "trapped by the token"

_kinds = st.sampled_from(["trader", "trader", "vault", "vault", "lp", "liquidator", "pool", "insurance", "orders"])


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
        `pid`: vault, book, pool, insurance fund and keeper. Not the owner:
        the proceeds go to the book, which holds what the token refuses to
        pay on (issue 9, finding 3), so a blacklisted owner's close must go
        through."""
        d = self.twin.deployment
        return [self.engine.vaults(pid >> 32), d.orders, d.pool, d.insurance, keeper]

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
        or (rarely) the pool, insurance fund or order book."""
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
        if not self.model.token.isBlacklisted[owner]:
            self.send("token", "blacklist", [owner], self.twin.issuer)
        self._close_now(pid)
        token = self.model.token
        to = next((t for t in self.world.traders if not token.isBlacklisted[t]), None)
        if to and self.model.orders.claimable[(owner, owner)]:
            r = self.send("orders", "claim", [owner, owner, to], owner)
            assert r.ok or self.accept_trapped(r, [self.twin.deployment.orders, to]), \
                f"{owner} cannot claim its held payout to {to}: {r.reason}"

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
