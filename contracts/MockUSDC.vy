# pragma version ~=0.4.3
"""
@title Devnet collateral token: 6 decimals, owner-mintable (snekmate ERC20)
"""
from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
def __init__():
    ownable.__init__()
    erc20.__init__("Mock USD Coin", "mUSDC", 6, "Mock USD Coin", "1")
