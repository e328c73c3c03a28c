"""The rules the model now states once (index_at, oracle_error,
rate_per_year, mark_to_market), the split's new checks, and the twins of
Vault.vy and Lens.vy."""
import re
from pathlib import Path

import pytest

from model import Revert, index_at, oracle_error, rate_per_year
from model.lens import MAX_HOLDERS
from model.markets import MAX_U128, U32, YEAR
from model.positions import NONCE_BEFORE_VAULTS
from model.risk import _borrow_fee, _capped_pnl, _fee

from .support import ALICE, BOB, LP, OWNER, P0, SIMPLE, STRANGER, USDC, expect_revert, make_world
from .test_reverts import BAD_PARAMS, ENGINE, POOL


def test_index_at_is_current_index_and_accrue():
    w = make_world()
    e, m = w.engine, w.market
    w.wait(1234)
    st = e.market_state(m)
    expected = index_at(st.borrow_index, st.last_accrual, SIMPLE.borrow_rate, w.p.env.timestamp)
    assert expected == st.borrow_index + SIMPLE.borrow_rate * 1234
    assert e._current_index(m, SIMPLE.borrow_rate) == expected
    assert e._accrue(m, SIMPLE.borrow_rate) == expected
    # Not later than the last accrual: unchanged (a block cannot go back).
    assert index_at(5, 100, 7, 100) == 5 and index_at(5, 100, 7, 99) == 5


@pytest.mark.parametrize("answer, updated_at, reason", [
    (0, 1_000, "oracle: price not positive"), (-1, 1_000, "oracle: price not positive"),
    (P0, 1_000 - 3_601, "oracle: price is stale"), (MAX_U128 + 1, 1_000, "oracle: price out of range"),
    (-1, 0, "oracle: price not positive"),   # the engine checks positive first
    (P0, 1_000 - 3_600, None), (MAX_U128, 1_000, None),
])
def test_oracle_error_is_what_price_reverts_with(answer, updated_at, reason):
    assert oracle_error(answer, updated_at, 3_600, 1_000) == reason
    w = make_world()
    now = w.p.env.timestamp
    if answer < 2**191:
        w.feed.set_round(answer, now + updated_at - 1_000, sender=OWNER)
        if reason is None:
            assert w.engine._price(w.market, 3_600) == answer
        else:
            with pytest.raises(Revert) as err:
                w.engine._price(w.market, 3_600)
            assert err.value.reason == reason
    # The market's own staleness, for callers that just ask "would it price now?".
    assert oracle_error(answer, updated_at, SIMPLE.staleness, 1_000) == reason


def test_rate_per_year_is_the_one_the_harness_uses():
    from harness.protocol import markets, params
    assert markets.rate_per_year is rate_per_year and params.rate_per_year is rate_per_year
    for bps in (0, 1, 1_000, 2_000, 100_000):
        assert rate_per_year(bps) == bps * 10**18 // 10_000 // YEAR


