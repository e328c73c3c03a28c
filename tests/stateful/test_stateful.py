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

# Ape's transactions cost milliseconds each: a share of the profile's examples.
APE_SHARE = int(os.environ.get("ISOMARGIN_APE_SHARE", "10"))


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


def test_model_and_chain_agree_fast_path(networks, accounts):
    stats = _run(_fast_chain(networks.provider, list(accounts)), settings().max_examples)
    assert stats["steps"] >= settings().max_examples


def test_model_and_chain_agree_through_ape(accounts):
    examples = max(3, settings().max_examples // APE_SHARE)
    stats = _run(ApeChain(list(accounts)), examples)
    assert stats["steps"] >= examples
