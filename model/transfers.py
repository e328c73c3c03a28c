"""Twin of contracts/modules/transfers.vy: every token movement the engine
makes, each out of exactly one vault, the pool, or the trader.

The model's token returns True or reverts, and moves exact amounts: the
contract's "engine: transfer failed" and "engine: token transfer not exact"
guard against other tokens (tests/unit/test_token_faults.py) and cannot
fail here, so the model leaves them out (as pool.py and vault.py do theirs).
"""
from dataclasses import dataclass

from .events import Event
from .vault import Vault


@dataclass(frozen=True, slots=True)
class VaultFrozen(Event):
    position_id: int
    vault: str
    amount: int


@dataclass(frozen=True, slots=True)
class DonationSwept(Event):
    position_id: int
    vault: str
    amount: int


class Transfers:
    """Mixin of the model Engine: the vault contracts, made on first use."""

    def __init__(self):
        # Not storage: a vault twin holds only immutables, and its address
        # is fixed by its slot, so one made inside a reverted call is harmless.
        self._vault_twins = {}

    def _vault_at(self, address: str) -> Vault:
        vault = self._vault_twins.get(address)
        if vault is None:
            vault = self._vault_twins[address] = Vault(self._journal, address, self.address, self.token)
        return vault

    def _pull(self, token, src: str, vault: str, amount: int) -> None:
        """Into a vault, whole (the contract also checks the vault's balance)."""
        token.transferFrom(src, vault, amount, sender=self.address)

    def _pay_from_vault(self, vault: str, to: str, amount: int) -> None:
        """Out of one vault; nothing is called for a zero amount."""
        if amount != 0:
            self._vault_at(vault).pay(to, amount, sender=self.address)

    def _pay_exit(self, vault: str, pool: str, insurance: str, a: str, a_amount: int, b: str, b_amount: int,
                  c: str, c_amount: int) -> tuple:
        """An exit out of its vault in one call (Vault.pay_exit): (paid,
        swept to the pool) or, for a vault the token refuses alone, (False,
        what stays frozen)."""
        return self._vault_at(vault).pay_exit(a, a_amount, b, b_amount, c, c_amount, pool, self._vault_at(insurance),
                                              sender=self.address)

    def _transfer_from(self, token, src: str, to: str, amount: int) -> None:
        """What `src` approved the engine for; nothing moves for a zero amount."""
        if amount != 0:
            token.transferFrom(src, to, amount, sender=self.address)

    def _pay_from_pool(self, token, pool: str, to: str, amount: int) -> None:
        """The pool pays a trader's profit through its allowance to the engine."""
        self._transfer_from(token, pool, to, amount)

    def _cover_bad_debt(self, token, insurance: str, pool: str, bad_debt: int) -> int:
        """The insurance fund pays the pool what a bankrupt vault could not;
        the rest is the pool's loss."""
        if bad_debt == 0:
            return 0
        cover = min(bad_debt, token.balanceOf[insurance])
        self._pay_from_vault(insurance, pool, cover)
        return cover
