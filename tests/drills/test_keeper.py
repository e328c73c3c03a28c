"""The keeper's failure cases, each ending with model and chain still equal.

In process (revm) for speed; the standalone keeper, which reads events,
also runs through ape on whatever network `ape test` is connected to.
"""
import pytest

from harness.keeper.chain_source import ChainPositions, run_keeper, slot_windows
from harness.chains.faults import FlakyChain
from harness.keeper.health import liquidatable, model_market_view, open_positions
from harness.keeper.keeper import ChainPort, Keeper, TwinPort
from harness.chains.revm import RevmChain

from .support import keeper_world

REWARD_9X = 90 * 10**6      # 1% of size 9,000


def _keeper(world, i=0, **kw):
    return Keeper(f"k{i}", world.keepers[i], TwinPort(world.twin), sleep=None, **kw)


def _candidates(world):
    eng = world.twin.model.engine
    views = {1: model_market_view(eng, 1, world.twin.clock + 1)}
    return [pid for pid, _ in liquidatable(open_positions(eng), views)]


def test_scan_finds_only_the_underwater_position():
    w = keeper_world(RevmChain(n_accounts=12))
    assert _candidates(w) == []
    w.set_price(1_800)
    assert _candidates(w) == [w.long9]


def test_someone_else_first_is_a_lost_race_not_a_second_liquidation():
    w = keeper_world(RevmChain(n_accounts=12))
    w.set_price(1_800)
    first, second = _keeper(w, 0), _keeper(w, 1)
    candidates = _candidates(w)           # both keepers saw the same block
    [a] = first.run(candidates)
    [b] = second.run(candidates)
    assert (a.outcome, b.outcome) == ("liquidated", "lost_race")
    assert b.reason == "engine: position not open"
    assert a.value["reward"] == REWARD_9X
    assert (first.liquidated, second.liquidated) == (1, 0)
    assert second.rewards() == 0 and second.summary()["lost_races"] == 1
    # Trying again changes nothing either.
    assert first.run(candidates)[0].outcome == "lost_race"
    assert first.liquidated == 1
    w.twin.check()


def test_price_back_before_the_keeper_acts_is_a_healthy_revert():
    w = keeper_world(RevmChain(n_accounts=12))
    w.set_price(1_800)
    candidates = _candidates(w)
    w.set_price(2_000)                    # the wick recovers before our transaction lands
    k = _keeper(w)
    [a] = k.run(candidates)
    assert a.outcome == "healthy" and a.reason == "engine: position is healthy"
    assert k.liquidated == 0
    assert w.twin.model.engine.position(w.long9).is_open
    w.twin.check()


def test_lost_requests_are_retried_and_counted_once():
    flaky = FlakyChain(RevmChain(n_accounts=12))
    w = keeper_world(flaky)
    w.set_price(1_800)
    flaky.script["liquidate"].extend(["before", "before"])   # two connection errors, then through
    k = _keeper(w)
    [a] = k.run(_candidates(w))
    assert a.outcome == "liquidated" and a.rpc_errors == 2 and not a.adopted
    assert k.liquidated == 1 and k.counts["rpc_errors"] == 2
    w.twin.check()


def test_lost_receipt_is_adopted_once_and_model_follows_the_chain():
    flaky = FlakyChain(RevmChain(n_accounts=12))
    w = keeper_world(flaky)
    w.set_price(1_800)
    flaky.script["liquidate"].append("after")     # ran on chain, answer lost
    k = _keeper(w)
    [a] = k.run(_candidates(w))
    assert a.outcome == "liquidated" and a.adopted and a.gas_used is None
    assert a.value["reward"] == REWARD_9X
    w.twin.check()                                # the model adopted what the chain did
    assert k.run([w.long9])[0].outcome == "lost_race"
    assert k.liquidated == 1


def test_unanswerable_probe_leaves_it_unsettled_until_reconciled():
    flaky = FlakyChain(RevmChain(n_accounts=12))
    w = keeper_world(flaky)
    w.set_price(1_800)
    flaky.script["liquidate"].append("after")
    flaky.script["position"].extend(["before"] * 4)   # every probe of this attempt fails
    k = _keeper(w)
    [a] = k.run(_candidates(w))
    assert a.outcome == "unsettled" and k.liquidated == 0 and list(k.unsettled) == [w.long9]
    [b] = k.reconcile()
    assert b.outcome == "liquidated" and b.adopted
    assert k.liquidated == 1 and not k.unsettled
    assert k.summary()["unsettled"] == 0
    w.twin.check()


