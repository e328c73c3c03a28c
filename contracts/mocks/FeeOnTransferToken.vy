# pragma version ~=0.4.3
"""
@title Test-only ERC20 that burns 1% of every transfer
@notice Exists so tests can show the engine and the pool refuse tokens that
        do not transfer exactly (fee-on-transfer, rebasing).
"""
from ethereum.ercs import IERC20

implements: IERC20

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
decimals: public(uint8)


@deploy
def __init__():
    """
    @dev USDC's decimals, like the token it stands in for.
    """
    self.decimals = 6


@external
def mint(to: address, amount: uint256):
    """
    @notice Mint to anyone (test-only: no access control).
    @param to The recipient.
    @param amount The amount.
    """
    self.balanceOf[to] += amount
    self.totalSupply += amount
    log IERC20.Transfer(sender=empty(address), receiver=to, value=amount)


@internal
def _transfer(src: address, dst: address, amount: uint256):
    """
    @dev Burns 1% (rounded down) of every transfer: the receiver gets less
         than was sent, which is what the engine and the pool must refuse.
    @param src The sender.
    @param dst The receiver.
    @param amount The amount debited from `src`.
    """
    fee: uint256 = amount // 100
    self.balanceOf[src] -= amount
    self.balanceOf[dst] += amount - fee
    self.totalSupply -= fee
    log IERC20.Transfer(sender=src, receiver=dst, value=amount - fee)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Transfer, less the 1% burn.
    @param to The receiver.
    @param amount The amount debited.
    @return bool Always True.
    """
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(src: address, dst: address, amount: uint256) -> bool:
    """
    @notice Transfer on an allowance, less the 1% burn.
    @param src The owner of the tokens.
    @param dst The receiver.
    @param amount The amount debited (and taken from the allowance).
    @return bool Always True.
    """
    self.allowance[src][msg.sender] -= amount
    self._transfer(src, dst, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Set `spender`'s allowance.
    @param spender The spender.
    @param amount The allowance.
    @return bool Always True.
    """
    self.allowance[msg.sender][spender] = amount
    log IERC20.Approval(owner=msg.sender, spender=spender, value=amount)
    return True
