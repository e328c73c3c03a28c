"""Model and chain agree, step after step, under random actions.

Runs the same state machine on two backends: revm in process (the hot
path, many examples) and ape on whatever network `ape test` is connected
to (the default test chain, or anvil with --network ethereum:local:foundry).
"""
import os
import time

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from harness.ape_chain import ApeChain
from harness.revm_chain import RevmChain
from harness.twin import Twin
from harness.world import build_world

from .machine import make_machine

# Ape's transactions cost milliseconds each: a share of the profile's examples.
APE_SHARE = int(os.environ.get("ISOMARGIN_APE_SHARE", "10"))


def _run(chain, examples):
    twin = Twin(chain)
    world = build_world(twin)
    stats = {"steps": 0}
    base = settings()
    started = time.perf_counter()
    run_state_machine_as_test(
        make_machine(world, stats),
        settings=settings(base, max_examples=examples),
    )
    elapsed = time.perf_counter() - started
    print(f"\n{chain.name}: {stats['steps']} checked steps in {elapsed:.1f}s "
          f"({stats['steps'] / elapsed:.0f} steps/s)")
    return stats


def test_model_and_chain_agree_in_process(networks):
    if networks.provider.network.name != "local" or networks.provider.name != "test":
        pytest.skip("the in-process revm run belongs to the default network's pass")
    stats = _run(RevmChain(n_accounts=20), settings().max_examples)
    assert stats["steps"] >= settings().max_examples


def test_model_and_chain_agree_through_ape(accounts):
    examples = max(3, settings().max_examples // APE_SHARE)
    stats = _run(ApeChain(list(accounts)), examples)
    assert stats["steps"] >= examples
