"""Governance through the timelock (contracts/Timelock.vy, snekmate's
timelock_controller) as the engine's owner, the way the live deploy hands
the engine over (harness/live/netdeploy.py): an owner change is refused
before the delay with the timelock's reason, runs after it, can be
cancelled meanwhile; the deployer's own calls are refused once the
timelock owns the engine; the guardian still pauses at once. Last, the
model's twin (model/timelock.py) is driven with the same calls as the
chain and must agree on every outcome, event field and state."""
from dataclasses import replace

import ape
import pytest
from ape.exceptions import ContractLogicError

from harness.chains.contracts import call_decoder, codec
from harness.protocol.handover import HANDOVER_SALT, NO_PREDECESSOR as NO_ID, handover_batch
from model import Protocol, Revert
from model.markets import MarketParams
from model.timelock import CANCELLER_ROLE, DEFAULT_ADMIN_ROLE, EXECUTOR_ROLE, PROPOSER_ROLE, Timelock

from .helpers import ETH, ETH_PARAMS, ZERO, px

DELAY = 2 * 86_400
NOT_READY = "timelock_controller: operation is not ready"
NOT_OWNER = "ownable: caller is not the owner"
MISSING_ROLE = "access_control: account is missing role"


def payload(contract: str, fn: str, *args) -> bytes:
    return codec(contract)[fn].encode(list(args))


def salt(n: int) -> bytes:
    return n.to_bytes(32, "big")


def hand_over(engine, timelock, deployer, delay: int):
    """What the deploy does: the engine offers ownership to the timelock
    (deployed with no delay), which accepts and raises its own delay in one
    batch, so no owner change can ever run undelayed after it."""
    engine.transfer_ownership(timelock, sender=deployer)
    calls = handover_batch(engine.address, timelock.address, delay)
    timelock.schedule_batch(*calls, NO_ID, HANDOVER_SALT, 0, sender=deployer)
    timelock.execute_batch(*calls, NO_ID, HANDOVER_SALT, sender=deployer)


@pytest.fixture
def timelock(project, engine, owner):
    tl = project.Timelock.deploy(0, [owner], [owner], ZERO, sender=owner)
    hand_over(engine, tl, owner, DELAY)
    return tl


@pytest.fixture
def new_feed(project, owner):
    return project.MockAggregator.deploy(ETH["decimals"], "ETH / USD v2", px(2_050), sender=owner)


NEW_PARAMS = replace(ETH_PARAMS, open_fee_bps=ETH_PARAMS.open_fee_bps + 5)

# Each owner change: (its calldata from the fixtures, what it does to the engine, a read of that state).
CHANGES = {
    "set_market_params": (lambda engine, feed, who: payload("Engine", "set_market_params", 1, NEW_PARAMS.as_tuple()),
                          lambda engine: tuple(engine.market_params(1)), NEW_PARAMS.as_tuple()),
    "set_market_feed": (lambda engine, feed, who: payload("Engine", "set_market_feed", 1, feed.address),
                        lambda engine: engine.market_state(1).feed, "feed"),
    "set_guardian": (lambda engine, feed, who: payload("Engine", "set_guardian", who.address),
                     lambda engine: engine.guardian(), "stranger"),
}


def _expected(value, new_feed, stranger):
    return {"feed": new_feed.address, "stranger": stranger.address}.get(value, value) if isinstance(value, str) \
        else value


# ---------------------------------------------------------------- the hand-over

def test_the_timelock_owns_the_engine_with_the_delay_and_no_admin_but_itself(engine, timelock, owner):
    assert engine.owner() == timelock.address and engine.pending_owner() == ZERO
    assert timelock.get_minimum_delay() == DELAY
    assert timelock.hasRole(DEFAULT_ADMIN_ROLE, timelock) is True
    assert timelock.hasRole(DEFAULT_ADMIN_ROLE, owner) is False
    for role in (PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE):
        assert timelock.hasRole(role, owner) is True
    # The model's role constants are the contract's.
    assert (timelock.PROPOSER_ROLE(), timelock.EXECUTOR_ROLE(), timelock.CANCELLER_ROLE()) == (
        PROPOSER_ROLE, EXECUTOR_ROLE, CANCELLER_ROLE)


