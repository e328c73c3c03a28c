# pragma version ~=0.4.3
"""
@title isomargin token movements
@custom:contract-name transfers
@notice Every token movement the engine makes: into a vault, out of a
        vault, out of the pool (through its allowance to the engine), and
        the insurance fund's cover of bad debt. Stateless: the token, pool
        and insurance addresses are the engine's immutables, passed in, so
        that the deployed engine's code layout (which the audit checks by
        immutable name) stays TOKEN, POOL, INSURANCE. model/transfers.py is
        the Python twin.
"""
from ethereum.ercs import IERC20
from ..interfaces import IVault


@internal
def _pull(token: IERC20, src: address, vault: address, amount: uint256):
    """
    @dev Moves `amount` from `src` into a vault and checks it arrived whole:
         fee-on-transfer and rebasing tokens would leave a vault holding
         less than its position's collateral, so they are refused.
    @param token The collateral token.
    @param src The payer (who approved the engine).
    @param vault The receiving vault.
    @param amount The amount.
    """
    before: uint256 = staticcall token.balanceOf(vault)
    assert extcall token.transferFrom(src, vault, amount, default_return_value=True), "engine: transfer failed"
    assert staticcall token.balanceOf(vault) == before + amount, "engine: token transfer not exact"


@internal
def _pay_from_vault(vault: address, to: address, amount: uint256):
    """
    @dev Pays out of one vault (a position's, or the insurance fund's);
         nothing is called for a zero amount.
    @param vault The paying vault.
    @param to The recipient.
    @param amount The amount.
    """
    if amount != 0:
        extcall IVault(vault).pay(to, amount)


@internal
def _transfer_from(token: IERC20, src: address, to: address, amount: uint256):
    """
    @dev Moves tokens `src` approved the engine for, without the exactness
         check of _pull (the pool's cash accounting needs none); nothing is
         moved for a zero amount. One copy, shared by the open fee and the
         pool's payouts, keeps the engine under its code-size budget.
    @param token The collateral token.
    @param src The payer (who approved the engine).
    @param to The recipient.
    @param amount The amount.
    """
    if amount != 0:
        assert extcall token.transferFrom(src, to, amount, default_return_value=True), "engine: transfer failed"


@internal
def _pay_from_pool(token: IERC20, pool: address, to: address, amount: uint256):
    """
    @dev Pays a trader's profit straight from the pool, through the
         allowance the pool gave the engine at deployment; nothing is
         moved for a zero amount.
    @param token The collateral token.
    @param pool The liquidity pool.
    @param to The recipient.
    @param amount The amount.
    """
    self._transfer_from(token, pool, to, amount)


@internal
def _cover_bad_debt(token: IERC20, insurance: address, pool: address, bad_debt: uint256) -> uint256:
    """
    @dev The insurance fund pays the pool what a bankrupt vault could not;
         whatever it cannot cover is the pool's loss.
    @param token The collateral token.
    @param insurance The insurance vault.
    @param pool The liquidity pool.
    @param bad_debt What the bankrupt position still owed the pool.
    @return uint256 The amount the insurance fund paid.
    """
    if bad_debt == 0:
        return 0
    cover: uint256 = min(bad_debt, staticcall token.balanceOf(insurance))
    self._pay_from_vault(insurance, pool, cover)
    return cover
