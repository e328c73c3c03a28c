# pragma version ~=0.4.3
"""
@title Liquidity pool: the traders' counterparty (ERC4626, snekmate)
@notice LPs deposit the collateral token for shares. The pool receives
        traders' losses and fees, and pays their profits through the
        engine's allowance. Its assets are its token balance (cash
        accounting: unrealised PnL is not marked in). Assets reserved for
        open positions' capped maximum profit can never be withdrawn.
        Shares are priced with snekmate's virtual shares and assets,
        OpenZeppelin-style: shares = assets * (supply + 10**DECIMALS_OFFSET)
        / (assets held + 1), so a donation to a (nearly) empty pool costs
        its donor, not the next depositor (first-depositor attack).
"""
from ethereum.ercs import IERC20
from snekmate.extensions import erc4626
from interfaces import IEngine

initializes: erc4626

exports: (
    erc4626.totalSupply,
    erc4626.balanceOf,
    erc4626.transfer,
    erc4626.transferFrom,
    erc4626.approve,
    erc4626.allowance,
    erc4626.name,
    erc4626.symbol,
    erc4626.decimals,
    erc4626.permit,
    erc4626.nonces,
    erc4626.DOMAIN_SEPARATOR,
    erc4626.eip712Domain,
    erc4626.asset,
    erc4626.totalAssets,
    erc4626.convertToShares,
    erc4626.convertToAssets,
    erc4626.maxDeposit,
    erc4626.previewDeposit,
    erc4626.maxMint,
    erc4626.previewMint,
    erc4626.previewWithdraw,
    erc4626.previewRedeem,
)

ENGINE: public(immutable(IEngine))
TOKEN: immutable(IERC20)

# snekmate's decimals offset: 10**6 virtual shares stand beside one virtual
# asset in every conversion, and the share token has the asset's decimals
# + 6 (12 for a 6-decimal USDC). Why 6: an attacker who deposits 1 unit
# first holds 10**6 shares, as many as the virtual ones, so half of any
# donation D is lost to them, and a share then costs (D + 2) / (2 * 10**6)
# units: the next depositor loses under one share's price plus one unit,
# 0.005 USDC for a 10,000 USDC donation, where offset 0 lost them 10% of a
# 20,000 USDC deposit (tests/unit/test_pool_inflation.py). Each further
# digit only divides a loss already under a cent by ten, and 6 keeps the
# share supply far from overflow (2**256 share units are ~1e65 USDC).
DECIMALS_OFFSET: public(constant(uint8)) = 6


@deploy
def __init__(token: IERC20, engine: IEngine):
    """
    @dev Deployed by the engine from a blueprint (so `engine` is its
         creator). Decimals offset DECIMALS_OFFSET: an empty pool mints
         10**DECIMALS_OFFSET shares per unit of assets, and the shares
         have the token's decimals + DECIMALS_OFFSET.
    @param token The collateral token, the vault's asset.
    @param engine The engine, which reserves assets and pays profits.
    """
    erc4626.__init__("isomargin LP", "imLP", token, DECIMALS_OFFSET, "isomargin LP", "1")
    ENGINE = engine
    TOKEN = token
    # The engine pays traders' profits straight from the pool: one
    # transferFrom instead of a call into the pool and then a transfer.
    assert extcall token.approve(engine.address, max_value(uint256), default_return_value=True), "pool: approve failed"


@internal
@view
def _free_assets() -> uint256:
    """
    @dev Assets above what the engine reserves for open positions'
         maximum profit; zero when the reserve exceeds the balance.
    @return uint256 The withdrawable assets.
    """
    assets: uint256 = staticcall TOKEN.balanceOf(self)
    reserved: uint256 = staticcall ENGINE.total_reserved()
    if assets <= reserved:
        return 0
    return assets - reserved


