"""MockUSDC: snekmate's ERC20 with an owner-controlled minter role."""
import ape
import pytest
from eth_account import Account

from .helpers import MAX_UINT256, MINT, ZERO, usd


@pytest.fixture(autouse=True)
def _funded(engine):
    """The standard world (conftest's `engine`) funds every actor with MINT:
    asked for here, so this file passes alone as in the whole suite."""


def test_metadata(token, owner):
    assert (token.name(), token.symbol(), token.decimals()) == ("Mock USD Coin", "mUSDC", 6)
    assert token.owner() == owner.address
    assert token.is_minter(owner) is True


def test_mint_by_minter_only(token, owner, stranger):
    supply = token.totalSupply()
    receipt = token.mint(stranger, usd(5), sender=owner)
    assert token.balanceOf(stranger) == MINT + usd(5)
    assert token.totalSupply() == supply + usd(5)
    assert [(e.sender, e.receiver, e.value) for e in receipt.events.filter(token.Transfer)] == \
        [(ZERO, stranger.address, usd(5))]
    with ape.reverts("erc20: access is denied"):
        token.mint(stranger, 1, sender=stranger)
    with ape.reverts("erc20: mint to the zero address"):
        token.mint(ZERO, 1, sender=owner)
    assert token.totalSupply() == supply + usd(5)


def test_transfer(token, alice, bob):
    a, b = token.balanceOf(alice), token.balanceOf(bob)
    token.transfer(bob, usd(7), sender=alice)
    assert (token.balanceOf(alice), token.balanceOf(bob)) == (a - usd(7), b + usd(7))
    with ape.reverts("erc20: transfer amount exceeds balance"):
        token.transfer(bob, a, sender=alice)
    with ape.reverts("erc20: transfer to the zero address"):
        token.transfer(ZERO, 1, sender=alice)


def test_approve_and_transfer_from_spend_allowance(token, alice, bob, carol):
    token.approve(bob, usd(10), sender=alice)
    assert token.allowance(alice, bob) == usd(10)
    token.transferFrom(alice, carol, usd(4), sender=bob)
    assert token.allowance(alice, bob) == usd(6)
    with ape.reverts("erc20: insufficient allowance"):
        token.transferFrom(alice, carol, usd(6) + 1, sender=bob)
    with ape.reverts("erc20: approve to the zero address"):
        token.approve(ZERO, 1, sender=alice)


def test_infinite_allowance_is_not_spent(token, alice, carol):
    token.approve(carol, MAX_UINT256, sender=alice)
    token.transferFrom(alice, carol, usd(3), sender=carol)
    assert token.allowance(alice, carol) == MAX_UINT256


def test_burn_and_burn_from(token, alice, bob):
    supply = token.totalSupply()
    token.burn(usd(2), sender=alice)
    assert token.balanceOf(alice) == MINT - usd(2)
    token.approve(bob, usd(1), sender=alice)
    token.burn_from(alice, usd(1), sender=bob)
    assert token.balanceOf(alice) == MINT - usd(3)
    assert token.totalSupply() == supply - usd(3)
    with ape.reverts("erc20: insufficient allowance"):
        token.burn_from(alice, 1, sender=bob)
    with ape.reverts("erc20: burn amount exceeds balance"):
        token.burn(MINT, sender=alice)


def test_set_minter(token, owner, stranger, alice):
    with ape.reverts("ownable: caller is not the owner"):
        token.set_minter(stranger, True, sender=stranger)
    with ape.reverts("erc20: minter is the zero address"):
        token.set_minter(ZERO, True, sender=owner)
    with ape.reverts("erc20: minter is owner address"):
        token.set_minter(owner, False, sender=owner)
    token.set_minter(stranger, True, sender=owner)
    token.mint(alice, 1, sender=stranger)
    token.set_minter(stranger, False, sender=owner)
    with ape.reverts("erc20: access is denied"):
        token.mint(alice, 1, sender=stranger)


def test_transfer_and_renounce_ownership_move_the_minter_role(token, owner, stranger):
    with ape.reverts("erc20: new owner is the zero address"):
        token.transfer_ownership(ZERO, sender=owner)
    token.transfer_ownership(stranger, sender=owner)
    assert token.owner() == stranger.address
    assert (token.is_minter(owner), token.is_minter(stranger)) == (False, True)
    with ape.reverts("ownable: caller is not the owner"):
        token.renounce_ownership(sender=owner)
    token.renounce_ownership(sender=stranger)
    assert token.owner() == ZERO and token.is_minter(stranger) is False


def _permit_signature(token, chain, signer, spender, amount, nonce, deadline):
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
        "domain": {"name": "Mock USD Coin", "version": "1", "chainId": chain.chain_id,
                   "verifyingContract": token.address},
        "message": {"owner": signer.address, "spender": spender, "value": amount, "nonce": nonce,
                    "deadline": deadline},
    }
    signed = Account.sign_typed_data(signer.private_key, full_message=typed)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def test_permit(token, chain, alice, bob, stranger, clock):
    deadline = clock.t0 + 1_000
    v, r, s = _permit_signature(token, chain, alice, bob.address, usd(9), 0, deadline)
    token.permit(alice, bob, usd(9), deadline, v, r, s, sender=stranger)
    assert token.allowance(alice, bob) == usd(9)
    assert token.nonces(alice) == 1
    # Replaying the same signature now signs for nonce 0, not 1.
    with ape.reverts("erc20: invalid signature"):
        token.permit(alice, bob, usd(9), deadline, v, r, s, sender=stranger)
    v, r, s = _permit_signature(token, chain, alice, bob.address, 1, 1, clock.t0)
    clock.at(10)
    with ape.reverts("erc20: expired deadline"):
        token.permit(alice, bob, 1, clock.t0, v, r, s, sender=stranger)
    assert token.allowance(alice, bob) == usd(9)
