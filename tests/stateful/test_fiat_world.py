"""The second world: the same machine with a USDC-like collateral
(MockFiatToken: Circle's blacklist and pause) whose issuer blacklists
traders, LPs, liquidators, vaults and (rarely) the pool, insurance fund and
book, and pauses the token (harness/twin/token_faults.py, issue 9).

Model and chain agree at every step, the token's own state included. What
the token can still trap (a paused token; a blacklisted book, pool,
insurance fund or keeper: README "Under each fault") is accepted by the
exit what-ifs only when the token's state explains it, and counted; a
blacklisted owner's or vault's exit must go through. This test demands
that each fault was reached, and each of issue 9's ways out taken.
"""
import pytest
from hypothesis import settings

from harness.twin.machine import outcome_table, run_machine
from harness.twin.token_faults import TRAPPED

from .test_stateful import _fast_chain

# A share of the profile's examples: the standard world runs the rest.
SHARE = 4
SHARE_ON_A_NODE = 8
# The faults must be reached in a CI-profile run (25 examples of 40 steps);
# a dev run's 5 examples are a smoke run and only print the table.
FLOOR_EXAMPLES = 25


def ok(why):
    return why == "ok"


def _count(stats, fn, why=lambda w: True):
    return sum(n for (f, w), n in stats["outcomes"].items() if f == fn and why(w))


def test_model_and_chain_agree_with_a_fiat_token(networks, accounts):
    chain = _fast_chain(networks.provider, list(accounts))
    # On a node a step costs ~10x one in process: fewer examples there (the
    # floors below are then the in-process run's, on the default network).
    examples = max(5, settings().max_examples // (SHARE if chain.name == "revm" else SHARE_ON_A_NODE))
    stats, elapsed = run_machine(chain, settings(settings(), max_examples=examples), fiat=True)
    print(f"\n{chain.name}, fiat world: {stats['steps']} checked steps in {elapsed:.1f}s\n{outcome_table(stats)}")
    assert stats["steps"] >= examples
    if examples < FLOOR_EXAMPLES:
        print(f"fault floors not checked: {examples} examples, they are set for {FLOOR_EXAMPLES}")
        return
    # Hypothesis draws rules far from evenly within one run (a persistent
    # blacklist was drawn 0, 4 and 21 times in three CI-profile runs), so
    # each fault is floored over its persistent rule and its what-if together.
    for fault in ("blacklist", "pause"):
        assert _count(stats, f"token.{fault}", ok) + _count(stats, f"what-if token.{fault}", ok) > 0, \
            f"the issuer never managed to {fault}"
    # Exits the token trapped (issue 9's findings 3 and 4; when they are
    # fixed this class empties and the floor changes with it).
    assert _count(stats, "what-if exit", lambda w: w.startswith(TRAPPED)) > 0, "no exit was trapped by the token"
    # A blacklisted owner's close fills, its payout held and claimed elsewhere.
    held = "closed, the payout held for its owner"
    assert _count(stats, "exit", lambda w: w == held) + _count(stats, "what-if exit", lambda w: w == held) > 0, \
        "no close of a blacklisted owner filled with its payout held"
    assert _count(stats, "claim", ok) > 0, "no held payout was claimed"
    # A blacklisted vault's exit is settled frozen; an open retires a
    # blacklisted free vault instead of reverting on it (issue 9, finding 3).
    # (The donation sweep is floored in the standard world, test_stateful.py.)
    assert _count(stats, "VaultFrozen") + _count(stats, "what-if VaultFrozen") > 0, \
        "no exit found its vault frozen"
    skipped = "an open skipped a frozen vault"
    assert _count(stats, "VaultRetired", lambda w: w == skipped) + \
        _count(stats, "what-if VaultRetired", lambda w: w == skipped) > 0, "no open retired a frozen free vault"