def test_mark_to_market_is_what_closing_pays():
    w = make_world()
    pid = w.open()
    w.wait(3_600)
    w.set_price(P0 * 103 // 100)
    w.wait(100)
    then = w.p.env.timestamp + 1
    mtm = w.engine.mark_to_market(pid, then)
    # harness/drill.py's formula, spelled out.
    e = w.engine
    pos = e.slots_[pid >> 32]
    st = e.market_state(w.market)
    index = index_at(st.borrow_index, st.last_accrual, SIMPLE.borrow_rate, then)
    value = pos.collateral + _capped_pnl(pos, e.feeds[st.feed].answer) - _borrow_fee(pos.size, pos.entry_index, index) \
        - _fee(pos.size, SIMPLE.close_fee_bps)
    assert mtm == max(value, 0)
    w.wait(1)
    before = w.bal(ALICE)
    w.trades.close_position(pid, sender=ALICE)
    assert w.bal(ALICE) - before == mtm


def test_mark_to_market_prices_a_stale_feed_that_close_refuses():
    w = make_world()
    pid = w.open()
    w.wait(SIMPLE.staleness + 1)
    expect_revert(w.p, "oracle: price is stale", w.trades.close_position, pid, sender=ALICE,
                  delay=SIMPLE.staleness + 1)
    assert w.engine.mark_to_market(pid) == w.engine.close_settlement(pid).to_trader > 0
    w.set_price(P0 // 2)
    assert w.engine.mark_to_market(pid) == 0 and w.engine.close_settlement(pid).bad_debt > 0


def test_take_slot_refuses_slots_past_the_nonce_range():
    w = make_world()
    # The last slot whose vault nonce fits 32 bits (engine nonces start at 1).
    w.engine.vault_count = U32 - NONCE_BEFORE_VAULTS - 1
    pid = w.open()
    assert pid >> 32 == U32 - NONCE_BEFORE_VAULTS
    w.wait(60)
    undone = expect_revert(w.p, "engine: vault slots exhausted", w.open, who=BOB)
    assert undone > 0       # the accrual (and its event) came first
    w.trades.close_position(pid, sender=ALICE)
    assert w.open(who=BOB) >> 32 == pid >> 32     # a recycled slot needs no new nonce


def test_vault_pays_only_for_the_engine():
    w = make_world()
    pid = w.open()
    vault = w.engine._vault_at(w.vault(pid))
    assert (vault.ENGINE, vault.TOKEN) == (w.engine.address, w.token.address)
    expect_revert(w.p, "vault: caller is not the engine", vault.pay, STRANGER, 1, sender=STRANGER)
    vault.pay(BOB, 1, sender=w.engine.address)
    assert w.bal(w.vault(pid)) == 1_000 * USDC - 1


def test_lens_reads_token_and_share_balances():
    w = make_world()
    who = [ALICE, LP, w.pool.address, "nobody"]
    assert w.p.lens.balances(w.token.address, who) == [w.bal(a) for a in who]
    assert w.p.lens.balances(w.pool.address, who) == [w.pool.balanceOf(a) for a in who]
    with pytest.raises(Revert):
        w.p.lens.balances(w.token.address, ["x"] * (MAX_HOLDERS + 1))
    with pytest.raises(Revert):
        w.p.lens.balances("no contract", [ALICE])


def test_a_vault_frozen_between_two_payments_reverts_the_exit():
    """Vault.pay_exit's last guard: a token that froze a vault after its
    first payment (none known can: USDC's blacklist is not a hook) would
    leave the exit part paid, which the engine cannot account; refused."""
    from model.errors import Revert
    from model.journal import Journal
    from model.vault import Vault

    class FreezesAfterOnePayment:
        address = "0xtoken"

        def __init__(self):
            self.balanceOf = {"0xvault": 10, "0xinsurance": 0}
            self.paid = 0

        def transfer(self, to, amount, *, sender):
            if sender == "0xvault" and self.paid:
                raise Revert("Blacklistable: account is blacklisted")
            self.paid += amount
            self.balanceOf[sender] -= amount
            return True

    token, j = FreezesAfterOnePayment(), Journal()
    vault, insurance = (Vault(j, a, "0xengine", token) for a in ("0xvault", "0xinsurance"))
    with pytest.raises(Revert, match="vault: frozen during the exit"):
        vault.pay_exit("0xa", 4, "0xb", 6, "0xc", 0, "0xpool", insurance, sender="0xengine")
    # Frozen before anything moved, the exit settles frozen: nothing paid, the balance reported.
    token.paid = 1
    assert vault.pay_exit("0xa", 4, "0xb", 6, "0xc", 0, "0xpool", insurance, sender="0xengine") == (False, 6)


ENGINE_MODULES = ("engine.py", "risk.py", "positions.py", "markets.py", "transfers.py", "guardian.py", "pool.py")
# Reached by tests in this module rather than test_reverts' tables.
COVERED_HERE = {"engine: vault slots exhausted", "vault: caller is not the engine", "vault: frozen during the exit"}


def test_every_reason_in_the_engine_modules_is_covered():
    """test_reverts scans engine.py and pool.py; since the split the engine's
    reasons live in its modules too: the same demand over all of them."""
    root = Path(__file__).resolve().parents[2] / "model"
    found = set()
    for name in ENGINE_MODULES + ("vault.py",):
        found |= set(re.findall(r'require\([^"]*?"([^"]+)"\)', (root / name).read_text(), re.S))
    found |= set(re.findall(r'return "(oracle: [^"]+)"', (root / "markets.py").read_text()))
    covered = {c.reason for c in ENGINE + POOL} | {r for r, _ in BAD_PARAMS} | COVERED_HERE
    assert found - covered == set()
