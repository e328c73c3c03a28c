"""MockFiatToken: Circle FiatTokenV2_2's roles, blacklist, pause and reasons,
and its twin model.fiat_token.FiatToken.

Roles are four accounts of their own (owner, masterMinter, pauser,
blacklister) and one minter with an allowance of 1,000,000,000 USDC;
alice and bob start with 1,000 USDC each.
"""
from pathlib import Path

import ape
import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from model.errors import Revert
from model.fiat_token import FiatToken
from model.journal import Journal

from .helpers import ETH_PARAMS, LP_DEPOSIT, MAX_UINT256, ZERO, lp_deposit, px, request_id, settle, usd

MAX_BALANCE = 2**255 - 1
MINTER_ALLOWANCE = usd(1_000_000_000)
START = usd(1_000)

PAUSED = "Pausable: paused"
BLACKLISTED = "Blacklistable: account is blacklisted"


@pytest.fixture(scope="session")
def master_minter(accounts):
    return accounts[12]


@pytest.fixture(scope="session")
def pauser(accounts):
    return accounts[13]


@pytest.fixture(scope="session")
def blacklister(accounts):
    return accounts[14]


@pytest.fixture(scope="session")
def minter(accounts):
    return accounts[15]


def _deploy(project, owner, master_minter, pauser, blacklister):
    return project.MockFiatToken.deploy("USD Coin", "USDC", "USD", 6, master_minter, pauser, blacklister, owner,
                                        sender=owner)


@pytest.fixture(scope="session")
def fiat(project, owner, master_minter, pauser, blacklister, minter, alice, bob):
    tok = _deploy(project, owner, master_minter, pauser, blacklister)
    tok.configureMinter(minter, MINTER_ALLOWANCE, sender=master_minter)
    tok.mint(alice, START, sender=minter)
    tok.mint(bob, START, sender=minter)
    return tok


def _events(receipt):
    return [(log.event_name, dict(log.event_arguments)) for log in receipt.events]


def _state(tok, holders):
    """Everything a reverted call must leave as it was."""
    return dict(
        roles=(tok.owner(), tok.masterMinter(), tok.pauser(), tok.blacklister(), tok.paused()),
        supply=tok.totalSupply(),
        balances=[tok.balanceOf(h) for h in holders],
        blacklisted=[tok.isBlacklisted(h) for h in holders],
        minters=[(tok.isMinter(h), tok.minterAllowance(h)) for h in holders],
        allowances=[tok.allowance(a, b) for a in holders for b in holders],
        nonces=[tok.nonces(h) for h in holders],
    )


# ---------------------------------------------------------------- deployment

def test_deployment(project, fiat, owner, master_minter, pauser, blacklister, minter):
    assert (fiat.name(), fiat.symbol(), fiat.currency(), fiat.decimals(), fiat.version()) == \
        ("USD Coin", "USDC", "USD", 6, "2")
    assert (fiat.owner(), fiat.masterMinter(), fiat.pauser(), fiat.blacklister()) == \
        (owner.address, master_minter.address, pauser.address, blacklister.address)
    assert fiat.paused() is False
    assert fiat.totalSupply() == 2 * START
    # As initializeV2_1 / V2_2 leave USDC: the token's own address is blacklisted.
    assert fiat.isBlacklisted(fiat) is True
    fresh = _deploy(project, owner, master_minter, pauser, blacklister)
    assert _events(fresh.creation_metadata.receipt) == []     # initialize logs nothing


@pytest.mark.parametrize("role, reason", [
    (4, "FiatToken: new masterMinter is the zero address"),
    (5, "FiatToken: new pauser is the zero address"),
    (6, "FiatToken: new blacklister is the zero address"),
    (7, "FiatToken: new owner is the zero address"),
])
def test_deployment_refuses_a_zero_role(project, owner, role, reason):
    args = ["USD Coin", "USDC", "USD", 6, owner, owner, owner, owner]
    args[role] = ZERO
    with ape.reverts(reason):
        project.MockFiatToken.deploy(*args, sender=owner)


def test_domain_separator_is_circles(fiat, chain):
    from eth_abi import encode
    from eth_utils import keccak
    typehash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                             [typehash, keccak(text="USD Coin"), keccak(text="2"), chain.chain_id, fiat.address]))
    assert fiat.DOMAIN_SEPARATOR() == expected


# ---------------------------------------------------------------- owner and role changes

def test_owner_replaces_every_role(fiat, owner, stranger, carol):
    for fn, getter, event, field in (
        (fiat.updateMasterMinter, fiat.masterMinter, "MasterMinterChanged", "newMasterMinter"),
        (fiat.updatePauser, fiat.pauser, "PauserChanged", "newAddress"),
        (fiat.updateBlacklister, fiat.blacklister, "BlacklisterChanged", "newBlacklister"),
    ):
        receipt = fn(carol, sender=owner)
        assert getter() == carol.address
        assert _events(receipt) == [(event, {field: carol.address})]
    receipt = fiat.transferOwnership(stranger, sender=owner)
    assert _events(receipt) == [("OwnershipTransferred", {"previousOwner": owner.address,
                                                          "newOwner": stranger.address})]
    assert fiat.owner() == stranger.address
    with ape.reverts("Ownable: caller is not the owner"):
        fiat.updatePauser(owner, sender=owner)


def test_role_changes_are_owner_only_and_refuse_zero(fiat, owner, stranger, master_minter):
    for fn in (fiat.updateMasterMinter, fiat.updatePauser, fiat.updateBlacklister, fiat.transferOwnership):
        with ape.reverts("Ownable: caller is not the owner"):
            fn(stranger, sender=stranger)
        with ape.reverts("Ownable: caller is not the owner"):
            fn(stranger, sender=master_minter)
    for fn, reason in ((fiat.updateMasterMinter, "FiatToken: new masterMinter is the zero address"),
                       (fiat.updatePauser, "Pausable: new pauser is the zero address"),
                       (fiat.updateBlacklister, "Blacklistable: new blacklister is the zero address"),
                       (fiat.transferOwnership, "Ownable: new owner is the zero address")):
        with ape.reverts(reason):
            fn(ZERO, sender=owner)


def test_the_owner_holds_no_other_role(fiat, owner, alice):
    with ape.reverts("FiatToken: caller is not the masterMinter"):
        fiat.configureMinter(owner, 1, sender=owner)
    with ape.reverts("Pausable: caller is not the pauser"):
        fiat.pause(sender=owner)
    with ape.reverts("Blacklistable: caller is not the blacklister"):
        fiat.blacklist(alice, sender=owner)
    with ape.reverts("FiatToken: caller is not a minter"):
        fiat.mint(owner, 1, sender=owner)


