"""Twin of snekmate's tokens/erc20.vy as contracts/mocks/MockUSDC.vy deploys it
(ownable, minters), and of the pool's share token (the same module).

Balances, allowances, reasons and events are snekmate's: Transfer on
every move, mint (from the zero address) and burn (to it); Approval on
every allowance write, spending included, except an infinite allowance,
which spending leaves alone.
"""
from dataclasses import dataclass

from .env import ZERO_ADDRESS
from .errors import checked, require
from .events import Event
from .journal import Contract, Journal, external
from .ownable import Ownable

MAX_UINT256 = 2**256 - 1


@dataclass(frozen=True, slots=True)
class Transfer(Event):
    sender: str
    receiver: str
    value: int


@dataclass(frozen=True, slots=True)
class Approval(Event):
    owner: str
    spender: str
    value: int


@dataclass(frozen=True, slots=True)
class RoleMinterChanged(Event):
    minter: str
    status: bool


class Token(Ownable, Contract):
    def __init__(self, journal: Journal, address: str, decimals: int = 6, minter: str = ZERO_ADDRESS,
                 name: str = "Mock USD Coin", symbol: str = "mUSDC"):
        """`minter` is the deployer: owner and first minter, as snekmate's
        constructor makes msg.sender."""
        Contract.__init__(self, journal)
        self.address = address
        self.name = name
        self.symbol = symbol
        self.decimals = decimals
        self.totalSupply = 0
        self.balanceOf = self.mapping()
        self.allowance = self.mapping(arity=2)  # keyed by (owner, spender)
        self.is_minter = self.mapping(False)
        # EIP-2612 nonces: the model signs nothing, so every nonce stays 0.
        self.nonces = self.mapping()
        Ownable.__init__(self, minter)
        self.is_minter[minter] = True
        self._emit(RoleMinterChanged(minter, True))

    # ---- internals (snekmate erc20)
    def _transfer(self, owner: str, to: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: transfer from the zero address")
        require(to != ZERO_ADDRESS, "erc20: transfer to the zero address")
        balance = self.balanceOf[owner]
        require(balance >= amount, "erc20: transfer amount exceeds balance")
        self.balanceOf[owner] = balance - amount
        self.balanceOf[to] = self.balanceOf[to] + amount
        self._emit(Transfer(owner, to, amount))

    def _mint(self, owner: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: mint to the zero address")
        self.totalSupply = checked(self.totalSupply + amount)
        self.balanceOf[owner] = self.balanceOf[owner] + amount
        self._emit(Transfer(ZERO_ADDRESS, owner, amount))

    def _burn(self, owner: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: burn from the zero address")
        balance = self.balanceOf[owner]
        require(balance >= amount, "erc20: burn amount exceeds balance")
        self.balanceOf[owner] = balance - amount
        self.totalSupply -= amount
        self._emit(Transfer(owner, ZERO_ADDRESS, amount))

    def _approve(self, owner: str, spender: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: approve from the zero address")
        require(spender != ZERO_ADDRESS, "erc20: approve to the zero address")
        self.allowance[(owner, spender)] = amount
        self._emit(Approval(owner, spender, amount))

    def _spend_allowance(self, owner: str, spender: str, amount: int) -> None:
        current = self.allowance[(owner, spender)]
        if current < MAX_UINT256:
            require(current >= amount, "erc20: insufficient allowance")
            self._approve(owner, spender, current - amount)

    # ---- externals
    @external
    def transfer(self, to: str, amount: int, *, sender: str) -> bool:
        self._transfer(sender, to, amount)
        return True

    @external
    def approve(self, spender: str, amount: int, *, sender: str) -> bool:
        self._approve(sender, spender, amount)
        return True

    @external
    def transferFrom(self, owner: str, to: str, amount: int, *, sender: str) -> bool:
        self._spend_allowance(owner, sender, amount)
        self._transfer(owner, to, amount)
        return True

    @external
    def burn(self, amount: int, *, sender: str) -> None:
        self._burn(sender, amount)

    @external
    def burn_from(self, owner: str, amount: int, *, sender: str) -> None:
        self._spend_allowance(owner, sender, amount)
        self._burn(owner, amount)

    @external
    def mint(self, owner: str, amount: int, *, sender: str) -> None:
        require(self.is_minter[sender], "erc20: access is denied")
        self._mint(owner, amount)

    @external
    def set_minter(self, minter: str, status: bool, *, sender: str) -> None:
        self._check_owner(sender=sender)
        require(minter != ZERO_ADDRESS, "erc20: minter is the zero address")
        require(minter != sender, "erc20: minter is owner address")
        self.is_minter[minter] = status
        self._emit(RoleMinterChanged(minter, status))

    @external
    def transfer_ownership(self, new_owner: str, *, sender: str) -> None:
        """snekmate erc20's: the minter role moves with ownership."""
        self._check_owner(sender=sender)
        require(new_owner != ZERO_ADDRESS, "erc20: new owner is the zero address")
        self.is_minter[sender] = False
        self._emit(RoleMinterChanged(sender, False))
        self._transfer_ownership(new_owner)
        self.is_minter[new_owner] = True
        self._emit(RoleMinterChanged(new_owner, True))

    @external
    def renounce_ownership(self, *, sender: str) -> None:
        self._check_owner(sender=sender)
        self.is_minter[sender] = False
        self._emit(RoleMinterChanged(sender, False))
        self._transfer_ownership(ZERO_ADDRESS)
