"""Position vaults: only the engine moves their funds, each holds exactly
its position's collateral, and recycled vaults start clean under a new id."""
import ape
import pytest

from .helpers import cancelled, SLOT_POS_WORD0, ZERO, hashmap_slot, position_id, usd

SIZE = usd(10_000)
AMOUNT = usd(1_010)
GEN_MASK = 2**32 - 1


@pytest.fixture
def pos(open_pos, alice, clock):
    clock.at(0)
    pid, _ = open_pos(alice, SIZE, AMOUNT)
    return pid


# ---------------------------------------------------------------- Vault.pay

@pytest.mark.parametrize("who", ["alice", "owner", "guardian", "stranger"])
def test_only_the_engine_can_pay_from_a_vault(project, engine, token, insurance, pos, request, who):
    account = request.getfixturevalue(who)
    targets = [engine.position(pos).vault, insurance, engine.VAULT_IMPLEMENTATION()]
    before = [token.balanceOf(t) for t in targets]
    for target in targets:
        with ape.reverts("vault: caller is not the engine"):
            project.Vault.at(target).pay(account, 1, sender=account)
    assert [token.balanceOf(t) for t in targets] == before


def test_position_vault_is_a_proxy_wired_to_the_engine(project, engine, token, pos):
    vault = project.Vault.at(engine.position(pos).vault)
    assert (vault.ENGINE(), vault.TOKEN()) == (engine.address, token.address)
    code = bytes(ape.chain.provider.get_code(vault.address))
    assert len(code) == 45 and code[10:30] == bytes.fromhex(engine.VAULT_IMPLEMENTATION()[2:])


def test_settling_one_position_never_touches_another_vault(trade, engine, token, alice, bob, carol, liquidator, open_pos,
                                                           set_price, clock):
    clock.at(0)
    a, _ = open_pos(alice, SIZE, AMOUNT)
    clock.at(10)
    b, _ = open_pos(bob, SIZE, AMOUNT, is_long=False)
    clock.at(20)
    c, _ = open_pos(carol, SIZE, usd(2_010))
    vaults = [engine.position(p).vault for p in (a, b, c)]
    assert [token.balanceOf(v) for v in vaults] == [usd(1_000), usd(1_000), usd(2_000)]
    clock.at(25)
    set_price(1_880)
    clock.at(30)
    engine.liquidate(a, sender=liquidator)
    assert [token.balanceOf(v) for v in vaults] == [0, usd(1_000), usd(2_000)]
    clock.at(40)
    trade.close_position(b, sender=bob)
    assert [token.balanceOf(v) for v in vaults] == [0, 0, usd(2_000)]


# ---------------------------------------------------------------- recycling

def test_recycled_vault_gets_a_new_id_and_no_leftovers(lens, trade, engine, token, alice, bob, pos, open_pos, set_price, clock):
    vault = engine.position(pos).vault
    clock.at(5)
    set_price(2_200)  # alice closes at a profit: the vault is emptied to her
    clock.at(10)
    trade.close_position(pos, sender=alice)
    assert token.balanceOf(vault) == 0
    clock.at(15)
    new, receipt = open_pos(bob, usd(20_000), usd(2_020), is_long=False)
    assert new == position_id(1, 2) and new != pos
    assert not receipt.events.filter(engine.VaultCreated)
    view = engine.position(new)
    assert (view.slot, view.vault, view.owner, view.is_long, view.size, view.collateral) == (
        1, vault, bob.address, False, usd(20_000), usd(2_000))
    assert token.balanceOf(vault) == usd(2_000)
    assert engine.vault_count() == 1
    # The old id is gone for good: every view and action treats it as closed.
    assert engine.position(pos).is_open is False
    assert tuple(engine.position(pos))[:4] == (0, 0, ZERO, False)
    with ape.reverts("engine: position not open"):
        lens.health(engine, pos)
    for call, args in [(engine.add_collateral, (usd(1),)), (engine.remove_collateral, (usd(1),)),
                       (engine.liquidate, ())]:
        with ape.reverts("engine: position not open"):
            call(pos, *args, sender=alice)
    for call, args in [(trade.increase_position, (usd(1), usd(1))), (trade.decrease_position, (usd(1),))]:
        with cancelled("engine: position not open"):
            call(pos, *args, sender=alice)
    # A close escrows nothing: the book refuses it for an id that is not open.
    with cancelled("orders: not your open position"):
        trade.close_position(pos, sender=alice)
    # The previous owner has no say over the new position in the same vault.
    with cancelled("engine: caller is not the position owner"):
        trade.decrease_position(new, usd(1), sender=alice)
    with cancelled("orders: not your open position"):
        trade.close_position(new, sender=alice)
    assert token.balanceOf(vault) == usd(2_000)
    assert engine.position(new).collateral == usd(2_000)