# ---------------------------------------------------------------- minters

def test_configure_and_remove_minter(fiat, master_minter, stranger, alice):
    with ape.reverts("FiatToken: caller is not the masterMinter"):
        fiat.configureMinter(stranger, 5, sender=stranger)
    receipt = fiat.configureMinter(stranger, usd(5), sender=master_minter)
    assert _events(receipt) == [("MinterConfigured", {"minter": stranger.address, "minterAllowedAmount": usd(5)})]
    assert (fiat.isMinter(stranger), fiat.minterAllowance(stranger)) == (True, usd(5))
    # Configuring again replaces the allowance, it does not add to it.
    fiat.configureMinter(stranger, usd(2), sender=master_minter)
    assert fiat.minterAllowance(stranger) == usd(2)
    fiat.mint(alice, 1, sender=stranger)
    with ape.reverts("FiatToken: caller is not the masterMinter"):
        fiat.removeMinter(stranger, sender=stranger)
    receipt = fiat.removeMinter(stranger, sender=master_minter)
    assert _events(receipt) == [("MinterRemoved", {"oldMinter": stranger.address})]
    assert (fiat.isMinter(stranger), fiat.minterAllowance(stranger)) == (False, 0)
    with ape.reverts("FiatToken: caller is not a minter"):
        fiat.mint(alice, 1, sender=stranger)


def test_mint_spends_the_minter_allowance(fiat, minter, carol):
    receipt = fiat.mint(carol, usd(7), sender=minter)
    assert _events(receipt) == [
        ("Mint", {"minter": minter.address, "to": carol.address, "amount": usd(7)}),
        ("Transfer", {"sender": ZERO, "receiver": carol.address, "value": usd(7)}),
    ]
    assert fiat.balanceOf(carol) == usd(7)
    assert fiat.totalSupply() == 2 * START + usd(7)
    assert fiat.minterAllowance(minter) == MINTER_ALLOWANCE - 2 * START - usd(7)


def test_mint_reasons(fiat, minter, master_minter, carol):
    with ape.reverts("FiatToken: mint to the zero address"):
        fiat.mint(ZERO, 1, sender=minter)
    with ape.reverts("FiatToken: mint amount not greater than 0"):
        fiat.mint(carol, 0, sender=minter)
    left = fiat.minterAllowance(minter)
    with ape.reverts("FiatToken: mint amount exceeds minterAllowance"):
        fiat.mint(carol, left + 1, sender=minter)
    fiat.mint(carol, left, sender=minter)
    assert fiat.minterAllowance(minter) == 0


def test_mint_bounds(fiat, minter, master_minter, carol, stranger, alice):
    # V2_2's packed word caps one balance at 2**255 - 1; SafeMath caps the supply.
    fiat.configureMinter(minter, MAX_UINT256, sender=master_minter)
    with ape.reverts("FiatTokenV2_2: Balance exceeds (2^255 - 1)"):
        fiat.mint(carol, MAX_BALANCE + 1, sender=minter)
    fiat.mint(carol, MAX_BALANCE, sender=minter)
    with ape.reverts("FiatTokenV2_2: Balance exceeds (2^255 - 1)"):
        fiat.mint(carol, 1, sender=minter)
    # The supply check comes first, though stranger's balance would fit.
    with ape.reverts("SafeMath: addition overflow"):
        fiat.mint(stranger, MAX_BALANCE, sender=minter)
    with ape.reverts("FiatTokenV2_2: Balance exceeds (2^255 - 1)"):
        fiat.transfer(carol, 1, sender=alice)


def test_burn(fiat, minter, alice):
    fiat.transfer(minter, usd(10), sender=alice)
    allowance = fiat.minterAllowance(minter)
    receipt = fiat.burn(usd(4), sender=minter)
    assert _events(receipt) == [
        ("Burn", {"burner": minter.address, "amount": usd(4)}),
        ("Transfer", {"sender": minter.address, "receiver": ZERO, "value": usd(4)}),
    ]
    assert fiat.balanceOf(minter) == usd(6)
    assert fiat.totalSupply() == 2 * START - usd(4)
    assert fiat.minterAllowance(minter) == allowance    # burning gives no allowance back
    with ape.reverts("FiatToken: burn amount not greater than 0"):
        fiat.burn(0, sender=minter)
    with ape.reverts("FiatToken: burn amount exceeds balance"):
        fiat.burn(usd(6) + 1, sender=minter)
    with ape.reverts("FiatToken: caller is not a minter"):
        fiat.burn(1, sender=alice)


# ---------------------------------------------------------------- ERC20

def test_transfer(fiat, alice, bob):
    receipt = fiat.transfer(bob, usd(3), sender=alice)
    assert _events(receipt) == [("Transfer", {"sender": alice.address, "receiver": bob.address, "value": usd(3)})]
    assert (fiat.balanceOf(alice), fiat.balanceOf(bob)) == (START - usd(3), START + usd(3))
    fiat.transfer(alice, usd(1), sender=alice)
    assert fiat.balanceOf(alice) == START - usd(3)
    with ape.reverts("ERC20: transfer amount exceeds balance"):
        fiat.transfer(bob, START, sender=alice)
    with ape.reverts("ERC20: transfer to the zero address"):
        fiat.transfer(ZERO, 1, sender=alice)


def test_transfer_from_spends_even_an_infinite_allowance_silently(fiat, alice, bob, carol):
    fiat.approve(bob, MAX_UINT256, sender=alice)
    receipt = fiat.transferFrom(alice, carol, usd(2), sender=bob)
    # Circle's: no infinite-allowance exception, and no Approval on spending.
    assert _events(receipt) == [("Transfer", {"sender": alice.address, "receiver": carol.address,
                                              "value": usd(2)})]
    assert fiat.allowance(alice, bob) == MAX_UINT256 - usd(2)
    assert fiat.balanceOf(carol) == usd(2)


def test_transfer_from_reasons(fiat, alice, bob, carol):
    fiat.approve(bob, usd(5), sender=alice)
    with ape.reverts("ERC20: transfer amount exceeds allowance"):
        fiat.transferFrom(alice, carol, usd(5) + 1, sender=bob)
    with ape.reverts("ERC20: transfer to the zero address"):
        fiat.transferFrom(alice, ZERO, 1, sender=bob)
    fiat.approve(bob, START + 1, sender=alice)
    with ape.reverts("ERC20: transfer amount exceeds balance"):
        fiat.transferFrom(alice, carol, START + 1, sender=bob)
    # From the zero address: its allowance is 0, so only 0 gets this far.
    with ape.reverts("ERC20: transfer from the zero address"):
        fiat.transferFrom(ZERO, carol, 0, sender=bob)


