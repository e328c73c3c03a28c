"""Throughput of the model-vs-chain harness: checked steps per second.

    .venv/bin/python scripts/bench_harness.py [--examples N] [--steps N] [--backend revm|rpc|all]

Runs the stateful test's machine (harness/twin/machine.py) outside pytest,
on revm in process and on a fresh anvil over raw JSON-RPC (anvil from
node_modules, started and stopped here, on a free loopback port). Prints
figures; asserts nothing about time. The ape paths print their own figures
in the stateful test's output (`ape test tests/stateful -s`).
"""
import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, settings  # noqa: E402

from harness.chains.anvil import anvil_binary, start_anvil  # noqa: E402
from harness.chains.revm import RevmChain  # noqa: E402
from harness.chains.rpc_chain import RpcChain  # noqa: E402
from harness.twin.machine import outcome_table, run_machine  # noqa: E402

MNEMONIC = "test test test test test test test test test test test junk"


def run(chain, examples, steps):
    s = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))
    stats, elapsed = run_machine(chain, s)
    if os.environ.get("ISOMARGIN_OUTCOMES"):
        print(outcome_table(stats))
    return stats["steps"], elapsed


def with_anvil(fn):
    if anvil_binary() is None:
        sys.exit("anvil not found: run ./isomargin setup")
    node = start_anvil("--mnemonic", MNEMONIC, "--accounts", "20", "--hardfork", "prague")
    try:
        return fn(RpcChain(node.url))
    finally:
        node.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=50)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--backend", choices=["revm", "rpc", "all"], default="all")
    a = p.parse_args()
    print(f"machine: {a.examples} examples x up to {a.steps} steps; cores: {os.cpu_count()}")
    if a.backend in ("revm", "all"):
        n, t = run(RevmChain(n_accounts=20), a.examples, a.steps)
        print(f"revm (in process)      {n:6d} checked steps in {t:6.1f} s  = {n / t:7.0f} steps/s")
    if a.backend in ("rpc", "all"):
        n, t = with_anvil(lambda chain: run(chain, a.examples, a.steps))
        print(f"anvil (raw JSON-RPC)   {n:6d} checked steps in {t:6.1f} s  = {n / t:7.0f} steps/s")


if __name__ == "__main__":
    main()
