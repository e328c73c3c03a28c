"""Worked examples: every figure below is derived by hand in the comments.

Market SIMPLE (tests/model/support.py): 10% initial margin, 5% maintenance,
10 bps open and close fees, 1% liquidation fee with a 5 USDC floor, 20% of what a liquidation
leaves goes to insurance, profit capped at 300% of size, borrow rate 1e9
per second (1e18 = 100% of notional). Price 2,000 USD with 8 decimals:
P0 = 200_000_000_000. USDC has 6 decimals: 1 USDC = 1_000_000.

The standard position is a 10x long: size 10_000 USDC = 10_000_000_000
for 1_010 USDC, of which the open fee ceil(1e10 * 10 / 1e4) = 10_000_000
goes to the pool and 1_000_000_000 becomes collateral.
"""
import pytest

from model.env import ZERO_ADDRESS
from model.engine_events import PositionLiquidated

from .support import ALICE, BOB, KEEPER, OWNER, P0, T0, USDC, expect_revert, make_world, params

S = 10_000_000_000      # standard size
C = 1_000_000_000       # standard collateral
A = 1_010_000_000       # standard amount paid: C + open fee 10_000_000
LP_ASSETS = 1_000_000 * USDC
INSURANCE = 10_000 * USDC


def standard(is_long=True, who=ALICE, **world):
    w = make_world(**world)
    pid = w.open(who=who, is_long=is_long, size=S, amount=A)
    return w, pid


def test_open_splits_fee_collateral_and_reserves_max_profit():
    w = make_world()
    w.wait(100)   # index at open: 1e9 per second * 100 s = 1e11
    size, amount = 10_000_000_001, 1_010_000_002
    # open fee = ceil(10_000_000_001 * 10 / 10_000) = ceil(10_000_000.0010) = 10_000_001
    # collateral = 1_010_000_002 - 10_000_001 = 1_000_000_001
    # initial margin = ceil(10_000_000_001 * 1_000 / 10_000) = ceil(1_000_000_000.1) = 1_000_000_001:
    # met exactly; one unit less paid and the rounded-up margin is missed.
    expect_revert(w.p, "engine: leverage above maximum", w.open, size=size, amount=amount - 1)
    alice = w.bal(ALICE)
    pid = w.open(size=size, amount=amount)
    # first slot, first generation: (1 << 32) | 1
    assert pid == 4_294_967_297
    v = w.engine.position(pid)
    assert (v.is_open, v.owner, v.is_long, v.size) == (True, ALICE, True, size)
    assert v.collateral == 1_000_000_001
    assert v.entry_price == P0
    assert v.entry_index == 100_000_000_000
    # reserve = floor(10_000_000_001 * 30_000 / 10_000) = 30_000_000_003
    assert v.reserve == 30_000_000_003
    assert w.engine.total_reserved == 30_000_000_003
    st = w.engine.market_state(w.market)
    assert (st.oi_long, st.oi_short) == (size, 0)
    assert (st.borrow_index, st.last_accrual) == (100_000_000_000, T0 + 100)
    assert w.bal(ALICE) == alice - 1_010_000_002
    assert w.bal(v.vault) == 1_000_000_001
    assert w.bal(w.pool.address) == LP_ASSETS + 10_000_001
    assert w.engine.open_positions == 1


def test_pnl_rounds_against_the_trader_both_ways():
    w = make_world()
    size, amount = 10_000_000_001, 1_010_000_002
    long_id = w.open(ALICE, True, size, amount)
    short_id = w.open(BOB, False, size, amount)
    # No time passes, so no borrow fee: equity = collateral + pnl.
    # Price +3_000 (2000.00003 USD): exact move value
    #   10_000_000_001 * 3_000 / 200_000_000_000 = 150.000000015
    # the long's profit rounds down to 150, the short's loss up to 151.
    w.set_price(P0 + 3_000)
    assert w.engine.health(long_id).pnl == 150
    assert w.engine.health(short_id).pnl == -151
    assert w.engine.health(short_id).equity == 1_000_000_001 - 151
    # Price -3_000: the same figures with sides swapped.
    w.set_price(P0 - 3_000)
    assert w.engine.health(long_id).pnl == -151
    assert w.engine.health(short_id).pnl == 150
    # One tick: exact value 10_000_000_001 / 2e11 = 0.05. A profit of 0 but
    # a loss of 1: a round trip of one-tick moves can only cost the trader.
    w.set_price(P0 + 1)
    assert (w.engine.health(long_id).pnl, w.engine.health(short_id).pnl) == (0, -1)
    w.set_price(P0 - 1)
    assert (w.engine.health(long_id).pnl, w.engine.health(short_id).pnl) == (-1, 0)