def test_approve_increase_decrease(fiat, alice, bob):
    receipt = fiat.approve(bob, usd(5), sender=alice)
    assert _events(receipt) == [("Approval", {"owner": alice.address, "spender": bob.address, "value": usd(5)})]
    receipt = fiat.increaseAllowance(bob, usd(2), sender=alice)
    assert _events(receipt) == [("Approval", {"owner": alice.address, "spender": bob.address, "value": usd(7)})]
    fiat.decreaseAllowance(bob, usd(6), sender=alice)
    assert fiat.allowance(alice, bob) == usd(1)
    with ape.reverts("ERC20: decreased allowance below zero"):
        fiat.decreaseAllowance(bob, usd(1) + 1, sender=alice)
    fiat.approve(bob, MAX_UINT256, sender=alice)
    with ape.reverts("SafeMath: addition overflow"):
        fiat.increaseAllowance(bob, 1, sender=alice)
    for fn, amount in ((fiat.approve, 1), (fiat.increaseAllowance, 1), (fiat.decreaseAllowance, 0)):
        with ape.reverts("ERC20: approve to the zero address"):
            fn(ZERO, amount, sender=alice)


# ---------------------------------------------------------------- blacklist

def test_blacklist_and_unblacklist(fiat, blacklister, alice, stranger):
    with ape.reverts("Blacklistable: caller is not the blacklister"):
        fiat.blacklist(alice, sender=stranger)
    receipt = fiat.blacklist(alice, sender=blacklister)
    assert _events(receipt) == [("Blacklisted", {"_account": alice.address})]
    assert fiat.isBlacklisted(alice) is True
    assert fiat.balanceOf(alice) == START    # frozen under the flag, not taken
    with ape.reverts("Blacklistable: caller is not the blacklister"):
        fiat.unBlacklist(alice, sender=stranger)
    receipt = fiat.unBlacklist(alice, sender=blacklister)
    assert _events(receipt) == [("UnBlacklisted", {"_account": alice.address})]
    assert (fiat.isBlacklisted(alice), fiat.balanceOf(alice)) == (False, START)
    fiat.transfer(stranger, 1, sender=alice)


def test_blacklisted_sender_and_receiver_of_transfer(fiat, blacklister, alice, bob):
    fiat.blacklist(bob, sender=blacklister)
    with ape.reverts(BLACKLISTED):
        fiat.transfer(bob, 1, sender=alice)          # to
    with ape.reverts(BLACKLISTED):
        fiat.transfer(alice, 1, sender=bob)          # msg.sender


def test_token_refuses_itself_as_payee(fiat, alice):
    with ape.reverts(BLACKLISTED):
        fiat.transfer(fiat, 1, sender=alice)


@pytest.mark.parametrize("who", ["msg.sender", "from", "to"])
def test_blacklisted_party_of_transfer_from(fiat, blacklister, alice, bob, carol, who):
    fiat.approve(bob, usd(5), sender=alice)
    fiat.blacklist({"msg.sender": bob, "from": alice, "to": carol}[who], sender=blacklister)
    with ape.reverts(BLACKLISTED):
        fiat.transferFrom(alice, carol, 1, sender=bob)


def test_blacklisted_spender_can_be_approved_but_cannot_spend(fiat, blacklister, alice, bob, carol):
    # V2_2 dropped V1's blacklist checks on approve; transferFrom's msg.sender check remains.
    fiat.blacklist(bob, sender=blacklister)
    fiat.approve(bob, usd(5), sender=alice)
    fiat.increaseAllowance(bob, 1, sender=alice)
    assert fiat.allowance(alice, bob) == usd(5) + 1
    with ape.reverts(BLACKLISTED):
        fiat.transferFrom(alice, carol, 1, sender=bob)
    fiat.approve(carol, 1, sender=bob)               # a blacklisted owner may approve too


def test_blacklisted_minter_and_payee_of_mint_and_burn(fiat, blacklister, minter, alice, carol):
    fiat.transfer(minter, usd(1), sender=alice)
    fiat.blacklist(carol, sender=blacklister)
    with ape.reverts(BLACKLISTED):
        fiat.mint(carol, 1, sender=minter)
    fiat.blacklist(minter, sender=blacklister)
    with ape.reverts(BLACKLISTED):
        fiat.mint(alice, 1, sender=minter)
    with ape.reverts(BLACKLISTED):
        fiat.burn(1, sender=minter)


def test_blacklist_check_order(fiat, blacklister, pauser, alice, bob, carol, stranger):
    # Pause, then role, then blacklist (caller, payer, payee), then amounts.
    fiat.blacklist(carol, sender=blacklister)
    with ape.reverts(BLACKLISTED):
        fiat.transfer(carol, START + 1, sender=alice)   # before the balance check
    with ape.reverts("FiatToken: caller is not a minter"):
        fiat.mint(carol, 1, sender=stranger)           # role before blacklist
    fiat.pause(sender=pauser)
    with ape.reverts(PAUSED):
        fiat.transfer(carol, 1, sender=alice)           # pause before blacklist


# ---------------------------------------------------------------- pause

def test_pause_and_unpause(fiat, pauser, stranger):
    with ape.reverts("Pausable: caller is not the pauser"):
        fiat.pause(sender=stranger)
    receipt = fiat.pause(sender=pauser)
    assert _events(receipt) == [("Pause", {})]
    assert fiat.paused() is True
    fiat.pause(sender=pauser)     # again: allowed, as Circle's
    with ape.reverts("Pausable: caller is not the pauser"):
        fiat.unpause(sender=stranger)
    receipt = fiat.unpause(sender=pauser)
    assert _events(receipt) == [("Unpause", {})]
    assert fiat.paused() is False


