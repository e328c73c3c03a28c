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
    pid = twin.send("engine", "open_position", [1, True, 10_000 * USDC, 1_010 * USDC], w.traders[0]).value
    twin.wait(120)
    # A stale round: the timestamp argument must replay identically elsewhere.
    twin.send("feed:ETH", "set_round", [1_850 * 10**8, twin.clock - 60], w.owner)
    twin.send("engine", "liquidate", [pid], w.liquidators[0])
    twin.send("engine", "close_position", [pid], w.traders[0])      # gone: reverts on both
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
    assert e.step == twin.step and "close_position" in e.action
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