def test_borrow_fee_accrues_per_second_and_rounds_up():
    w = make_world()
    size = 10_000_000_001
    pid = w.open(ALICE, True, size, 1_010_000_002)          # at T0: entry index 0
    w.set_price(P0)   # a round at T0 (the open filled at one a second before)
    w.wait(1)
    # index 1e9: fee = ceil(10_000_000_001 * 1e9 / 1e18) = ceil(10.000000001) = 11
    assert w.engine.health(pid).borrow_fee == 11
    w.wait(3_599)
    # index 3.6e12: fee = ceil(10_000_000_001 * 3.6e12 / 1e18) = ceil(36_000.0000036) = 36_001
    assert w.engine.health(pid).borrow_fee == 36_001
    # health() is a view: the stored index has not moved since listing.
    st = w.engine.market_state(w.market)
    assert (st.borrow_index, st.last_accrual) == (0, T0)
    # A new rate applies from now on: the hour so far is accrued at the old one.
    w.engine.set_market_params(w.market, params(borrow_rate=2 * 10**9), sender=OWNER)
    st = w.engine.market_state(w.market)
    assert (st.borrow_index, st.last_accrual) == (3_600_000_000_000, T0 + 3_600)
    w.set_price(P0)   # keep the feed fresh (staleness 3_600 s)
    w.wait(100)
    # index 3.6e12 + 2e9 * 100 = 3.8e12: fee = ceil(38_000.0000038) = 38_001
    assert w.engine.health(pid).borrow_fee == 38_001
    late = w.open(BOB, True, size, 1_010_000_002)
    assert w.engine.position(late).entry_index == 3_800_000_000_000
    w.wait(10)
    # Bob owes only from his own entry: ceil(10_000_000_001 * 2e10 / 1e18) = ceil(200.00000002) = 201
    assert w.engine.health(late).borrow_fee == 201
    # and Alice: index 3.82e12: ceil(38_200.00000382) = 38_201
    assert w.engine.health(pid).borrow_fee == 38_201


def _close(w, pid, who=ALICE):
    vault = w.vault(pid)
    before = {k: w.bal(k) for k in (who, w.pool.address, vault, w.engine.INSURANCE)}
    s = w.trades.close_position(pid, sender=who)
    after = {k: w.bal(k) for k in before}
    return s, {k: after[k] - before[k] for k in before}, vault


def test_close_with_profit_pool_pays():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(2_200 * 10**8)
    # pnl = 1e10 * (2.2e11 - 2e11) / 2e11 = 1_000_000_000 (under the 3e10 cap)
    # borrow fee = ceil(1e10 * (1e9 * 1_000) / 1e18) = 10_000
    # close fee = ceil(1e10 * 10 / 1e4) = 10_000_000
    # value = 1e9 + 1e9 - 10_010_000 = 1_989_990_000 >= collateral:
    #   the vault returns all 1e9 and the pool pays 989_990_000.
    s, delta, vault = _close(w, pid)
    assert (s.pnl, s.borrow_fee, s.trading_fee) == (1_000_000_000, 10_000, 10_000_000)
    assert (s.to_trader, s.from_pool, s.to_pool, s.bad_debt) == (1_000_000_000, 989_990_000, 0, 0)
    assert delta == {ALICE: 1_989_990_000, w.pool.address: -989_990_000, vault: -C, w.engine.INSURANCE: 0}
    assert w.bal(vault) == 0
    assert w.engine.total_reserved == 0 and w.engine.open_positions == 0
    st = w.engine.market_state(w.market)
    assert (st.oi_long, st.oi_short) == (0, 0)
    assert not w.engine.position(pid).is_open