def test_pause_blocks_every_movement_and_minting(fiat, pauser, master_minter, minter, alice, bob, chain,
                                                   clock):
    fiat.approve(bob, usd(5), sender=alice)
    fiat.transfer(minter, usd(1), sender=alice)
    fiat.pause(sender=pauser)
    deadline = clock.t0 + 1_000
    v, r, s = _permit_signature(fiat, chain, alice, bob.address, 1, 0, deadline)
    for call in (
        lambda: fiat.transfer(bob, 1, sender=alice),
        lambda: fiat.transferFrom(alice, bob, 1, sender=bob),
        lambda: fiat.approve(bob, 1, sender=alice),
        lambda: fiat.increaseAllowance(bob, 1, sender=alice),
        lambda: fiat.decreaseAllowance(bob, 1, sender=alice),
        lambda: fiat.permit(alice, bob, 1, deadline, v, r, s, sender=bob),
        lambda: fiat.mint(alice, 1, sender=minter),
        lambda: fiat.burn(1, sender=minter),
        lambda: fiat.configureMinter(alice, 1, sender=master_minter),
    ):
        with ape.reverts(PAUSED):
            call()
    fiat.unpause(sender=pauser)
    fiat.permit(alice, bob, 1, deadline, v, r, s, sender=bob)
    assert fiat.allowance(alice, bob) == 1


def test_what_works_paused(fiat, pauser, master_minter, blacklister, owner, minter, alice, carol):
    # Circle leaves removing a minter, the blacklist and every role change open while paused.
    fiat.pause(sender=pauser)
    fiat.removeMinter(minter, sender=master_minter)
    fiat.blacklist(alice, sender=blacklister)
    fiat.unBlacklist(alice, sender=blacklister)
    fiat.updateMasterMinter(carol, sender=owner)
    fiat.updateBlacklister(carol, sender=owner)
    fiat.updatePauser(carol, sender=owner)
    fiat.transferOwnership(carol, sender=owner)
    assert fiat.paused() is True
    fiat.unpause(sender=carol)
    assert fiat.paused() is False


# ---------------------------------------------------------------- permit

def _permit_signature(tok, chain, signer, spender, amount, nonce, deadline):
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": "USD Coin", "version": "2", "chainId": chain.chain_id, "verifyingContract": tok.address},
        "message": {"owner": signer.address, "spender": spender, "value": amount, "nonce": nonce,
                    "deadline": deadline},
    }
    signed = Account.sign_typed_data(signer.private_key, full_message=typed)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_permit(fiat, chain, alice, bob, stranger, clock):
    deadline = clock.t0 + 1_000
    v, r, s = _permit_signature(fiat, chain, alice, bob.address, usd(9), 0, deadline)
    receipt = fiat.permit(alice, bob, usd(9), deadline, v, r, s, sender=stranger)
    assert _events(receipt) == [("Approval", {"owner": alice.address, "spender": bob.address, "value": usd(9)})]
    assert (fiat.allowance(alice, bob), fiat.nonces(alice)) == (usd(9), 1)
    with ape.reverts("EIP2612: invalid signature"):      # replayed: nonce 1 now
        fiat.permit(alice, bob, usd(9), deadline, v, r, s, sender=stranger)
    v, r, s = _permit_signature(fiat, chain, alice, bob.address, 1, 1, MAX_UINT256)
    clock.at(10**6)
    fiat.permit(alice, bob, 1, MAX_UINT256, v, r, s, sender=stranger)    # max never expires
    assert fiat.nonces(alice) == 2


def test_permit_reasons(fiat, chain, alice, bob, stranger, clock):
    deadline = clock.t0 + 5
    v, r, s = _permit_signature(fiat, chain, alice, bob.address, 1, 0, deadline)
    with ape.reverts("ECRecover: invalid signature 'v' value"):
        fiat.permit(alice, bob, 1, deadline, 29, r, s, sender=stranger)
    high_s = (2**256 - 1).to_bytes(32, "big")
    with ape.reverts("ECRecover: invalid signature 's' value"):
        fiat.permit(alice, bob, 1, deadline, v, r, high_s, sender=stranger)
    with ape.reverts("ECRecover: invalid signature"):
        fiat.permit(alice, bob, 1, deadline, v, b"\x00" * 32, s, sender=stranger)
    with ape.reverts("EIP2612: invalid signature"):       # signed for another value
        fiat.permit(alice, bob, 2, deadline, v, r, s, sender=stranger)
    with ape.reverts("ERC20: approve to the zero address"):
        zv, zr, zs = _permit_signature(fiat, chain, alice, ZERO, 1, 0, deadline)
        fiat.permit(alice, ZERO, 1, deadline, zv, zr, zs, sender=stranger)
    clock.at(6)
    with ape.reverts("FiatTokenV2: permit is expired"):
        fiat.permit(alice, bob, 1, deadline, v, r, s, sender=stranger)
    assert (fiat.allowance(alice, bob), fiat.nonces(alice)) == (0, 0)


# ---------------------------------------------------------------- reverts undo everything

def test_a_late_revert_leaves_chain_and_model_unchanged(project, owner, master_minter, pauser, blacklister,
                                                         minter, alice, carol):
    """The payee's balance cap fails after the payer's balance was written:
    the EVM drops the write, and the model's journal must too."""
    tok = _deploy(project, owner, master_minter, pauser, blacklister)
    twin = FiatToken(Journal(), tok.address, master_minter=master_minter.address, pauser=pauser.address,
                     blacklister=blacklister.address, owner=owner.address)
    tok.configureMinter(minter, MAX_UINT256, sender=master_minter)
    twin.configureMinter(minter.address, MAX_UINT256, sender=master_minter.address)
    for to, amount in ((carol, MAX_BALANCE), (alice, usd(5))):
        tok.mint(to, amount, sender=minter)
        twin.mint(to.address, amount, sender=minter.address)
    holders = [alice, carol, minter]
    before = _state(tok, holders)
    model_before = (dict(twin.balanceOf), twin.totalSupply, twin._journal.events[:])
    with ape.reverts("FiatTokenV2_2: Balance exceeds (2^255 - 1)"):
        tok.transfer(carol, 1, sender=alice)
    with pytest.raises(Revert, match=r"Balance exceeds"):
        twin.transfer(carol.address, 1, sender=alice.address)
    assert _state(tok, holders) == before
    assert (dict(twin.balanceOf), twin.totalSupply, twin._journal.events) == model_before
    assert twin.balanceOf[alice.address] == usd(5)


def test_reverted_calls_leave_state_unchanged(fiat, pauser, blacklister, minter, alice, bob, carol):
    holders = [alice, bob, carol, minter]
    fiat.approve(bob, usd(5), sender=alice)
    fiat.blacklist(carol, sender=blacklister)
    before = _state(fiat, holders)
    for call, reason in (
        (lambda: fiat.transferFrom(alice, carol, 1, sender=bob), BLACKLISTED),
        (lambda: fiat.transferFrom(alice, bob, usd(6), sender=bob), "ERC20: transfer amount exceeds allowance"),
        (lambda: fiat.mint(carol, 1, sender=minter), BLACKLISTED),
        (lambda: fiat.burn(1, sender=alice), "FiatToken: caller is not a minter"),
        (lambda: fiat.decreaseAllowance(bob, usd(6), sender=alice), "ERC20: decreased allowance below zero"),
    ):
        with ape.reverts(reason):
            call()
        assert _state(fiat, holders) == before


