# pragma version ~=0.4.3
"""
@title Test-only collateral token that misbehaves on demand
@notice Compiled by the unit tests (never deployed by the protocol). Each
        switch makes one call return False or move less than asked, so the
        engine's, vaults' and pool's checks on token results can be reached.
"""

balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
decimals: public(uint8)

approve_result: public(bool)
transfer_result: public(bool)
# transferFrom returns False when it would debit fail_from or credit fail_to.
fail_from: public(address)
fail_to: public(address)
# Burnt out of every transferFrom: a fee-on-transfer token.
skim: public(uint256)


@deploy
def __init__(approve_result: bool):
    self.decimals = 6
    self.approve_result = approve_result
    self.transfer_result = True


@external
def configure(approve_result: bool, transfer_result: bool, fail_from: address, fail_to: address, skim: uint256):
    self.approve_result = approve_result
    self.transfer_result = transfer_result
    self.fail_from = fail_from
    self.fail_to = fail_to
    self.skim = skim


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount
    self.totalSupply += amount


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return self.approve_result


@external
def transfer(to: address, amount: uint256) -> bool:
    if not self.transfer_result:
        return False
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if owner == self.fail_from or to == self.fail_to:
        return False
    if self.allowance[owner][msg.sender] != max_value(uint256):
        self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    self.balanceOf[to] += amount - self.skim
    self.totalSupply -= self.skim
    return True