def test_close_with_loss_vault_pays_pool():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(1_900 * 10**8)
    # loss = ceil(1e10 * 1e10 / 2e11) = 500_000_000; fees 10_000 + 10_000_000
    # value = 1e9 - 5e8 - 10_010_000 = 489_990_000: trader gets that, pool the
    # other 1e9 - 489_990_000 = 510_010_000, both out of the vault.
    s, delta, vault = _close(w, pid)
    assert (s.pnl, s.to_trader, s.to_pool, s.from_pool, s.bad_debt) == (-500_000_000, 489_990_000, 510_010_000, 0, 0)
    assert delta == {ALICE: 489_990_000, w.pool.address: 510_010_000, vault: -C, w.engine.INSURANCE: 0}


@pytest.mark.parametrize("insurance, cover", [
    (INSURANCE, 510_010_000),   # fully covered
    (200 * USDC, 200_000_000),  # partly: the other 310_010_000 is the pool's loss
    (0, 0),                     # not at all
])
def test_close_bankrupt_insurance_covers_then_pool_absorbs(insurance, cover):
    w, pid = standard(insurance=insurance)
    w.wait(1_000)
    w.set_price(1_700 * 10**8)
    # loss = 1e10 * 3e10 / 2e11 = 1_500_000_000
    # value = 1e9 - 1.5e9 - 10_010_000 = -510_010_000: the vault pays the pool
    # all 1e9, and the bad debt of 510_010_000 is covered by insurance as far
    # as its balance goes. Nothing is asked of the trader.
    s, delta, vault = _close(w, pid)
    assert (s.to_trader, s.from_pool, s.to_pool, s.bad_debt) == (0, 0, C, 510_010_000)
    assert delta == {ALICE: 0, w.pool.address: C + cover, vault: -C, w.engine.INSURANCE: -cover}
    assert w.bal(w.engine.INSURANCE) == insurance - cover


def _liquidate(w, pid):
    vault = w.vault(pid)
    keys = (KEEPER, w.pool.address, vault, w.engine.INSURANCE, ALICE)
    before = {k: w.bal(k) for k in keys}
    out = w.engine.liquidate(pid, sender=KEEPER)
    return out, {k: w.bal(k) - before[k] for k in keys}, vault


def test_liquidation_boundary_is_strict():
    w, pid = standard()
    w.set_price(1_900 * 10**8)
    # No time, no fee: equity = 1e9 - 5e8 = 5e8 = maintenance ceil(1e10 * 500 / 1e4): healthy.
    assert not w.engine.health(pid).liquidatable
    expect_revert(w.p, "engine: position is healthy", w.engine.liquidate, pid, sender=KEEPER)
    w.wait(1)
    # borrow fee ceil(1e10 * 1e9 / 1e18) = 10 tips it: equity 499_999_990
    # reward ceil(1e10 * 100 / 1e4) = 1e8; rest 399_999_990
    # insurance floor(399_999_990 * 0.2) = 79_999_998; pool 9e8 - 79_999_998 = 820_000_002
    out, delta, vault = _liquidate(w, pid)
    assert (out.reward, out.insurance_cut, out.to_pool, out.bad_debt) == (100_000_000, 79_999_998, 820_000_002, 0)
    assert delta == {KEEPER: 100_000_000, w.pool.address: 820_000_002, vault: -C,
                     w.engine.INSURANCE: 79_999_998, ALICE: 0}


def test_liquidation_split_reward_insurance_pool():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(1_900 * 10**8 - 1)
    # loss = ceil(1e10 * 10_000_000_001 / 2e11) = ceil(500_000_000.05) = 500_000_001
    # borrow fee = 10_000; equity = 1e9 - 500_000_001 - 10_000 = 499_989_999 < 5e8
    # reward = min(1e8, 1e9) = 1e8; rest = 399_989_999 = remainder (<= 9e8)
    # insurance = floor(399_989_999 * 2_000 / 10_000) = floor(79_997_999.8) = 79_997_999
    # pool = 1e9 - 1e8 - 79_997_999 = 820_002_001
    h = w.engine.health(pid)
    assert (h.equity, h.liquidatable) == (499_989_999, True)
    out, delta, vault = _liquidate(w, pid)
    assert out == PositionLiquidated(pid, KEEPER, price=1_900 * 10**8 - 1, pnl=-500_000_001, borrow_fee=10_000, reward=100_000_000,
                                     insurance_cut=79_997_999, to_pool=820_002_001, bad_debt=0, insurance_cover=0)
    assert delta == {KEEPER: 100_000_000, w.pool.address: 820_002_001, vault: -C,
                     w.engine.INSURANCE: 79_997_999, ALICE: 0}
    assert w.engine.open_positions == 0 and w.engine.total_reserved == 0