# ---------------------------------------------------------------- chain vs model, random sequences


amounts = st.one_of(st.integers(0, usd(1_500)), st.integers(0, usd(1_500)), st.integers(0, usd(1_500)),
                    st.sampled_from([1, MAX_BALANCE, MAX_BALANCE + 1, MAX_UINT256]))
# Weighted towards the funded traders (5, 6) and the minter (4), so that
# approve-then-spend, blacklist-then-move and pause-then-act sequences are
# common; a role holder (0-3) acts often enough to change its role.
actor = st.sampled_from([5, 6, 5, 6, 5, 6, 4, 4, 0, 1, 2, 3])
# A target may also be the zero address (-1) or the token itself (-2).
target = st.sampled_from([5, 6, 5, 6, 4, 0, 1, 2, 3, -1, -2])

ACTIONS = st.one_of(
    st.tuples(st.just("transfer"), actor, st.tuples(target, amounts)),
    st.tuples(st.just("transferFrom"), actor, st.tuples(target, target, amounts)),
    st.tuples(st.just("approve"), actor, st.tuples(target, amounts)),
    st.tuples(st.just("increaseAllowance"), actor, st.tuples(target, amounts)),
    st.tuples(st.just("decreaseAllowance"), actor, st.tuples(target, amounts)),
    st.tuples(st.just("mint"), actor, st.tuples(target, amounts)),
    st.tuples(st.just("burn"), actor, st.tuples(amounts)),
    st.tuples(st.just("configureMinter"), actor, st.tuples(target, amounts)),
    st.tuples(st.just("removeMinter"), actor, st.tuples(target)),
    st.tuples(st.just("blacklist"), actor, st.tuples(target)),
    st.tuples(st.just("unBlacklist"), actor, st.tuples(target)),
    st.tuples(st.just("pause"), actor, st.just(())),
    st.tuples(st.just("unpause"), actor, st.just(())),
    st.tuples(st.sampled_from(["updateMasterMinter", "updatePauser", "updateBlacklister", "transferOwnership"]),
              actor, st.tuples(target)),
)
ADDRESS_ARGS = {"transfer": (0,), "transferFrom": (0, 1), "approve": (0,), "increaseAllowance": (0,),
                "decreaseAllowance": (0,), "mint": (0,), "burn": (), "configureMinter": (0,), "removeMinter": (0,),
                "blacklist": (0,), "unBlacklist": (0,), "pause": (), "unpause": (), "updateMasterMinter": (0,),
                "updatePauser": (0,), "updateBlacklister": (0,), "transferOwnership": (0,)}


def _chain_step(tok, fn, sender, args):
    """(ok, reason, events) of one transaction on chain."""
    try:
        receipt = getattr(tok, fn)(*args, sender=sender)
    except ape.exceptions.ContractLogicError as err:
        return False, err.message, []
    return True, None, [(log.contract_address, log.event_name, dict(log.event_arguments)) for log in receipt.events]


def _model_step(twin, fn, sender, args):
    mark = len(twin._journal.events)
    try:
        getattr(twin, fn)(*args, sender=sender)
    except Revert as err:
        assert len(twin._journal.events) == mark
        return False, err.reason, []
    return True, None, [(e.address, e.name, e.event.args()) for e in twin._journal.events[mark:]]


def _compare(reader, tok, twin, addresses, where):
    """Roles, pause, supply, and every balance, blacklist flag, minter
    allowance and allowance between `addresses`, in one eth_call."""
    (owner, master_minter, pauser, blacklister, paused, supply, balances, blacklisted, minters,
     minter_allowances, allowances) = reader.read(tok, addresses)
    chain_state = dict(
        roles=(owner, master_minter, pauser, blacklister, paused, supply),
        balances=list(balances),
        blacklisted=list(blacklisted),
        minters=list(zip(minters, minter_allowances)),
        allowances=list(allowances),
    )
    model_state = dict(
        roles=(twin.owner, twin.masterMinter, twin.pauser, twin.blacklister, twin.paused, twin.totalSupply),
        balances=[twin.balanceOf[a] for a in addresses],
        blacklisted=[twin.isBlacklisted[a] for a in addresses],
        minters=[(twin.isMinter[a], twin.minterAllowance[a]) for a in addresses],
        allowances=[twin.allowance[(a, b)] for a in addresses for b in addresses],
    )
    for key in chain_state:
        assert chain_state[key] == model_state[key], f"{where}: {key} differs"


@pytest.fixture(scope="session")
def state_reader(owner):
    source = (Path(__file__).parent / "support" / "FiatStateReader.vy").read_text()
    return ape.compilers.compile_source("vyper", source, contractName="FiatStateReader").deploy(sender=owner)


@settings(max_examples=8)
@given(actions=st.lists(ACTIONS, min_size=1, max_size=15))
def test_chain_and_model_agree_on_random_sequences(project, accounts, state_reader, actions):
    """The same random actions, any actor, any target (the zero address and
    the token included), amounts up to the uint256 bounds: both succeed or
    both revert with the same reason, log the same events, and leave the
    same state, compared whole after every step."""
    actors = [accounts[i] for i in (0, 12, 13, 14, 15, 4, 5)]
    owner, master_minter, pauser, blacklister, minter, alice, bob = actors
    tok = _deploy(project, owner, master_minter, pauser, blacklister)
    twin = FiatToken(Journal(), tok.address, master_minter=master_minter.address, pauser=pauser.address,
                     blacklister=blacklister.address, owner=owner.address)
    names = [a.address for a in actors]

    def address(i):
        return ZERO if i == -1 else tok.address if i == -2 else names[i]

    setup = [("configureMinter", 1, (4, usd(10_000))), ("mint", 4, (5, usd(1_000))), ("mint", 4, (6, usd(1_000)))]
    every = names + [tok.address, ZERO]
    _compare(state_reader, tok, twin, every, "deployment")
    for step, (fn, who, raw) in enumerate(setup + actions):
        args = [address(x) if i in ADDRESS_ARGS[fn] else x for i, x in enumerate(raw)]
        on_chain = _chain_step(tok, fn, actors[who], args)
        in_model = _model_step(twin, fn, names[who], args)
        where = f"step {step}: {fn}{tuple(args)} by {names[who]}"
        assert on_chain == in_model, f"{where}: chain {on_chain}, model {in_model}"
        _compare(state_reader, tok, twin, every, where)


