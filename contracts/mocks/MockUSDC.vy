# pragma version ~=0.4.3
"""
@title Devnet collateral token: 6 decimals, owner-mintable (snekmate ERC20)
@notice USDC's decimals, so amounts in drills and tests read like the real
        thing; the owner is the deployer, who mints for traders and LPs.
"""
from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: erc20.__interface__


@deploy
def __init__():
    """
    @dev The deployer becomes owner and minter (snekmate's erc20 makes the
         owner a minter).
    """
    ownable.__init__()
    erc20.__init__("Mock USD Coin", "mUSDC", 6, "Mock USD Coin", "1")