def test_liquidation_with_bad_debt():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(1_700 * 10**8)
    # equity = 1e9 - 1.5e9 - 10_000 = -500_010_000; reward 1e8 is still paid
    # from the vault, so rest = -600_010_000: bad debt 600_010_000, nothing
    # for insurance's cut; the pool gets 9e8 from the vault + 600_010_000
    # from insurance.
    out, delta, vault = _liquidate(w, pid)
    assert (out.reward, out.insurance_cut, out.to_pool) == (100_000_000, 0, 900_000_000)
    assert (out.bad_debt, out.insurance_cover) == (600_010_000, 600_010_000)
    assert delta == {KEEPER: 100_000_000, w.pool.address: 1_500_010_000, vault: -C,
                     w.engine.INSURANCE: -600_010_000, ALICE: 0}


def test_liquidation_reward_capped_by_collateral():
    w, pid = standard()
    # Unrealised profit counts towards initial margin: at 2_400 USD pnl is
    # 1e10 * 4e10 / 2e11 = 2e9, so all but the 10 USDC minimum can be taken out:
    # equity = 1e7 + 2e9 >= 1e9.
    w.set_price(2_400 * 10**8)
    w.engine.remove_collateral(pid, 990_000_000, sender=ALICE)
    assert w.engine.position(pid).collateral == 10_000_000
    w.set_price(P0)
    w.wait(10)
    # borrow fee = ceil(1e10 * 1e10 / 1e18) = 100; equity = 1e7 - 100
    # reward = min(1e8, 1e7) = 1e7: the keeper gets the whole vault;
    # rest = -100 is bad debt that insurance covers.
    out, delta, vault = _liquidate(w, pid)
    assert (out.reward, out.insurance_cut, out.to_pool) == (10_000_000, 0, 0)
    assert (out.bad_debt, out.insurance_cover) == (100, 100)
    assert delta == {KEEPER: 10_000_000, w.pool.address: 100, vault: -10_000_000,
                     w.engine.INSURANCE: -100, ALICE: 0}


def _small(w):
    # The smallest position: 100 USDC at 10x for 10.1 USDC (open fee
    # ceil(1e8 * 10 / 1e4) = 100_000), collateral 10 USDC = min collateral.
    pid = w.open(size=100 * USDC, amount=10_100_000)
    assert w.engine.position(pid).collateral == 10 * USDC
    w.set_price(1_880 * 10**8)
    # No time: no borrow fee. pnl = -1e8 * 1.2e10 / 2e11 = -6e6; equity 4e6 < 5e6.
    return pid


def test_liquidation_reward_floor_on_a_small_position():
    # Review finding 5: the 1% fee is ceil(1e8 * 100 / 1e4) = 1e6 (1 USDC);
    # the floor lifts it to 5e6, paid from the 1e7 of collateral although the
    # equity is 4e6: rest = -1e6 is bad debt, covered by insurance; nothing is
    # left for insurance's cut; the pool gets 1e7 - 5e6 = 5e6 from the vault.
    w = make_world()
    pid = _small(w)
    out, delta, vault = _liquidate(w, pid)
    assert out == PositionLiquidated(pid, KEEPER, price=1_880 * 10**8, pnl=-6_000_000, borrow_fee=0, reward=5_000_000, insurance_cut=0,
                                     to_pool=5_000_000, bad_debt=1_000_000, insurance_cover=1_000_000)
    assert delta == {KEEPER: 5_000_000, w.pool.address: 6_000_000, vault: -10_000_000,
                     w.engine.INSURANCE: -1_000_000, ALICE: 0}


