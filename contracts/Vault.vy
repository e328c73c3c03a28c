# pragma version ~=0.4.3
"""
@title Isolated position vault
@notice Holds exactly one position's collateral (or the insurance fund).
        Deployed once as an implementation by the engine; every position
        vault is a minimal proxy of it. ENGINE and TOKEN are immutables in
        the implementation's code, so a proxy needs no storage at all and a
        recycled proxy cannot carry permissions from an earlier position.
"""
from ethereum.ercs import IERC20

ENGINE: public(immutable(address))
TOKEN: public(immutable(IERC20))


@deploy
def __init__(engine: address, token: IERC20):
    """
    @dev Runs once, for the implementation: its proxies share these
         immutables through its code.
    @param engine The only account that may move the vault's tokens.
    @param token The collateral token.
    """
    ENGINE = engine
    TOKEN = token


@external
def pay(to: address, amount: uint256):
    """
    @notice Pay out of this vault (engine only). The engine decides every
            amount; the vault only refuses anyone else and a failed transfer.
    @param to The recipient.
    @param amount The amount.
    """
    assert msg.sender == ENGINE, "vault: caller is not the engine"
    assert extcall TOKEN.transfer(to, amount, default_return_value=True), "vault: transfer failed"
