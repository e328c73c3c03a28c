"""Throughput of the model-vs-chain harness: checked steps per second.

    .venv/bin/python scripts/bench_harness.py [--examples N] [--steps N] [--backend revm|rpc|all]

Runs the stateful test's machine (harness/twin/machine.py) outside pytest,
on revm in process and on a fresh anvil over raw JSON-RPC (anvil from
node_modules, started and stopped here, on a free loopback port), and the
raw revm transaction rate on the same contracts in the same process (a
trade's cycle, request_open, a round, execute_order, request_close, a round,
execute_order, sent straight to revm: no model, no checks, no Hypothesis),
with the machine's rate as a share of it (issue 12's target: >= 0.2; Foundry's
invariant testing with four invariants reached 0.13 of its EVM here). Prints
figures; asserts nothing about time. The ape paths print their own figures
in the stateful test's output (`ape test tests/stateful -s`).
"""
import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, settings  # noqa: E402

from harness.chains.anvil import anvil_binary, start_anvil  # noqa: E402
from harness.chains.revm import RevmChain  # noqa: E402
from harness.chains.rpc_chain import RpcChain  # noqa: E402
from harness.twin.machine import outcome_table, run_machine  # noqa: E402
from harness.twin.twin import Twin  # noqa: E402
from harness.twin.world import build_world  # noqa: E402
from harness.protocol.markets import MARKETS, USDC  # noqa: E402

MNEMONIC = "test test test test test test test test test test test junk"


def run(chain, examples, steps):
    s = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))
    stats, elapsed = run_machine(chain, s)
    if os.environ.get("ISOMARGIN_OUTCOMES"):
        print(outcome_table(stats))
    return stats["steps"], elapsed


def raw_revm_rate(cycles: int):
    """(transactions, seconds): `cycles` open-and-close cycles of six
    transactions each, straight to revm on a standard world."""
    chain = RevmChain(n_accounts=20)
    world = build_world(Twin(chain))
    d, trader, keeper = world.twin.deployment, world.traders[0], world.liquidators[0]
    symbol = sorted(MARKETS)[0]
    market, feed, price = world.markets[symbol], d.feeds[symbol], MARKETS[symbol]["price"]
    params = MARKETS[symbol]["params"]
    size = 1_000 * USDC
    amount = 100 * USDC + size * params.open_fee_bps // 10_000 + 1
    t = world.twin.clock
    pid, sent = None, 0

    def tx(address, contract, fn, args, sender):
        nonlocal t, sent
        t += 1
        chain.set_next_timestamp(t)
        r = chain.transact(address, contract, fn, args, sender)
        assert r.ok, f"{contract}.{fn}: {r.reason}"
        sent += 1
        return r.value

    started = time.perf_counter()
    for _ in range(cycles):
        oid = tx(d.orders, "OrderBook", "request_open", [market, True, size, amount, 2**128 - 1], trader)
        tx(feed, "MockAggregator", "set_answer", [price], d.deployer)
        tx(d.orders, "OrderBook", "execute_order", [oid], keeper)
        if pid is None:
            # The first open takes a fresh slot (generation 1); each close frees
            # it and the next open takes it back one generation on.
            pid = (chain.call(d.engine, "Engine", "vault_count") << 32) | 1
        oid = tx(d.orders, "OrderBook", "request_close", [pid, 0], trader)
        tx(feed, "MockAggregator", "set_answer", [price], d.deployer)
        tx(d.orders, "OrderBook", "execute_order", [oid], keeper)
        pid += 1
    elapsed = time.perf_counter() - started
    # Every request_close above was taken (the book asks the engine whose
    # position it is), and the last position is closed now.
    assert int(chain.call(d.engine, "Engine", "owner_of", [pid - 1]), 16) == 0
    return sent, elapsed


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
    p.add_argument("--raw-cycles", type=int, default=500, help="open-and-close cycles for the raw revm rate")
    a = p.parse_args()
    print(f"machine: {a.examples} examples x up to {a.steps} steps; cores: {os.cpu_count()}")
    if a.backend in ("revm", "all"):
        n, t = run(RevmChain(n_accounts=20), a.examples, a.steps)
        print(f"revm (in process)      {n:6d} checked steps in {t:6.1f} s  = {n / t:7.0f} steps/s")
        txs, raw_t = raw_revm_rate(a.raw_cycles)
        print(f"revm, raw transactions {txs:6d} transactions  in {raw_t:6.1f} s  = {txs / raw_t:7.0f} tx/s")
        print(f"checked steps / raw transactions: {(n / t) / (txs / raw_t):.3f} (issue 12's target >= 0.2)")
    if a.backend in ("rpc", "all"):
        n, t = with_anvil(lambda chain: run(chain, a.examples, a.steps))
        print(f"anvil (raw JSON-RPC)   {n:6d} checked steps in {t:6.1f} s  = {n / t:7.0f} steps/s")


if __name__ == "__main__":
    main()
