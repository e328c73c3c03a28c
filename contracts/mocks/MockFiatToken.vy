# pragma version ~=0.4.3
"""
@title Test collateral token with Circle USDC's blacklist, pause and minter rules
@notice Modelled on Circle's FiatTokenV2_2 (github.com/circlefin/stablecoin-evm,
        contracts/v1/FiatTokenV1.sol, Blacklistable.sol, Pausable.sol,
        Ownable.sol, v2/FiatTokenV2.sol, v2/FiatTokenV2_2.sol, v2/EIP2612.sol):
        the same function names and arguments, the same checks in the same
        order, the same revert reasons and the same events, so that what the
        protocol does with real USDC (a blacklisted payee, a paused token) can
        be rehearsed in unit tests and in the state machine, twinned by
        model/fiat_token.py.

        Kept: owner, masterMinter (configureMinter, removeMinter,
        updateMasterMinter), minters with minterAllowance (mint, burn),
        blacklister (blacklist, unBlacklist, isBlacklisted, updateBlacklister),
        pauser (pause, unpause, updatePauser), ERC20 with V2's
        increaseAllowance and decreaseAllowance, EIP-2612 permit (v, r, s).
        As in V2_2, balance and blacklist bit share one word (bit 255), a
        balance is capped at 2**255 - 1, and the token blacklists its own
        address at deployment (initializeV2_1 / V2_2 do), so tokens cannot
        be sent to it. As in V2_2 (not V1), approve, increaseAllowance,
        decreaseAllowance and permit check no blacklist: a blacklisted
        spender can be approved but cannot spend, since transferFrom checks
        msg.sender.

        Left out, and why:
        - the proxy (FiatTokenProxy, admin, upgrades) and the initialize /
          initializeV2* chain: a constructor taking initialize's arguments
          gives the state they leave, and nothing under test upgrades;
        - the rescuer (Rescuable: rescueERC20, updateRescuer): no test
          rescues stray tokens, and it moves no USDC of its own;
        - EIP-3009 (transferWithAuthorization, receiveWithAuthorization,
          cancelAuthorization, authorizationState): the protocol pulls with
          transferFrom only, and the model twin signs nothing;
        - V2_2's `permit(..., bytes signature)` overload and ERC-1271
          contract signers: Vyper has no overloading, and the v, r, s form
          is the EIP-2612 one; an owner with code is checked by ecrecover
          alone, so its permit fails "EIP2612: invalid signature";
        - Solidity's arithmetic: where SafeMath can fail on a reachable
          path (total supply, increaseAllowance) its reason is asserted
          here, "SafeMath: addition overflow".
"""
from snekmate.utils import eip712_domain_separator

initializes: eip712_domain_separator

# Circle's EIP2612.PERMIT_TYPEHASH.
_PERMIT_TYPEHASH: constant(bytes32) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
_BLACKLIST_BIT: constant(uint256) = 1 << 255
_BALANCE_MASK: constant(uint256) = (1 << 255) - 1
# secp256k1n / 2 (0x7FFF...681B20A0): Circle's ECRecover refuses the malleable upper half of s.
_S_MAX: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

name: public(String[50])
symbol: public(String[20])
currency: public(String[20])
decimals: public(uint8)
owner: public(address)
masterMinter: public(address)
pauser: public(address)
paused: public(bool)
blacklister: public(address)
totalSupply: public(uint256)
allowance: public(HashMap[address, HashMap[address, uint256]])
isMinter: public(HashMap[address, bool])
minterAllowance: public(HashMap[address, uint256])
nonces: public(HashMap[address, uint256])

# Bit 255 is the blacklist flag, bits 0..254 the balance (FiatTokenV2_2).
_balance_and_blacklist_states: HashMap[address, uint256]

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event Mint:
    minter: indexed(address)
    to: indexed(address)
    amount: uint256

event Burn:
    burner: indexed(address)
    amount: uint256

event MinterConfigured:
    minter: indexed(address)
    minterAllowedAmount: uint256

event MinterRemoved:
    oldMinter: indexed(address)