@external
@view
def free_assets() -> uint256:
    """
    @notice Assets not reserved for open positions' maximum profit.
    @return uint256 The withdrawable assets, across all LPs.
    """
    return self._free_assets()


@external
@view
def maxWithdraw(owner: address) -> uint256:
    """
    @notice ERC4626 maxWithdraw, capped by the free assets.
    @param owner The share owner.
    @return uint256 The most `owner` can withdraw now.
    """
    return min(erc4626._max_withdraw(owner), self._free_assets())


@external
@view
def maxRedeem(owner: address) -> uint256:
    """
    @notice ERC4626 maxRedeem, capped by the shares the free assets are
            worth (rounded down).
    @param owner The share owner.
    @return uint256 The most shares `owner` can redeem now.
    """
    return min(erc4626._max_redeem(owner), erc4626._convert_to_shares(self._free_assets(), False))


@internal
def _deposit_exact(receiver: address, assets: uint256, shares: uint256):
    """
    @dev snekmate's deposit, refusing zero amounts and tokens that do not
         arrive whole: fee-on-transfer and rebasing tokens would mint
         unbacked shares.
    @param receiver Who gets the shares.
    @param assets The assets the caller pays.
    @param shares The shares minted.
    """
    assert assets != 0, "pool: zero assets"
    assert shares != 0, "pool: zero shares"
    before: uint256 = staticcall TOKEN.balanceOf(self)
    erc4626._deposit(msg.sender, receiver, assets, shares)
    assert staticcall TOKEN.balanceOf(self) == before + assets, "pool: token transfer not exact"


@external
@nonreentrant
def deposit(assets: uint256, receiver: address) -> uint256:
    """
    @notice ERC4626 deposit; the token must transfer exactly.
    @param assets The assets to deposit.
    @param receiver Who gets the shares.
    @return uint256 The shares minted.
    """
    shares: uint256 = erc4626._preview_deposit(assets)
    self._deposit_exact(receiver, assets, shares)
    return shares


@external
@nonreentrant
def mint(shares: uint256, receiver: address) -> uint256:
    """
    @notice ERC4626 mint; the token must transfer exactly.
    @param shares The shares to mint.
    @param receiver Who gets the shares.
    @return uint256 The assets paid.
    """
    assets: uint256 = erc4626._preview_mint(shares)
    self._deposit_exact(receiver, assets, shares)
    return assets


@external
@nonreentrant
def withdraw(assets: uint256, receiver: address, owner: address) -> uint256:
    """
    @notice ERC4626 withdraw, of free (unreserved) assets only.
    @param assets The assets to withdraw.
    @param receiver Who gets the assets.
    @param owner Whose shares are burnt (the caller, or who approved it).
    @return uint256 The shares burnt.
    """
    assert assets != 0, "pool: zero assets"
    # What the owner holds first: "reserved" is the answer only when the
    # owner could otherwise have withdrawn that much.
    assert assets <= erc4626._max_withdraw(owner), "erc4626: withdraw more than maximum"
    assert assets <= self._free_assets(), "pool: assets reserved for open positions"
    shares: uint256 = erc4626._preview_withdraw(assets)
    erc4626._withdraw(msg.sender, receiver, owner, assets, shares)
    return shares


@external
@nonreentrant
def redeem(shares: uint256, receiver: address, owner: address) -> uint256:
    """
    @notice ERC4626 redeem, of free (unreserved) assets only.
    @param shares The shares to redeem.
    @param receiver Who gets the assets.
    @param owner Whose shares are burnt (the caller, or who approved it).
    @return uint256 The assets paid.
    """
    assert shares != 0, "pool: zero shares"
    assert shares <= erc4626._max_redeem(owner), "erc4626: redeem more than maximum"
    assets: uint256 = erc4626._preview_redeem(shares)
    assert assets <= self._free_assets(), "pool: assets reserved for open positions"
    erc4626._withdraw(msg.sender, receiver, owner, assets, shares)
    return assets
