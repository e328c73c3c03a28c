# pragma version ~=0.4.3
"""
@title A flash lender, for attack regression tests
@custom:contract-name FlashLender
@notice Lends its whole balance of one token for the length of one call
        and checks it is back before returning: what any flash-loan pool
        gives an attacker, without fees. Test scaffolding, not protocol.
"""
from ethereum.ercs import IERC20


interface Borrower:
    def on_flash(amount: uint256): nonpayable


TOKEN: public(immutable(IERC20))


@deploy
def __init__(token: IERC20):
    """
    @dev The token lent.
    @param token The token.
    """
    TOKEN = token


@external
def flash(amount: uint256):
    """
    @notice Sends `amount` to the caller, calls its on_flash, and requires
            the amount back by the end of that call.
    @param amount The amount lent.
    """
    before: uint256 = staticcall TOKEN.balanceOf(self)
    assert extcall TOKEN.transfer(msg.sender, amount, default_return_value=True), "flash: transfer failed"
    extcall Borrower(msg.sender).on_flash(amount)
    assert staticcall TOKEN.balanceOf(self) >= before, "flash: not repaid"
