"""Twin of contracts/modules/transfers.vy: every token movement the engine
makes, each out of exactly one vault, the pool, or the trader.

The model's token returns True or reverts, and moves exact amounts: the
contract's "engine: transfer failed" and "engine: token transfer not exact"
guard against other tokens (tests/unit/test_token_faults.py) and cannot
fail here, so the model leaves them out (as pool.py and vault.py do theirs).
"""
from .vault import Vault


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

    def _pull(self, src: str, vault: str, amount: int) -> None:
        self.token.transferFrom(src, vault, amount, sender=self.address)

    def _pay_from_vault(self, vault: str, to: str, amount: int) -> None:
        if amount != 0:
            self._vault_at(vault).pay(to, amount, sender=self.address)

    def _pay_from_pool(self, to: str, amount: int) -> None:
        if amount != 0:
            self.token.transferFrom(self.POOL, to, amount, sender=self.address)

    def _cover_bad_debt(self, bad_debt: int) -> int:
        """The insurance fund pays the pool what a bankrupt vault could not;
        the rest is the pool's loss."""
        if bad_debt == 0:
            return 0
        cover = min(bad_debt, self.token.balanceOf[self.INSURANCE])
        self._pay_from_vault(self.INSURANCE, self.POOL, cover)
        return cover