def test_the_deployer_s_direct_owner_calls_are_refused(engine, timelock, owner, feed, new_feed, stranger):
    with ape.reverts(NOT_OWNER):
        engine.set_market_params(1, NEW_PARAMS.as_tuple(), sender=owner)
    with ape.reverts(NOT_OWNER):
        engine.set_market_feed(1, new_feed, sender=owner)
    with ape.reverts(NOT_OWNER):
        engine.set_guardian(stranger, sender=owner)
    with ape.reverts(NOT_OWNER):
        engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    with ape.reverts(NOT_OWNER):
        engine.transfer_ownership(owner, sender=owner)
    assert tuple(engine.market_params(1)) == ETH_PARAMS.as_tuple()


def test_the_delay_cannot_be_lowered_but_through_the_delay(timelock, owner):
    with ape.reverts("timelock_controller: caller must be timelock"):
        timelock.update_delay(0, sender=owner)
    with ape.reverts("timelock_controller: insufficient delay"):
        timelock.schedule(timelock, 0, payload("Timelock", "update_delay", 0), NO_ID, NO_ID, DELAY - 1, sender=owner)


# ---------------------------------------------------------------- owner changes through the timelock

@pytest.mark.parametrize("change", sorted(CHANGES))
def test_an_owner_change_waits_for_the_delay(engine, timelock, owner, new_feed, stranger, clock, change):
    make, read, want = CHANGES[change]
    data = make(engine, new_feed, stranger)
    before = read(engine)
    with ape.reverts("timelock_controller: insufficient delay"):
        timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY - 1, sender=owner)
    t = clock.at(10)
    receipt = timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=owner)
    [scheduled] = receipt.events.filter(timelock.CallScheduled)
    op = timelock.hash_operation(engine, 0, data, NO_ID, NO_ID)
    assert (scheduled.id, scheduled.target, bytes(scheduled.payload), scheduled.delay) == (op, engine.address, data,
                                                                                          DELAY)
    assert timelock.get_timestamp(op) == t + DELAY
    clock.at(10 + DELAY - 1)
    with ape.reverts(NOT_READY):
        timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=owner)
    assert read(engine) == before
    clock.at(10 + DELAY)
    receipt = timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=owner)
    assert read(engine) == _expected(want, new_feed, stranger) != before
    assert [e.event_name for e in receipt.events][-1] == "CallExecuted"
    assert timelock.is_operation_done(op) is True
    # Done is done: the same operation neither runs nor schedules again.
    with ape.reverts(NOT_READY):
        timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=owner)
    with ape.reverts("timelock_controller: operation already scheduled"):
        timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=owner)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_the_canceller_drops_a_scheduled_change(engine, timelock, owner, new_feed, stranger, clock, change):
    make, read, _ = CHANGES[change]
    data = make(engine, new_feed, stranger)
    before = read(engine)
    clock.at(10)
    timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=owner)
    op = timelock.hash_operation(engine, 0, data, NO_ID, NO_ID)
    with ape.reverts(MISSING_ROLE):
        timelock.cancel(op, sender=stranger)
    clock.at(20)
    receipt = timelock.cancel(op, sender=owner)
    assert [e.id for e in receipt.events.filter(timelock.Cancelled)] == [op]
    assert timelock.is_operation(op) is False
    clock.at(20 + DELAY)
    with ape.reverts(NOT_READY):
        timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=owner)
    assert read(engine) == before
    with ape.reverts("timelock_controller: operation cannot be cancelled"):
        timelock.cancel(op, sender=owner)


def test_only_proposers_schedule_and_only_executors_execute(engine, timelock, owner, stranger, guardian, clock):
    data = payload("Engine", "set_guardian", stranger.address)
    with ape.reverts(MISSING_ROLE):
        timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=stranger)
    clock.at(10)
    timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=owner)
    clock.at(10 + DELAY)
    with ape.reverts(MISSING_ROLE):
        timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=guardian)
    assert engine.guardian() == guardian.address


def test_an_engine_refusal_reverts_the_execution_with_the_engine_s_reason(engine, timelock, owner, clock):
    bad = replace(ETH_PARAMS, maintenance_margin_bps=0).as_tuple()
    data = payload("Engine", "set_market_params", 1, bad)
    clock.at(10)
    timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=owner)
    clock.at(10 + DELAY)
    with ape.reverts("params: maintenance margin out of bounds"):
        timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=owner)
    op = timelock.hash_operation(engine, 0, data, NO_ID, NO_ID)
    assert timelock.is_operation_ready(op) is True     # still pending: it may be cancelled