# ---------------------------------------------------------------- the protocol on this token, today

@pytest.fixture
def fiat_world(project, chain, deploy_engine, trade, fiat, owner, master_minter, minter, feed, lp, alice, liquidator):
    """An engine over MockFiatToken: ETH market 1, a 1,000,000 pool, alice
    (10,000) approved for the engine and its order book; with the Trades
    helper bound to it."""
    eng = deploy_engine(fiat)
    pl = project.LiquidityPool.at(eng.POOL())
    fiat.mint(lp, LP_DEPOSIT, sender=minter)
    fiat.mint(alice, usd(10_000), sender=minter)
    fiat.approve(pl, MAX_UINT256, sender=lp)
    fiat.approve(eng, MAX_UINT256, sender=alice)
    fiat.approve(eng.ORDERS(), MAX_UINT256, sender=alice)
    # Seeded before the market is listed: no price round to wait for.
    lp_deposit(chain, pl, lp, LP_DEPOSIT)
    eng.list_market(feed, ETH_PARAMS.as_tuple(), sender=owner)
    return eng, pl, trade.on(eng)


def _open(trades, eng, trader):
    receipt = trades.open_position(1, True, usd(10_000), usd(1_010), sender=trader)
    return receipt.events.filter(eng.PositionOpened)[0].position_id


def _held(orders, fiat):
    """The book's books: its balance is its escrow plus what it holds."""
    assert fiat.balanceOf(orders) == orders.pending_escrow() + orders.held_total()


def test_a_blacklisted_trader_closes_and_claims_to_another_address(
        project, fiat_world, fiat, blacklister, alice, bob, stranger, liquidator):
    """Issue 9, finding 3: the close used to pay alice straight from her
    vault, the token refused, and the position stayed open (even the
    request was refused: it escrowed the fee from her). Now the request
    escrows nothing, the proceeds come to the order book, and the payout
    the token refuses is held for her, claimable to any address."""
    eng, _, trades = fiat_world
    orders = project.OrderBook.at(eng.ORDERS())
    pid = _open(trades, eng, alice)
    fiat.blacklist(alice, sender=blacklister)
    keeper_before = fiat.balanceOf(liquidator)
    receipt = trades.close_position(pid, sender=alice, keeper=liquidator)
    assert eng.position(pid).is_open is False
    [closed] = receipt.events.filter(eng.PositionClosed)
    [held] = receipt.events.filter(orders.PayoutHeld)
    fee = fiat.balanceOf(liquidator) - keeper_before
    assert fee == orders.EXECUTION_FEE()           # paid out of the payout
    assert (held.owner, held.receiver, held.amount, held.reason) == (
        alice.address, alice.address, closed.to_trader - fee, BLACKLISTED)
    assert orders.claimable(alice, alice) == held.amount == orders.held_total()
    _held(orders, fiat)
    # Nobody else may take it; a blacklisted destination changes nothing.
    with ape.reverts("orders: caller is neither the owner nor the receiver"):
        orders.claim(alice, alice, stranger, sender=stranger)
    with ape.reverts(BLACKLISTED):
        orders.claim(alice, alice, alice, sender=alice)
    assert orders.claimable(alice, alice) == held.amount
    bob_before = fiat.balanceOf(bob)
    receipt = orders.claim(alice, alice, bob, sender=alice)
    assert fiat.balanceOf(bob) - bob_before == held.amount and orders.claimable(alice, alice) == 0 == orders.held_total()
    [claimed] = receipt.events.filter(orders.PayoutClaimed)
    assert (claimed.owner, claimed.receiver, claimed.to, claimed.amount) == (
        alice.address, alice.address, bob.address, held.amount)
    with ape.reverts("orders: nothing to claim"):
        orders.claim(alice, alice, bob, sender=alice)
    _held(orders, fiat)
    # What the token itself refuses stays refused: alice moves nothing herself.
    with ape.reverts(BLACKLISTED):
        fiat.transfer(alice, usd(1), sender=alice)


def test_a_close_pays_the_receiver_its_owner_names(project, fiat_world, fiat, blacklister, owner, feed, alice, bob,
                                                   carol, clock):
    """A trader who expects to be blacklisted (or wants the proceeds
    elsewhere) names a receiver; a receiver the token refuses is held for,
    and the receiver or the owner claims."""
    eng, _, trades = fiat_world
    orders = project.OrderBook.at(eng.ORDERS())
    clock.at(1_000)
    pid = _open(trades, eng, alice)
    clock.at(1_005)
    req = orders.request_close(pid, 0, bob, sender=alice)
    [r] = req.events.filter(orders.OrderRequested)
    assert r.receiver == bob.address == orders.orders(r.order_id).receiver and r.amount == 0
    fiat.blacklist(bob, sender=blacklister)
    clock.at(1_008)
    feed.set_answer(px(2_000), sender=owner)
    clock.at(1_010)
    receipt = orders.execute_order(r.order_id, sender=carol)
    [closed] = receipt.events.filter(eng.PositionClosed)
    [held] = receipt.events.filter(orders.PayoutHeld)
    assert (held.owner, held.receiver) == (alice.address, bob.address)
    assert held.amount == closed.to_trader - orders.EXECUTION_FEE()
    assert orders.claimable(alice, bob) == held.amount and orders.claimable(alice, alice) == 0
    # The owner claims what her blacklisted receiver could not take.
    orders.claim(alice, bob, carol, sender=alice)
    assert orders.claimable(alice, bob) == 0
    _held(orders, fiat)


def test_a_paused_token_makes_exits_wait(project, fiat_world, fiat, pauser, owner, feed, alice, liquidator, clock):
    """Issue 9, finding 4: with the token paused every token movement
    reverts. A close can now be requested (it escrows nothing); its
    execution waits with the token's reason ("Pausable: paused", which the
    keeper prints as "token paused"), never cancelled for it, and fills
    after the unpause. Liquidations wait the same way. The engine's own
    pause is the guardian's and still reads false."""
    eng, _, trades = fiat_world
    orders = project.OrderBook.at(eng.ORDERS())
    # fiat_world's set-up mined its own blocks after the clock's t0.
    clock.at(1_000)
    pid = _open(trades, eng, alice)
    clock.at(1_005)
    feed.set_answer(px(1_880), sender=owner)
    fiat.pause(sender=pauser)
    clock.at(1_010)
    with ape.reverts(PAUSED):
        eng.liquidate(pid, sender=liquidator)
    oid = orders.next_order_id()
    orders.request_close(pid, 0, sender=alice)
    clock.at(1_012)
    feed.set_answer(px(1_880), sender=owner)
    clock.at(1_014)
    with ape.reverts(PAUSED):
        orders.execute_order(oid, sender=liquidator)
    assert orders.orders(oid).owner == alice.address          # still pending
    assert eng.paused() is False
    fiat.unpause(sender=pauser)
    clock.at(1_016)
    assert orders.execute_order(oid, sender=liquidator).events.filter(orders.OrderExecuted)
    assert eng.position(pid).is_open is False
    _held(orders, fiat)