def test_liquidated_vault_is_recycled(engine, token, liquidator, bob, pos, open_pos, set_price, clock):
    vault = engine.position(pos).vault
    clock.at(5)
    set_price(1_880)
    clock.at(10)
    engine.liquidate(pos, sender=liquidator)
    clock.at(15)
    new, _ = open_pos(bob, SIZE, AMOUNT)
    assert (new, engine.position(new).vault, token.balanceOf(vault)) == (position_id(1, 2), vault, usd(1_000))


def test_free_vaults_are_reused_last_in_first_out(trade, engine, alice, bob, carol, open_pos):
    ids = [open_pos(who, SIZE, AMOUNT)[0] for who in (alice, bob, carol)]
    assert ids == [position_id(s, 1) for s in (1, 2, 3)]
    trade.close_position(ids[0], sender=alice)
    trade.close_position(ids[2], sender=carol)
    reused = [open_pos(alice, SIZE, AMOUNT)[0] for _ in range(3)]
    assert reused == [position_id(3, 2), position_id(1, 2), position_id(4, 1)]
    assert engine.vault_count() == 4
    assert engine.open_positions() == 4


def test_dust_sent_to_a_vault_is_swept_to_the_pool_at_its_exit(trade, engine, token, alice, bob, stranger, pos,
                                                                open_pos):
    # Tokens sent straight to a vault are not collateral: settlement pays
    # the recorded amounts, then the exit sweeps what is left to the pool
    # (issue 9's donations), so a recycled vault starts empty.
    vault = engine.position(pos).vault
    pool = engine.POOL()
    token.transfer(vault, 7, sender=stranger)
    before = token.balanceOf(pool)
    receipt = trade.close_position(pos, sender=alice)
    [swept] = receipt.events.filter(engine.DonationSwept)
    assert (swept.position_id, swept.vault, swept.amount) == (pos, vault, 7)
    [closed] = receipt.events.filter(engine.PositionClosed)
    assert token.balanceOf(vault) == 0
    assert closed.pnl == 0 and token.balanceOf(pool) - before == closed.to_pool + 7
    new, _ = open_pos(bob, SIZE, AMOUNT)
    assert engine.position(new).collateral == usd(1_000) == token.balanceOf(vault)


def test_a_free_vault_s_donation_is_swept_to_the_insurance_fund_by_the_next_open(project, trade, engine, token, alice,
                                                                                  bob, stranger, pos, open_pos):
    # Issue 9's donations, the free-vault case: the open that takes a free
    # vault first sends what was sent to it to the insurance vault
    # (Vault.Swept), so the new position's vault holds exactly its
    # collateral. Only the engine's call sweeps: asked by anyone else,
    # frozen() names any control and moves nothing.
    vault = engine.position(pos).vault
    trade.close_position(pos, sender=alice)
    assert token.balanceOf(vault) == 0
    token.transfer(vault, 9, sender=stranger)
    proxy = project.Vault.at(vault)
    held = token.balanceOf(stranger)
    proxy.frozen(stranger, sender=stranger)
    assert token.balanceOf(vault) == 9 and token.balanceOf(stranger) == held
    insurance = engine.INSURANCE()
    before = token.balanceOf(insurance)
    new, receipt = open_pos(bob, SIZE, AMOUNT)
    assert engine.position(new).vault == vault
    [swept] = [log for log in receipt.decode_logs(proxy.Swept)]
    assert (swept.to, swept.amount) == (insurance, 9)
    assert token.balanceOf(insurance) - before == 9
    assert token.balanceOf(vault) == engine.position(new).collateral == usd(1_000)


def test_slot_generations_run_out_at_2_pow_32(trade, engine, alice, bob, pos, open_pos, poke, snapshot):
    # A slot's generation lives in 32 bits of word0. Reaching 2**32 - 1
    # takes four billion open/close cycles, so word0 is written directly:
    # alice's closed position, now at generation 2**32 - 2.
    trade.close_position(pos, sender=alice)
    # positions.vy's layout: owner | market << 160 | is_long << 176 | (closed: no
    # is_open bit 177) | max profit << 178 | margin << 195 | fee << 209 | generation << 224.
    word0 = int(alice.address, 16) | 1 << 160 | 1 << 176 | 30_000 << 178 | 500 << 195 | 100 << 209
    poke(engine.address, hashmap_slot(SLOT_POS_WORD0, 1), word0 | (GEN_MASK - 1) << 224)
    last, _ = open_pos(bob, SIZE, AMOUNT)
    assert last == position_id(1, GEN_MASK)
    assert engine.position(last).owner == bob.address
    trade.close_position(last, sender=bob)
    before = snapshot(holders=[bob])
    with cancelled("engine: slot generations exhausted"):
        trade.open_position(1, True, SIZE, AMOUNT, sender=bob)
    assert snapshot(holders=[bob]) == before
    assert engine.vault_count() == 1