def test_a_dead_node_is_given_up_on_without_a_count():
    flaky = FlakyChain(RevmChain(n_accounts=12))
    w = keeper_world(flaky)
    w.set_price(1_800)
    flaky.script["liquidate"].extend(["before"] * 4)  # every try of one attempt
    k = _keeper(w, retries=3)
    [a] = k.run(_candidates(w))
    assert a.outcome == "gave_up" and a.rpc_errors == 4
    assert k.liquidated == 0 and w.twin.model.engine.position(w.long9).is_open
    w.twin.check()
    # The node is back: the next scan liquidates it.
    assert k.run(_candidates(w))[0].outcome == "liquidated"


def test_slot_windows_cover_with_few_reads():
    assert slot_windows([5, 1, 3, 250, 101, 100]) == [(1, 100), (101, 1), (250, 1)]
    assert slot_windows([]) == []


def test_standalone_keeper_without_events_pages_every_slot():
    w = keeper_world(RevmChain(n_accounts=12))
    w.set_price(1_800)
    chain, d = w.twin.chain, w.twin.deployment
    positions = ChainPositions(chain, d.engine, d.lens)                # no logs on revm: page the slots
    k = Keeper("solo", w.keepers[0], ChainPort(chain, d.engine), sleep=None)
    summary = run_keeper(positions, k, rounds=2, sleep=lambda s: None, log=lambda s: None)
    assert summary["liquidated"] == 1 and summary["attempts"] == 1
    # One page of slots + 3 reads per market + the market count, per round: not one call per position.
    assert positions.calls == 2 * (1 + 1 + 1 + 3)


def test_standalone_keeper_tracks_events_on_an_ape_network(accounts):
    from harness.chains.quiet_ape import QuietApeChain
    from harness.keeper.ape_events import ApeEngineEvents

    chain = QuietApeChain(list(accounts))
    w = keeper_world(chain)
    d = w.twin.deployment
    w.set_price(1_760)                     # 5x long: 995 - 600 = 395 >= 250, still healthy
    assert _candidates(w) == [w.long9]
    w.set_price(1_500)                     # now the 5x long too: 995 - 1,250 < 0
    assert sorted(_candidates(w)) == sorted([w.long9, w.long5])
    # Someone else takes the 9x first, outside our keeper.
    assert w.twin.send("engine", "liquidate", [w.long9], w.keepers[1]).ok
    positions = ChainPositions(chain, d.engine, d.lens, events=ApeEngineEvents(d.engine))
    k = Keeper("solo", w.keepers[0], ChainPort(chain, d.engine), sleep=None)
    summary = run_keeper(positions, k, rounds=2, sleep=lambda s: None, log=lambda s: None)
    assert summary["liquidated"] == 1 and summary["lost_races"] == 0
    assert list(k.ledger) == [w.long5]
    # Reward from the event: 1% of 5,000 USDC (the vault held only 995 - it pays the reward first).
    assert summary["rewards"] == 50 * 10**6
    assert positions.open_ids == {w.short5}
    # A lost receipt on the standalone path waits for the event, then counts once.
    w.twin.clock = chain.latest_timestamp()   # the keeper's own blocks moved the chain on
    w.set_price(2_400)                     # short 5x: 995 - 1,000 < 250
    flaky = FlakyChain(chain, script={"liquidate": ["after"]})
    k2 = Keeper("solo2", w.keepers[2], ChainPort(flaky, d.engine), sleep=None)
    run_keeper(ChainPositions(flaky, d.engine, d.lens, events=ApeEngineEvents(d.engine)), k2, rounds=1,
               sleep=lambda s: None, log=lambda s: None)
    assert k2.liquidated == 1 and k2.ledger[w.short5].adopted and not k2.unsettled
    assert (k2.summary()["rpc_errors"], k2.summary()["attempts"]) == (1, 1)
    # A restarted keeper finds its past liquidations in the log: counted, not as attempts.
    k3 = Keeper("solo2-again", w.keepers[2], ChainPort(chain, d.engine), sleep=None)
    run_keeper(ChainPositions(chain, d.engine, d.lens, events=ApeEngineEvents(d.engine)), k3, rounds=1,
               sleep=lambda s: None, log=lambda s: None)
    assert (k3.liquidated, k3.summary()["attempts"]) == (1, 0)
