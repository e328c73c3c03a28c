"""Journal semantics: what the EVM gives a transaction, the model must give
a call. A reverted call undoes all its writes, nested calls included; a
savepoint undoes everything inside it, successes too."""
import pytest

from model import Journal, Revert, require
from model.journal import Contract, external

from .support import ALICE, BOB, KEEPER, OWNER, PRICE, diff, make_world, snapshot


class Box(Contract):
    def __init__(self, journal: Journal):
        super().__init__(journal)
        self.value = 0
        self.items = self.mapping()

    @external
    def put(self, key, value, fail=False):
        self.items[key] = value
        self.value += 1
        require(not fail, "box: inner")

    @external
    def crash(self):
        self.items["k"] = 1
        return 1 // 0

    @external
    def call_other(self, other, fail_inner=False, fail_outer=False, catch=False):
        self.value += 10
        try:
            other.put("k", 7, fail=fail_inner)
        except Revert:
            if not catch:
                raise
        self.items["after"] = 1
        require(not fail_outer, "box: outer")


@pytest.fixture
def boxes():
    j = Journal()
    return j, Box(j), Box(j)


def state(*boxes):
    return [(b.value, dict(b.items)) for b in boxes]


def at_rest(j):
    return j.depth == 0 and j.log == []


def test_revert_undoes_writes_and_removes_created_keys(boxes):
    j, a, _ = boxes
    a.put("old", 1)
    with pytest.raises(Revert, match="box: inner"):
        a.put("new", 5, fail=True)
    # "new" must be gone, not left behind holding the default 0.
    assert state(a) == [(1, {"old": 1})]
    assert at_rest(j)


def test_revert_restores_overwritten_keys(boxes):
    j, a, _ = boxes
    a.put("k", 1)
    with pytest.raises(Revert):
        a.put("k", 2, fail=True)
    assert a.items["k"] == 1


def test_outer_revert_undoes_a_nested_call_that_succeeded(boxes):
    j, a, b = boxes
    with pytest.raises(Revert, match="box: outer"):
        a.call_other(b, fail_outer=True)
    assert state(a, b) == [(0, {}), (0, {})]
    assert at_rest(j)


def test_uncaught_inner_revert_undoes_the_whole_call(boxes):
    j, a, b = boxes
    with pytest.raises(Revert, match="box: inner"):
        a.call_other(b, fail_inner=True)
    assert state(a, b) == [(0, {}), (0, {})]


def test_caught_inner_revert_undoes_only_the_inner_call(boxes):
    # As a low-level call that may fail: the callee's writes go, the
    # caller's before and after it stay.
    j, a, b = boxes
    a.call_other(b, fail_inner=True, catch=True)
    assert state(a, b) == [(10, {"after": 1}), (0, {})]
    assert at_rest(j)


def test_any_exception_rolls_back(boxes):
    j, a, _ = boxes
    with pytest.raises(ZeroDivisionError):
        a.crash()
    assert state(a) == [(0, {})]
    assert at_rest(j)


def test_reading_a_missing_key_creates_nothing(boxes):
    _, a, _ = boxes
    assert a.items["missing"] == 0
    assert "missing" not in a.items


def test_writes_outside_calls_and_savepoints_are_not_journaled(boxes):
    # Otherwise a long simulation would keep every write it ever made.
    j, a, _ = boxes
    a.value = 3
    a.items["x"] = 1
    a.put("y", 2)
    assert at_rest(j)


def test_savepoint_undoes_successful_calls_and_direct_writes(boxes):
    j, a, b = boxes
    a.put("before", 1)
    with j.savepoint():
        a.put("k", 1)
        a.call_other(b)
        b.value = 99
        assert state(a, b) == [(12, {"before": 1, "k": 1, "after": 1}), (99, {"k": 7})]
    assert state(a, b) == [(1, {"before": 1}), (0, {})]
    assert at_rest(j)


def test_savepoint_undoes_even_when_its_body_raises(boxes):
    j, a, _ = boxes
    with pytest.raises(KeyError):
        with j.savepoint():
            a.put("k", 1)
            raise KeyError("boom")
    assert state(a) == [(0, {})]
    assert at_rest(j)


def test_nested_savepoints_undo_innermost_first(boxes):
    j, a, _ = boxes
    with j.savepoint():
        a.put("outer", 1)
        with j.savepoint():
            a.put("inner", 2)
            with pytest.raises(Revert):
                a.put("failed", 3, fail=True)
            assert dict(a.items) == {"outer": 1, "inner": 2}
        assert state(a) == [(1, {"outer": 1})]
        assert j.depth == 1
    assert state(a) == [(0, {})]
    assert at_rest(j)


def test_begin_and_undo_by_hand(boxes):
    # The harness's savepoint/rollback: a mark kept across many calls.
    j, a, b = boxes
    mark = j.begin()
    for i in range(5):
        a.put(i, i)
        b.call_other(a)
    assert a.value == 10 and b.value == 50
    j.undo(mark)
    assert state(a, b) == [(0, {}), (0, {})]
    assert at_rest(j)


def test_protocol_savepoint_undoes_a_whole_market_history():
    w = make_world()
    before = snapshot(w.p)
    with w.p.journal.savepoint():
        pid = w.open(ALICE)
        other = w.open(BOB, is_long=False)
        w.wait(1_000)
        w.set_price(1_700 * PRICE)
        w.engine.liquidate(pid, sender=KEEPER)
        w.trades.close_position(other, sender=BOB)
        w.pool.requestRedeem(w.pool.balanceOf("lp") // 2, "lp", "lp", sender="lp")
        w.engine.pause(sender=OWNER)
        assert diff(before, snapshot(w.p))
    assert diff(before, snapshot(w.p)) == {}
    # The clock is the block's, not the contracts': it is not journaled.
    assert w.p.env.timestamp == w.p.engine.market_state(w.market).last_accrual + 1_000


def test_protocol_nested_token_transfer_is_undone_by_the_engine_revert():
    w = make_world()
    w.token.mint("dave", 1_000_000_000, sender=OWNER)
    w.token.approve(w.p.orders.address, 2**256 - 1, sender="dave")
    vault = w.engine.vault_address(1)
    with pytest.raises(Revert, match="erc20: transfer amount exceeds balance"):
        # the escrow (1.01e9 + the execution fee) is more than dave holds: the
        # request reverts, and the whole trade step with it
        w.open(who="dave", size=10_000_000_000, amount=1_010_000_000)
    assert w.bal("dave") == 1_000_000_000
    assert vault not in w.token.balanceOf
    assert w.engine.vault_count == 0 and w.engine._vaults == {}


def test_a_feed_added_inside_a_savepoint_leaves_no_trace():
    w = make_world()
    with w.p.journal.savepoint():
        w.p.add_feed("feed:BTC", 8, 60_000 * PRICE)
    # On chain the feed would simply not exist after the rollback.
    assert "feed:BTC" not in w.engine.feeds