def test_the_guardian_pauses_at_once_and_unpausing_is_delayed(engine, timelock, owner, guardian, clock):
    clock.at(10)
    engine.pause(sender=guardian)
    assert engine.paused() is True
    with ape.reverts(NOT_OWNER):
        engine.unpause(sender=owner)
    data = payload("Engine", "unpause")
    clock.at(20)
    timelock.schedule(engine, 0, data, NO_ID, NO_ID, DELAY, sender=owner)
    clock.at(20 + DELAY)
    receipt = timelock.execute(engine, 0, data, NO_ID, NO_ID, sender=owner)
    assert [e.account for e in receipt.events.filter(engine.Unpaused)] == [timelock.address]
    assert engine.paused() is False


# ---------------------------------------------------------------- the model's twin, call for call

def _norm(value):
    if isinstance(value, MarketParams):
        return value.as_tuple()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, (str, int, bool)):
        return value
    return tuple(_norm(v) for v in value)


class Twins:
    """One call on the chain and the same on the model: both succeed (same
    events, field for field, from the same addresses) or both revert with
    the same reason. `at` pins the block time (the clock's offset)."""

    def __init__(self, chain, clock, p: Protocol, contracts: dict):
        self.chain, self.clock, self.p = chain, clock, p
        self.contracts = contracts              # name -> (ape contract, model contract)
        self.steps = 0

    def __call__(self, name: str, fn: str, *args, sender, at: int):
        on_chain, model = self.contracts[name]
        t = self.clock.at(at)
        self.steps += 1
        chain_reason = model_reason = receipt = None
        try:
            receipt = getattr(on_chain, fn)(*args, sender=sender)
        except ContractLogicError as err:
            chain_reason = err.message
        self.p.env.timestamp = receipt.timestamp if receipt is not None else t
        mark = self.p.events_mark()
        model_reverted = False
        try:
            getattr(model, fn)(*[a.address if hasattr(a, "address") else a for a in args], sender=sender.address)
        except Revert as err:
            model_reverted, model_reason = True, err.reason
        where = f"step {self.steps}: {name}.{fn}"
        assert (receipt is None, chain_reason) == (model_reverted, model_reason), \
            f"{where}: chain {'reverted ' + repr(chain_reason) if receipt is None else 'succeeded'}, " \
            f"model {'reverted ' + repr(model_reason) if model_reverted else 'succeeded'}"
        if receipt is None:
            assert self.p.events_mark() == mark, f"{where}: the model's revert left events"
            return
        chain_events = [(log.contract_address, log.event_name, {k: _norm(v) for k, v in log.event_arguments.items()})
                        for log in receipt.events]
        model_events = [(e.address, e.name, {k: _norm(v) for k, v in e.event.args().items()})
                        for e in self.p.events_since(mark)]
        assert chain_events == model_events, f"{where}: events differ"
        return receipt


def _state(engine, tl, ids, accounts):
    roles = (DEFAULT_ADMIN_ROLE, PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE)
    return dict(
        owner=engine.owner(), pending_owner=engine.pending_owner(), guardian=engine.guardian(), paused=engine.paused(),
        params=_norm(engine.market_params(1)), feed=engine.market_state(1).feed,
        borrow_index=engine.market_state(1).borrow_index,
        delay=tl.get_minimum_delay(),
        timestamps=[tl.get_timestamp(i) for i in ids],
        states=[int(tl.get_operation_state(i)) for i in ids],
        roles=[tl.hasRole(r, a) for r in roles for a in accounts],
    )


def _model_state(p, tl, ids, accounts):
    e = p.engine
    roles = (DEFAULT_ADMIN_ROLE, PROPOSER_ROLE, CANCELLER_ROLE, EXECUTOR_ROLE)
    return dict(
        owner=e.owner, pending_owner=e.pending_owner, guardian=e.guardian, paused=e.paused,
        params=e.market_params(1).as_tuple(), feed=e.market_state(1).feed,
        borrow_index=e.market_state(1).borrow_index,
        delay=tl.get_minimum_delay,
        timestamps=[tl.get_timestamp[i] for i in ids],
        states=[tl.get_operation_state(i) for i in ids],
        roles=[tl.hasRole[(r, a)] for r in roles for a in accounts],
    )


