"""Engine.add_collateral, remove_collateral and fund_insurance."""
import ape
import pytest

from .helpers import INSURANCE_FUND, LP_DEPOSIT, MAX_U128, MINT, px, usd

SIZE = usd(10_000)


@pytest.fixture
def pos(open_pos, alice, clock):
    # 10,000 long at 2,000 with 2,000 collateral (fee 10): 5x.
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, usd(2_010))
    return pid


# ---------------------------------------------------------------- add

def test_add_collateral(engine, token, pool, alice, pos):
    vault = engine.position(pos).vault
    receipt = engine.add_collateral(pos, usd(500), sender=alice)
    assert engine.position(pos).collateral == usd(2_500)
    assert token.balanceOf(vault) == usd(2_500)
    assert token.balanceOf(alice) == MINT - usd(2_010) - usd(500)
    assert token.balanceOf(pool) == LP_DEPOSIT + usd(10)
    [log] = receipt.events.filter(engine.CollateralAdded)
    assert (log.position_id, log.amount, log.collateral) == (pos, usd(500), usd(2_500))


def test_add_collateral_needs_no_price_and_works_while_paused(engine, feed, owner, guardian, alice, pos):
    # Rescuing a position must not depend on the oracle or the pause switch.
    feed.set_answer(0, sender=owner)
    engine.pause(sender=guardian)
    receipt = engine.add_collateral(pos, usd(1), sender=alice)
    assert engine.position(pos).collateral == usd(2_001)
    assert not receipt.events.filter(engine.BorrowIndexAccrued)


def test_add_collateral_refused(engine, token, owner, alice, bob, pos, snapshot):
    before = snapshot([pos], [alice, bob])
    with ape.reverts("engine: caller is not the position owner"):
        engine.add_collateral(pos, usd(1), sender=bob)
    with ape.reverts("engine: position not open"):
        engine.add_collateral(pos + 1, usd(1), sender=alice)
    with ape.reverts("engine: zero amount"):
        engine.add_collateral(pos, 0, sender=alice)
    with ape.reverts("engine: amount too large"):
        engine.add_collateral(pos, MAX_U128 + 1, sender=alice)
    with ape.reverts("engine: amount too large"):
        engine.add_collateral(pos, 2**256 - 1, sender=alice)
    # Collateral is packed into 128 bits: 2,000 USDC + (2**128 - 2,000 USDC) overflows it by one.
    token.mint(alice, MAX_U128, sender=owner)
    with ape.reverts("engine: collateral too large"):
        engine.add_collateral(pos, MAX_U128 - usd(2_000) + 1, sender=alice)
    engine.add_collateral(pos, MAX_U128 - usd(2_000), sender=alice)
    assert engine.position(pos).collateral == MAX_U128
    before["balances"][0] += MAX_U128 - (MAX_U128 - usd(2_000))
    after = snapshot([pos], [alice, bob])
    assert after["balances"] == before["balances"]


def test_add_collateral_needs_allowance(engine, token, alice, pos):
    token.approve(engine, 0, sender=alice)
    with ape.reverts("erc20: insufficient allowance"):
        engine.add_collateral(pos, usd(1), sender=alice)


# ---------------------------------------------------------------- remove

def test_remove_collateral(engine, token, alice, pos, clock):
    vault = engine.position(pos).vault
    index_before = engine.position(pos).entry_index
    clock.at(10)
    receipt = engine.remove_collateral(pos, usd(900), sender=alice)
    # Equity after: 1,100 - 0.000318 borrow fee >= 1,000 initial margin. The
    # borrow fee is only counted, not charged: collateral is exactly 1,100.
    view = engine.position(pos)
    assert (view.collateral, view.entry_index) == (usd(1_100), index_before)
    assert token.balanceOf(vault) == usd(1_100)
    assert token.balanceOf(alice) == MINT - usd(2_010) + usd(900)
    [log] = receipt.events.filter(engine.CollateralRemoved)
    assert (log.position_id, log.amount, log.collateral, log.price) == (pos, usd(900), usd(1_100), px(2_000))
    assert len(receipt.events.filter(engine.BorrowIndexAccrued)) == 1