def test_liquidation_reward_floor_of_zero_is_the_bps_fee():
    # min_liquidation_reward = 0: reward 1e6; rest 3e6, insurance 20% = 6e5,
    # pool 1e7 - 1e6 - 6e5 = 8.4e6 (the rule before the floor).
    w = make_world(params(min_liquidation_reward=0))
    pid = _small(w)
    out, delta, vault = _liquidate(w, pid)
    assert (out.reward, out.insurance_cut, out.to_pool, out.bad_debt) == (1_000_000, 600_000, 8_400_000, 0)


def test_liquidation_reward_floor_capped_by_collateral():
    # The owner raises min collateral and the floor to 50 USDC over a 10 USDC
    # position: its liquidation pays the whole vault (1e7), not 5e7; the
    # equity 4e6 leaves 6e6 of bad debt, covered by insurance.
    w = make_world()
    pid = _small(w)
    w.engine.set_market_params(w.market, params(min_collateral=50 * USDC, min_liquidation_reward=50 * USDC),
                               sender=OWNER)
    out, delta, vault = _liquidate(w, pid)
    assert (out.reward, out.insurance_cut, out.to_pool) == (10_000_000, 0, 0)
    assert (out.bad_debt, out.insurance_cover) == (6_000_000, 6_000_000)
    assert delta == {KEEPER: 10_000_000, w.pool.address: 6_000_000, vault: -10_000_000,
                     w.engine.INSURANCE: -6_000_000, ALICE: 0}


def test_partial_decrease_in_profit_pool_pays_net():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(2_200 * 10**8)
    # Close 4e9 of 1e10. Reserve 3e10 -> floor(6e9 * 3) = 1.8e10: 1.2e10 released.
    # pnl on the part = min(4e9 * 2e10 / 2e11, 1.2e10) = 4e8
    # borrow fee is the whole position's: 10_000; close fee ceil(4e9 * 10 / 1e4) = 4e6
    # net = 4e8 - 4_010_000 = 395_990_000: paid by the pool, collateral untouched.
    alice, pool = w.bal(ALICE), w.bal(w.pool.address)
    w.trades.decrease_position(pid, 4_000_000_000, sender=ALICE)
    v = w.engine.position(pid)
    assert (v.size, v.collateral, v.entry_price, v.entry_index) == (6_000_000_000, C, P0, 1_000_000_000_000)
    assert w.bal(ALICE) - alice == 395_990_000
    assert w.bal(w.pool.address) - pool == -395_990_000
    assert w.bal(v.vault) == C
    assert w.engine.total_reserved == 18_000_000_000
    assert w.engine.market_state(w.market).oi_long == 6_000_000_000
    # The borrow fee was settled: the clock restarts for what remains.
    assert w.engine.health(pid).borrow_fee == 0


def test_partial_decrease_in_loss_vault_pays_pool():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(1_900 * 10**8)
    # pnl on 4e9 = -ceil(4e9 * 1e10 / 2e11) = -2e8; net = -2e8 - 10_000 - 4e6 = -204_010_000
    # the vault pays the pool 204_010_000: collateral 795_990_000.
    # Remaining 6e9: equity 795_990_000 - 3e8 = 495_990_000 >= maintenance 3e8.
    alice, pool = w.bal(ALICE), w.bal(w.pool.address)
    w.trades.decrease_position(pid, 4_000_000_000, sender=ALICE)
    v = w.engine.position(pid)
    assert (v.size, v.collateral) == (6_000_000_000, 795_990_000)
    assert w.bal(v.vault) == 795_990_000
    assert (w.bal(ALICE) - alice, w.bal(w.pool.address) - pool) == (0, 204_010_000)
    assert w.engine.health(pid).equity == 495_990_000


def test_partial_decrease_profit_capped_by_released_reserve():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(10_000 * 10**8)
    # pnl on 4e9 at 5x = 4e9 * 8e11 / 2e11 = 1.6e10, capped at the released 1.2e10
    # net = 1.2e10 - 10_000 - 4e6 = 11_995_990_000
    alice = w.bal(ALICE)
    w.trades.decrease_position(pid, 4_000_000_000, sender=ALICE)
    assert w.bal(ALICE) - alice == 11_995_990_000
    assert w.engine.total_reserved == 18_000_000_000


