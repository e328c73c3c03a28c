# pragma version ~=0.4.3
"""
@title Read many token balances in one call
@notice Off-chain tools (the stateful harness, the keeper, the audit) read
        every holder's balance after each step; one call instead of one per
        holder keeps that cheap on a real node.
"""
from ethereum.ercs import IERC20

MAX_HOLDERS: constant(uint256) = 1024


@external
@view
def balances(token: IERC20, holders: DynArray[address, MAX_HOLDERS]) -> DynArray[uint256, MAX_HOLDERS]:
    """
    @notice Every holder's token balance, in the order given.
    @param token The token.
    @param holders Up to MAX_HOLDERS accounts.
    @return DynArray The balances, one per holder.
    """
    out: DynArray[uint256, MAX_HOLDERS] = []
    for holder: address in holders:
        out.append(staticcall token.balanceOf(holder))
    return out
