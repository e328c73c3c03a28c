"""The harness's own promises: a disagreement names step, action, field and
both values; a logged sequence replays on the connected network."""
import json

import pytest

from harness.chains.ape import ApeChain
from harness.chains.revm import RevmChain
from harness.twin.twin import Disagreement, Twin
from harness.protocol.markets import USDC
from harness.twin.world import build_world


def _scenario(twin):
    w = build_world(twin)
    oid = twin.send("orders", "request_open", [1, True, 10_000 * USDC, 1_010 * USDC, 2**128 - 1], w.traders[0]).value
    twin.send("feed:ETH", "set_answer", [2_000 * 10**8], w.owner)     # a round after the request
    pid = twin.send("orders", "execute_order", [oid], w.liquidators[1]).value[1]
    twin.wait(120)
    # A stale round: the timestamp argument must replay identically elsewhere.
    twin.send("feed:ETH", "set_round", [1_850 * 10**8, twin.clock - 60], w.owner)
    twin.send("engine", "liquidate", [pid], w.liquidators[0])
    # Gone: the book refuses a close on both (it escrows nothing, so only an
    # open position's owner may ask); a decrease is taken, and cancelled
    # with the engine's reason.
    assert twin.send("orders", "request_close", [pid, 0], w.traders[0]).reason == "orders: not your open position"
    oid = twin.send("orders", "request_decrease", [pid, 1, 0], w.traders[0]).value
    twin.send("feed:ETH", "set_round", [1_850 * 10**8, twin.clock + 1], w.owner)
    twin.send("orders", "execute_order", [oid], w.liquidators[1])
    twin.check()
    return w


def test_disagreement_names_step_action_field_and_values():
    twin = Twin(RevmChain(n_accounts=20))
    w = _scenario(twin)
    # Move tokens on chain behind the model's back.
    twin.chain.transact(twin.deployment.token, "MockUSDC", "transfer", [w.stranger, 7], w.traders[1])
    with pytest.raises(Disagreement) as err:
        twin.check()
    e = err.value
    assert e.step == twin.step and "execute_order" in e.action
    assert e.field == f"token.balanceOf[account:{twin.chain.accounts.index(w.traders[1])}]"
    assert e.chain == e.model - 7


def test_logged_sequence_replays_on_the_connected_network(accounts, tmp_path):
    source = Twin(RevmChain(n_accounts=20))
    _scenario(source)
    path = tmp_path / "log.json"
    path.write_text(json.dumps({"log": source.log}))

    replayed = Twin(ApeChain(list(accounts)))
    replayed.replay(json.loads(path.read_text())["log"])
    assert replayed.step == source.step
    # Same sequence, same outcome: the two models end in the same state.
    a, b = source.model, replayed.model
    assert a.engine.totals(a.pool.totalSupply()) == b.engine.totals(b.pool.totalSupply())
    assert a.engine.open_positions == 0 and replayed.model.engine.vault_count == 1