event MasterMinterChanged:
    newMasterMinter: indexed(address)

event Blacklisted:
    _account: indexed(address)

event UnBlacklisted:
    _account: indexed(address)

event BlacklisterChanged:
    newBlacklister: indexed(address)

event Pause:
    pass

event Unpause:
    pass

event PauserChanged:
    newAddress: indexed(address)

# Circle's Ownable indexes neither address.
event OwnershipTransferred:
    previousOwner: address
    newOwner: address


@deploy
def __init__(tokenName: String[50], tokenSymbol: String[20], tokenCurrency: String[20], tokenDecimals: uint8,
             newMasterMinter: address, newPauser: address, newBlacklister: address, newOwner: address):
    """
    @dev FiatTokenV1.initialize's arguments, checks and reasons, then what
         initializeV2_1 and V2_2 leave: the EIP-712 domain version "2" and
         the token's own address blacklisted (without a Blacklisted event,
         as there). No event is logged, as initialize logs none.
    @param tokenName The token's name, also the EIP-712 domain name.
    @param tokenSymbol The token's symbol.
    @param tokenCurrency The fiat currency it stands for ("USD").
    @param tokenDecimals Its decimals (USDC: 6).
    @param newMasterMinter Who configures and removes minters.
    @param newPauser Who pauses and unpauses.
    @param newBlacklister Who blacklists and unblacklists.
    @param newOwner Who replaces the three roles above and itself.
    """
    assert newMasterMinter != empty(address), "FiatToken: new masterMinter is the zero address"
    assert newPauser != empty(address), "FiatToken: new pauser is the zero address"
    assert newBlacklister != empty(address), "FiatToken: new blacklister is the zero address"
    assert newOwner != empty(address), "FiatToken: new owner is the zero address"
    eip712_domain_separator.__init__(tokenName, "2")
    self.name = tokenName
    self.symbol = tokenSymbol
    self.currency = tokenCurrency
    self.decimals = tokenDecimals
    self.masterMinter = newMasterMinter
    self.pauser = newPauser
    self.blacklister = newBlacklister
    self.owner = newOwner
    self._balance_and_blacklist_states[self] = _BLACKLIST_BIT


# ---------------------------------------------------------------- modifiers


@internal
@view
def _when_not_paused():
    """
    @dev Pausable.whenNotPaused.
    """
    assert not self.paused, "Pausable: paused"


@internal
@view
def _not_blacklisted(account: address):
    """
    @dev Blacklistable.notBlacklisted.
    @param account The address that must not be blacklisted.
    """
    assert not self._is_blacklisted(account), "Blacklistable: account is blacklisted"


@internal
@view
def _only_owner():
    """
    @dev Ownable.onlyOwner.
    """
    assert msg.sender == self.owner, "Ownable: caller is not the owner"


@internal
@view
def _only_minters():
    """
    @dev FiatTokenV1.onlyMinters.
    """
    assert self.isMinter[msg.sender], "FiatToken: caller is not a minter"


@internal
@view
def _only_master_minter():
    """
    @dev FiatTokenV1.onlyMasterMinter.
    """
    assert msg.sender == self.masterMinter, "FiatToken: caller is not the masterMinter"


@internal
@view
def _only_blacklister():
    """
    @dev Blacklistable.onlyBlacklister.
    """
    assert msg.sender == self.blacklister, "Blacklistable: caller is not the blacklister"


@internal
@view
def _only_pauser():
    """
    @dev Pausable.onlyPauser.
    """
    assert msg.sender == self.pauser, "Pausable: caller is not the pauser"


# ---------------------------------------------------------------- balance word


@internal
@view
def _is_blacklisted(account: address) -> bool:
    """
    @dev FiatTokenV2_2._isBlacklisted: the word's top bit.
    @param account The address.
    @return bool True if blacklisted.
    """
    return self._balance_and_blacklist_states[account] >> 255 == 1


@internal
@view
def _balance_of(account: address) -> uint256:
    """
    @dev FiatTokenV2_2._balanceOf: the word's low 255 bits.
    @param account The address.
    @return uint256 Its balance.
    """
    return self._balance_and_blacklist_states[account] & _BALANCE_MASK