def test_increase_long_entry_rounds_up():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(2_100 * 10**8)
    # Add 5e9 at 2.1e11. Average entry keeps size/entry additive:
    #   num = 1.5e10 * 2e11 * 2.1e11 = 6.3e32; den = 1e10 * 2.1e11 + 5e9 * 2e11 = 3.1e21
    #   6.3e32 / 3.1e21 = 203_225_806_451.61...: a long rounds up to 203_225_806_452.
    # Fees: borrow 10_000 (settled now) + open ceil(5e9 * 10 / 1e4) = 5e6.
    # Gain at 2.1e11 on the new entry:
    #   floor(1.5e10 * 6_774_193_548 / 203_225_806_452) = 499_999_999
    # (the parts separately would make 5e8 + 0). Margin ceil(1.5e10 * 0.1) = 1.5e9 needs
    #   1e9 + cd - 5_010_000 + 499_999_999 >= 1.5e9, i.e. cd >= 5_010_001:
    # the rounded-up entry costs the trader exactly one unit here.
    expect_revert(w.p, "engine: leverage above maximum", w.trades.increase_position, pid, 5_000_000_000,
                  5_010_000, sender=ALICE)
    alice, pool = w.bal(ALICE), w.bal(w.pool.address)
    w.trades.increase_position(pid, 5_000_000_000, 5_010_001, sender=ALICE)
    v = w.engine.position(pid)
    assert (v.size, v.entry_price, v.entry_index) == (15_000_000_000, 203_225_806_452, 1_000_000_000_000)
    assert v.collateral == 1_000_000_001 == w.bal(v.vault)
    assert (w.bal(ALICE) - alice, w.bal(w.pool.address) - pool) == (-5_010_001, 5_010_000)
    assert w.engine.total_reserved == v.reserve == 45_000_000_000
    assert w.engine.market_state(w.market).oi_long == 15_000_000_000
    h = w.engine.health(pid)
    assert (h.pnl, h.borrow_fee, h.equity) == (499_999_999, 0, 1_500_000_000)


def test_increase_short_entry_rounds_down():
    w, pid = standard(is_long=False, who=BOB)
    w.wait(1_000)
    w.set_price(2_100 * 10**8)
    # Same numbers; a short rounds the entry down to 203_225_806_451.
    # Loss at 2.1e11: ceil(1.5e10 * 6_774_193_549 / 203_225_806_451) = 500_000_001
    # (the parts separately: 5e8 + 0). Margin 1.5e9 needs
    #   1e9 + cd - 5_010_000 - 500_000_001 >= 1.5e9, i.e. cd >= 1_005_010_001.
    expect_revert(w.p, "engine: leverage above maximum", w.trades.increase_position, pid, 5_000_000_000,
                  1_005_010_000, sender=BOB)
    w.trades.increase_position(pid, 5_000_000_000, 1_005_010_001, sender=BOB)
    v = w.engine.position(pid)
    assert (v.size, v.entry_price, v.collateral) == (15_000_000_000, 203_225_806_451, 2_000_000_001)
    h = w.engine.health(pid)
    assert (h.pnl, h.equity) == (-500_000_001, 1_500_000_000)


def test_remove_collateral_keeps_initial_margin():
    w, pid = standard()
    w.wait(1_000)
    w.set_price(2_020 * 10**8)
    # pnl = 1e10 * 2e9 / 2e11 = 1e8; borrow fee 10_000; margin 1e9:
    #   1e9 - x + 1e8 - 10_000 >= 1e9  <=>  x <= 99_990_000
    expect_revert(w.p, "engine: margin too low", w.engine.remove_collateral, pid, 99_990_001, sender=ALICE)
    alice = w.bal(ALICE)
    w.engine.remove_collateral(pid, 99_990_000, sender=ALICE)
    v = w.engine.position(pid)
    assert v.collateral == 900_010_000 == w.bal(v.vault)
    assert w.bal(ALICE) - alice == 99_990_000
    # The fee is checked, not charged: the position still owes from index 0,
    # while the market's index was brought up to date.
    assert v.entry_index == 0
    assert w.engine.market_state(w.market).borrow_index == 1_000_000_000_000
    assert w.engine.health(pid).equity == 1_000_000_000