def test_remove_collateral_counts_unrealised_profit(engine, token, alice, pos, set_price, clock):
    # At 2,500 the long is up 2,500: 2,000 - 1,990 + 2,500 >= 1,000.
    clock.at(5)
    set_price(2_500)
    clock.at(10)
    engine.remove_collateral(pos, usd(1_990), sender=alice)
    assert engine.position(pos).collateral == usd(10)


def test_remove_collateral_margin_includes_the_borrow_fee(engine, alice, pos, clock, snapshot):
    # Down to exactly 1,000 would be exactly 10x, but 10 s of borrow fee
    # (0.000318) puts equity just under the initial margin.
    clock.at(10)
    before = snapshot([pos], [alice])
    with ape.reverts("engine: margin too low"):
        engine.remove_collateral(pos, usd(1_000), sender=alice)
    assert snapshot([pos], [alice]) == before
    # At t0+20 the fee is 0.000635: leaving 1,000.000635 is exactly enough.
    clock.at(20)
    engine.remove_collateral(pos, usd(1_000) - 635, sender=alice)
    assert engine.position(pos).collateral == usd(1_000) + 635


def test_remove_collateral_keeps_the_minimum(engine, alice, open_pos):
    # 50 USDC long with 20 collateral: initial margin is only 5, the 10 USDC minimum binds.
    pid, _ = open_pos(alice, usd(50), usd(20.05))
    with ape.reverts("engine: collateral below minimum"):
        engine.remove_collateral(pid, usd(10) + 1, sender=alice)
    engine.remove_collateral(pid, usd(10), sender=alice)
    assert engine.position(pid).collateral == usd(10)


def test_remove_collateral_refused(engine, feed, owner, guardian, alice, bob, pos, snapshot, clock):
    before = snapshot([pos], [alice, bob])
    with ape.reverts("engine: caller is not the position owner"):
        engine.remove_collateral(pos, usd(1), sender=bob)
    with ape.reverts("engine: position not open"):
        engine.remove_collateral(pos + 1, usd(1), sender=alice)
    with ape.reverts("engine: zero amount"):
        engine.remove_collateral(pos, 0, sender=alice)
    with ape.reverts("engine: amount exceeds collateral"):
        engine.remove_collateral(pos, usd(2_000), sender=alice)
    clock.at(3_700)
    with ape.reverts("oracle: price is stale"):
        engine.remove_collateral(pos, usd(1), sender=alice)
    feed.set_answer(-5, sender=owner)
    with ape.reverts("oracle: price not positive"):
        engine.remove_collateral(pos, usd(1), sender=alice)
    feed.set_answer(px(2_000), sender=owner)
    engine.pause(sender=guardian)
    with ape.reverts("engine: paused"):
        engine.remove_collateral(pos, usd(1), sender=alice)
    assert snapshot([pos], [alice, bob])["positions"] == before["positions"]
    assert snapshot([pos], [alice, bob])["balances"] == before["balances"]


# ---------------------------------------------------------------- insurance

def test_fund_insurance(lens, engine, token, insurance, stranger):
    receipt = engine.fund_insurance(usd(123), sender=stranger)
    [log] = receipt.events.filter(engine.InsuranceFunded)
    assert (log.funder, log.amount) == (stranger.address, usd(123))
    assert token.balanceOf(insurance) == INSURANCE_FUND + usd(123)
    assert token.balanceOf(stranger) == MINT - usd(123)
    assert lens.totals(engine).insurance_assets == INSURANCE_FUND + usd(123)
    with ape.reverts("engine: zero amount"):
        engine.fund_insurance(0, sender=stranger)
    token.approve(engine, 0, sender=stranger)
    with ape.reverts("erc20: insufficient allowance"):
        engine.fund_insurance(1, sender=stranger)
