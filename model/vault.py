"""Twin of contracts/Vault.vy: one position's collateral (or the insurance
fund), which only the engine can move."""
from dataclasses import dataclass

from .events import Event
from .journal import Contract, Journal, external
from .errors import Revert, require


@dataclass(frozen=True, slots=True)
class Swept(Event):
    to: str
    amount: int


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
        self._pay(to, amount)

    def _send(self, to: str, amount: int) -> bool:
        """A transfer that reports a refusal instead of reverting (the
        model's tokens return True or revert)."""
        try:
            return self._token.transfer(to, amount, sender=self.address)
        except Revert:
            return False

    @external
    def refuses(self, *, sender: str) -> bool:
        """Whether the token refuses this vault a zero transfer to itself."""
        return not self._send(self.address, 0)

    @external
    def frozen(self, control: "Vault", *, sender: str) -> bool:
        """The token refuses this vault and lets `control` (a vault twin:
        the insurance vault) move."""
        if not self._send(self.address, 0):
            return not control.refuses(sender=self.address)
        if sender == self.ENGINE:
            # Taken off the free stack: what a free vault holds was sent from outside.
            left = self._token.balanceOf[self.address]
            if left != 0:
                self._pay(control.address, left)
                self._emit(Swept(control.address, left))
        return False

    @external
    def pay_exit(self, a: str, a_amount: int, b: str, b_amount: int, c: str, c_amount: int, rest_to: str,
                 control: "Vault", *, sender: str) -> tuple:
        """(False, balance) and nothing paid when frozen; else the three
        amounts, then the rest to `rest_to`: (True, rest)."""
        require(sender == self.ENGINE, "vault: caller is not the engine")
        paid = 0
        if self._try_pay(a, a_amount, control):
            paid = a_amount
            if self._try_pay(b, b_amount, control):
                paid += b_amount
                if self._try_pay(c, c_amount, control):
                    rest = self._token.balanceOf[self.address]
                    self._pay(rest_to, rest)
                    return True, rest
        require(paid == 0, "vault: frozen during the exit")
        return False, self._token.balanceOf[self.address]

    def _try_pay(self, to: str, amount: int, control: "Vault") -> bool:
        """Pays, or False for a frozen vault; another refusal reverts with
        the token's reason."""
        if amount == 0 or self._send(to, amount):
            return True
        if not self._send(self.address, 0):
            if not control.refuses(sender=self.address):
                return False
        self._pay(to, amount)
        return True

    def _pay(self, to: str, amount: int) -> None:
        if amount != 0:
            self._token.transfer(to, amount, sender=self.address)   # True or a revert: no "vault: transfer failed"
