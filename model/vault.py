"""Twin of contracts/Vault.vy: one position's collateral (or the insurance
fund), which only the engine can move."""
from .journal import Contract, Journal, external
from .errors import require


class Vault(Contract):
    def __init__(self, journal: Journal, address: str, engine: str, token):
        super().__init__(journal)
        # Immutables, in the code rather than storage: not journaled, so a
        # twin first made inside a call that reverts stays whole.
        for name, value in (("address", address), ("ENGINE", engine), ("TOKEN", token.address), ("_token", token)):
            object.__setattr__(self, name, value)

    @external
    def pay(self, to: str, amount: int, *, sender: str) -> None:
        require(sender == self.ENGINE, "vault: caller is not the engine")
        self._token.transfer(to, amount, sender=self.address)   # True or a revert: no "vault: transfer failed"
