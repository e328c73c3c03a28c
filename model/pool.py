"""Twin of contracts/LiquidityPool.vy (snekmate ERC4626, decimals offset
DECIMALS_OFFSET: 10**DECIMALS_OFFSET virtual shares and one virtual asset).

The share token is a snekmate ERC20 of its own (`shares`, at the pool's
address): its Transfer/Approval events are the pool's, as on chain. Its
decimals are the token's plus DECIMALS_OFFSET, as snekmate's constructor sets.
"""
from dataclasses import dataclass

from .errors import require
from .events import Event
from .journal import Contract, Journal, external
from .mathx import mul_div
from .token import MAX_UINT256, Token

# Twin of LiquidityPool.DECIMALS_OFFSET (why 6: the comment there).
DECIMALS_OFFSET = 6


@dataclass(frozen=True, slots=True)
class Deposit(Event):
    sender: str
    owner: str
    assets: int
    shares: int


@dataclass(frozen=True, slots=True)
class Withdraw(Event):
    sender: str
    receiver: str
    owner: str
    assets: int
    shares: int


class LiquidityPool(Contract):
    DECIMALS_OFFSET = DECIMALS_OFFSET   # the contract's public constant

    def __init__(self, journal: Journal, address: str, token: Token, engine):
        """The engine deploys the pool: it is the share token's owner and minter."""
        super().__init__(journal)
        self.address = address
        self.token = token
        self.engine = engine
        self.ENGINE = engine.address
        self.shares = Token(journal, address, decimals=token.decimals + DECIMALS_OFFSET, minter=engine.address,
                            name="isomargin LP", symbol="imLP")
        # The engine pays traders' profits straight from the pool.
        token._approve(address, engine.address, MAX_UINT256)

    # ---- ERC20 of the shares (snekmate)
    def totalSupply(self) -> int:
        return self.shares.totalSupply

    def balanceOf(self, owner: str) -> int:
        return self.shares.balanceOf[owner]

    def allowance(self, owner: str, spender: str) -> int:
        return self.shares.allowance[(owner, spender)]

    def name(self) -> str:
        return self.shares.name

    def symbol(self) -> str:
        return self.shares.symbol

    def decimals(self) -> int:
        return self.shares.decimals

    def nonces(self, owner: str) -> int:
        return self.shares.nonces[owner]

    @external
    def transfer(self, to: str, amount: int, *, sender: str) -> bool:
        return self.shares.transfer(to, amount, sender=sender)

    @external
    def transferFrom(self, owner: str, to: str, amount: int, *, sender: str) -> bool:
        return self.shares.transferFrom(owner, to, amount, sender=sender)

    @external
    def approve(self, spender: str, amount: int, *, sender: str) -> bool:
        return self.shares.approve(spender, amount, sender=sender)

    # ---- ERC4626 views (snekmate)
    def asset(self) -> str:
        return self.token.address

    def totalAssets(self) -> int:
        return self.token.balanceOf[self.address]

    def _convert_to_shares(self, assets: int, roundup: bool) -> int:
        """Twin of snekmate erc4626._convert_to_shares:
        assets * (supply + 10**offset) / (assets held + 1)."""
        return mul_div(assets, self.shares.totalSupply + 10**DECIMALS_OFFSET, self.totalAssets() + 1, roundup)

    def _convert_to_assets(self, shares: int, roundup: bool) -> int:
        """Twin of snekmate erc4626._convert_to_assets:
        shares * (assets held + 1) / (supply + 10**offset)."""
        return mul_div(shares, self.totalAssets() + 1, self.shares.totalSupply + 10**DECIMALS_OFFSET, roundup)

    def convertToShares(self, assets: int) -> int:
        return self._convert_to_shares(assets, False)

    def convertToAssets(self, shares: int) -> int:
        return self._convert_to_assets(shares, False)

    def maxDeposit(self, receiver: str) -> int:
        return MAX_UINT256

    def maxMint(self, receiver: str) -> int:
        return MAX_UINT256

    def previewDeposit(self, assets: int) -> int:
        return self._convert_to_shares(assets, False)

    def previewMint(self, shares: int) -> int:
        return self._convert_to_assets(shares, True)

    def previewWithdraw(self, assets: int) -> int:
        return self._convert_to_shares(assets, True)

    def previewRedeem(self, shares: int) -> int:
        return self._convert_to_assets(shares, False)

    # ---- the pool's own rules
    def _free_assets(self) -> int:
        assets = self.totalAssets()
        reserved = self.engine.total_reserved
        return 0 if assets <= reserved else assets - reserved

    def free_assets(self) -> int:
        """Assets not reserved for open positions' maximum profit."""
        return self._free_assets()

    def maxWithdraw(self, owner: str) -> int:
        return min(self._convert_to_assets(self.shares.balanceOf[owner], False), self._free_assets())

    def maxRedeem(self, owner: str) -> int:
        return min(self.shares.balanceOf[owner], self._convert_to_shares(self._free_assets(), False))

    def _deposit_exact(self, receiver: str, assets: int, shares: int, *, sender: str) -> None:
        require(assets != 0, "pool: zero assets")
        require(shares != 0, "pool: zero shares")
        # The model's token moves exact amounts: no "pool: token transfer not exact".
        self._deposit(sender, receiver, assets, shares)

    def _deposit(self, sender: str, receiver: str, assets: int, shares: int) -> None:
        """Twin of snekmate erc4626._deposit."""
        self.token.transferFrom(sender, self.address, assets, sender=self.address)
        self.shares._mint(receiver, shares)
        self._emit(Deposit(sender, receiver, assets, shares))

    def _withdraw(self, sender: str, receiver: str, owner: str, assets: int, shares: int) -> None:
        """Twin of snekmate erc4626._withdraw."""
        if sender != owner:
            self.shares._spend_allowance(owner, sender, shares)
        self.shares._burn(owner, shares)
        self.token.transfer(receiver, assets, sender=self.address)
        self._emit(Withdraw(sender, receiver, owner, assets, shares))

    # ---- mutations
    @external
    def deposit(self, assets: int, receiver: str, *, sender: str) -> int:
        shares = self.previewDeposit(assets)
        self._deposit_exact(receiver, assets, shares, sender=sender)
        return shares

    @external
    def mint(self, shares: int, receiver: str, *, sender: str) -> int:
        assets = self.previewMint(shares)
        self._deposit_exact(receiver, assets, shares, sender=sender)
        return assets

    @external
    def withdraw(self, assets: int, receiver: str, owner: str, *, sender: str) -> int:
        require(assets != 0, "pool: zero assets")
        # What the owner holds first: "reserved" is the answer only when the
        # owner could otherwise have withdrawn that much.
        require(assets <= self._convert_to_assets(self.shares.balanceOf[owner], False),
                "erc4626: withdraw more than maximum")
        require(assets <= self._free_assets(), "pool: assets reserved for open positions")
        shares = self.previewWithdraw(assets)
        self._withdraw(sender, receiver, owner, assets, shares)
        return shares

    @external
    def redeem(self, shares: int, receiver: str, owner: str, *, sender: str) -> int:
        require(shares != 0, "pool: zero shares")
        require(shares <= self.shares.balanceOf[owner], "erc4626: redeem more than maximum")
        assets = self.previewRedeem(shares)
        require(assets <= self._free_assets(), "pool: assets reserved for open positions")
        self._withdraw(sender, receiver, owner, assets, shares)
        return assets