def test_the_keeper_says_a_paused_or_blacklisting_token_stopped_its_liquidation(
        fiat_world, fiat, pauser, blacklister, owner, feed, alice, liquidator, clock):
    """The standalone keeper's own round on this chain: the token's refusal
    comes back as the liquidation's revert reason, and the summary names
    the position with what to do, not an anonymous "other revert"."""
    from harness.chains.quiet_ape import QuietApeChain
    from harness.keeper.ape_events import ApeEngineEvents
    from harness.keeper.chain_source import ChainPositions, run_keeper
    from harness.keeper.keeper import ChainPort, Keeper

    eng, _, trades = fiat_world
    clock.at(1_000)
    pid = _open(trades, eng, alice)
    clock.at(1_005)
    feed.set_answer(px(1_880), sender=owner)
    chain = QuietApeChain([liquidator])

    def one_round():
        keeper = Keeper("solo", liquidator.address, ChainPort(chain, eng.address), sleep=None)
        positions = ChainPositions(chain, eng.address, events=ApeEngineEvents(eng.address))
        return run_keeper(positions, keeper, rounds=1, sleep=lambda s: None, log=lambda s: None)

    fiat.pause(sender=pauser)
    clock.at(1_010)
    (words, ids), = one_round()["not_liquidated_now"].items()
    assert ids == [pid] and words.startswith("token paused: the collateral token refuses every transfer")
    fiat.unpause(sender=pauser)
    fiat.blacklist(liquidator, sender=blacklister)           # the reward is paid to the keeper
    clock.at(1_015)
    (words, ids), = one_round()["not_liquidated_now"].items()
    assert ids == [pid] and words.startswith("blacklisted: the token refuses a transfer to or from a blacklisted")
    assert eng.position(pid).is_open is True


# ---------------------------------------------------------------- frozen vaults (issue 9, finding 3)

def _vault_of(project, eng, pid):
    return project.Vault.at(eng.position(pid).vault)


def _open_then_freeze(fiat_world, fiat, blacklister, owner, feed, trader, clock, price):
    """The trader's position, then a new price round and its vault
    blacklisted: (position id, vault, collateral)."""
    eng, _, trades = fiat_world
    clock.at(1_000)
    pid = _open(trades, eng, trader)
    vault, collateral = eng.position(pid).vault, eng.position(pid).collateral
    clock.at(1_005)
    feed.set_answer(price, sender=owner)
    fiat.blacklist(vault, sender=blacklister)
    return pid, vault, collateral


def test_a_blacklisted_vault_s_position_closes_in_the_accounting(project, fiat_world, fiat, blacklister, owner, feed,
                                                                 alice, bob, liquidator, clock):
    """Issue 9, finding 3: a blacklisted vault froze its position for ever
    (the close was cancelled with the token's reason) and its reserve
    locked LP money. Now the close fills: the vault's tokens stay in it,
    counted in frozen_total and nobody's; the pool still pays the profit;
    the reserve and open interest are released; the slot is retired, so
    the next open takes a new vault."""
    eng, pl, trades = fiat_world
    orders = project.OrderBook.at(eng.ORDERS())
    pid, vault, collateral = _open_then_freeze(fiat_world, fiat, blacklister, owner, feed, alice, clock, px(2_100))
    alice_before, pool_before = fiat.balanceOf(alice), fiat.balanceOf(pl)
    receipt = trades.close_position(pid, sender=alice, keeper=liquidator)
    [closed] = receipt.events.filter(eng.PositionClosed)
    [frozen] = receipt.events.filter(eng.VaultFrozen)
    [retired] = receipt.events.filter(eng.VaultRetired)
    assert not receipt.events.filter(orders.OrderCancelled)
    assert (frozen.position_id, frozen.vault, frozen.amount) == (pid, vault, collateral)
    assert (retired.slot, retired.vault) == (pid >> 32, vault)
    assert fiat.balanceOf(vault) == collateral == eng.frozen_total()
    assert eng.position(pid).is_open is False and eng.total_reserved() == 0 and eng.open_positions() == 0
    # The profit came from the pool; the vault's part of the payout is frozen.
    profit = fiat.balanceOf(alice) - alice_before
    assert 0 < profit < closed.to_trader - collateral
    assert pool_before - fiat.balanceOf(pl) == profit + orders.EXECUTION_FEE()
    # In profit the vault owed the pool nothing (the fees come off the
    # pool's payment), so nothing became bad debt.
    assert closed.bad_debt == closed.to_pool == 0
    _held(orders, fiat)
    # The retired slot is never taken again.
    clock.at(1_020)
    fiat.approve(eng.ORDERS(), MAX_UINT256, sender=bob)
    fiat.transfer(bob, usd(2_000), sender=alice)
    new = _open(trades, eng, bob)
    assert eng.position(new).vault != vault and eng.vault_count() == 2
    assert fiat.balanceOf(vault) == collateral


def test_a_blacklisted_vault_is_liquidated_in_the_accounting(project, fiat_world, fiat, blacklister, owner, feed,
                                                             alice, liquidator, clock):
    """The same for a liquidation: it goes through, paying nobody out of
    the frozen vault, and releases the position's reserve. The pool
    advances the liquidator's reward (else no keeper is paid to end a
    frozen position, whose owner would keep a free option on the LPs);
    that and what the vault owed the pool are bad debt."""
    eng, pl, _ = fiat_world
    pid, vault, collateral = _open_then_freeze(fiat_world, fiat, blacklister, owner, feed, alice, clock, px(1_880))
    clock.at(1_010)
    before = fiat.balanceOf(liquidator), fiat.balanceOf(pl), fiat.balanceOf(eng.INSURANCE())
    receipt = eng.liquidate(pid, sender=liquidator)
    [frozen] = receipt.events.filter(eng.VaultFrozen)
    assert (frozen.vault, frozen.amount) == (vault, collateral) and eng.frozen_total() == collateral
    [liquidated] = receipt.events.filter(eng.PositionLiquidated)
    assert liquidated.reward > 0 and liquidated.insurance_cover == 0       # the fund is empty here
    assert (fiat.balanceOf(liquidator) - before[0], before[1] - fiat.balanceOf(pl)) == (liquidated.reward,) * 2
    assert fiat.balanceOf(eng.INSURANCE()) == before[2]
    assert liquidated.bad_debt >= liquidated.to_pool + liquidated.reward
    assert eng.position(pid).is_open is False and eng.total_reserved() == 0