@internal
def _set_balance(account: address, balance: uint256):
    """
    @dev FiatTokenV2_2._setBalance. Every external path checks the
         blacklist first, so its second reason is a backstop, as in V2_2.
    @param account The address.
    @param balance Its new balance.
    """
    assert balance <= _BALANCE_MASK, "FiatTokenV2_2: Balance exceeds (2^255 - 1)"
    assert not self._is_blacklisted(account), "FiatTokenV2_2: Account is blacklisted"
    self._balance_and_blacklist_states[account] = balance


@internal
def _set_blacklist_state(account: address, should_blacklist: bool):
    """
    @dev FiatTokenV2_2._setBlacklistState: a blacklisted account keeps its
         balance, frozen under the flag.
    @param account The address.
    @param should_blacklist The new flag.
    """
    if should_blacklist:
        self._balance_and_blacklist_states[account] |= _BLACKLIST_BIT
    else:
        self._balance_and_blacklist_states[account] = self._balance_of(account)


# ---------------------------------------------------------------- ERC20


@external
@view
def balanceOf(account: address) -> uint256:
    """
    @notice An account's balance, blacklisted or not.
    @param account The address.
    @return uint256 The balance.
    """
    return self._balance_of(account)


@internal
def _transfer(_from: address, to: address, amount: uint256):
    """
    @dev FiatTokenV1._transfer. The receiver's balance is read after the
         sender's is written, so a transfer to oneself changes nothing.
    @param _from The payer.
    @param to The payee.
    @param amount The amount.
    """
    assert _from != empty(address), "ERC20: transfer from the zero address"
    assert to != empty(address), "ERC20: transfer to the zero address"
    assert amount <= self._balance_of(_from), "ERC20: transfer amount exceeds balance"
    self._set_balance(_from, self._balance_of(_from) - amount)
    self._set_balance(to, self._balance_of(to) + amount)
    log Transfer(sender=_from, receiver=to, value=amount)


@internal
def _approve(owner: address, spender: address, amount: uint256):
    """
    @dev FiatTokenV1._approve.
    @param owner The token owner.
    @param spender The spender.
    @param amount The new allowance.
    """
    assert owner != empty(address), "ERC20: approve from the zero address"
    assert spender != empty(address), "ERC20: approve to the zero address"
    self.allowance[owner][spender] = amount
    log Approval(owner=owner, spender=spender, value=amount)


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Transfer from the caller; neither may be blacklisted.
    @param to The payee.
    @param amount The amount.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    self._not_blacklisted(msg.sender)
    self._not_blacklisted(to)
    self._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(_from: address, to: address, amount: uint256) -> bool:
    """
    @notice Transfer on an allowance; the caller, payer and payee may not
            be blacklisted. As Circle's: no infinite allowance, and spending
            it logs no Approval.
    @param _from The payer (Circle's `from`, a keyword here).
    @param to The payee.
    @param amount The amount.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    self._not_blacklisted(msg.sender)
    self._not_blacklisted(_from)
    self._not_blacklisted(to)
    allowed: uint256 = self.allowance[_from][msg.sender]
    assert amount <= allowed, "ERC20: transfer amount exceeds allowance"
    self._transfer(_from, to, amount)
    self.allowance[_from][msg.sender] = allowed - amount
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Set the caller's allowance to `spender` (V2_2: no blacklist check).
    @param spender The spender.
    @param amount The allowance.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    self._approve(msg.sender, spender, amount)
    return True


@external
def increaseAllowance(spender: address, increment: uint256) -> bool:
    """
    @notice FiatTokenV2.increaseAllowance (V2_2: no blacklist check).
    @param spender The spender.
    @param increment Added to the allowance.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    current: uint256 = self.allowance[msg.sender][spender]
    assert increment <= max_value(uint256) - current, "SafeMath: addition overflow"
    self._approve(msg.sender, spender, current + increment)
    return True


