"""Twin of snekmate's ERC20 (contracts/MockUSDC.vy): balances, allowances, reasons."""
from .errors import checked, require
from .env import ZERO_ADDRESS
from .journal import Contract, Journal, external

MAX_UINT256 = 2**256 - 1


class Token(Contract):
    def __init__(self, journal: Journal, address: str, decimals: int = 6, minter: str = ZERO_ADDRESS):
        super().__init__(journal)
        self.is_minter = self.mapping(False)
        self.is_minter[minter] = True
        self.address = address
        self.decimals = decimals
        self.totalSupply = 0
        self.balanceOf = self.mapping()
        self.allowance = self.mapping()  # keyed by (owner, spender)

    def _transfer(self, owner: str, to: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: transfer from the zero address")
        require(to != ZERO_ADDRESS, "erc20: transfer to the zero address")
        balance = self.balanceOf[owner]
        require(balance >= amount, "erc20: transfer amount exceeds balance")
        self.balanceOf[owner] = balance - amount
        self.balanceOf[to] = self.balanceOf[to] + amount

    def _spend_allowance(self, owner: str, spender: str, amount: int) -> None:
        current = self.allowance[(owner, spender)]
        if current < MAX_UINT256:
            require(current >= amount, "erc20: insufficient allowance")
            self.allowance[(owner, spender)] = current - amount

    def _mint(self, owner: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: mint to the zero address")
        self.totalSupply = checked(self.totalSupply + amount)
        self.balanceOf[owner] = self.balanceOf[owner] + amount

    def _burn(self, owner: str, amount: int) -> None:
        require(owner != ZERO_ADDRESS, "erc20: burn from the zero address")
        balance = self.balanceOf[owner]
        require(balance >= amount, "erc20: burn amount exceeds balance")
        self.balanceOf[owner] = balance - amount
        self.totalSupply -= amount

    @external
    def transfer(self, to: str, amount: int, *, sender: str) -> bool:
        self._transfer(sender, to, amount)
        return True

    @external
    def approve(self, spender: str, amount: int, *, sender: str) -> bool:
        require(spender != ZERO_ADDRESS, "erc20: approve to the zero address")
        self.allowance[(sender, spender)] = amount
        return True

    @external
    def transferFrom(self, owner: str, to: str, amount: int, *, sender: str) -> bool:
        self._spend_allowance(owner, sender, amount)
        self._transfer(owner, to, amount)
        return True

    @external
    def mint(self, owner: str, amount: int, *, sender: str) -> None:
        require(self.is_minter[sender], "erc20: access is denied")
        self._mint(owner, amount)
