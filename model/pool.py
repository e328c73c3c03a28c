"""Twin of contracts/LiquidityPool.vy (snekmate ERC4626, decimals offset 0)."""
from .errors import require
from .journal import Contract, Journal, external
from .mathx import mul_div
from .token import Token


class LiquidityPool(Contract):
    def __init__(self, journal: Journal, address: str, token: Token, engine):
        super().__init__(journal)
        self.address = address
        self.token = token
        self.engine = engine
        # The pool's share token is a snekmate ERC20 of its own.
        self.shares = Token(journal, address, decimals=token.decimals)
        token.allowance[(address, engine.address)] = 2**256 - 1

    # ---- ERC4626 views (snekmate)
    def totalAssets(self) -> int:
        return self.token.balanceOf[self.address]

    def totalSupply(self) -> int:
        return self.shares.totalSupply

    def balanceOf(self, owner: str) -> int:
        return self.shares.balanceOf[owner]

    def _convert_to_shares(self, assets: int, roundup: bool) -> int:
        return mul_div(assets, self.shares.totalSupply + 1, self.totalAssets() + 1, roundup)

    def _convert_to_assets(self, shares: int, roundup: bool) -> int:
        return mul_div(shares, self.totalAssets() + 1, self.shares.totalSupply + 1, roundup)

    def _free_assets(self) -> int:
        assets = self.totalAssets()
        reserved = self.engine.total_reserved
        return 0 if assets <= reserved else assets - reserved

    def free_assets(self) -> int:
        return self._free_assets()

    def maxWithdraw(self, owner: str) -> int:
        return min(self._convert_to_assets(self.shares.balanceOf[owner], False), self._free_assets())

    def maxRedeem(self, owner: str) -> int:
        return min(self.shares.balanceOf[owner], self._convert_to_shares(self._free_assets(), False))

    def previewDeposit(self, assets: int) -> int:
        return self._convert_to_shares(assets, False)

    def previewRedeem(self, shares: int) -> int:
        return self._convert_to_assets(shares, False)

    # ---- mutations
    def _deposit_exact(self, sender: str, receiver: str, assets: int, shares: int) -> None:
        require(assets != 0, "pool: zero assets")
        require(shares != 0, "pool: zero shares")
        self.token.transferFrom(sender, self.address, assets, sender=self.address)
        self.shares._mint(receiver, shares)

    def _withdraw(self, sender: str, receiver: str, owner: str, assets: int, shares: int) -> None:
        if sender != owner:
            self.shares._spend_allowance(owner, sender, shares)
        self.shares._burn(owner, shares)
        self.token.transfer(receiver, assets, sender=self.address)

    @external
    def deposit(self, assets: int, receiver: str, *, sender: str) -> int:
        shares = self._convert_to_shares(assets, False)
        self._deposit_exact(sender, receiver, assets, shares)
        return shares

    @external
    def mint(self, shares: int, receiver: str, *, sender: str) -> int:
        assets = self._convert_to_assets(shares, True)
        self._deposit_exact(sender, receiver, assets, shares)
        return assets

    @external
    def withdraw(self, assets: int, receiver: str, owner: str, *, sender: str) -> int:
        require(assets != 0, "pool: zero assets")
        require(assets <= self._convert_to_assets(self.shares.balanceOf[owner], False),
                "erc4626: withdraw more than maximum")
        require(assets <= self._free_assets(), "pool: assets reserved for open positions")
        shares = self._convert_to_shares(assets, True)
        self._withdraw(sender, receiver, owner, assets, shares)
        return shares

    @external
    def redeem(self, shares: int, receiver: str, owner: str, *, sender: str) -> int:
        require(shares != 0, "pool: zero shares")
        require(shares <= self.shares.balanceOf[owner], "erc4626: redeem more than maximum")
        assets = self._convert_to_assets(shares, False)
        require(assets <= self._free_assets(), "pool: assets reserved for open positions")
        self._withdraw(sender, receiver, owner, assets, shares)
        return assets
