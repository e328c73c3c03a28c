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

from .test_stateful import _fast_chain, top_up

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


def fault_shortfalls(stats) -> list:
    """The fiat world's classes its runs must reach, each fault floored over
    its persistent rule and its what-if together (Hypothesis draws rules far
    from evenly within one run: a persistent blacklist was drawn 0, 4 and 21
    times in three CI-profile runs): what is missing, in words."""
    held = "closed, the payout held for its owner"
    skipped = "an open skipped a frozen vault"
    both = lambda fn, why=lambda w: True: _count(stats, fn, why) + _count(stats, f"what-if {fn}", why)  # noqa: E731
    floors = [
        (both("token.blacklist", ok), "the issuer never managed to blacklist"),
        (both("token.pause", ok), "the issuer never managed to pause"),
        # Exits the token trapped (a paused token; a blacklisted book, pool, insurance fund or keeper).
        (_count(stats, "what-if exit", lambda w: w.startswith(TRAPPED)), "no exit was trapped by the token"),
        # A blacklisted owner's close fills, its payout held and claimed elsewhere.
        (both("exit", lambda w: w == held), "no close of a blacklisted owner filled with its payout held"),
        (_count(stats, "claim", ok), "no held payout was claimed"),
        # A blacklisted vault's exit is settled frozen; an open retires a
        # blacklisted free vault instead of reverting on it (issue 9, finding 3).
        # (The donation sweep is floored in the standard world, test_stateful.py.)
        (both("VaultFrozen"), "no exit found its vault frozen"),
        (both("VaultRetired", lambda w: w == skipped), "no open retired a frozen free vault"),
    ]
    return [why for n, why in floors if n == 0]


def test_model_and_chain_agree_with_a_fiat_token(networks, accounts):
    chain_for = lambda: _fast_chain(networks.provider, list(accounts))  # noqa: E731 - a fresh world per run
    chain = chain_for()
    # On a node a step costs ~10x one in process: fewer examples there (the
    # floors below are then the in-process run's, on the default network).
    examples = max(5, settings().max_examples // (SHARE if chain.name == "revm" else SHARE_ON_A_NODE))
    stats, elapsed = run_machine(chain, settings(settings(), max_examples=examples), fiat=True)
    print(f"\n{chain.name}, fiat world: {stats['steps']} checked steps in {elapsed:.1f}s\n{outcome_table(stats)}")
    assert stats["steps"] >= examples
    if examples < FLOOR_EXAMPLES:
        print(f"fault floors not checked: {examples} examples, they are set for {FLOOR_EXAMPLES}")
        return
    # Under its floor, a class is given fresh random examples first (test_stateful.top_up).
    top_up(chain_for, stats, fault_shortfalls, examples=10, fiat=True)
    assert not fault_shortfalls(stats), "fiat-world classes never reached:\n" + "\n".join(fault_shortfalls(stats))
