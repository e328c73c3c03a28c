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


# @dev Emitted when an exit finds its vault frozen by the token (a
# blacklisted vault): the position is settled without moving the vault's
# tokens, which stay in it, counted in frozen_total and nobody's.
event VaultFrozen:
    position_id: indexed(uint256)
    vault: indexed(address)
    amount: uint256


# @dev Emitted when an exit finds tokens in its vault beyond the
# collateral it paid out (sent straight to the vault): they go to the pool.
event DonationSwept:
    position_id: indexed(uint256)
    vault: indexed(address)
    amount: uint256


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
def _pay_exit(vault: address, pool: address, insurance: address, a: address, a_amount: uint256, b: address,
              b_amount: uint256, c: address, c_amount: uint256) -> (bool, uint256):
    """
    @dev Pays an exit out of its vault in one call (Vault.pay_exit): the
         recipients, then the pool what is left (a donation); or, when the
         token refuses this vault alone (a blacklisted vault), nothing.
    @param vault The exiting position's vault.
    @param pool Where what is left goes.
    @param insurance The insurance vault: the control that tells a frozen
           vault from a paused token.
    @param a The first recipient.
    @param a_amount What it gets.
    @param b The second recipient.
    @param b_amount What it gets.
    @param c The third recipient.
    @param c_amount What it gets.
    @return bool False when the vault is frozen.
    @return uint256 What was swept to the pool, or what stays frozen.
    """
    return extcall IVault(vault).pay_exit(a, a_amount, b, b_amount, c, c_amount, pool, insurance)


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