@external
def decreaseAllowance(spender: address, decrement: uint256) -> bool:
    """
    @notice FiatTokenV2.decreaseAllowance (V2_2: no blacklist check).
    @param spender The spender.
    @param decrement Taken from the allowance.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    current: uint256 = self.allowance[msg.sender][spender]
    assert decrement <= current, "ERC20: decreased allowance below zero"
    self._approve(msg.sender, spender, current - decrement)
    return True


@external
def permit(owner: address, spender: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32,
           s: bytes32):
    """
    @notice EIP-2612 as FiatTokenV2_2's (v, r, s) permit: the nonce is spent
            before the signature is checked (a failure reverts both), and
            the signature is checked as Circle's ECRecover checks it.
    @param owner The token owner who signed.
    @param spender The spender.
    @param amount The allowance.
    @param deadline Expiry (unix time); max_value(uint256) never expires.
    @param v The signature's v (27 or 28).
    @param r The signature's r.
    @param s The signature's s (lower half of the curve order).
    """
    self._when_not_paused()
    assert deadline == max_value(uint256) or deadline >= block.timestamp, "FiatTokenV2: permit is expired"
    nonce: uint256 = self.nonces[owner]
    self.nonces[owner] = nonce + 1
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(_PERMIT_TYPEHASH, owner, spender, amount, nonce, deadline)))
    assert self._recover(digest, v, r, s) == owner, "EIP2612: invalid signature"
    self._approve(owner, spender, amount)


@internal
@pure
def _recover(digest: bytes32, v: uint8, r: bytes32, s: bytes32) -> address:
    """
    @dev Circle's ECRecover.recover, with its reasons (snekmate's ecdsa
         would give its own and accepts any v).
    @param digest The signed hash.
    @param v The signature's v.
    @param r The signature's r.
    @param s The signature's s.
    @return address The signer.
    """
    assert convert(s, uint256) <= _S_MAX, "ECRecover: invalid signature 's' value"
    assert v == 27 or v == 28, "ECRecover: invalid signature 'v' value"
    signer: address = ecrecover(digest, v, r, s)
    assert signer != empty(address), "ECRecover: invalid signature"
    return signer


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    """
    @notice The EIP-712 domain separator of permit signatures: name,
            version "2", chain id, this address (Circle's makeDomainSeparator).
    @return bytes32 The separator, rebuilt if the chain id has changed.
    """
    return eip712_domain_separator._domain_separator_v4()


@external
@pure
def version() -> String[1]:
    """
    @notice The EIP-712 domain version, FiatTokenV2_1's.
    @return String "2".
    """
    return "2"


# ---------------------------------------------------------------- minting


@external
def mint(_to: address, _amount: uint256) -> bool:
    """
    @notice Mint out of the caller's minter allowance; neither the minter
            nor the payee may be blacklisted.
    @param _to The payee.
    @param _amount The amount, at least 1 and at most the allowance.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    self._only_minters()
    self._not_blacklisted(msg.sender)
    self._not_blacklisted(_to)
    assert _to != empty(address), "FiatToken: mint to the zero address"
    assert _amount > 0, "FiatToken: mint amount not greater than 0"
    allowed: uint256 = self.minterAllowance[msg.sender]
    assert _amount <= allowed, "FiatToken: mint amount exceeds minterAllowance"
    assert _amount <= max_value(uint256) - self.totalSupply, "SafeMath: addition overflow"
    self.totalSupply += _amount
    self._set_balance(_to, self._balance_of(_to) + _amount)
    self.minterAllowance[msg.sender] = allowed - _amount
    log Mint(minter=msg.sender, to=_to, amount=_amount)
    log Transfer(sender=empty(address), receiver=_to, value=_amount)
    return True


@external
def burn(_amount: uint256):
    """
    @notice A minter burns its own tokens (its minter allowance unchanged).
    @param _amount The amount, at least 1 and at most the balance.
    """
    self._when_not_paused()
    self._only_minters()
    self._not_blacklisted(msg.sender)
    balance: uint256 = self._balance_of(msg.sender)
    assert _amount > 0, "FiatToken: burn amount not greater than 0"
    assert balance >= _amount, "FiatToken: burn amount exceeds balance"
    self.totalSupply -= _amount
    self._set_balance(msg.sender, balance - _amount)
    log Burn(burner=msg.sender, amount=_amount)
    log Transfer(sender=msg.sender, receiver=empty(address), value=_amount)


@external
def configureMinter(minter: address, minterAllowedAmount: uint256) -> bool:
    """
    @notice Make `minter` a minter with this allowance (replacing, not
            adding to, what it had). Paused, it reverts, as Circle's.
    @param minter The minter.
    @param minterAllowedAmount Its new allowance.
    @return bool True (it reverts otherwise).
    """
    self._when_not_paused()
    self._only_master_minter()
    self.isMinter[minter] = True
    self.minterAllowance[minter] = minterAllowedAmount
    log MinterConfigured(minter=minter, minterAllowedAmount=minterAllowedAmount)
    return True


@external
def removeMinter(minter: address) -> bool:
    """
    @notice Take the minter role and its allowance away (works paused).
    @param minter The minter.
    @return bool True (it reverts otherwise).
    """
    self._only_master_minter()
    self.isMinter[minter] = False
    self.minterAllowance[minter] = 0
    log MinterRemoved(oldMinter=minter)
    return True


@external
def updateMasterMinter(_newMasterMinter: address):
    """
    @notice Replace the master minter (owner only).
    @param _newMasterMinter The new master minter.
    """
    self._only_owner()
    assert _newMasterMinter != empty(address), "FiatToken: new masterMinter is the zero address"
    self.masterMinter = _newMasterMinter
    log MasterMinterChanged(newMasterMinter=_newMasterMinter)


# ---------------------------------------------------------------- blacklist


@external
@view
def isBlacklisted(_account: address) -> bool:
    """
    @notice Whether the account is blacklisted.
    @param _account The address.
    @return bool True if blacklisted.
    """
    return self._is_blacklisted(_account)


@external
def blacklist(_account: address):
    """
    @notice Blacklist an account (blacklister only; works paused). Its
            balance stays, frozen: it can neither send nor receive.
    @param _account The address.
    """
    self._only_blacklister()
    self._set_blacklist_state(_account, True)
    log Blacklisted(_account=_account)


@external
def unBlacklist(_account: address):
    """
    @notice Lift an account's blacklisting (blacklister only; works paused).
    @param _account The address.
    """
    self._only_blacklister()
    self._set_blacklist_state(_account, False)
    log UnBlacklisted(_account=_account)


@external
def updateBlacklister(_newBlacklister: address):
    """
    @notice Replace the blacklister (owner only).
    @param _newBlacklister The new blacklister.
    """
    self._only_owner()
    assert _newBlacklister != empty(address), "Blacklistable: new blacklister is the zero address"
    self.blacklister = _newBlacklister
    log BlacklisterChanged(newBlacklister=_newBlacklister)


# ---------------------------------------------------------------- pause


@external
def pause():
    """
    @notice Pause transfers, approvals, permits, minting, burning and
            configureMinter (pauser only; pausing twice is allowed).
    """
    self._only_pauser()
    self.paused = True
    log Pause()


@external
def unpause():
    """
    @notice Lift the pause (pauser only).
    """
    self._only_pauser()
    self.paused = False
    log Unpause()


@external
def updatePauser(_newPauser: address):
    """
    @notice Replace the pauser (owner only).
    @param _newPauser The new pauser.
    """
    self._only_owner()
    assert _newPauser != empty(address), "Pausable: new pauser is the zero address"
    self.pauser = _newPauser
    log PauserChanged(newAddress=_newPauser)


# ---------------------------------------------------------------- owner


@external
def transferOwnership(newOwner: address):
    """
    @notice Hand the token over at once (Circle's Ownable has no second step).
    @param newOwner The new owner.
    """
    self._only_owner()
    assert newOwner != empty(address), "Ownable: new owner is the zero address"
    log OwnershipTransferred(previousOwner=self.owner, newOwner=newOwner)
    self.owner = newOwner
