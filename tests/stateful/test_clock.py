"""The time a read runs at, on every backend the machine runs on.

Views that accrue fees depend on block.timestamp, and nodes run eth_call at
different times (anvil: the head block's; ape's test chain: its pending
block's, less a second; anvil's pending block follows the wall clock). A
check of such a view that assumes the time fails on one node only, and
flakily: the liability-bound check did, on anvil, until it asked.
"""
import time

import pytest

from harness.chains.ape import ApeChain
from harness.protocol.markets import USDC
from harness.twin.twin import Twin
from harness.twin.world import build_world, refresh_feeds

from .test_stateful import _fast_chain


def _world_with_a_position(chain):
    w = build_world(Twin(chain))
    t = w.twin
    market = w.markets[sorted(w.markets)[0]]
    r = t.send("orders", "request_open", [market, True, 20_000 * USDC, 2_100 * USDC, 2**128 - 1], w.traders[0])
    assert r.ok, r.reason
    refresh_feeds(t)
    done = t.send("orders", "execute_order", [r.value], w.liquidators[0])
    assert done.ok and done.value[0] == "executed", done
    return w


@pytest.mark.parametrize("backend", ["fast", "ape"])
def test_a_time_dependent_read_agrees_with_the_model_at_call_timestamp(backend, networks, accounts):
    accts = list(accounts)
    chain = ApeChain(accts) if backend == "ape" else _fast_chain(networks.provider, accts)
    w = _world_with_a_position(chain)
    t = w.twin
    # A day of borrow fees, then a transaction that reverts (no block on
    # some backends), so the head, the twin's clock and the wall clock part.
    t.wait(86_400)
    assert not t.send("engine", "add_collateral", [12345, 1], w.stranger).ok
    at = chain.call_timestamp()
    time.sleep(1.2)
    assert chain.call_timestamp() == at, "reads follow the wall clock"
    liability, _ = chain.call(t.deployment.pool, "LiquidityPool", "pool_liability", [])
    model = t.model
    saved, model.env.timestamp = model.env.timestamp, at
    try:
        want, _ = model.pool.pool_liability()
    finally:
        model.env.timestamp = saved
    assert liability == want != 0
