"""Model and chain agree, step after step, under random actions.

The same state machine runs twice per network: once on the network's fast
path (revm in process for the default network; raw JSON-RPC to the node
for anvil), for many examples, and once through ape itself (accounts,
providers, ape's transaction pipeline), for a share of them.
"""
import os

import pytest
from hypothesis import settings

from harness.chains.ape import ApeChain
from harness.chains.revm import RevmChain
from harness.chains.rpc_chain import RpcChain

from harness.twin.machine import outcome_table, run_machine

# Ape's transactions cost milliseconds each: a share of the profile's
# examples (5 in the CI profile: about 150 steps, 2.5 minutes on either
# network; the fast path runs the whole profile through the same machine).
APE_SHARE = int(os.environ.get("ISOMARGIN_APE_SHARE", "20"))


def _run(chain, examples):
    stats, elapsed = run_machine(chain, settings(settings(), max_examples=examples))
    print(f"\n{chain.name}: {stats['steps']} checked steps in {elapsed:.1f}s "
          f"({stats['steps'] / elapsed:.0f} steps/s)\n{outcome_table(stats)}")
    return stats


def _fast_chain(provider, accounts):
    if provider.name == "test":
        return RevmChain(n_accounts=20)
    if provider.name == "foundry":
        return RpcChain(provider.uri, accounts=[a.address for a in accounts])
    pytest.skip(f"no fast path for provider {provider.name!r}; the ape run covers it")


# Outcome classes a run of the CI profile must reach (issue 12): one that
# silently vanishes is a rule nothing tests any more. Each floor sits well
# under what CI-profile runs reached when it was set (in brackets, twelve
# runs of the fast path with the boundary rules and targets in), so it fails on lost coverage, not an unlucky seed.
FLOORS = {
    "a liquidation or close with bad debt [25-253]": (lambda fn, why: why.endswith("with bad debt"), 6),
    "an open refused for the pool's liquidity [8-199]":
        (lambda fn, why: why == "cancelled: engine: pool liquidity too low", 2),
    # Lowered from 6: past the fallback delay a stale feed's exits now fill (one anvil CI run: 0).
    "an action refused for a stale price [27-125]": (lambda fn, why: why.endswith("oracle: price is stale"), 0),
    "an open in a recycled vault [39-443]": (lambda fn, why: why == "executed, an open in a recycled vault", 10),
    # Issue 9: owner changes run through the timelock (governance.py) [11-26 in six runs with the one-hour
    # delay, 8 derandomized as CI runs it; a CI run with a one-day delay and cancels on every draw reached 1].
    "an owner change executed after the timelock's delay": (lambda fn, why: fn == "timelock.execute" and
                                                            why == "ok", 4),
}
# Not floored any more: a liquidation that leaves an insurance cut. Since
# positions keep their own maintenance margin (issue 9), a raised margin no
# longer makes open positions liquidatable with equity to spare, and five
# CI-profile runs reached 0, 1, 14, 15 and 30 (a fresh-clone CI run: 0, with
# 543 liquidations all past bankruptcy). The boundary rule's edge
# liquidations leave a remainder only while the reward floor is under the
# equity at the edge: to look at before it is a floor again.
# Not floored yet: a remove refused for the margin (5-177 without the attackers'
# rules, 0 in one CI run with them: remove_collateral_to_the_margin's edge
# needs a look before it can be a floor).
FLOOR_EXAMPLES = 100     # the CI profile's; the dev profile's 20 examples are a smoke run


# What-if classes (rolled back, so apart from the floors above) a CI-profile
# run must reach too: the dead-oracle fallback (issue 9, finding 2) at its
# edge (every time the rule is drawn) and past it [in process and on anvil: 229 and 30
# closed, 154 and 2 liquidated].
WHAT_IF_FLOORS = {
    "an exit on a dead feed refused a second before the fallback":
        (lambda fn, why: fn == "what-if oracle dies" and why == "refused a second before the fallback", 1),
    "a close at the last good price": (lambda fn, why: why == "closed at the last good price", 5),
    "a liquidation at the last good price": (lambda fn, why: why == "liquidated at the last good price", 1),
    # Issue 9's donations: an exit sweeps what was sent straight to its vault.
    "an exit that swept a vault's donation": (lambda fn, why: fn == "what-if DonationSwept", 5),
    "an open that swept a free vault's donation": (lambda fn, why: fn == "what-if Swept", 1),
    # Finding 1's raid, executed after the delay, against the same moment without it [2-36].
    "a hostile owner's parameters run beside the same moment without them":
        (lambda fn, why: fn == "what-if hostile owner", 1),
}


def coverage_shortfalls(stats) -> list:
    """The classes under their floor, with what the run reached."""
    out = []
    for floors, what_ifs in ((FLOORS, False), (WHAT_IF_FLOORS, True)):
        for name, (matches, floor) in floors.items():
            n = sum(count for (fn, why), count in stats["outcomes"].items()
                    if fn.startswith("what-if ") == what_ifs and matches(fn, why))
            if n < floor:
                out.append(f"{name}: reached {n} times, the floor is {floor}")
    return out


def test_model_and_chain_agree_fast_path(networks, accounts):
    stats = _run(_fast_chain(networks.provider, list(accounts)), settings().max_examples)
    assert stats["steps"] >= settings().max_examples
    if settings().max_examples >= FLOOR_EXAMPLES:
        assert not coverage_shortfalls(stats), "outcome classes under their floor:\n" + "\n".join(
            coverage_shortfalls(stats))
    else:
        print(f"coverage floors not checked: {settings().max_examples} examples, the floors are set for "
              f"{FLOOR_EXAMPLES}")


def test_coverage_floors_name_what_is_missing():
    stats = {"outcomes": {("liquidate", "oracle: price is stale"): 6, ("what-if liquidate", "ok, with bad debt"): 9,
                          ("execute_order", "executed, with bad debt"): 4}}
    short = coverage_shortfalls(stats)
    assert not any("stale price" in s for s in short)
    # What-ifs are rolled back: they do not count.
    assert "a liquidation or close with bad debt [25-253]: reached 4 times, the floor is 6" in short
    assert len(short) == len(FLOORS) - 1 + len(WHAT_IF_FLOORS)


def test_model_and_chain_agree_through_ape(accounts):
    examples = max(3, settings().max_examples // APE_SHARE)
    stats = _run(ApeChain(list(accounts)), examples)
    assert stats["steps"] >= examples
