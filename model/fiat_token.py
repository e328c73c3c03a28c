"""Twin of contracts/mocks/MockFiatToken.vy: Circle's FiatTokenV2_2 rules.

Same names, arguments, check order, reasons and events as the contract
(and so as Circle's): every action checks the pause first, then the
caller's role, then the blacklist (the caller, then the payer, then the
payee), then the amounts. A blacklisted account keeps its balance, frozen.

Where the model's shape differs from the contract's, only the shape does:
the contract packs balance and blacklist flag into one word (V2_2's
balanceAndBlacklistStates); here they are two mappings, `balanceOf` (so
the engine and pool twins read it as they read model.token.Token's) and
`isBlacklisted`, with the packing's bound still checked in _set_balance.
permit and DOMAIN_SEPARATOR have no twin (the model signs nothing), so
`nonces` stays 0, as in model.token.Token.
"""
from dataclasses import dataclass

from .env import ZERO_ADDRESS
from .errors import require
from .events import Event
from .journal import Contract, Journal, external
from .token import Approval, Transfer  # noqa: F401 - the contract's events, the IERC20 pair

MAX_UINT256 = 2**256 - 1
# FiatTokenV2_2: a balance lives in the low 255 bits of its word.
MAX_BALANCE = 2**255 - 1


@dataclass(frozen=True, slots=True)
class Mint(Event):
    minter: str
    to: str
    amount: int


@dataclass(frozen=True, slots=True)
class Burn(Event):
    burner: str
    amount: int


@dataclass(frozen=True, slots=True)
class MinterConfigured(Event):
    minter: str
    minterAllowedAmount: int


@dataclass(frozen=True, slots=True)
class MinterRemoved(Event):
    oldMinter: str


@dataclass(frozen=True, slots=True)
class MasterMinterChanged(Event):
    newMasterMinter: str


@dataclass(frozen=True, slots=True)
class Blacklisted(Event):
    _account: str


@dataclass(frozen=True, slots=True)
class UnBlacklisted(Event):
    _account: str


@dataclass(frozen=True, slots=True)
class BlacklisterChanged(Event):
    newBlacklister: str


@dataclass(frozen=True, slots=True)
class Pause(Event):
    pass


@dataclass(frozen=True, slots=True)
class Unpause(Event):
    pass


@dataclass(frozen=True, slots=True)
class PauserChanged(Event):
    newAddress: str


@dataclass(frozen=True, slots=True)
class OwnershipTransferred(Event):
    """Circle's Ownable's (camelCase fields), not snekmate's in model.ownable."""
    previousOwner: str
    newOwner: str


