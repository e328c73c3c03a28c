"""Twin of contracts/modules/guardian.vy: who may pause, and what pausing
blocks in the engine (open, increase, collateral removal). The order book
and the pool read the same flag (`paused`): opens and increases neither
requested nor executed (orders.py), LP requests neither made nor executed
(pool.py); closes, decreases, liquidations, adding collateral and every
cancel keep working."""
from dataclasses import dataclass

from .errors import require
from .events import Event


@dataclass(frozen=True, slots=True)
class GuardianSet(Event):
    guardian: str


@dataclass(frozen=True, slots=True)
class Paused(Event):
    account: str


@dataclass(frozen=True, slots=True)
class Unpaused(Event):
    account: str


class Guardian:
    """Mixin of the model Engine; the owner comes from Ownable."""

    def __init__(self, guardian: str):
        self.paused = False
        self._set_guardian(guardian)

    def _not_paused(self) -> None:
        require(not self.paused, "engine: paused")

    def _check_guardian(self, owner: str, *, sender: str) -> None:
        """The guardian or the engine's owner (passed in, as on chain)."""
        require(sender == self.guardian or sender == owner, "engine: caller is not the guardian")

    def _set_guardian(self, guardian_: str) -> None:
        """No access check: the engine checks the owner first."""
        self.guardian = guardian_
        self._emit(GuardianSet(guardian_))

    def _pause(self, owner: str, *, sender: str) -> None:
        self._check_guardian(owner, sender=sender)
        self._not_paused()
        self.paused = True
        self._emit(Paused(sender))

    def _unpause(self, *, sender: str) -> None:
        """No access check: the engine checks the owner first."""
        require(self.paused, "engine: not paused")
        self.paused = False
        self._emit(Unpaused(sender))