def test_a_refused_recipient_is_not_a_frozen_vault(fiat_world, fiat, blacklister, owner, feed, alice, liquidator, clock):
    """A blacklisted liquidator makes the liquidation revert with the
    token's reason: only the vault's own refusal freezes it."""
    eng, _, trades = fiat_world
    clock.at(1_000)
    pid = _open(trades, eng, alice)
    clock.at(1_005)
    feed.set_answer(px(1_880), sender=owner)
    fiat.blacklist(liquidator, sender=blacklister)
    clock.at(1_010)
    with ape.reverts(BLACKLISTED):
        eng.liquidate(pid, sender=liquidator)
    assert eng.position(pid).is_open is True and eng.frozen_total() == 0


def test_frozen_tells_a_blacklisted_vault_from_a_paused_token(project, fiat_world, fiat, blacklister, pauser, alice,
                                                              stranger, clock):
    """Vault.frozen: the vault refused and the insurance vault (the
    control) not. A paused token refuses both, and is not a freeze (its
    actions wait); a blacklisted insurance vault hides a freeze (the exit
    then reverts with the token's reason)."""
    eng, _, trades = fiat_world
    clock.at(1_000)
    pid = _open(trades, eng, alice)
    vault = _vault_of(project, eng, pid)
    insurance = eng.INSURANCE()
    assert vault.refuses.call(sender=stranger) is False and vault.frozen.call(insurance, sender=stranger) is False
    fiat.blacklist(vault, sender=blacklister)
    assert vault.refuses.call(sender=stranger) is True and vault.frozen.call(insurance, sender=stranger) is True
    fiat.blacklist(insurance, sender=blacklister)
    assert vault.frozen.call(insurance, sender=stranger) is False
    fiat.unBlacklist(vault, sender=blacklister)
    fiat.unBlacklist(insurance, sender=blacklister)
    fiat.pause(sender=pauser)
    assert vault.refuses.call(sender=stranger) is True and vault.frozen.call(insurance, sender=stranger) is False
    with ape.reverts("vault: caller is not the engine"):
        vault.pay_exit(stranger, 1, stranger, 0, stranger, 0, stranger, insurance, sender=stranger)


def test_a_blacklisted_free_vault_is_skipped(project, fiat_world, fiat, blacklister, alice, liquidator, clock):
    """Issue 9, finding 3: a blacklisted vault on top of the recycled-vault
    stack made every open revert (LIFO kept retrying it). Now the open
    retires it and takes a new vault."""
    eng, _, trades = fiat_world
    orders = project.OrderBook.at(eng.ORDERS())
    clock.at(1_000)
    pid = _open(trades, eng, alice)
    vault = eng.position(pid).vault
    trades.close_position(pid, sender=alice, keeper=liquidator)
    fiat.blacklist(vault, sender=blacklister)
    receipts = [trades.open_position(1, True, usd(10_000), usd(1_010), sender=alice) for _ in range(2)]
    assert not any(r.events.filter(orders.OrderCancelled) for r in receipts)
    [retired] = receipts[0].events.filter(eng.VaultRetired)
    assert (retired.slot, retired.vault) == (1, vault) and not receipts[1].events.filter(eng.VaultRetired)
    assert eng.vault_count() == 3 and eng.open_positions() == 2
    assert vault not in {eng.slot(s).vault for s in (2, 3)}
    assert fiat.balanceOf(vault) == 0 == eng.frozen_total()


def test_a_blacklisted_lp_redeems_through_another_controller_and_cancels_what_the_token_refuses(
        fiat_world, fiat, chain, blacklister, minter, lp, bob, stranger, feed, owner):
    """The fault table's LP-flows cell for a blacklisted account, measured:
    a redeem whose controller the token refuses stays pending (the payout
    reverts with the token's reason, nothing moves) and its owner cancels
    it (shares come back: no token moves); a new request names another
    controller, which is paid. A deposit cannot be requested (the token
    refuses the escrow); one already pending still executes (minting
    shares moves no token), but its refund could not be paid, so it
    cannot be cancelled."""
    eng, pl, _ = fiat_world
    shares = pl.balanceOf(lp) // 10
    redeem = request_id(pl.requestRedeem(shares, lp, lp, sender=lp), pl)
    fiat.mint(bob, usd(1_000), sender=minter)
    fiat.approve(pl, MAX_UINT256, sender=bob)
    deposit = request_id(pl.requestDeposit(usd(1_000), bob, bob, sender=bob), pl)
    fiat.blacklist(lp, sender=blacklister)
    fiat.blacklist(bob, sender=blacklister)
    with ape.reverts(BLACKLISTED):
        pl.requestDeposit(usd(1), bob, bob, sender=bob)
    before = (fiat.balanceOf(pl), pl.balanceOf(pl), pl.totalSupply())
    with ape.reverts(BLACKLISTED):
        settle(chain, pl, redeem, [feed], owner, keeper=stranger)
    assert (fiat.balanceOf(pl), pl.balanceOf(pl), pl.totalSupply()) == before
    assert pl.pendingRedeemRequest(redeem, lp) == shares
    pl.cancel_request(redeem, sender=lp)
    assert pl.balanceOf(lp) == shares * 10 and pl.pendingRedeemRequest(redeem, lp) == 0
    # The blacklisted LP's shares, paid to a controller the token accepts.
    paid_to = request_id(pl.requestRedeem(shares, stranger, lp, sender=lp), pl)
    start = fiat.balanceOf(stranger)
    receipt = settle(chain, pl, paid_to, [feed], owner, keeper=stranger)
    assets = receipt.events.filter(pl.RequestExecuted)[0].assets
    assert assets > 0 and fiat.balanceOf(stranger) - start == assets
    # The pending deposit: its refund would pay bob, so no cancel; its execution mints bob's shares.
    with ape.reverts(BLACKLISTED):
        pl.cancel_request(deposit, sender=bob)
    pl.execute_request(deposit, sender=stranger)
    assert pl.balanceOf(bob) > 0