class FiatToken(Contract):
    def __init__(self, journal: Journal, address: str, *, master_minter: str, pauser: str, blacklister: str,
                 owner: str, name: str = "USD Coin", symbol: str = "USDC", currency: str = "USD",
                 decimals: int = 6):
        """The contract's constructor: initialize's checks, then the token's
        own address blacklisted, as V2_1 / V2_2 leave it; no events.
        Raises Revert, as the deployment would."""
        Contract.__init__(self, journal)
        require(master_minter != ZERO_ADDRESS, "FiatToken: new masterMinter is the zero address")
        require(pauser != ZERO_ADDRESS, "FiatToken: new pauser is the zero address")
        require(blacklister != ZERO_ADDRESS, "FiatToken: new blacklister is the zero address")
        require(owner != ZERO_ADDRESS, "FiatToken: new owner is the zero address")
        self.address = address
        self.name = name
        self.symbol = symbol
        self.currency = currency
        self.decimals = decimals
        self.owner = owner
        self.masterMinter = master_minter
        self.pauser = pauser
        self.paused = False
        self.blacklister = blacklister
        self.totalSupply = 0
        self.balanceOf = self.mapping()
        self.isBlacklisted = self.mapping(False)
        self.allowance = self.mapping(arity=2)  # keyed by (owner, spender)
        self.isMinter = self.mapping(False)
        self.minterAllowance = self.mapping()
        self.nonces = self.mapping()
        self.isBlacklisted[address] = True

    def version(self) -> str:
        return "2"

    # ---- modifiers
    def _when_not_paused(self) -> None:
        require(not self.paused, "Pausable: paused")

    def _not_blacklisted(self, account: str) -> None:
        require(not self._is_blacklisted(account), "Blacklistable: account is blacklisted")

    def _only_owner(self, *, sender: str) -> None:
        require(sender == self.owner, "Ownable: caller is not the owner")

    def _only_minters(self, *, sender: str) -> None:
        require(self.isMinter[sender], "FiatToken: caller is not a minter")

    def _only_master_minter(self, *, sender: str) -> None:
        require(sender == self.masterMinter, "FiatToken: caller is not the masterMinter")

    def _only_blacklister(self, *, sender: str) -> None:
        require(sender == self.blacklister, "Blacklistable: caller is not the blacklister")

    def _only_pauser(self, *, sender: str) -> None:
        require(sender == self.pauser, "Pausable: caller is not the pauser")

    # ---- balance word
    def _is_blacklisted(self, account: str) -> bool:
        return self.isBlacklisted[account]

    def _balance_of(self, account: str) -> int:
        return self.balanceOf[account]

    def _set_balance(self, account: str, balance: int) -> None:
        require(balance <= MAX_BALANCE, "FiatTokenV2_2: Balance exceeds (2^255 - 1)")
        require(not self._is_blacklisted(account), "FiatTokenV2_2: Account is blacklisted")
        self.balanceOf[account] = balance

    def _set_blacklist_state(self, account: str, should_blacklist: bool) -> None:
        self.isBlacklisted[account] = should_blacklist

    # ---- ERC20
    def _transfer(self, _from: str, to: str, amount: int) -> None:
        require(_from != ZERO_ADDRESS, "ERC20: transfer from the zero address")
        require(to != ZERO_ADDRESS, "ERC20: transfer to the zero address")
        require(amount <= self._balance_of(_from), "ERC20: transfer amount exceeds balance")
        self._set_balance(_from, self._balance_of(_from) - amount)
        self._set_balance(to, self._balance_of(to) + amount)
        self._emit(Transfer(_from, to, amount))

    def _approve(self, owner: str, spender: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "ERC20: approve from the zero address")
        require(spender != ZERO_ADDRESS, "ERC20: approve to the zero address")
        self.allowance[(owner, spender)] = amount
        self._emit(Approval(owner, spender, amount))

    @external
    def transfer(self, to: str, amount: int, *, sender: str) -> bool:
        self._when_not_paused()
        self._not_blacklisted(sender)
        self._not_blacklisted(to)
        self._transfer(sender, to, amount)
        return True

    @external
    def transferFrom(self, _from: str, to: str, amount: int, *, sender: str) -> bool:
        self._when_not_paused()
        self._not_blacklisted(sender)
        self._not_blacklisted(_from)
        self._not_blacklisted(to)
        allowed = self.allowance[(_from, sender)]
        require(amount <= allowed, "ERC20: transfer amount exceeds allowance")
        self._transfer(_from, to, amount)
        self.allowance[(_from, sender)] = allowed - amount
        return True

    @external
    def approve(self, spender: str, amount: int, *, sender: str) -> bool:
        self._when_not_paused()
        self._approve(sender, spender, amount)
        return True

    @external
    def increaseAllowance(self, spender: str, increment: int, *, sender: str) -> bool:
        self._when_not_paused()
        current = self.allowance[(sender, spender)]
        require(increment <= MAX_UINT256 - current, "SafeMath: addition overflow")
        self._approve(sender, spender, current + increment)
        return True

    @external
    def decreaseAllowance(self, spender: str, decrement: int, *, sender: str) -> bool:
        self._when_not_paused()
        current = self.allowance[(sender, spender)]
        require(decrement <= current, "ERC20: decreased allowance below zero")
        self._approve(sender, spender, current - decrement)
        return True

    # ---- minting
    @external
    def mint(self, _to: str, _amount: int, *, sender: str) -> bool:
        self._when_not_paused()
        self._only_minters(sender=sender)
        self._not_blacklisted(sender)
        self._not_blacklisted(_to)
        require(_to != ZERO_ADDRESS, "FiatToken: mint to the zero address")
        require(_amount > 0, "FiatToken: mint amount not greater than 0")
        allowed = self.minterAllowance[sender]
        require(_amount <= allowed, "FiatToken: mint amount exceeds minterAllowance")
        require(_amount <= MAX_UINT256 - self.totalSupply, "SafeMath: addition overflow")
        self.totalSupply += _amount
        self._set_balance(_to, self._balance_of(_to) + _amount)
        self.minterAllowance[sender] = allowed - _amount
        self._emit(Mint(sender, _to, _amount))
        self._emit(Transfer(ZERO_ADDRESS, _to, _amount))
        return True

    @external
    def burn(self, _amount: int, *, sender: str) -> None:
        self._when_not_paused()
        self._only_minters(sender=sender)
        self._not_blacklisted(sender)
        balance = self._balance_of(sender)
        require(_amount > 0, "FiatToken: burn amount not greater than 0")
        require(balance >= _amount, "FiatToken: burn amount exceeds balance")
        self.totalSupply -= _amount
        self._set_balance(sender, balance - _amount)
        self._emit(Burn(sender, _amount))
        self._emit(Transfer(sender, ZERO_ADDRESS, _amount))

    @external
    def configureMinter(self, minter: str, minterAllowedAmount: int, *, sender: str) -> bool:
        self._when_not_paused()
        self._only_master_minter(sender=sender)
        self.isMinter[minter] = True
        self.minterAllowance[minter] = minterAllowedAmount
        self._emit(MinterConfigured(minter, minterAllowedAmount))
        return True

    @external
    def removeMinter(self, minter: str, *, sender: str) -> bool:
        self._only_master_minter(sender=sender)
        self.isMinter[minter] = False
        self.minterAllowance[minter] = 0
        self._emit(MinterRemoved(minter))
        return True

    @external
    def updateMasterMinter(self, _newMasterMinter: str, *, sender: str) -> None:
        self._only_owner(sender=sender)
        require(_newMasterMinter != ZERO_ADDRESS, "FiatToken: new masterMinter is the zero address")
        self.masterMinter = _newMasterMinter
        self._emit(MasterMinterChanged(_newMasterMinter))

    # ---- blacklist
    @external
    def blacklist(self, _account: str, *, sender: str) -> None:
        self._only_blacklister(sender=sender)
        self._set_blacklist_state(_account, True)
        self._emit(Blacklisted(_account))

    @external
    def unBlacklist(self, _account: str, *, sender: str) -> None:
        self._only_blacklister(sender=sender)
        self._set_blacklist_state(_account, False)
        self._emit(UnBlacklisted(_account))

    @external
    def updateBlacklister(self, _newBlacklister: str, *, sender: str) -> None:
        self._only_owner(sender=sender)
        require(_newBlacklister != ZERO_ADDRESS, "Blacklistable: new blacklister is the zero address")
        self.blacklister = _newBlacklister
        self._emit(BlacklisterChanged(_newBlacklister))

    # ---- pause
    @external
    def pause(self, *, sender: str) -> None:
        self._only_pauser(sender=sender)
        self.paused = True
        self._emit(Pause())

    @external
    def unpause(self, *, sender: str) -> None:
        self._only_pauser(sender=sender)
        self.paused = False
        self._emit(Unpause())

    @external
    def updatePauser(self, _newPauser: str, *, sender: str) -> None:
        self._only_owner(sender=sender)
        require(_newPauser != ZERO_ADDRESS, "Pausable: new pauser is the zero address")
        self.pauser = _newPauser
        self._emit(PauserChanged(_newPauser))

    # ---- owner
    @external
    def transferOwnership(self, newOwner: str, *, sender: str) -> None:
        self._only_owner(sender=sender)
        require(newOwner != ZERO_ADDRESS, "Ownable: new owner is the zero address")
        self._emit(OwnershipTransferred(self.owner, newOwner))
        self.owner = newOwner