@pytest.mark.parametrize("is_long, liq", [(True, 190_000_200_000), (False, 209_999_800_000)])
def test_liquidation_price_is_the_last_healthy_price(is_long, liq):
    w, pid = standard(is_long=is_long)
    w.wait(1_000)
    # slack = collateral - (borrow fee + maintenance) = 1e9 - (10_000 + 5e8) = 499_990_000
    # move = floor(2e11 * 499_990_000 / 1e10) = 9_999_800_000
    # long: 2e11 - move = 190_000_200_000; short: 2e11 + move = 209_999_800_000
    h = w.engine.health(pid)
    assert h.liquidation_price == liq
    step = -1 if is_long else 1
    w.set_price(liq)
    h = w.engine.health(pid)
    # loss there = ceil(1e10 * 9_999_800_000 / 2e11) = 499_990_000: equity = 5e8 = maintenance
    assert (h.equity, h.maintenance_margin, h.liquidatable) == (500_000_000, 500_000_000, False)
    expect_revert(w.p, "engine: position is healthy", w.engine.liquidate, pid, sender=KEEPER)
    w.set_price(liq + step)
    # one tick further: loss ceil(499_990_000.05) = 499_990_001
    h = w.engine.health(pid)
    assert (h.equity, h.liquidatable) == (499_999_999, True)
    w.engine.liquidate(pid, sender=KEEPER)


def test_liquidation_price_above_entry_when_already_liquidatable():
    w, pid = standard()
    w.set_price(2_400 * 10**8)
    w.engine.remove_collateral(pid, 990_000_000, sender=ALICE)
    w.wait(10)
    # collateral 1e7, borrow fee 100: slack = 1e7 - (100 + 5e8) = -490_000_100 < 0
    # move up = ceil(2e11 * 490_000_100 / 1e10) = 9_800_002_000: liq = 209_800_002_000.
    # The long needs the price above its entry to be healthy.
    assert w.engine.health(pid).liquidation_price == 209_800_002_000
    w.set_price(209_800_002_000)
    # gain = floor(1e10 * 9_800_002_000 / 2e11) = 490_000_100: equity = 1e7 + 490_000_100 - 100 = 5e8
    h = w.engine.health(pid)
    assert (h.equity, h.liquidatable) == (500_000_000, False)
    w.set_price(209_800_001_999)
    # gain = floor(490_000_099.95) = 490_000_099: equity 499_999_999
    assert w.engine.health(pid).liquidatable


def test_recycled_slot_gets_a_new_id_and_the_old_id_is_dead():
    w, first = standard()
    w.trades.close_position(first, sender=ALICE)
    second = w.open(BOB)
    # same vault slot 1, generation 2: (1 << 32) | 2
    assert second == 4_294_967_298 and w.vault(second) == w.vault(first)
    assert w.engine.vault_count == 1
    assert not w.engine.position(first).is_open
    # The old id is nobody's: the book refuses to take a close for it, the engine any action on it.
    expect_revert(w.p, "orders: not your open position", w.trades.close_position, first, sender=ALICE)
    expect_revert(w.p, "engine: position not open", w.engine.add_collateral, first, 1, sender=ALICE)
    assert w.engine.owner_of(first) == ZERO_ADDRESS and w.engine.owner_of(second) == BOB
    assert w.engine.position(second).owner == BOB


def test_freed_vaults_are_reused_last_in_first_out():
    w = make_world()
    a, b, c = (w.open(who) for who in (ALICE, BOB, ALICE))
    assert [x >> 32 for x in (a, b, c)] == [1, 2, 3]
    w.trades.close_position(b, sender=BOB)
    w.trades.close_position(a, sender=ALICE)
    # free stack: 1 on top of 2; a new vault only once both are taken again
    nxt = [w.open(BOB) for _ in range(3)]
    assert [(x >> 32, x & 0xFFFFFFFF) for x in nxt] == [(1, 2), (2, 2), (4, 1)]
    assert w.engine.vault_count == 4