def test_the_model_twin_agrees_with_the_chain_call_for_call(project, chain, clock, fresh_engine, token, feed,
                                                           new_feed, owner, guardian, stranger):
    engine = fresh_engine
    clock.at(1_000)
    engine.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    listed_at = chain.blocks.head.timestamp
    p = Protocol(deployer=owner.address, guardian=guardian.address, timestamp=listed_at, token=token.address,
                 engine=engine.address, pool=engine.POOL(), insurance=engine.INSURANCE(), orders=engine.ORDERS(),
                 rules=engine.RULES())
    # The feeds' twins, where the engine's market rules look them up.
    for f in (feed, new_feed):
        p.add_feed(f.address, f.decimals(), f.latestAnswer())
    p.engine.list_market(feed.address, ETH_PARAMS, sender=owner.address)
    clock.at(1_005)
    tl = project.Timelock.deploy(0, [owner], [owner], ZERO, sender=owner)
    p.env.timestamp = chain.blocks.head.timestamp
    mark = p.events_mark()
    model_tl = Timelock(p.journal, p.env, tl.address, p.contracts,
                        call_decoder({engine.address: "Engine", tl.address: "Timelock"}),
                        0, [owner.address], [owner.address], ZERO, sender=owner.address)
    p.contracts[tl.address] = model_tl
    deployed = [(log.event_name, {k: _norm(v) for k, v in log.event_arguments.items()})
                for log in chain.get_receipt(tl.txn_hash).events]
    assert deployed == [(e.name, {k: _norm(v) for k, v in e.event.args().items()}) for e in p.events_since(mark)]

    run = Twins(chain, clock, p, {"engine": (engine, p.engine), "timelock": (tl, model_tl)})
    E, T = engine.address, tl.address
    ids = []

    def op(target, data, predecessor=NO_ID, s=NO_ID):
        i = model_tl.hash_operation(target, 0, data, predecessor, s)
        assert i == bytes(tl.hash_operation(target, 0, data, predecessor, s))
        ids.append(i)
        return i

    # The hand-over, as the deploy sends it.
    run("engine", "transfer_ownership", tl, sender=owner, at=1_010)
    batch = ([E, T], [0, 0], [payload("Engine", "accept_ownership"), payload("Timelock", "update_delay", DELAY)])
    assert model_tl.hash_operation_batch(*batch, NO_ID, salt(0)) == bytes(tl.hash_operation_batch(*batch, NO_ID,
                                                                                                   salt(0)))
    ids.append(model_tl.hash_operation_batch(*batch, NO_ID, salt(0)))
    run("timelock", "execute_batch", *batch, NO_ID, salt(0), sender=owner, at=1_011)        # not scheduled
    run("timelock", "schedule_batch", *batch, NO_ID, salt(0), 0, sender=owner, at=1_012)
    run("timelock", "execute_batch", *batch, NO_ID, salt(0), sender=owner, at=1_013)
    run("engine", "set_guardian", stranger, sender=owner, at=1_014)                        # refused: not the owner

    params = payload("Engine", "set_market_params", 1, NEW_PARAMS.as_tuple())
    guard = payload("Engine", "set_guardian", stranger.address)
    bad = payload("Engine", "set_market_params", 1, replace(ETH_PARAMS, maintenance_margin_bps=0).as_tuple())
    params_id, guard_id, bad_id = op(E, params), op(E, guard, s=salt(7)), op(E, bad)
    feed_data = payload("Engine", "set_market_feed", 1, new_feed.address)
    feed_id = op(E, feed_data, predecessor=guard_id)
    run("timelock", "schedule", E, 0, params, NO_ID, NO_ID, DELAY - 1, sender=owner, at=1_020)   # insufficient delay
    run("timelock", "schedule", E, 0, params, NO_ID, NO_ID, DELAY, sender=stranger, at=1_021)    # not a proposer
    run("timelock", "schedule", E, 0, params, NO_ID, NO_ID, DELAY, sender=owner, at=1_022)
    run("timelock", "schedule", E, 0, guard, NO_ID, salt(7), DELAY, sender=owner, at=1_023)      # with a CallSalt
    run("timelock", "schedule", E, 0, bad, NO_ID, NO_ID, DELAY, sender=owner, at=1_024)
    run("timelock", "schedule", E, 0, feed_data, guard_id, NO_ID, DELAY + 100, sender=owner, at=1_025)
    run("timelock", "execute", E, 0, params, NO_ID, NO_ID, sender=owner, at=1_026)               # not ready
    run("timelock", "cancel", guard_id, sender=stranger, at=1_027)                               # not a canceller
    run("timelock", "cancel", guard_id, sender=owner, at=1_028)
    run("engine", "pause", sender=guardian, at=1_029)                                            # at once
    assert _state(engine, tl, ids, [owner.address, T, stranger.address]) == _model_state(
        p, model_tl, ids, [owner.address, T, stranger.address])

    run("timelock", "execute", E, 0, params, NO_ID, NO_ID, sender=stranger, at=1_022 + DELAY)   # not an executor
    run("timelock", "execute", E, 0, params, NO_ID, NO_ID, sender=owner, at=1_023 + DELAY)
    run("timelock", "execute", E, 0, guard, NO_ID, salt(7), sender=owner, at=1_024 + DELAY)      # cancelled
    run("timelock", "execute", E, 0, bad, NO_ID, NO_ID, sender=owner, at=1_025 + DELAY)          # the engine's reason
    run("timelock", "execute", E, 0, feed_data, guard_id, NO_ID, sender=owner, at=1_125 + DELAY)  # missing dependency
    run("timelock", "cancel", bad_id, sender=owner, at=1_126 + DELAY)
    unpause = payload("Engine", "unpause")
    op(E, unpause)
    run("timelock", "schedule", E, 0, unpause, NO_ID, NO_ID, DELAY, sender=owner, at=1_127 + DELAY)
    run("timelock", "execute", E, 0, unpause, NO_ID, NO_ID, sender=owner, at=1_127 + 2 * DELAY)
    # Roles change only through the delay: the timelock administers itself.
    grant = payload("Timelock", "grantRole", CANCELLER_ROLE, stranger.address)
    op(T, grant)
    run("timelock", "grantRole", CANCELLER_ROLE, stranger, sender=owner, at=1_128 + 2 * DELAY)   # not an admin
    run("timelock", "schedule", T, 0, grant, NO_ID, NO_ID, DELAY, sender=owner, at=1_129 + 2 * DELAY)
    # A call to an account with no code succeeds and does nothing, on both.
    to_account = payload("Engine", "pause")
    op(stranger.address, to_account)
    run("timelock", "schedule", stranger, 0, to_account, NO_ID, NO_ID, DELAY, sender=owner, at=1_130 + 2 * DELAY)
    run("timelock", "execute", T, 0, grant, NO_ID, NO_ID, sender=owner, at=1_129 + 3 * DELAY)
    run("timelock", "execute", stranger, 0, to_account, NO_ID, NO_ID, sender=owner, at=1_130 + 3 * DELAY)
    later = op(E, guard, s=salt(8))
    run("timelock", "schedule", E, 0, guard, NO_ID, salt(8), DELAY, sender=owner, at=1_131 + 3 * DELAY)
    run("timelock", "cancel", later, sender=stranger, at=1_132 + 3 * DELAY)                   # the new canceller
    run("timelock", "renounceRole", PROPOSER_ROLE, stranger, sender=owner, at=1_133 + 3 * DELAY)  # only for itself
    run("timelock", "renounceRole", PROPOSER_ROLE, owner, sender=owner, at=1_134 + 3 * DELAY)
    run("timelock", "schedule", E, 0, guard, NO_ID, NO_ID, DELAY, sender=owner, at=1_135 + 3 * DELAY)  # no longer
    assert _state(engine, tl, ids, [owner.address, T, stranger.address]) == _model_state(
        p, model_tl, ids, [owner.address, T, stranger.address])
    # The run reached what it is about.
    assert (engine.owner(), engine.market_params(1).open_fee_bps, engine.guardian(), engine.paused()) == (
        T, NEW_PARAMS.open_fee_bps, guardian.address, False)
    assert [model_tl.get_operation_state(i) for i in (params_id, guard_id, bad_id, feed_id, later)] == [
        8, 1, 1, 4, 1]   # done, cancelled, cancelled, ready, cancelled
    assert tl.hasRole(CANCELLER_ROLE, stranger) is True and tl.hasRole(PROPOSER_ROLE, owner) is False
