"""Constructor wiring of Engine, the vault implementation, the insurance
vault and the pool, plus the Lens."""
import ape

from .helpers import DECIMALS_OFFSET, INSURANCE_FUND, LP_DEPOSIT, LP_SHARES, MAX_UINT256, ZERO


def test_engine_creates_its_vault_implementation_insurance_and_pool(lens, fresh_engine, token, owner, guardian):
    impl, ins, pool = fresh_engine.VAULT_IMPLEMENTATION(), fresh_engine.INSURANCE(), fresh_engine.POOL()
    assert fresh_engine.TOKEN() == token.address
    assert len({impl, ins, pool}) == 3 and ZERO not in {impl, ins, pool}
    assert fresh_engine.owner() == owner.address
    assert fresh_engine.pending_owner() == ZERO
    assert fresh_engine.guardian() == guardian.address
    assert fresh_engine.paused() is False
    assert tuple(lens.totals(fresh_engine)) == (0, 0, 0, 0, 0, 0, 0, False)


def test_vault_implementation_and_insurance_proxy_point_at_engine_and_token(project, fresh_engine, token):
    for address in (fresh_engine.VAULT_IMPLEMENTATION(), fresh_engine.INSURANCE()):
        vault = project.Vault.at(address)
        assert vault.ENGINE() == fresh_engine.address
        assert vault.TOKEN() == token.address
    # The insurance vault is an EIP-1167 proxy of the implementation.
    code = bytes(ape.chain.provider.get_code(fresh_engine.INSURANCE()))
    assert len(code) == 45
    assert code[10:30] == bytes.fromhex(fresh_engine.VAULT_IMPLEMENTATION()[2:])


def test_pool_is_an_erc4626_over_the_token_with_max_allowance_to_engine(project, fresh_engine, token):
    pool = project.LiquidityPool.at(fresh_engine.POOL())
    assert pool.asset() == token.address
    assert pool.ENGINE() == fresh_engine.address
    # Shares carry the token's decimals plus the pool's decimals offset: 6 + 6.
    assert pool.DECIMALS_OFFSET() == DECIMALS_OFFSET
    assert (pool.name(), pool.symbol(), pool.decimals()) == ("isomargin LP", "imLP", token.decimals() + DECIMALS_OFFSET)
    assert token.allowance(pool, fresh_engine) == MAX_UINT256
    assert pool.totalSupply() == 0 and pool.totalAssets() == 0


def test_constructor_logs_guardian_and_ownership(fresh_engine, chain, owner, guardian):
    receipt = chain.get_receipt(fresh_engine.txn_hash)
    assert [log.guardian for log in receipt.events.filter(fresh_engine.GuardianSet)] == [guardian.address]
    transferred = receipt.events.filter(fresh_engine.OwnershipTransferred)
    assert [(log.previous_owner, log.new_owner) for log in transferred] == [(ZERO, owner.address)]


def test_constructor_reverts_when_token_approve_returns_false(FaultyToken, owner, deploy_engine):
    # The pool's constructor approves the engine; a token that answers False
    # must abort the whole deployment, not leave a pool the engine cannot pay from.
    bad = FaultyToken.deploy(False, sender=owner)
    with ape.reverts("pool: approve failed"):
        deploy_engine(bad)


def test_standard_world_totals(lens, engine, token, pool, insurance, lp):
    assert tuple(lens.totals(engine)) == (LP_DEPOSIT, LP_SHARES, 0, INSURANCE_FUND, 0, 0, 1, False)
    assert pool.balanceOf(lp) == LP_SHARES
    assert token.balanceOf(insurance) == INSURANCE_FUND


def test_lens_reads_many_balances(lens, token, engine, alice, bob, insurance, pool):
    out = lens.balances(token, [alice, bob, insurance, pool, engine])
    assert list(out) == [token.balanceOf(alice), token.balanceOf(bob), INSURANCE_FUND, LP_DEPOSIT, 0]
    assert list(lens.balances(token, [])) == []


def test_lens_caps_holders_at_1024(lens, token, alice):
    assert len(lens.balances(token, [alice.address] * 1024)) == 1024
    # Vyper's ABI decoder rejects a DynArray longer than its bound.
    with ape.reverts():
        lens.balances(token, [alice.address] * 1025)
