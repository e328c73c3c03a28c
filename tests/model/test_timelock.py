"""model/timelock.py on its own: its keccak256 and operation ids are the
chain's (checked against eth_utils and eth_abi, which the model does not
import), and an execution is all-or-nothing, the target's writes and
events included, as an EVM transaction is."""
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import given, strategies as st

from harness.chains.contracts import call_decoder, codec
from harness.protocol.markets import MARKETS
from model import Protocol, Revert
from model.timelock import PROPOSER_ROLE, Timelock, keccak256

OWNER, GUARDIAN, STRANGER = (to_checksum_address("0x" + f"{n:02x}" * 20) for n in (0x11, 0x22, 0x33))
ENGINE, TIMELOCK = to_checksum_address("0x" + "e0" * 20), to_checksum_address("0x" + "70" * 20)
NO_ID = bytes(32)
DELAY = 3_600
addresses = st.binary(min_size=20, max_size=20).map(lambda b: to_checksum_address(b))
words = st.binary(min_size=32, max_size=32)


@given(st.binary(max_size=700))
def test_keccak256_is_ethereum_s(data):
    assert keccak256(data) == keccak(data)


@given(addresses, st.integers(0, 2**256 - 1), st.binary(max_size=300), words, words)
def test_an_operation_id_is_the_contract_s(target, amount, payload, predecessor, salt):
    want = keccak(encode(["address", "uint256", "bytes", "bytes32", "bytes32"], [target, amount, payload, predecessor,
                                                                               salt]))
    assert Timelock._hash_operation(target, amount, payload, predecessor, salt) == want


@given(st.lists(st.tuples(addresses, st.integers(0, 2**256 - 1), st.binary(max_size=100)), max_size=5), words, words)
def test_a_batch_id_is_the_contract_s(calls, predecessor, salt):
    targets, amounts, payloads = [list(c) for c in zip(*calls)] if calls else ([], [], [])
    want = keccak(encode(["address[]", "uint256[]", "bytes[]", "bytes32", "bytes32"],
                         [targets, amounts, payloads, predecessor, salt]))
    assert Timelock._hash_operation_batch(targets, amounts, payloads, predecessor, salt) == want


def _world():
    p = Protocol(deployer=OWNER, guardian=GUARDIAN, engine=ENGINE)
    p.add_feed(to_checksum_address("0x" + "fe" * 20), 8, 2_000 * 10**8)
    p.engine.list_market(to_checksum_address("0x" + "fe" * 20), MARKETS["ETH"]["params"], sender=OWNER)
    tl = Timelock(p.journal, p.env, TIMELOCK, p.contracts, call_decoder({ENGINE: "Engine", TIMELOCK: "Timelock"}),
                  DELAY, [OWNER], [OWNER], "0x" + "0" * 40, sender=OWNER)
    p.contracts[TIMELOCK] = tl
    p.engine.transfer_ownership(TIMELOCK, sender=OWNER)
    return p, tl


def test_a_batch_that_fails_half_way_undoes_its_first_half():
    p, tl = _world()
    accept = codec("Engine")["accept_ownership"].encode([])
    guardian = codec("Engine")["set_guardian"].encode([STRANGER])
    bad = codec("Engine")["set_market_feed"].encode([1, "0x" + "0" * 40])      # "params: zero feed"
    batch = ([ENGINE] * 3, [0, 0, 0], [accept, guardian, bad])
    tl.schedule_batch(*batch, NO_ID, NO_ID, DELAY, sender=OWNER)
    p.env.timestamp += DELAY
    mark, before = p.events_mark(), (p.engine.owner, p.engine.guardian, p.engine.pending_owner)
    try:
        tl.execute_batch(*batch, NO_ID, NO_ID, sender=OWNER)
    except Revert as err:
        assert err.reason == "params: zero feed"
    else:
        raise AssertionError("the batch's last call should have reverted it")
    assert (p.engine.owner, p.engine.guardian, p.engine.pending_owner) == before == (OWNER, GUARDIAN, TIMELOCK)
    assert p.events_mark() == mark
    assert tl.is_operation_ready(tl.hash_operation_batch(*batch, NO_ID, NO_ID))


def test_roles_and_the_delay_change_only_through_the_timelock():
    p, tl = _world()
    grant = codec("Timelock")["grantRole"].encode([PROPOSER_ROLE, STRANGER])
    for call in (lambda: tl.grantRole(PROPOSER_ROLE, STRANGER, sender=OWNER),
                 lambda: tl.update_delay(0, sender=OWNER)):
        try:
            call()
        except Revert as err:
            assert err.reason in ("access_control: account is missing role",
                                  "timelock_controller: caller must be timelock")
        else:
            raise AssertionError("an undelayed role or delay change went through")
    tl.schedule(TIMELOCK, 0, grant, NO_ID, NO_ID, DELAY, sender=OWNER)
    p.env.timestamp += DELAY
    mark = p.events_mark()
    tl.execute(TIMELOCK, 0, grant, NO_ID, NO_ID, sender=OWNER)
    assert tl.hasRole[(PROPOSER_ROLE, STRANGER)] is True
    assert [e.name for e in p.events_since(mark)] == ["RoleGranted", "CallExecuted"]
    assert p.events_since(mark)[0].event.sender == TIMELOCK
