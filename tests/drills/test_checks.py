"""A drill stops, with a clear diff, when chain and model disagree or a
liquidation reaches beyond its own vault."""
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.drills.drill import run_drill
from harness.chains.faults import FlakyChain
from harness.twin.invariants import (GovernanceBreach, IsolationBreach, check_governance_untouched, check_isolation,
                                     check_one_position)
from harness.drills.report import markdown, figures
from harness.chains.revm import RevmChain
from harness.drills.scenario import load_scenario
from harness.protocol.snapshot import ChainState

TINY = Path(__file__).parent / "data" / "tiny.yaml"


class LyingChain(FlakyChain):
    """Passes everything through, but once a liquidation has run it reports
    one more token in the pool than there is."""

    armed = False

    def call(self, address, contract, fn, args=()):
        out = self.inner.call(address, contract, fn, args)
        if self.armed and fn == "totals":
            out = (out[0] + 1,) + tuple(out[1:])
        return out

    def transact(self, address, contract, fn, args, sender):
        self.armed = self.armed or fn == "liquidate"
        return self.inner.transact(address, contract, fn, args, sender)


def test_a_disagreement_stops_the_drill_with_the_field_and_both_values():
    s = load_scenario(TINY)
    r = run_drill(s, "revm", LyingChain(RevmChain(n_accounts=s.accounts_needed())), progress=False)
    assert r.status == "disagreement"
    f = r.failure
    assert f["field"] == "totals.pool_assets" and f["drill_step"] == 2
    assert int(f["chain"]) == int(f["model"]) + 1
    assert "engine.liquidate" in f["action"]
    md = markdown(figures(r), [])
    assert "Stopped: chain and model disagree" in md and "totals.pool_assets" in md
    assert figures(r)["model_agreement"]["disagreements"] == 1


@dataclass
class _D:
    pool: str = "pool"
    insurance: str = "insurance"
    orders: str = "orders"

    def vault_address(self, slot):
        return f"vault:{slot}"


def _state(slots, balances):
    return ChainState(slots=slots, balances=balances, shares={}, totals=(), total_supply=sum(balances.values()))


def _slot(n, is_open, collateral):
    return (n << 32 | 1 if is_open else 0, n, f"vault:{n}", is_open, "owner", 1, True, 10, collateral, 1, 0, 1, 0)


def test_isolation_allows_only_the_liquidated_vault_the_liquidator_the_pool_and_insurance():
    before = _state([_slot(1, True, 100), _slot(2, True, 50)],
                    {"vault:1": 100, "vault:2": 50, "keeper": 0, "pool": 1_000, "insurance": 10, "bob": 7})
    good = _state([_slot(1, False, 0), _slot(2, True, 50)],
                  {"vault:1": 0, "vault:2": 50, "keeper": 5, "pool": 1_094, "insurance": 11, "bob": 7})
    check_isolation(1, _D(), before, good, {1}, {"keeper"})
    touched_vault = _state(good.slots, {**good.balances, "vault:2": 49, "pool": 1_095})
    with pytest.raises(IsolationBreach, match="changed the balance of vault:2"):
        check_isolation(1, _D(), before, touched_vault, {1}, {"keeper"})
    touched_slot = _state([_slot(1, False, 0), _slot(2, True, 49)], good.balances)
    with pytest.raises(IsolationBreach, match="changed slot 2"):
        check_isolation(1, _D(), before, touched_slot, {1}, {"keeper"})
    left_funds = _state(good.slots, {**good.balances, "vault:1": 1, "pool": 1_093})
    with pytest.raises(IsolationBreach, match="still holds 1"):
        check_isolation(1, _D(), before, left_funds, {1}, {"keeper"})
    paid_a_stranger = _state(good.slots, {**good.balances, "bob": 8, "pool": 1_093})
    with pytest.raises(IsolationBreach, match="balance of bob"):
        check_isolation(1, _D(), before, paid_a_stranger, {1}, {"keeper"})


def test_an_action_on_one_position_reaches_no_other():
    """check_one_position, on chain data alone: alice adds 10 to position 1
    through its vault; anything touching slot 2, its vault or a stranger fails."""
    before = _state([_slot(1, True, 100), _slot(2, True, 50)],
                    {"vault:1": 100, "vault:2": 50, "alice": 40, "pool": 1_000, "bob": 7})
    good = _state([_slot(1, True, 110), _slot(2, True, 50)],
                  {"vault:1": 110, "vault:2": 50, "alice": 30, "pool": 1_000, "bob": 7})
    check_one_position(1, "add", _D(), before, good, {"alice"})
    two_slots = _state([_slot(1, True, 110), _slot(2, True, 49)], good.balances)
    with pytest.raises(IsolationBreach, match="changed 2 position slots"):
        check_one_position(1, "add", _D(), before, two_slots, {"alice"})
    other_vault = _state(good.slots, {**good.balances, "vault:2": 49, "pool": 1_001})
    with pytest.raises(IsolationBreach, match="balance of vault:2"):
        check_one_position(1, "add", _D(), before, other_vault, {"alice"})
    stranger = _state(good.slots, {**good.balances, "bob": 8, "pool": 999})
    with pytest.raises(IsolationBreach, match="balance of bob"):
        check_one_position(1, "add", _D(), before, stranger, {"alice"})
    # A new position in a new slot is one slot.
    opened = _state(good.slots + [_slot(3, True, 5)], {**good.balances, "vault:3": 5, "alice": 25})
    check_one_position(1, "open", _D(), good, opened, {"alice"})


def test_an_owner_s_change_touches_no_position_and_no_balance():
    before = _state([_slot(1, True, 100)], {"vault:1": 100, "pool": 1_000})
    check_governance_untouched(1, "set_market_params", before, _state(before.slots, dict(before.balances)))
    restamped = _state([_slot(1, True, 100)[:13] + (9_999, 1_000)], before.balances)
    with pytest.raises(GovernanceBreach, match="set_market_params changed slot 1"):
        check_governance_untouched(1, "set_market_params", before, restamped)
    paid = _state(before.slots, {**before.balances, "pool": 999, "owner": 1})
    with pytest.raises(GovernanceBreach, match="balance of"):
        check_governance_untouched(1, "set_market_params", before, paid)
