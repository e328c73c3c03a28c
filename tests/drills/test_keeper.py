"""The keeper's failure cases, each ending with model and chain still equal.

In process (revm) for speed; the standalone keeper, which reads events,
also runs through ape on whatever network `ape test` is connected to.
"""
import pytest

from harness.keeper.chain_source import ChainPositions, run_keeper, slot_windows
from harness.chains.faults import FlakyChain
from harness.keeper.health import liquidatable, model_market_view, open_positions
from harness.keeper.keeper import ChainPort, Keeper, TwinPort
from harness.keeper.reasons import attempt_words, explain
from harness.chains.revm import RevmChain
from harness.protocol.markets import USDC

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
    assert attempt_words(b) == "lost race: another keeper liquidated it first, or its owner closed it"
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
    # One page of slots + 4 reads per market (parameters, state, round, last price) + the market count, per
    # round: not one call per position.
    assert positions.calls == 2 * (1 + 1 + 1 + 4)


def test_a_dead_feed_s_positions_are_liquidated_at_the_last_good_price_after_the_fallback_delay():
    """Issue 9, finding 2, from the keeper's side: a feed that stops
    publishing stops liquidations only for ORACLE_FALLBACK_DELAY; after it
    the engine settles exits at the last good price, and the standalone
    keeper (reading the chain: the feed's round and Engine.market_last_price)
    must find and liquidate what is underwater at that price."""
    w = keeper_world(RevmChain(n_accounts=12))
    w.set_price(1_800)                    # the 9x long is underwater at the feed's last round, then it dies
    chain, d = w.twin.chain, w.twin.deployment
    positions = ChainPositions(chain, d.engine, d.lens)
    k = Keeper("solo", w.keepers[0], ChainPort(chain, d.engine), sleep=None)
    start = w.twin.model.engine.fallback_starts(1)

    def block_at(t):                       # a block at t: the keeper's next scan is for t + 1
        w.twin.wait(t - 1 - w.twin.clock)
        assert w.twin.send("token", "approve", [d.engine, 0], w.owner).ok

    block_at(start - 2)
    assert positions.scan() == []
    assert dict(positions.refused)[w.long9] == "oracle: price is stale"
    assert "at the last good price once the feed has been unusable for 24 h" in explain("oracle: price is stale")
    block_at(start - 1)
    w.twin.tick()                          # revm's next block at start, as a node's would be
    assert [pid for pid, _ in positions.scan()] == [w.long9]
    balance = chain.call(d.token, "MockUSDC", "balanceOf", [w.keepers[0]])
    summary = run_keeper(positions, k, rounds=1, sleep=lambda s: None, log=lambda s: None)
    # Liquidated at the dead feed's 1,800 (at the open's recorded 2,000 it is healthy), for 1% of its 9,000.
    assert summary["liquidated"] == 1, summary
    assert chain.call(d.token, "MockUSDC", "balanceOf", [w.keepers[0]]) - balance == REWARD_9X
    assert chain.call(d.engine, "Engine", "position", [w.long9])[3] is False     # is_open


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


# ---------------------------------------------------------------- executing orders and LP requests

def _request_close(w, pid, is_long):
    out = w.twin.send("orders", "request_close", [pid, 0 if is_long else 2**128 - 1], w.trader)
    assert out.ok, out.reason
    return out.value


def test_executor_waits_for_a_round_after_the_request_then_executes():
    from harness.keeper.executions import Executor, TwinExecutions

    w = keeper_world(RevmChain(n_accounts=12))
    oid = _request_close(w, w.long5, True)
    ex = Executor("k0", w.keepers[0], TwinExecutions(w.twin))
    first = ex.run()
    assert [(e.ident, e.outcome) for e in first] == [(oid, "waits")]
    assert first[0].message == f"order {oid} waits: no price round after its request yet"
    assert w.twin.model.orders.orders(oid).owner == w.trader          # nothing sent, still pending
    w.set_price(2_000)
    second = ex.run()
    assert [(e.ident, e.outcome) for e in second] == [(oid, "executed")]
    assert not w.twin.model.engine.position(w.long5).is_open
    assert ex.summary()["executed"] == 1 and ex.summary()["waiting_now"] == {}
    w.twin.check()


def test_executor_reports_an_engine_cancellation_and_an_expired_order():
    from harness.keeper.executions import Executor, TwinExecutions
    from model.orders import ORDER_EXPIRY

    w = keeper_world(RevmChain(n_accounts=12))
    # A close that cannot get its price: the engine refuses, the order book cancels and refunds.
    refused = w.twin.send("orders", "request_close", [w.long5, 2**128 - 1], w.trader).value
    w.set_price(2_000)
    ex = Executor("k0", w.keepers[0], TwinExecutions(w.twin))
    (e,) = ex.run()
    assert (e.outcome, e.reason) == ("cancelled", "engine: price beyond the acceptable price")
    assert e.message == (f"order {refused} cancelled by the engine (engine: price beyond the acceptable price); "
                         "escrow refunded to its owner")
    assert ex.summary()["cancel_reasons"] == {"engine: price beyond the acceptable price": 1}
    late = _request_close(w, w.short5, False)
    w.twin.wait(ORDER_EXPIRY + 1)
    w.set_price(2_000)
    (e,) = ex.run()
    assert (e.ident, e.outcome) == (late, "expired")
    assert e.message == f"order {late} expired: clear it (clear_expired refunds the owner and pays you the fee)"
    w.twin.check()


def test_executor_executes_an_lp_request_once_every_market_has_a_round_after_it():
    from harness.keeper.executions import Executor, TwinExecutions
    from model.pool import LP_REQUEST_DELAY

    w = keeper_world(RevmChain(n_accounts=12))
    lp = w.twin.chain.accounts[2]
    rid = w.twin.send("pool", "requestDeposit", [1_000 * USDC, lp, lp], lp).value
    ex = Executor("k0", w.keepers[0], TwinExecutions(w.twin))
    (e,) = ex.run()
    assert e.message == f"LP request {rid} waits: the pool's request delay is not over"
    w.twin.wait(LP_REQUEST_DELAY)
    (e,) = ex.run()
    assert e.message == f"LP request {rid} waits: some market has no price round after the request yet"
    w.set_price(2_000)
    (e,) = ex.run()
    assert e.outcome == "executed" and w.twin.model.pool.lp_requests[rid].amount == 0
    w.twin.check()


def test_standalone_executor_reads_pending_work_from_the_chain_and_says_why_it_waits():
    from harness.keeper.executions import ChainExecutions, Executor

    w = keeper_world(RevmChain(n_accounts=12))
    chain, d = w.twin.chain, w.twin.deployment
    oid = _request_close(w, w.long5, True)
    port = ChainExecutions(chain, d.orders, d.pool)
    assert port.pending_orders() == [oid] and port.pending_requests() == []
    # The pass reads slots, and slots are recycled: fewer than orders ever.
    assert chain.call(d.orders, "OrderBook", "slot_count") < chain.call(d.orders, "OrderBook", "order_count")
    ex = Executor("solo", w.keepers[0], port)
    chain.set_next_timestamp(chain.latest_timestamp() + 1)
    (e,) = ex.run()
    assert (e.outcome, e.message) == ("waits", f"order {oid} waits: no price round after its request yet")

